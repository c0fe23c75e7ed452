package operator

import (
	"context"
	"fmt"

	securityv1 "github.com/openshift/api/security/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// cleanUp removes everything we wrote, in order, stopping at the first
// failure: our DevWorkspaceOperatorConfig fields first, so that no new
// workspace is rendered for an SCC that is about to go; then the grants;
// then our SCCs.
func (r *Reconciler) cleanUp(ctx context.Context) error {
	return runSteps(ctx, []step{
		{"remove our fields from the DevWorkspaceOperatorConfig", r.releaseDWOConfig},
		{"delete our RoleBindings", func(ctx context.Context) error {
			return r.deleteOurs(ctx, "RoleBinding", &rbacv1.RoleBindingList{}, keepNone)
		}},
		{"delete our ClusterRoleBindings", func(ctx context.Context) error {
			return r.deleteOurs(ctx, "ClusterRoleBinding", &rbacv1.ClusterRoleBindingList{}, keepNone)
		}},
		{"delete our ClusterRoles", func(ctx context.Context) error {
			return r.deleteOurs(ctx, "ClusterRole", &rbacv1.ClusterRoleList{}, keepNone)
		}},
		{"delete our SCCs", func(ctx context.Context) error { return r.deleteOurSCCs(ctx, "") }},
	})
}

// releaseDWOConfig removes exactly the fields we own from the global DWOC.
func (r *Reconciler) releaseDWOConfig(ctx context.Context) error {
	current, err := r.getDWOConfig(ctx)
	if err != nil || current == nil || !managedBy(current, FieldManager) {
		return err
	}
	if err := r.Client.Patch(ctx, emptyDWOConfig(r.DWONamespace), client.Apply, client.FieldOwner(FieldManager)); err != nil && !meta.IsNoMatchError(err) {
		return fmt.Errorf("remove our fields from DevWorkspaceOperatorConfig %s/%s: %w", r.DWONamespace, DWOConfigName, err)
	}
	return nil
}

// deleteOurSCCs deletes every SCC that carries our label but keep.
func (r *Reconciler) deleteOurSCCs(ctx context.Context, keep string) error {
	return r.deleteOurs(ctx, "SecurityContextConstraints", &securityv1.SecurityContextConstraintsList{},
		func(o client.Object) bool { return o.GetName() == keep })
}

func keepNone(client.Object) bool { return false }
