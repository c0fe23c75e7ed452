package grants_test

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/grants"
	"github.com/nested-workspaces/enabler/owned"
)

// The grants let exactly the workspace service accounts use the one SCC,
// in their own namespace; the DevWorkspace controller gets nothing.
func TestUseGrantsAreExact(t *testing.T) {
	c := shared.Require(t)
	ctx := context.Background()
	for _, ns := range []string{"grants-user1", "grants-user2"} {
		createNamespace(t, c, ns)
	}
	workspace := sa("grants-user1", "workspace-abc")
	o := grants.Apply(ctx, c.Client, "nested-podman", map[string][]rbacv1.Subject{"grants-user1": {workspace}})
	if o.Err != nil || len(o.Blocked)+len(o.Failed)+len(o.Skipped) > 0 {
		t.Fatalf("Apply = %+v", o)
	}
	for _, tc := range []struct {
		name      string
		subject   rbacv1.Subject
		namespace string
		scc       string
		want      bool
	}{
		{"workspace_sa_may_use_it_in_its_namespace", workspace, "grants-user1", "nested-podman", true},
		{"workspace_sa_may_not_use_it_elsewhere", workspace, "grants-user2", "nested-podman", false},
		{"workspace_sa_may_not_use_another_scc", workspace, "grants-user1", "privileged", false},
		{"other_sa_in_the_namespace_may_not", sa("grants-user1", "build-bot"), "grants-user1", "nested-podman", false},
		{"the_devworkspace_controller_may_not", sa("openshift-operators", "devworkspace-controller-serviceaccount"), "grants-user1", "nested-podman", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.MayUse(t, tc.subject, tc.namespace, tc.scc); got != tc.want {
				t.Errorf("may use = %t, want %t", got, tc.want)
			}
		})
	}
}

// One namespace's trouble is its own: a tenant's RoleBinding of our name
// blocks only its namespace, a namespace stuck Terminating is skipped, and
// every namespace sorted after them is still served.
func TestEachNamespaceStandsAlone(t *testing.T) {
	c := shared.Require(t)
	ctx := context.Background()
	const blocked, terminating, served = "stand-a-blocked", "stand-b-terminating", "stand-c-served"
	for _, ns := range []string{blocked, terminating, served} {
		createNamespace(t, c, ns)
	}
	squatter := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: grants.UseClusterRoleName("nested-podman"), Namespace: blocked},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"}}}
	if err := c.Client.Create(ctx, squatter); err != nil {
		t.Fatal(err)
	}
	// With no namespace controller running, a deleted namespace stays
	// Terminating: as one a tenant keeps there with a finalizer.
	if err := c.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: terminating}}); err != nil {
		t.Fatal(err)
	}
	byNamespace := map[string][]rbacv1.Subject{}
	for _, ns := range []string{blocked, terminating, served} {
		byNamespace[ns] = []rbacv1.Subject{sa(ns, "workspace-sa")}
	}
	o := grants.Apply(ctx, c.Client, "nested-podman", byNamespace)
	if o.Err != nil || len(o.Failed) > 0 {
		t.Fatalf("Apply = %+v", o)
	}
	if len(o.Blocked) != 1 || o.Blocked[0] != blocked {
		t.Errorf("blocked = %v, want [%s]", o.Blocked, blocked)
	}
	if len(o.Skipped) != 1 || o.Skipped[0] != terminating {
		t.Errorf("skipped = %v, want [%s]", o.Skipped, terminating)
	}
	if !c.MayUse(t, sa(served, "workspace-sa"), served, "nested-podman") {
		t.Errorf("the namespace after a blocked and a terminating one was not served")
	}
	got := &rbacv1.RoleBinding{}
	if err := c.Client.Get(ctx, client.ObjectKeyFromObject(squatter), got); err != nil || got.RoleRef.Name != "view" {
		t.Errorf("the tenant's RoleBinding was changed: %+v, %v", got, err)
	}
}

