package operator_test

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/scc"
)

// Uninstalled in the wrong order: the operator is gone (as when OLM removes
// it) while the NestedContainers resource is still enabled, so the SCC
// grants and the DevWorkspaceOperatorConfig pin stay and the resource's
// deletion waits on a finalizer nobody serves. `nested-enabler cleanup`
// (operator.Uninstall) removes them in order. This test stops the
// package's operator: it runs last (file order).
func TestUninstallInTheWrongOrder(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	setEnabled(t, true)
	waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
	if pinnedSCC(t) != scc.BuiltInSCCName {
		t.Fatalf("not configured before the uninstall")
	}

	env.stopOperator()
	nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
	if err := env.cluster.Client.Delete(ctx, nc); err != nil {
		t.Fatal(err)
	}
	if err := env.cluster.Client.Get(ctx, client.ObjectKeyFromObject(nc), nc); err != nil || nc.DeletionTimestamp.IsZero() {
		t.Fatalf("NestedContainers should wait on its finalizer with the operator gone: %v %+v", err, nc.ObjectMeta)
	}
	if pinnedSCC(t) != scc.BuiltInSCCName {
		t.Fatalf("the pin went without the operator?")
	}

	// A tenant's RoleBinding that carries our label is not ours: cleanup,
	// run as a cluster admin who could delete it, leaves it.
	const baitNS = "tenant-cleanup-bait"
	ensureNamespace(t, baitNS)
	bait := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "tenants-own", Namespace: baitNS, Labels: owned.Labels()},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "trudy"}}}
	if err := env.cluster.Client.Create(ctx, bait); err != nil {
		t.Fatal(err)
	}
	admin, err := client.New(env.cluster.Config, client.Options{Scheme: env.cluster.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := operator.Uninstall(ctx, admin, operator.DefaultDWONamespace); err != nil {
		t.Fatal(err)
	}
	assertNothingOfOurs(t)
	if err := env.cluster.Client.Get(ctx, client.ObjectKeyFromObject(bait), &rbacv1.RoleBinding{}); err != nil {
		t.Errorf("cleanup deleted a tenant's RoleBinding that only carries our label: %v", err)
	}
	if err := env.cluster.Client.Get(ctx, client.ObjectKeyFromObject(nc), nc); !apierrors.IsNotFound(err) {
		t.Errorf("NestedContainers still there after cleanup: %v (finalizers %v)", err, nc.Finalizers)
	}
	// Running it again finds nothing to do.
	if err := operator.Uninstall(ctx, admin, operator.DefaultDWONamespace); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
}
