package operator

import (
	"context"
	"strings"
	"sync"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
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
	probe := scc.NestedPodmanSCC("nested-workspaces-fence-probe", enablerv1alpha1.DefaultRunAsUser, nil)
	probe.AllowPrivilegedContainer = true
	binding := grants.UseRoleBinding(f.namespace, enablerv1alpha1.DefaultSCCName, []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:serviceaccounts"}})
	binding.Name = probe.Name
	var admitted []string
	for what, obj := range map[string]client.Object{
		"a privileged SCC labelled as ours":                   probe,
		"a RoleBinding of our name for every service account": binding,
	} {
		err := f.client.Create(ctx, obj, client.DryRunAll)
		switch {
		case err == nil:
			admitted = append(admitted, what)
		case ctx.Err() != nil:
			return f.last // cancelled: no news
		}
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

// recheckIn makes the fence be tried again within d and then every
// fenceSettleRecheck for fenceSettle: an admission policy binding changed,
// and a change takes a moment to be in force.
func (f *fenceProbe) recheckIn(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
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
