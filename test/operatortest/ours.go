package operatortest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	securityv1 "github.com/openshift/api/security/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/owned"
)

// PinnedSCC is the SCC the DevWorkspace Operator's global configuration in
// dwoNamespace pins workspaces to; "" for none or no configuration.
func PinnedSCC(ctx context.Context, c client.Client, dwoNamespace string) (string, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(dwoconfig.GVK)
	err := c.Get(ctx, client.ObjectKey{Namespace: dwoNamespace, Name: dwoconfig.Name}, u)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	v, _, _ := unstructured.NestedString(u.Object, "config", "workspace", "podAnnotations", dwoconfig.RequiredSCCAnnotation)
	return v, nil
}

// NothingOfOurs says what of the operator's is left on the cluster: SCCs,
// ClusterRoles, ClusterRoleBindings and RoleBindings labelled and named
// as the operator's (a tenant's object that only carries the label is
// not), and its fields of the DevWorkspace Operator's global
// configuration in dwoNamespace. nil when nothing is.
func NothingOfOurs(ctx context.Context, c client.Client, dwoNamespace string) error {
	var left []error
	for _, list := range []client.ObjectList{&securityv1.SecurityContextConstraintsList{}, &rbacv1.ClusterRoleList{}, &rbacv1.ClusterRoleBindingList{}, &rbacv1.RoleBindingList{}} {
		if err := c.List(ctx, list, client.MatchingLabels(owned.Labels())); err != nil {
			return err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, item := range items {
			o := item.(client.Object)
			if _, scc := o.(*securityv1.SecurityContextConstraints); scc || strings.HasPrefix(o.GetName(), "nested-workspaces-") {
				left = append(left, fmt.Errorf("%T %s/%s of ours left", item, o.GetNamespace(), o.GetName()))
			}
		}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(dwoconfig.GVK)
	err := c.Get(ctx, client.ObjectKey{Namespace: dwoNamespace, Name: dwoconfig.Name}, u)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	default:
		ws, _, _ := unstructured.NestedMap(u.Object, "config", "workspace")
		for _, f := range []string{"hostUsers", "containerSecurityContext", "podSecurityContext", "podAnnotations"} {
			if _, ok := ws[f]; ok {
				left = append(left, fmt.Errorf("DevWorkspaceOperatorConfig config.workspace.%s left: %v", f, ws[f]))
			}
		}
	}
	return errors.Join(left...)
}
