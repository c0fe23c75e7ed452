package operator

import (
	"context"
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/scc"
)

// UseBindingName names the RoleBinding in each workspace namespace and the
// ClusterRoleBinding for the DevWorkspace controller.
const (
	UseBindingName    = "nested-workspaces-use-scc"
	DWOUseBindingName = "nested-workspaces-dwo-use-scc"
)

// applyGrants lets exactly the workspace service accounts (each in its own
// namespace) and the DevWorkspace controller use the SCC, and no one else.
func (r *Reconciler) applyGrants(ctx context.Context, sccName string) error {
	role := scc.UseClusterRole(sccName)
	if err := scc.ApplyRBAC(ctx, r.Client, role); err != nil {
		return err
	}
	byNamespace, err := r.workspaceServiceAccounts(ctx)
	if err != nil {
		return err
	}
	for ns, subjects := range byNamespace {
		if err := scc.ApplyRBAC(ctx, r.Client, scc.UseRoleBinding(ns, UseBindingName, role.Name, subjects)); err != nil {
			return err
		}
	}
	if err := r.deleteStaleRoleBindings(ctx, byNamespace); err != nil {
		return err
	}
	dwo := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: r.DWONamespace, Name: r.DWOServiceAccount}}
	if err := scc.ApplyRBAC(ctx, r.Client, scc.UseClusterRoleBinding(DWOUseBindingName, role.Name, dwo)); err != nil {
		return err
	}
	return r.deleteStaleClusterRoles(ctx, role.Name)
}

// deleteStaleClusterRoles removes our use roles for SCCs no longer in use,
// e.g. after switching to OpenShift's built-in SCC.
func (r *Reconciler) deleteStaleClusterRoles(ctx context.Context, keep string) error {
	return r.deleteOurs(ctx, "ClusterRole", &rbacv1.ClusterRoleList{}, func(o client.Object) bool { return o.GetName() == keep })
}

// workspaceServiceAccounts groups DWO's per-workspace service accounts by
// namespace, sorted, so the bindings come out the same every time.
func (r *Reconciler) workspaceServiceAccounts(ctx context.Context) (map[string][]rbacv1.Subject, error) {
	sas := &metav1.PartialObjectMetadataList{}
	sas.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccountList"))
	if err := r.Client.List(ctx, sas, client.HasLabels{WorkspaceIDLabel}); err != nil {
		return nil, fmt.Errorf("list workspace service accounts: %w", err)
	}
	out := map[string][]rbacv1.Subject{}
	for _, sa := range sas.Items {
		out[sa.Namespace] = append(out[sa.Namespace], rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: sa.Namespace, Name: sa.Name})
	}
	for ns := range out {
		sort.Slice(out[ns], func(i, j int) bool { return out[ns][i].Name < out[ns][j].Name })
	}
	return out, nil
}

func (r *Reconciler) deleteStaleRoleBindings(ctx context.Context, keep map[string][]rbacv1.Subject) error {
	return r.deleteOurs(ctx, "RoleBinding", &rbacv1.RoleBindingList{}, func(o client.Object) bool {
		_, ok := keep[o.GetNamespace()]
		return ok && o.GetName() == UseBindingName
	})
}

// deleteGrants removes every binding and role we created.
func (r *Reconciler) deleteGrants(ctx context.Context) error {
	none := func(client.Object) bool { return false }
	return errors.Join(
		r.deleteOurs(ctx, "RoleBinding", &rbacv1.RoleBindingList{}, none),
		r.deleteOurs(ctx, "ClusterRoleBinding", &rbacv1.ClusterRoleBindingList{}, none),
		r.deleteOurs(ctx, "ClusterRole", &rbacv1.ClusterRoleList{}, none),
	)
}

// deleteOurs deletes the objects of kind (listed into list) that carry our
// label, but those keep accepts.
func (r *Reconciler) deleteOurs(ctx context.Context, kind string, list client.ObjectList, keep func(client.Object) bool) error {
	if err := r.Client.List(ctx, list, client.MatchingLabels(scc.ManagedLabels())); err != nil {
		return fmt.Errorf("list our %ss: %w", kind, err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return err
	}
	var errs []error
	for _, item := range items {
		obj, ok := item.(client.Object)
		if !ok || keep(obj) {
			continue
		}
		if err := client.IgnoreNotFound(r.Client.Delete(ctx, obj)); err != nil {
			errs = append(errs, fmt.Errorf("delete %s %s: %w", kind, client.ObjectKeyFromObject(obj), err))
		}
	}
	return errors.Join(errs...)
}
