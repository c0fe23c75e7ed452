package grants_test

import (
	"context"
	"flag"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

// shared is a real kube-apiserver with OpenShift's SCC CRD; none under
// -short.
var shared localcluster.Shared

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(shared.Main(m, localcluster.Options{OpenShift: true}, localcluster.OCP420))
}

func createNamespace(t *testing.T, c *localcluster.Cluster, name string) {
	t.Helper()
	err := c.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

func sa(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}
