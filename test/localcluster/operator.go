package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/nested-workspaces/enabler/manifests"
)

// The operator's service account, as manifests/ installs it.
const (
	OperatorNamespace      = "nested-workspaces-enabler"
	OperatorServiceAccount = "nested-workspaces-enabler"
)

// InstallOperatorIdentity installs what a real install gives the operator
// — its service account in namespace, the ClusterRole generated from its
// RBAC markers bound to it, and the fence (manifests/policy) — and returns
// a config that acts as that service account. The operator run with it has
// exactly the powers it ships with, under the fence.
func (c *Cluster) InstallOperatorIdentity(ctx context.Context, namespace string) (*rest.Config, error) {
	role, binding, err := manifests.OperatorRole(namespace)
	if err != nil {
		return nil, err
	}
	fence, err := manifests.Fence()
	if err != nil {
		return nil, err
	}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: OperatorServiceAccount, Namespace: namespace}},
		role,
	}
	if namespace != OperatorNamespace {
		binding.Name += "-" + namespace
	}
	objs = append(objs, binding)
	for _, f := range fence {
		objs = append(objs, f)
	}
	for _, o := range objs {
		if err := c.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("install the operator's %s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
		}
	}
	return c.AsServiceAccount(namespace, OperatorServiceAccount)
}

// InstallDWOIdentity gives the DevWorkspace controller's service account
// in namespace the ClusterRole the DevWorkspace Operator ships (read from
// the module the harness runs, deploy/templates/components/rbac/role.yaml)
// and returns a config that acts as it: what the controller may do on a
// real cluster, and no more (no `escalate` or `bind`, so it can mint a
// Role only for what it holds itself).
func (c *Cluster) InstallDWOIdentity(ctx context.Context, namespace, serviceAccount string) (*rest.Config, error) {
	dir, err := moduleDir(dwoModule)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "deploy/templates/components/rbac/role.yaml"))
	if err != nil {
		return nil, fmt.Errorf("read the DevWorkspace Operator's ClusterRole: %w", err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(data, role); err != nil {
		return nil, fmt.Errorf("parse the DevWorkspace Operator's ClusterRole: %w", err)
	}
	role.Name = "devworkspace-controller-role"
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "devworkspace-controller-rolebinding"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.GetName()},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: serviceAccount}}}
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: serviceAccount, Namespace: namespace}},
		role, binding,
	} {
		if err := c.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("install the DevWorkspace controller's %s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
		}
	}
	return c.AsServiceAccount(namespace, serviceAccount)
}
