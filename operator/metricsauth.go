package operator

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/time/rate"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Decisions about a caller are remembered this long: a scrape every few
// seconds costs two API requests per minute, not per scrape.
const (
	metricsAllowTTL = time.Minute
	metricsDenyTTL  = 10 * time.Second
)

// Reviews of callers not remembered (a TokenReview and a
// SubjectAccessReview each) are limited to this rate and burst: a caller
// making up a new token for every request would otherwise make the
// operator send the API server two requests per request it gets.
const (
	metricsReviewRate  rate.Limit = 2
	metricsReviewBurst int        = 10
)

// metricsAuth is the metrics endpoint's filter: a caller must present a
// bearer token the API server accepts (TokenReview) for a user who may get
// the path (SubjectAccessReview, non-resource URL), as the RBAC in
// manifests/rbac/metrics_reader_role.yaml grants. It does what
// controller-runtime's filters.WithAuthenticationAndAuthorization does,
// without linking the API server's libraries (and their gRPC and
// OpenTelemetry) into the operator.
func metricsAuth(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authnclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	authz, err := authzclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	a := &metricsAuthorizer{authn: authn, authz: authz, decisions: map[[32]byte]metricsDecision{},
		reviews: rate.NewLimiter(metricsReviewRate, metricsReviewBurst)}
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			code, why := a.decide(req)
			if code != http.StatusOK {
				log.V(4).Info("metrics request refused", "status", code, "why", why)
				http.Error(w, why, code)
				return
			}
			next.ServeHTTP(w, req)
		}), nil
	}, nil
}

type metricsDecision struct {
	code    int
	why     string
	expires time.Time
}

type metricsAuthorizer struct {
	authn authnclient.TokenReviewsGetter
	authz authzclient.SubjectAccessReviewsGetter

	// reviews limits how often callers not remembered are reviewed.
	reviews *rate.Limiter

	mu        sync.Mutex
	decisions map[[32]byte]metricsDecision
}

func (a *metricsAuthorizer) decide(req *http.Request) (int, string) {
	auth := req.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return http.StatusUnauthorized, "Unauthorized: a bearer token is required"
	}
	verb := strings.ToLower(req.Method)
	key := sha256.Sum256([]byte(token + "\x00" + verb + "\x00" + req.URL.Path))
	now := time.Now()
	a.mu.Lock()
	d, cached := a.decisions[key]
	if len(a.decisions) > 1024 { // tokens rotate; never grow without bound
		a.decisions = map[[32]byte]metricsDecision{}
	}
	a.mu.Unlock()
	if cached && now.Before(d.expires) {
		return d.code, d.why
	}
	if !a.reviews.Allow() {
		return http.StatusTooManyRequests, "Too Many Requests: too many new callers to review; try again later"
	}
	d = a.review(req.Context(), token, verb, req.URL.Path)
	if d.code == http.StatusInternalServerError {
		return d.code, d.why // not remembered: the API server may be back soon
	}
	d.expires = now.Add(metricsDenyTTL)
	if d.code == http.StatusOK {
		d.expires = now.Add(metricsAllowTTL)
	}
	a.mu.Lock()
	a.decisions[key] = d
	a.mu.Unlock()
	return d.code, d.why
}

func (a *metricsAuthorizer) review(ctx context.Context, token, verb, path string) metricsDecision {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tr, err := a.authn.TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return metricsDecision{code: http.StatusInternalServerError, why: "Authentication failed: " + err.Error()}
	}
	if !tr.Status.Authenticated {
		return metricsDecision{code: http.StatusUnauthorized, why: "Unauthorized"}
	}
	u := tr.Status.User
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range u.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := a.authz.SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return metricsDecision{code: http.StatusInternalServerError, why: "Authorization failed: " + err.Error()}
	}
	if !sar.Status.Allowed {
		return metricsDecision{code: http.StatusForbidden, why: fmt.Sprintf("Forbidden: %s may not %s %s", u.Username, verb, path)}
	}
	return metricsDecision{code: http.StatusOK}
}
