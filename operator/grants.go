package operator

import (
	"context"
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
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
	crs := &rbacv1.ClusterRoleList{}
	if err := r.Client.List(ctx, crs, client.MatchingLabels(scc.ManagedLabels())); err != nil {
		return fmt.Errorf("list our ClusterRoles: %w", err)
	}
	var errs []error
	for i := range crs.Items {
		if crs.Items[i].Name == keep {
			continue
		}
		if err := client.IgnoreNotFound(r.Client.Delete(ctx, &crs.Items[i])); err != nil {
			errs = append(errs, fmt.Errorf("delete ClusterRole %s: %w", crs.Items[i].Name, err))
		}
	}
	return errors.Join(errs...)
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
	list := &rbacv1.RoleBindingList{}
	if err := r.Client.List(ctx, list, client.MatchingLabels(scc.ManagedLabels())); err != nil {
		return fmt.Errorf("list our RoleBindings: %w", err)
	}
	var errs []error
	for i := range list.Items {
		rb := &list.Items[i]
		if _, ok := keep[rb.Namespace]; ok && rb.Name == UseBindingName {
			continue
		}
		if err := client.IgnoreNotFound(r.Client.Delete(ctx, rb)); err != nil {
			errs = append(errs, fmt.Errorf("delete RoleBinding %s/%s: %w", rb.Namespace, rb.Name, err))
		}
	}
	return errors.Join(errs...)
}

// deleteGrants removes every binding and role we created.
func (r *Reconciler) deleteGrants(ctx context.Context) error {
	var errs []error
	if err := r.deleteStaleRoleBindings(ctx, nil); err != nil {
		errs = append(errs, err)
	}
	crbs := &rbacv1.ClusterRoleBindingList{}
	if err := r.Client.List(ctx, crbs, client.MatchingLabels(scc.ManagedLabels())); err != nil {
		errs = append(errs, fmt.Errorf("list our ClusterRoleBindings: %w", err))
	}
	for i := range crbs.Items {
		if err := client.IgnoreNotFound(r.Client.Delete(ctx, &crbs.Items[i])); err != nil {
			errs = append(errs, fmt.Errorf("delete ClusterRoleBinding %s: %w", crbs.Items[i].Name, err))
		}
	}
	if err := r.deleteStaleClusterRoles(ctx, ""); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
