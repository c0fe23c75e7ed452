package operator

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"golang.org/x/time/rate"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
)

// reviewer answers TokenReviews and SubjectAccessReviews, counting them:
// every token is valid, only "good" may read the metrics.
type reviewer struct {
	authnclient.TokenReviewsGetter
	authzclient.SubjectAccessReviewsGetter
	tokenReviews, accessReviews atomic.Int32
}

type tokenReviews struct {
	authnclient.TokenReviewInterface
	r *reviewer
}

func (t tokenReviews) Create(_ context.Context, tr *authenticationv1.TokenReview, _ metav1.CreateOptions) (*authenticationv1.TokenReview, error) {
	t.r.tokenReviews.Add(1)
	tr.Status.Authenticated, tr.Status.User.Username = true, tr.Spec.Token
	return tr, nil
}

type accessReviews struct {
	authzclient.SubjectAccessReviewInterface
	r *reviewer
}

func (a accessReviews) Create(_ context.Context, sar *authorizationv1.SubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error) {
	a.r.accessReviews.Add(1)
	sar.Status.Allowed = sar.Spec.User == "good"
	return sar, nil
}

func (r *reviewer) TokenReviews() authnclient.TokenReviewInterface { return tokenReviews{r: r} }
func (r *reviewer) SubjectAccessReviews() authzclient.SubjectAccessReviewInterface {
	return accessReviews{r: r}
}

func scrapeWith(a *metricsAuthorizer, token string) int {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	code, _ := a.decide(req)
	return code
}

// A caller that makes up a new token for every request cannot make the
// operator send the API server two reviews per request: reviews of callers
// not remembered are rate-limited; remembered ones cost nothing.
func TestMetricsReviewsAreBounded(t *testing.T) {
	r := &reviewer{}
	a := &metricsAuthorizer{authn: r, authz: r, decisions: map[[32]byte]metricsDecision{}, reviews: rate.NewLimiter(0, metricsReviewBurst)}
	for range 5 {
		if code := scrapeWith(a, "good"); code != http.StatusOK {
			t.Fatalf("the allowed caller got %d", code)
		}
	}
	if n := r.tokenReviews.Load(); n != 1 {
		t.Errorf("a remembered caller cost %d TokenReviews, want 1", n)
	}
	refused := 0
	for i := range 1000 {
		if scrapeWith(a, fmt.Sprintf("made-up-%d", i)) == http.StatusTooManyRequests {
			refused++
		}
	}
	if n := int(r.tokenReviews.Load() + r.accessReviews.Load()); n > 2*metricsReviewBurst+2 {
		t.Errorf("1,000 made-up tokens cost %d reviews, want at most %d", n, 2*metricsReviewBurst+2)
	}
	if refused < 1000-metricsReviewBurst {
		t.Errorf("%d of 1,000 made-up tokens were refused with 429, want all but %d", refused, metricsReviewBurst)
	}
	if code := scrapeWith(a, "good"); code != http.StatusOK {
		t.Errorf("the remembered caller got %d while others were refused", code)
	}
}
