package operator

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/scc"
)

// Grants: create RBAC objects; change and delete only those of our names
// (per SCC, and the names earlier versions used, for cleanup).
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles;clusterrolebindings;rolebindings,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,resourceNames=nested-workspaces-use-scc-nested-podman;nested-workspaces-use-scc-nested-container,verbs=update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterrolebindings,resourceNames=nested-workspaces-dwo-use-scc-nested-podman;nested-workspaces-dwo-use-scc-nested-container;nested-workspaces-dwo-use-scc,verbs=update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,resourceNames=nested-workspaces-use-scc-nested-podman;nested-workspaces-use-scc-nested-container;nested-workspaces-use-scc,verbs=update;patch;delete
// Grants go only to service accounts an existing DevWorkspace controls.
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch

// DevWorkspaceGVK is the kind whose service accounts may use the SCC.
var DevWorkspaceGVK = schema.GroupVersionKind{Group: "workspace.devfile.io", Version: "v1alpha2", Kind: "DevWorkspace"}

// UseBindingName names the RoleBinding in each workspace namespace that
// lets the workspace service accounts there use sccName. Each SCC has its
// own binding, so that while workspaces move from one SCC to another both
// stay usable until no workspace is pinned to the old one.
func UseBindingName(sccName string) string { return scc.UseClusterRoleName(sccName) }

// DWOUseBindingName names the ClusterRoleBinding for the DevWorkspace
// controller's service account.
func DWOUseBindingName(sccName string) string { return "nested-workspaces-dwo-use-scc-" + sccName }

// blockedGrant is a namespace whose RoleBinding could not be written
// because an object of its name is someone else's.
type blockedGrant struct{ namespace, name string }

// applyGrants lets exactly the workspace service accounts (each in its own
// namespace) and the DevWorkspace controller use sccName, and no one else.
// A namespace where an object of the binding's name is not ours is skipped
// and returned; every other namespace is still served.
func (r *Reconciler) applyGrants(ctx context.Context, sccName string) ([]blockedGrant, error) {
	role := scc.UseClusterRole(sccName)
	if err := scc.ApplyRBAC(ctx, r.Client, role); err != nil {
		return nil, err
	}
	byNamespace, err := r.workspaceServiceAccounts(ctx)
	if err != nil {
		return nil, err
	}
	namespaces := make([]string, 0, len(byNamespace))
	for ns := range byNamespace {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	var blocked []blockedGrant
	for _, ns := range namespaces {
		err := scc.ApplyRBAC(ctx, r.Client, scc.UseRoleBinding(ns, UseBindingName(sccName), role.Name, byNamespace[ns]))
		switch {
		case errors.Is(err, scc.ErrNotOurs):
			blocked = append(blocked, blockedGrant{ns, UseBindingName(sccName)})
		case err != nil:
			return blocked, err
		}
	}
	if err := r.deleteStaleRoleBindings(ctx, sccName, byNamespace); err != nil {
		return blocked, err
	}
	dwo := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: r.DWONamespace, Name: r.DWOServiceAccount}}
	return blocked, scc.ApplyRBAC(ctx, r.Client, scc.UseClusterRoleBinding(DWOUseBindingName(sccName), role.Name, dwo))
}

func describeBlocked(sccName string, bs []blockedGrant) string {
	names := make([]string, 0, len(bs))
	for _, b := range bs {
		names = append(names, b.namespace+"/"+b.name)
	}
	return fmt.Sprintf("RoleBinding %s already exists and was not created by %s (it lacks the label %s=%s): "+
		"workspaces in those namespaces cannot use SCC %s and will not start nested; every other namespace is served. "+
		"Delete that object, or label it to hand it over",
		strings.Join(names, ", "), scc.ManagedByValue, scc.ManagedByLabel, scc.ManagedByValue, sccName)
}

