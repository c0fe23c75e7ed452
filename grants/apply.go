package grants

import (
	"context"
	"errors"
	"slices"
	"sort"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/owned"
)

// Grants: create RBAC objects; change and delete only those of our names
// (per SCC, and the names earlier versions used, for cleanup).
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles;rolebindings,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterrolebindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,resourceNames=nested-workspaces-use-scc-nested-podman;nested-workspaces-use-scc-nested-container,verbs=update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterrolebindings,resourceNames=nested-workspaces-dwo-use-scc-nested-podman;nested-workspaces-dwo-use-scc-nested-container;nested-workspaces-dwo-use-scc,verbs=delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,resourceNames=nested-workspaces-use-scc-nested-podman;nested-workspaces-use-scc-nested-container;nested-workspaces-use-scc,verbs=update;patch;delete

// parallelWrites is how many namespaces' bindings Apply writes at once:
// enough to keep a round trip from setting the pace, few enough to leave
// the API server's priority and fairness share to others.
const parallelWrites = 8

// Outcome is what Apply did, namespace by namespace.
type Outcome struct {
	// Blocked are namespaces where an object of the binding's name is not
	// ours: their workspaces cannot use the SCC.
	Blocked []string
	// Failed are namespaces whose binding could not be written, with why;
	// retried.
	Failed []NamespaceError
	// Skipped are namespaces being deleted.
	Skipped []string
	// Err is a failure that concerns every namespace (the ClusterRole, the
	// release of stale bindings); retried.
	Err error
}

// NamespaceError is a write that failed in one namespace.
type NamespaceError struct {
	Namespace string
	Err       error
}

