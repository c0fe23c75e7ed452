package operator

import (
	"context"
	"strings"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/grants"
	"github.com/nested-workspaces/enabler/internal/bounded"
	"github.com/nested-workspaces/enabler/scc"
)

// How often the operator tries again whether the fence holds: a policy can
// be deleted at any time, and one just created takes a moment to be in
// force, so a missing fence is looked for again sooner.
const (
	fenceRecheck        = 10 * time.Minute
	missingFenceRecheck = 30 * time.Second
	fenceSettle         = 30 * time.Second
	fenceSettleRecheck  = 5 * time.Second
)

// fenceProbe tries, as the operator, with dry runs, writes the fence
// (manifests/policy) must refuse: a privileged SCC labelled as ours.
// Admitted, no fence covers the operator's service account wherever it is
// installed; nothing is written either way.
type fenceProbe struct {
	client    client.Client
	namespace string

	mu   sync.Mutex
	last *FenceCheck
	// next is when the fence is tried again.
	next time.Time
	// settling until this time, after a policy binding changed, the fence
	// is tried every fenceSettleRecheck: the API server enforces a change
	// a moment after it is made.
	settling time.Time
}

func (f *fenceProbe) check(ctx context.Context) *FenceCheck {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if f.last != nil && now.Before(f.next) {
		return f.last
	}
	var admitted []string
	refused := 0
	for _, p := range fenceProbes(f.namespace) {
		err := f.client.Create(ctx, p.obj, client.DryRunAll)
		switch {
		case ctx.Err() != nil:
			return f.last // cancelled: no news
		case err == nil || apierrors.IsAlreadyExists(err):
			// Past admission: AlreadyExists is storage's answer, after
			// every admission policy let the write through.
			admitted = append(admitted, p.what)
		case refusedByAdmission(err):
			refused++
		default:
			// Refused by RBAC (binding a ClusterRole that does not exist
			// yet), or the API server could not be asked: this probe
			// says nothing about the fence.
		}
	}
	if len(admitted) == 0 && refused == 0 {
		// No probe could tell: keep what was known, try again soon.
		f.next = now.Add(fenceSettleRecheck)
		return f.last
	}
	f.last, f.next = &FenceCheck{Fenced: len(admitted) == 0}, now.Add(fenceRecheck)
	switch {
	case now.Before(f.settling):
		f.next = now.Add(fenceSettleRecheck)
	case !f.last.Fenced:
		f.next = now.Add(missingFenceRecheck)
	}
	if !f.last.Fenced {
		f.last.Detail = bounded.Cut("a dry run of "+strings.Join(admitted, " and of ")+" was admitted", 256)
	}
	return f.last
}

// fenceProbeWrite is one write the fence must refuse.
type fenceProbeWrite struct {
	what string
	obj  client.Object
}

// fenceProbes are the writes the fence must refuse, made afresh for each
// check (a create fills in fields of the object it is given): a privileged
// SCC labelled as ours, and our own RoleBinding granting use of our SCC to
// every service account of the cluster.
func fenceProbes(namespace string) []fenceProbeWrite {
	probe := scc.NestedPodmanSCC("nested-workspaces-fence-probe", enablerv1alpha1.DefaultRunAsUser, nil)
	probe.AllowPrivilegedContainer = true
	binding := grants.UseRoleBinding(namespace, enablerv1alpha1.DefaultSCCName,
		[]rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:serviceaccounts"}})
	return []fenceProbeWrite{
		{"a privileged SCC labelled as ours", probe},
		{"a RoleBinding of our name for every service account", binding},
	}
}

// refusedByAdmission tells a refusal by an admission policy or webhook (the
// fence, or an admin's own) from any other error: RBAC's refusal, a
// timeout, a connection refused.
func refusedByAdmission(err error) bool {
	if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "ValidatingAdmissionPolicy") || strings.Contains(msg, "admission webhook")
}

// recheckIn makes the fence be tried again within d and then every
// fenceSettleRecheck for fenceSettle: an admission policy binding changed,
// and a change takes a moment to be in force.
func (f *fenceProbe) recheckIn(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		// Not tried yet: these are the bindings the operator finds at its
		// start (the watch's first list), and the first reconcile tries
		// the fence anyway. Settling now would make the steady state
		// after a start reconcile every few seconds for nothing.
		return
	}
	now := time.Now()
	f.settling = now.Add(fenceSettle)
	if at := now.Add(d); at.Before(f.next) {
		f.next = at
	}
}

// due is how long until the fence is tried again.
func (f *fenceProbe) due() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Until(f.next)
}
