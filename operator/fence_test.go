package operator

import (
	"context"
	"errors"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// answeringClient answers each dry-run create with what answer says for
// the object's type; every other call panics (the probe makes none).
type answeringClient struct {
	client.Client
	scc, binding error
}

func (c answeringClient) Create(_ context.Context, obj client.Object, _ ...client.CreateOption) error {
	if _, ok := obj.(*rbacv1.RoleBinding); ok {
		return c.binding
	}
	return c.scc
}

func TestFenceProbeTellsTheFenceFromOtherRefusals(t *testing.T) {
	rb := schema.GroupResource{Group: rbacv1.GroupName, Resource: "rolebindings"}
	sccs := schema.GroupResource{Group: "security.openshift.io", Resource: "securitycontextconstraints"}
	byPolicy := func(gr schema.GroupResource) error {
		return apierrors.NewForbidden(gr, "nested-workspaces-fence-probe",
			errors.New("ValidatingAdmissionPolicy 'nested-workspaces-enabler-scc-fence' with binding 'nested-workspaces-enabler-scc-fence' denied request: only the SCC nested-podman"))
	}
	byRBAC := apierrors.NewForbidden(rb, "nested-workspaces-use-scc-nested-podman",
		errors.New(`user "system:serviceaccount:nested-workspaces-enabler:nested-workspaces-enabler" is attempting to grant RBAC permissions not currently held`))
	unreachable := errors.New("dial tcp 10.0.0.1:6443: connect: connection refused")
	exists := apierrors.NewAlreadyExists(rb, "nested-workspaces-use-scc-nested-podman")

	for _, row := range []struct {
		name         string
		scc, binding error
		// want is nil when the probe cannot tell (nothing known before).
		want *bool
	}{
		{"both refused by the fence", byPolicy(sccs), byPolicy(rb), ptrTo(true)},
		{"both admitted", nil, nil, ptrTo(false)},
		{"the SCC admitted", nil, byPolicy(rb), ptrTo(false)},
		{"the binding admitted", byPolicy(sccs), nil, ptrTo(false)},
		// Storage's AlreadyExists comes after every admission policy.
		{"the binding past admission, already there", byPolicy(sccs), exists, ptrTo(false)},
		// Before the first enable the use ClusterRole does not exist and
		// RBAC refuses the binding before admission sees it: no news from
		// that probe, the SCC probe decides.
		{"binding refused by RBAC, SCC by the fence", byPolicy(sccs), byRBAC, ptrTo(true)},
		{"binding refused by RBAC, SCC admitted", nil, byRBAC, ptrTo(false)},
		{"the API server unreachable", unreachable, unreachable, nil},
		{"binding refused by RBAC, SCC unreachable", unreachable, byRBAC, nil},
	} {
		t.Run(row.name, func(t *testing.T) {
			f := &fenceProbe{client: answeringClient{scc: row.scc, binding: row.binding}, namespace: "nested-workspaces-enabler"}
			got := f.check(context.Background())
			switch {
			case row.want == nil && got != nil:
				t.Errorf("got %+v; want no verdict (the probe could not tell)", got)
			case row.want == nil:
				if d := f.due(); d > fenceSettleRecheck {
					t.Errorf("tried again in %s; want within %s", d, fenceSettleRecheck)
				}
			case got == nil:
				t.Errorf("no verdict; want fenced=%v", *row.want)
			case got.Fenced != *row.want:
				t.Errorf("fenced=%v (%s); want %v", got.Fenced, got.Detail, *row.want)
			case !got.Fenced && got.Detail == "":
				t.Errorf("not fenced, and no detail says which write was admitted")
			}
		})
	}
}

func TestAnUnclearAnswerKeepsTheLastVerdict(t *testing.T) {
	f := &fenceProbe{client: answeringClient{scc: nil, binding: nil}, namespace: "ns"}
	if got := f.check(context.Background()); got == nil || got.Fenced {
		t.Fatalf("first check %+v; want not fenced", got)
	}
	f.client = answeringClient{scc: errors.New("timeout"), binding: errors.New("timeout")}
	f.next = f.next.AddDate(-1, 0, 0) // due
	if got := f.check(context.Background()); got == nil || got.Fenced {
		t.Errorf("after an unclear answer %+v; want the last verdict, not fenced", got)
	}
}

func TestABindingChangeRetriesSoonOnlyAfterTheFirstCheck(t *testing.T) {
	rb := schema.GroupResource{Group: rbacv1.GroupName, Resource: "rolebindings"}
	refused := apierrors.NewForbidden(rb, "x", errors.New("ValidatingAdmissionPolicy 'p' with binding 'p' denied request"))
	f := &fenceProbe{client: answeringClient{scc: refused, binding: refused}, namespace: "ns"}
	// The watch's first list, before any check.
	f.recheckIn(fenceDelay)
	if !f.settling.IsZero() {
		t.Errorf("settling until %s before the fence was ever tried; want no settling", f.settling)
	}
	if got := f.check(context.Background()); got == nil || !got.Fenced {
		t.Fatalf("check %+v; want fenced", got)
	}
	if d := f.due(); d < fenceRecheck-time.Minute {
		t.Errorf("next check in %s; want about %s", d, fenceRecheck)
	}
	// A binding changed later: tried again within the delay.
	f.recheckIn(fenceDelay)
	if d := f.due(); d > fenceDelay {
		t.Errorf("next check in %s after a binding changed; want within %s", d, fenceDelay)
	}
}

func ptrTo[T any](v T) *T { return &v }