func TestApplyKinds(t *testing.T) {
	c := shared.Require(t)
	ctx := context.Background()
	createNamespace(t, c, "apply-rbac")
	subjects := []rbacv1.Subject{sa("apply-rbac", "a")}
	for _, o := range []struct {
		name    string
		desired client.Object
		apply   func(client.Client, client.Object) (bool, error)
		empty   func() client.Object
		drift   func(client.Object)
		content func(client.Object) any
	}{
		{
			name: "cluster_role", desired: grants.UseClusterRole("apply-rbac-scc"),
			apply: func(cl client.Client, o client.Object) (bool, error) {
				return grants.ApplyClusterRole(ctx, cl, o.(*rbacv1.ClusterRole))
			},
			empty:   func() client.Object { return &rbacv1.ClusterRole{} },
			drift:   func(o client.Object) { o.(*rbacv1.ClusterRole).Rules[0].Verbs = []string{"use", "update", "delete"} },
			content: func(o client.Object) any { return o.(*rbacv1.ClusterRole).Rules },
		},
		{
			name: "role_binding", desired: grants.UseRoleBinding("apply-rbac", "apply-rbac-scc", subjects),
			apply: func(cl client.Client, o client.Object) (bool, error) {
				return grants.ApplyRoleBinding(ctx, cl, o.(*rbacv1.RoleBinding))
			},
			empty: func() client.Object { return &rbacv1.RoleBinding{} },
			drift: func(o client.Object) {
				rb := o.(*rbacv1.RoleBinding)
				rb.Subjects = append(rb.Subjects, sa("apply-rbac", "intruder"))
			},
			content: func(o client.Object) any {
				return []any{o.(*rbacv1.RoleBinding).RoleRef, o.(*rbacv1.RoleBinding).Subjects}
			},
		},
	} {
		t.Run(o.name, func(t *testing.T) {
			get := func() client.Object {
				t.Helper()
				obj := o.empty()
				if err := c.Client.Get(ctx, client.ObjectKeyFromObject(o.desired), obj); err != nil {
					t.Fatal(err)
				}
				return obj
			}
			if changed, err := o.apply(c.Client, o.desired); err != nil || !changed {
				t.Fatalf("create: %t, %v", changed, err)
			}
			created := get()
			if !owned.Labelled(created) || !equality.Semantic.DeepEqual(o.content(created), o.content(o.desired)) {
				t.Errorf("created %+v", created)
			}
			counting, counter := c.CountingClient(t)
			if changed, err := o.apply(counting, o.desired); err != nil || changed {
				t.Fatalf("second apply: %t, %v", changed, err)
			}
			if w := counter.WritesSince(nil); len(w) > 0 {
				t.Errorf("writes when nothing changed: %v", w)
			}
			drifted := get()
			o.drift(drifted)
			drifted.SetLabels(map[string]string{owned.ManagedByLabel: owned.ManagedByValue, "admin-note": "keep"})
			if err := c.Client.Update(ctx, drifted); err != nil {
				t.Fatal(err)
			}
			if _, err := o.apply(c.Client, o.desired); err != nil {
				t.Fatalf("correct drift: %v", err)
			}
			corrected := get()
			if !equality.Semantic.DeepEqual(o.content(corrected), o.content(o.desired)) || corrected.GetLabels()["admin-note"] != "keep" {
				t.Errorf("drift not corrected, or others' labels dropped: %+v", corrected)
			}
		})
	}

	t.Run("binding_to_another_role_is_replaced", func(t *testing.T) {
		desired := grants.UseRoleBinding("apply-rbac", "rebind", subjects)
		if _, err := grants.ApplyRoleBinding(ctx, c.Client, desired); err != nil {
			t.Fatal(err)
		}
		rebound := desired.DeepCopy()
		rebound.RoleRef.Name = grants.UseClusterRoleName("other")
		if changed, err := grants.ApplyRoleBinding(ctx, c.Client, rebound); err != nil || !changed {
			t.Fatalf("ApplyRoleBinding = %t, %v", changed, err)
		}
		got := &rbacv1.RoleBinding{}
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(rebound), got); err != nil || got.RoleRef.Name != rebound.RoleRef.Name {
			t.Errorf("roleRef = %+v, %v", got.RoleRef, err)
		}
	})

	t.Run("foreign_object_is_untouched", func(t *testing.T) {
		foreign := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: grants.UseClusterRoleName("admins-scc")},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}}}
		if err := c.Client.Create(ctx, foreign); err != nil {
			t.Fatal(err)
		}
		for _, cl := range []client.Client{c.Client, c.OwnedCachedClient(t)} {
			_, err := grants.ApplyClusterRole(ctx, cl, grants.UseClusterRole("admins-scc"))
			var fe *owned.ForeignError
			if !errors.As(err, &fe) || !errors.Is(err, owned.ErrNotOurs) || fe.Name != foreign.Name {
				t.Errorf("ApplyClusterRole on an admin's ClusterRole: %v, want a *ForeignError", err)
			}
		}
		got := &rbacv1.ClusterRole{}
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(foreign), got); err != nil || got.ResourceVersion != foreign.ResourceVersion {
			t.Errorf("admin's ClusterRole was modified: %+v, %v", got, err)
		}
	})
}
