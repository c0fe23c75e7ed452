package grants_test

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/grants"
	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

func exists(t *testing.T, c *localcluster.Cluster, obj client.Object) bool {
	t.Helper()
	err := c.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj)
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// "Ours" is our label AND our name: a tenant's RoleBinding with our label
// and a name of its own is not deleted (the operator's RBAC could not, and
// a refusal would stall every release), nor an unlabelled one of our name.
func TestReleaseDeletesOnlyWhatIsOurs(t *testing.T) {
	c := shared.Require(t)
	ctx := context.Background()
	const ns = "release-tenant"
	createNamespace(t, c, ns)
	subjects := []rbacv1.Subject{sa(ns, "w")}
	ours := grants.UseRoleBinding(ns, "nested-container", subjects)
	kept := grants.UseRoleBinding(ns, "nested-podman", subjects)
	tenantLabelled := grants.UseRoleBinding(ns, "nested-podman", subjects)
	tenantLabelled.Name = "tenants-own"
	unlabelledOfOurName := grants.UseRoleBinding("release-tenant-2", "nested-container", subjects)
	unlabelledOfOurName.Labels = nil
	createNamespace(t, c, "release-tenant-2")
	legacyDWO := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "nested-workspaces-dwo-use-scc-nested-container", Labels: owned.Labels()},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: grants.UseClusterRoleName("nested-container")},
		Subjects: []rbacv1.Subject{sa("openshift-operators", "devworkspace-controller-serviceaccount")}}
	for _, obj := range []client.Object{ours, kept, tenantLabelled, unlabelledOfOurName, legacyDWO,
		grants.UseClusterRole("nested-container"), grants.UseClusterRole("nested-podman")} {
		if err := c.Client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	if err := grants.Release(ctx, c.OwnedCachedClient(t), "nested-podman"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	for _, tc := range []struct {
		name string
		obj  client.Object
		want bool
	}{
		{"the_other_sccs_binding_goes", &rbacv1.RoleBinding{ObjectMeta: ours.ObjectMeta}, false},
		{"the_kept_sccs_binding_stays", &rbacv1.RoleBinding{ObjectMeta: kept.ObjectMeta}, true},
		{"a_tenants_labelled_binding_stays", &rbacv1.RoleBinding{ObjectMeta: tenantLabelled.ObjectMeta}, true},
		{"an_unlabelled_binding_of_our_name_stays", &rbacv1.RoleBinding{ObjectMeta: unlabelledOfOurName.ObjectMeta}, true},
		{"the_legacy_dwo_binding_goes", &rbacv1.ClusterRoleBinding{ObjectMeta: legacyDWO.ObjectMeta}, false},
		{"the_other_sccs_role_goes", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: grants.UseClusterRoleName("nested-container")}}, false},
		{"the_kept_sccs_role_stays", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: grants.UseClusterRoleName("nested-podman")}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exists(t, c, tc.obj); got != tc.want {
				t.Errorf("exists = %t, want %t", got, tc.want)
			}
		})
	}
}

// The Roles the DevWorkspace Operator minted for the scc attribute naming
// an SCC the operator pins go on release; those for any other SCC (Dev
// Spaces' container-run) stay.
func TestReleaseDWOMinted(t *testing.T) {
	c := shared.Require(t)
	ctx := context.Background()
	const ns = "dwo-minted"
	createNamespace(t, c, ns)
	dwoLabels := map[string]string{"controller.devfile.io/workspace-rbac": "true", "app.kubernetes.io/part-of": "devworkspace-operator"}
	mint := func(sccName string) (*rbacv1.Role, *rbacv1.RoleBinding) {
		name := grants.DWOMintedName(sccName)
		return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: dwoLabels},
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{"security.openshift.io"}, Resources: []string{"securitycontextconstraints"}, Verbs: []string{"use"}, ResourceNames: []string{sccName}}}},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: dwoLabels},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}, Subjects: []rbacv1.Subject{sa(ns, "workspace-sa")}}
	}
	nestedRole, nestedBinding := mint("nested-container")
	cheRole, cheBinding := mint("container-run")
	for _, obj := range []client.Object{nestedRole, nestedBinding, cheRole, cheBinding} {
		if err := c.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	if !c.MayUse(t, sa(ns, "workspace-sa"), ns, "nested-container") {
		t.Fatal("precondition: the minted Role grants use")
	}
	if err := grants.ReleaseDWOMinted(ctx, c.Client, c.Client, "nested-container"); err != nil {
		t.Fatal(err)
	}
	if !exists(t, c, &rbacv1.Role{ObjectMeta: nestedRole.ObjectMeta}) {
		t.Error("the kept SCC's minted Role was deleted")
	}
	if err := grants.ReleaseDWOMinted(ctx, c.Client, c.Client, ""); err != nil {
		t.Fatal(err)
	}
	if exists(t, c, &rbacv1.Role{ObjectMeta: nestedRole.ObjectMeta}) || exists(t, c, &rbacv1.RoleBinding{ObjectMeta: nestedBinding.ObjectMeta}) {
		t.Error("the minted Role or RoleBinding for nested-container is still there")
	}
	if c.MayUse(t, sa(ns, "workspace-sa"), ns, "nested-container") {
		t.Error("the workspace service account may still use nested-container")
	}
	if !exists(t, c, &rbacv1.Role{ObjectMeta: cheRole.ObjectMeta}) || !exists(t, c, &rbacv1.RoleBinding{ObjectMeta: cheBinding.ObjectMeta}) {
		t.Error("Dev Spaces' container-run grant was deleted")
	}
}