// workspaceServiceAccounts groups by namespace the service accounts that
// belong to an existing DevWorkspace: controlled by it, with its UID. A
// label is not enough, anyone who may create a service account can set one.
// Sorted, so the bindings come out the same every time.
func (r *Reconciler) workspaceServiceAccounts(ctx context.Context) (map[string][]rbacv1.Subject, error) {
	workspaces := &metav1.PartialObjectMetadataList{}
	workspaces.SetGroupVersionKind(DevWorkspaceGVK.GroupVersion().WithKind(DevWorkspaceGVK.Kind + "List"))
	// Read only: the cache's objects themselves, not copies of thousands.
	if err := r.Client.List(ctx, workspaces, client.UnsafeDisableDeepCopy); err != nil {
		if meta.IsNoMatchError(err) {
			return map[string][]rbacv1.Subject{}, nil
		}
		return nil, fmt.Errorf("list DevWorkspaces: %w", err)
	}
	exists := make(map[types.UID]string, len(workspaces.Items))
	for _, ws := range workspaces.Items {
		exists[ws.UID] = ws.Namespace
	}
	sas := &metav1.PartialObjectMetadataList{}
	sas.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccountList"))
	if err := r.Client.List(ctx, sas, client.HasLabels{WorkspaceIDLabel}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list workspace service accounts: %w", err)
	}
	out := map[string][]rbacv1.Subject{}
	for i := range sas.Items {
		sa := &sas.Items[i]
		if !ownedByWorkspace(sa, exists) {
			continue
		}
		out[sa.Namespace] = append(out[sa.Namespace], rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: sa.Namespace, Name: sa.Name})
	}
	for ns := range out {
		sort.Slice(out[ns], func(i, j int) bool { return out[ns][i].Name < out[ns][j].Name })
	}
	return out, nil
}

// ownedByWorkspace tells whether sa's controller is a DevWorkspace that
// exists, in sa's namespace.
func ownedByWorkspace(sa *metav1.PartialObjectMetadata, workspaces map[types.UID]string) bool {
	ref := metav1.GetControllerOfNoCopy(sa)
	if ref == nil || ref.Kind != DevWorkspaceGVK.Kind {
		return false
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || gv.Group != DevWorkspaceGVK.Group {
		return false
	}
	ns, ok := workspaces[ref.UID]
	return ok && ns == sa.Namespace
}

func (r *Reconciler) deleteStaleRoleBindings(ctx context.Context, sccName string, keep map[string][]rbacv1.Subject) error {
	return r.deleteOurs(ctx, "RoleBinding", &rbacv1.RoleBindingList{}, func(o client.Object) bool {
		if o.GetName() != UseBindingName(sccName) {
			return true // another SCC's: released once nothing is pinned to it
		}
		_, ok := keep[o.GetNamespace()]
		return ok
	})
}

// releaseOtherSCCs removes our grants for, and our own SCCs other than,
// keep. Called only once the DevWorkspaceOperatorConfig pins keep, so no
// workspace is left pinned to what goes.
func (r *Reconciler) releaseOtherSCCs(ctx context.Context, keep string) error {
	other := func(name string) func(client.Object) bool {
		return func(o client.Object) bool { return o.GetName() == name }
	}
	return runSteps(ctx, []step{
		{"delete other SCCs' RoleBindings", func(ctx context.Context) error {
			return r.deleteOurs(ctx, "RoleBinding", &rbacv1.RoleBindingList{}, other(UseBindingName(keep)))
		}},
		{"delete other SCCs' ClusterRoleBindings", func(ctx context.Context) error {
			return r.deleteOurs(ctx, "ClusterRoleBinding", &rbacv1.ClusterRoleBindingList{}, other(DWOUseBindingName(keep)))
		}},
		{"delete other SCCs' ClusterRoles", func(ctx context.Context) error {
			return r.deleteOurs(ctx, "ClusterRole", &rbacv1.ClusterRoleList{}, other(scc.UseClusterRoleName(keep)))
		}},
		{"delete our other SCCs", func(ctx context.Context) error { return r.deleteOurSCCs(ctx, keep) }},
	})
}

// deleteOurs deletes the objects of kind (listed into list) that carry our
// label, but those keep accepts.
func (r *Reconciler) deleteOurs(ctx context.Context, kind string, list client.ObjectList, keep func(client.Object) bool) error {
	if err := r.Client.List(ctx, list, client.MatchingLabels(scc.ManagedLabels())); err != nil {
		if meta.IsNoMatchError(err) {
			return nil
		}
		return fmt.Errorf("list our %ss: %w", kind, err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return err
	}
	var errs []error
	for _, item := range items {
		obj, ok := item.(client.Object)
		if !ok || keep(obj) || !scc.IsManaged(obj) {
			continue
		}
		if err := client.IgnoreNotFound(r.Client.Delete(ctx, obj)); err != nil {
			errs = append(errs, fmt.Errorf("delete %s %s: %w", kind, client.ObjectKeyFromObject(obj), err))
		}
	}
	return errors.Join(errs...)
}
