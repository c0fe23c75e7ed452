package grants

import (
	"context"
	"errors"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/scc"
)

// The Roles and RoleBindings the DevWorkspace Operator mints for the
// `controller.devfile.io/scc` workspace attribute (pkg/common/naming.go,
// WorkspaceSCCRoleName and WorkspaceSCCRolebindingName, v0.43) for an SCC
// the operator pins: read and deleted, never written.
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles,verbs=list
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,resourceNames=devworkspace-use-nested-podman;devworkspace-use-nested-container,verbs=delete

// dwoMintedLabel marks the RBAC DevWorkspace Operator writes for workspaces
// (pkg/provision/workspace/rbac/common.go, v0.43).
const dwoMintedLabel = "controller.devfile.io/workspace-rbac"

// DWOMintedName is what the DevWorkspace Operator names the Role and the
// RoleBinding that let a workspace's service account use sccName.
func DWOMintedName(sccName string) string { return "devworkspace-use-" + sccName }

// ReleaseDWOMinted deletes, in every namespace, the Roles and RoleBindings
// the DevWorkspace Operator minted for the attribute naming an SCC the
// operator pins, other than keep. They outlive the operator's own grants:
// a workspace's service account, which may use the SCC while it is granted,
// may set the attribute on its DevWorkspace. The operator no longer gives
// the DevWorkspace controller `use`, so it cannot mint them again (an
// earlier version did). live must read past caches: these are DWO's
// objects, not labelled ours.
func ReleaseDWOMinted(ctx context.Context, c client.Client, live client.Reader, keep string) error {
	var errs []error
	for _, s := range scc.PinnableNames() {
		if s == keep {
			continue
		}
		name := DWOMintedName(s)
		for _, list := range []client.ObjectList{&rbacv1.RoleBindingList{}, &rbacv1.RoleList{}} {
			if err := live.List(ctx, list, client.HasLabels{dwoMintedLabel}, client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", name)}); err != nil {
				errs = append(errs, fmt.Errorf("list the DevWorkspace Operator's %T named %s: %w", list, name, err))
				continue
			}
			objs, err := meta.ExtractList(list)
			if err != nil {
				return err
			}
			for _, o := range objs {
				obj := o.(client.Object)
				uid := obj.GetUID()
				if err := client.IgnoreNotFound(c.Delete(ctx, obj, client.Preconditions{UID: &uid})); err != nil {
					errs = append(errs, fmt.Errorf("delete %s/%s: %w", obj.GetNamespace(), obj.GetName(), err))
				}
			}
		}
	}
	return errors.Join(errs...)
}
