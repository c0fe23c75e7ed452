package localcluster

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ownedCRD is a CRD an operator owns, by group, version and plural.
type ownedCRD struct{ group, version, plural string }

// devWorkspaceOwnedCRDs are the DevWorkspace Operator's owned CRDs that
// namespace users work with (its CSV's spec.customresourcedefinitions.owned).
var devWorkspaceOwnedCRDs = []ownedCRD{
	{"workspace.devfile.io", "v1alpha2", "devworkspaces"},
	{"workspace.devfile.io", "v1alpha2", "devworkspacetemplates"},
	{"controller.devfile.io", "v1alpha1", "devworkspaceoperatorconfigs"},
}

// aggregateOwnedCRDRoles does what OLM does when it installs an operator
// (operator-lifecycle-manager, the ClusterRoles it creates per owned CRD):
// ClusterRoles "<plural>.<group>-<version>-admin|edit|view" labelled to
// aggregate into the cluster's admin, edit and view roles, so that a
// project admin may create, say, a DevWorkspaceOperatorConfig in their own
// namespace.
func (c *Cluster) aggregateOwnedCRDRoles(ctx context.Context, crds []ownedCRD) error {
	for _, crd := range crds {
		for _, r := range []struct {
			role  string
			verbs []string
		}{
			{"admin", []string{"*"}},
			{"edit", []string{"create", "update", "patch", "delete"}},
			{"view", []string{"get", "list", "watch"}},
		} {
			cr := &rbacv1.ClusterRole{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%s-%s-%s", crd.plural, crd.group, crd.version, r.role),
					Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-" + r.role: "true"}},
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{crd.group}, Resources: []string{crd.plural}, Verbs: r.verbs}},
			}
			if err := c.Client.Create(ctx, cr); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("aggregate roles for %s.%s as OLM does: %w", crd.plural, crd.group, err)
			}
		}
	}
	return nil
}
