package operatortest

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

// Tenant is a client acting as user, who is admin of namespace ns (the
// ClusterRole admin bound there, as OpenShift binds a project's requester)
// and nothing else.
func Tenant(t testing.TB, c *localcluster.Cluster, user, ns string) client.Client {
	t.Helper()
	cfg, err := c.AddUser(user, "system:authenticated")
	if err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user + "-admin", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}
	if err := c.Client.Create(context.Background(), rb); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: c.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// ServiceAccount is a client acting as service account name in namespace
// ns, with the groups the API server gives a service account's token.
func ServiceAccount(t testing.TB, c *localcluster.Cluster, ns, name string) client.Client {
	t.Helper()
	cfg, err := c.AsServiceAccount(ns, name)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: c.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
