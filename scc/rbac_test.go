package scc_test

import (
	"context"
	"errors"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/scc"
)

func createNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := cluster.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
}

func sa(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

// mayUse asks the API server's RBAC authorizer whether the service account
// may use the SCC for pods in namespace.
func mayUse(t *testing.T, subject rbacv1.Subject, namespace, sccName string) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + subject.Namespace + ":" + subject.Name,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + subject.Namespace, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: namespace, Verb: "use", Group: "security.openshift.io", Resource: "securitycontextconstraints", Name: sccName,
		},
	}}
	if err := cluster.Client.Create(context.Background(), sar); err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}

// The grants let exactly the workspace service accounts (in their own
// namespace) and the DevWorkspace controller use the one SCC.
func TestUseGrantsAreExact(t *testing.T) {
	requireCluster(t)
	ctx := context.Background()
	createNamespace(t, "grants-user1")
	createNamespace(t, "grants-user2")
	createNamespace(t, "grants-dwo")
	workspace, dwo := sa("grants-user1", "workspace-abc"), sa("grants-dwo", "devworkspace-controller")
	role := scc.UseClusterRole("nested-podman")
	for _, obj := range []client.Object{
		role,
		scc.UseRoleBinding("grants-user1", "use-scc", role.Name, []rbacv1.Subject{workspace}),
		scc.UseClusterRoleBinding("grants-dwo-use-scc", role.Name, []rbacv1.Subject{dwo}),
	} {
		if err := scc.ApplyRBAC(ctx, cluster.Client, obj); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
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
		{"dwo_controller_may_use_it_anywhere", dwo, "grants-user2", "nested-podman", true},
		{"dwo_controller_may_not_use_another_scc", dwo, "grants-user2", "anyuid", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mayUse(t, tt.subject, tt.namespace, tt.scc); got != tt.want {
				t.Errorf("may use = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestApplyRBAC(t *testing.T) {
	requireCluster(t)
	ctx := context.Background()
	createNamespace(t, "apply-rbac")
	role := scc.UseClusterRole("apply-rbac-scc")
	otherRole := scc.UseClusterRole("apply-rbac-other")
	subjects := []rbacv1.Subject{sa("apply-rbac", "a")}

	objects := []struct {
		name    string
		desired client.Object
		empty   func() client.Object
		// drift changes an applied object the way someone else might.
		drift func(client.Object)
		// content extracts what ApplyRBAC keeps in step.
		content func(client.Object) any
	}{
		{
			name: "cluster_role", desired: role,
			empty: func() client.Object { return &rbacv1.ClusterRole{} },
			drift: func(o client.Object) {
				o.(*rbacv1.ClusterRole).Rules[0].Verbs = []string{"use", "update", "delete"}
			},
			content: func(o client.Object) any { return o.(*rbacv1.ClusterRole).Rules },
		},
		{
			name: "role_binding", desired: scc.UseRoleBinding("apply-rbac", "use-scc", role.Name, subjects),
			empty: func() client.Object { return &rbacv1.RoleBinding{} },
			drift: func(o client.Object) {
				rb := o.(*rbacv1.RoleBinding)
				rb.Subjects = append(rb.Subjects, sa("apply-rbac", "intruder"))
			},
			content: func(o client.Object) any {
				rb := o.(*rbacv1.RoleBinding)
				return []any{rb.RoleRef, rb.Subjects}
			},
		},
		{
			name: "cluster_role_binding", desired: scc.UseClusterRoleBinding("apply-rbac-use-scc", role.Name, subjects),
			empty: func() client.Object { return &rbacv1.ClusterRoleBinding{} },
			drift: func(o client.Object) {
				o.(*rbacv1.ClusterRoleBinding).Subjects = []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"}}
			},
			content: func(o client.Object) any {
				crb := o.(*rbacv1.ClusterRoleBinding)
				return []any{crb.RoleRef, crb.Subjects}
			},
		},
	}
	for _, o := range objects {
		t.Run(o.name, func(t *testing.T) {
			get := func() client.Object {
				t.Helper()
				obj := o.empty()
				if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(o.desired), obj); err != nil {
					t.Fatal(err)
				}
				return obj
			}
			if err := scc.ApplyRBAC(ctx, cluster.Client, o.desired); err != nil {
				t.Fatalf("create: %v", err)
			}
			created := get()
			if !scc.IsManaged(created) || !equality.Semantic.DeepEqual(o.content(created), o.content(o.desired)) {
				t.Errorf("created %+v", created)
			}

			c, counter := countingClient(t)
			if err := scc.ApplyRBAC(ctx, c, o.desired); err != nil {
				t.Fatal(err)
			}
			if w := counter.WritesSince(nil); len(w) > 0 {
				t.Errorf("writes when nothing changed: %v", w)
			}
			if rv := get().GetResourceVersion(); rv != created.GetResourceVersion() {
				t.Errorf("resourceVersion %s -> %s when nothing changed", created.GetResourceVersion(), rv)
			}

			drifted := get()
			o.drift(drifted)
			drifted.SetLabels(map[string]string{scc.ManagedByLabel: scc.ManagedByValue, "admin-note": "keep"})
			if err := cluster.Client.Update(ctx, drifted); err != nil {
				t.Fatal(err)
			}
			if err := scc.ApplyRBAC(ctx, cluster.Client, o.desired); err != nil {
				t.Fatalf("correct drift: %v", err)
			}
			corrected := get()
			if !equality.Semantic.DeepEqual(o.content(corrected), o.content(o.desired)) {
				t.Errorf("drift not corrected: %+v", corrected)
			}
			if corrected.GetLabels()["admin-note"] != "keep" {
				t.Errorf("labels others set were dropped: %v", corrected.GetLabels())
			}
		})
	}

	t.Run("binding_to_another_role_is_replaced", func(t *testing.T) {
		desired := scc.UseRoleBinding("apply-rbac", "rebind", role.Name, subjects)
		if err := scc.ApplyRBAC(ctx, cluster.Client, desired); err != nil {
			t.Fatal(err)
		}
		rebound := scc.UseRoleBinding("apply-rbac", "rebind", otherRole.Name, subjects)
		res, err := scc.ApplyRoleBinding(ctx, cluster.Client, rebound)
		if err != nil || !res.Changed {
			t.Fatalf("ApplyRoleBinding = %+v, %v", res, err)
		}
		got := &rbacv1.RoleBinding{}
		if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(rebound), got); err != nil {
			t.Fatal(err)
		}
		if got.RoleRef.Name != otherRole.Name {
			t.Errorf("roleRef = %+v, want %s", got.RoleRef, otherRole.Name)
		}
	})

	t.Run("foreign_object_is_untouched", func(t *testing.T) {
		foreign := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: scc.UseClusterRoleName("admins-scc")},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}}}
		if err := cluster.Client.Create(ctx, foreign); err != nil {
			t.Fatal(err)
		}
		for _, c := range []client.Client{cluster.Client, ourCachedClient(t)} {
			err := scc.ApplyRBAC(ctx, c, scc.UseClusterRole("admins-scc"))
			var fe *scc.ForeignObjectError
			if !errors.As(err, &fe) || !errors.Is(err, scc.ErrNotOurs) || fe.Name != foreign.Name {
				t.Errorf("ApplyRBAC on an admin's ClusterRole: %v, want a *ForeignObjectError", err)
			}
		}
		got := &rbacv1.ClusterRole{}
		if err := cluster.Client.Get(ctx, client.ObjectKeyFromObject(foreign), got); err != nil {
			t.Fatal(err)
		}
		if got.ResourceVersion != foreign.ResourceVersion {
			t.Errorf("admin's ClusterRole was modified: %+v", got)
		}
	})

	t.Run("other_kinds_are_refused", func(t *testing.T) {
		if err := scc.ApplyRBAC(ctx, cluster.Client, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "apply-rbac"}}); err == nil {
			t.Error("ApplyRBAC accepted a Role")
		}
	})
}