// Apply lets exactly the given service accounts (each in its own
// namespace) use sccName, and no one else: the ClusterRole, then a
// RoleBinding in each namespace of byNamespace, then the release of our
// bindings for sccName in namespaces that no longer have workspaces.
func Apply(ctx context.Context, c client.Client, sccName string, byNamespace map[string][]rbacv1.Subject) Outcome {
	var o Outcome
	if _, err := ApplyClusterRole(ctx, c, UseClusterRole(sccName)); err != nil {
		o.Err = err
		return o
	}
	namespaces := make([]string, 0, len(byNamespace))
	for ns := range byNamespace {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	namespaces = slices.DeleteFunc(namespaces, inStep(ctx, c, sccName, byNamespace))
	// Namespaces stand alone, so their bindings are written a few at a
	// time: at toggle-on a cluster with a thousand namespaces of workspaces
	// needs a thousand creates, one after another too slow to wait for.
	errs := make([]error, len(namespaces))
	var g errgroup.Group
	g.SetLimit(parallelWrites)
	for i, ns := range namespaces {
		g.Go(func() error {
			_, errs[i] = ApplyRoleBinding(ctx, c, UseRoleBinding(ns, sccName, byNamespace[ns]))
			return nil
		})
	}
	_ = g.Wait() // each error is kept in errs
	for i, ns := range namespaces {
		switch err := errs[i]; {
		case err == nil:
		case errors.Is(err, owned.ErrNotOurs):
			o.Blocked = append(o.Blocked, ns)
		case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
			// Its workspaces are going with it; a tenant can keep a
			// namespace Terminating for as long as they like.
			o.Skipped = append(o.Skipped, ns)
		default:
			o.Failed = append(o.Failed, NamespaceError{ns, err})
		}
	}
	name := UseClusterRoleName(sccName)
	o.Err = owned.DeleteAll(ctx, c, "RoleBinding", &rbacv1.RoleBindingList{}, []string{name}, func(obj client.Object) bool {
		_, served := byNamespace[obj.GetNamespace()]
		return served
	})
	return o
}

// inStep returns whether a namespace's binding is already ours and as
// desired, from one list of our bindings (the operator's client reads its
// cache, without copies): at every reconcile, a thousand namespaces in step
// then cost no reads and no copies of their bindings. Where the list fails
// every namespace is applied as usual.
func inStep(ctx context.Context, c client.Client, sccName string, byNamespace map[string][]rbacv1.Subject) func(ns string) bool {
	list := &rbacv1.RoleBindingList{}
	if err := c.List(ctx, list, client.MatchingLabels(owned.Labels()), client.UnsafeDisableDeepCopy); err != nil {
		return func(string) bool { return false }
	}
	name := UseClusterRoleName(sccName)
	ok := map[string]bool{}
	for i := range list.Items {
		cur := &list.Items[i]
		if subjects, wanted := byNamespace[cur.Namespace]; wanted && cur.Name == name &&
			owned.InStep(cur, UseRoleBinding(cur.Namespace, sccName, subjects), roleBindingKind) {
			ok[cur.Namespace] = true
		}
	}
	return func(ns string) bool { return ok[ns] }
}

// ApplyClusterRole makes the ClusterRole desired exist as built (see
// owned.Apply for the rules).
func ApplyClusterRole(ctx context.Context, c client.Client, desired *rbacv1.ClusterRole) (bool, error) {
	return owned.Apply(ctx, c, desired, owned.Kind[*rbacv1.ClusterRole]{
		Name:  "ClusterRole",
		Empty: func() *rbacv1.ClusterRole { return &rbacv1.ClusterRole{} },
		Same: func(cur, want *rbacv1.ClusterRole) bool {
			return equality.Semantic.DeepEqual(cur.Rules, want.Rules) && equality.Semantic.DeepEqual(cur.AggregationRule, want.AggregationRule)
		},
		Set: func(dst, src *rbacv1.ClusterRole) {
			dst.Rules, dst.AggregationRule = src.DeepCopy().Rules, src.DeepCopy().AggregationRule
		},
	})
}

// ApplyRoleBinding makes the RoleBinding desired exist as built (see
// owned.Apply for the rules; its roleRef is immutable, so a binding whose
// roleRef differs is replaced).
func ApplyRoleBinding(ctx context.Context, c client.Client, desired *rbacv1.RoleBinding) (bool, error) {
	return owned.Apply(ctx, c, desired, roleBindingKind)
}

var roleBindingKind = owned.Kind[*rbacv1.RoleBinding]{
	Name:  "RoleBinding",
	Empty: func() *rbacv1.RoleBinding { return &rbacv1.RoleBinding{} },
	Same: func(cur, want *rbacv1.RoleBinding) bool {
		return cur.RoleRef == want.RoleRef && slices.Equal(cur.Subjects, want.Subjects)
	},
	ReplaceOnly: func(cur, want *rbacv1.RoleBinding) bool { return cur.RoleRef != want.RoleRef },
	Set: func(dst, src *rbacv1.RoleBinding) {
		dst.RoleRef, dst.Subjects = src.RoleRef, src.DeepCopy().Subjects
	},
}

// Release removes our grants for every SCC but keep ("": all), in the
// order that never leaves a binding to a role that is gone: RoleBindings,
// the ClusterRoleBindings earlier versions wrote, ClusterRoles. It stops at
// the first kind that fails.
func Release(ctx context.Context, c client.Client, keep string) error {
	other := func(name string) func(client.Object) bool {
		return func(o client.Object) bool { return keep != "" && o.GetName() == name }
	}
	keepName := UseClusterRoleName(keep)
	if err := owned.DeleteAll(ctx, c, "RoleBinding", &rbacv1.RoleBindingList{}, OurRoleBindingNames(), other(keepName)); err != nil {
		return err
	}
	if err := owned.DeleteAll(ctx, c, "ClusterRoleBinding", &rbacv1.ClusterRoleBindingList{}, legacyClusterRoleBindingNames(), nil); err != nil {
		return err
	}
	return owned.DeleteAll(ctx, c, "ClusterRole", &rbacv1.ClusterRoleList{}, OurClusterRoleNames(), other(keepName))
}
