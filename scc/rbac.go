package scc

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ForeignObjectError is returned when an RBAC object of the name we need
// exists without our managed-by label; it is never changed.
type ForeignObjectError struct {
	Kind, Namespace, Name string
}

func (e *ForeignObjectError) Error() string {
	name := e.Name
	if e.Namespace != "" {
		name = e.Namespace + "/" + e.Name
	}
	return fmt.Sprintf("%s %s already exists and was not created by %s (it lacks the label %s=%s), so it is left untouched: "+
		"delete it if it is a leftover, or label it to hand it over (if it was created a moment ago, the next attempt sees it)", e.Kind, name, ManagedByValue, ManagedByLabel, ManagedByValue)
}

// Is makes errors.Is(err, ErrNotOurs) true.
func (e *ForeignObjectError) Is(target error) bool { return target == ErrNotOurs }

// ApplyClusterRole makes the ClusterRole desired exist as built; see
// ApplyRBAC for the rules.
func ApplyClusterRole(ctx context.Context, c client.Client, desired *rbacv1.ClusterRole) (Result, error) {
	return applyOwned(ctx, c, desired, rbacKind[*rbacv1.ClusterRole]{
		name:  "ClusterRole",
		empty: func() *rbacv1.ClusterRole { return &rbacv1.ClusterRole{} },
		same: func(cur, want *rbacv1.ClusterRole) bool {
			return equality.Semantic.DeepEqual(cur.Rules, want.Rules) && equality.Semantic.DeepEqual(cur.AggregationRule, want.AggregationRule)
		},
		replaceOnly: func(cur, want *rbacv1.ClusterRole) bool { return false },
		set: func(dst, src *rbacv1.ClusterRole) {
			dst.Rules, dst.AggregationRule = src.DeepCopy().Rules, src.DeepCopy().AggregationRule
		},
	})
}

// ApplyRoleBinding makes the RoleBinding desired exist as built; see
// ApplyRBAC for the rules.
func ApplyRoleBinding(ctx context.Context, c client.Client, desired *rbacv1.RoleBinding) (Result, error) {
	return applyOwned(ctx, c, desired, rbacKind[*rbacv1.RoleBinding]{
		name:  "RoleBinding",
		empty: func() *rbacv1.RoleBinding { return &rbacv1.RoleBinding{} },
		same: func(cur, want *rbacv1.RoleBinding) bool {
			return cur.RoleRef == want.RoleRef && equality.Semantic.DeepEqual(cur.Subjects, want.Subjects)
		},
		replaceOnly: func(cur, want *rbacv1.RoleBinding) bool { return cur.RoleRef != want.RoleRef },
		set: func(dst, src *rbacv1.RoleBinding) {
			dst.RoleRef, dst.Subjects = src.RoleRef, src.DeepCopy().Subjects
		},
	})
}

// ApplyClusterRoleBinding makes the ClusterRoleBinding desired exist as
// built; see ApplyRBAC for the rules.
func ApplyClusterRoleBinding(ctx context.Context, c client.Client, desired *rbacv1.ClusterRoleBinding) (Result, error) {
	return applyOwned(ctx, c, desired, rbacKind[*rbacv1.ClusterRoleBinding]{
		name:  "ClusterRoleBinding",
		empty: func() *rbacv1.ClusterRoleBinding { return &rbacv1.ClusterRoleBinding{} },
		same: func(cur, want *rbacv1.ClusterRoleBinding) bool {
			return cur.RoleRef == want.RoleRef && equality.Semantic.DeepEqual(cur.Subjects, want.Subjects)
		},
		replaceOnly: func(cur, want *rbacv1.ClusterRoleBinding) bool { return cur.RoleRef != want.RoleRef },
		set: func(dst, src *rbacv1.ClusterRoleBinding) {
			dst.RoleRef, dst.Subjects = src.RoleRef, src.DeepCopy().Subjects
		},
	})
}

// ApplyRBAC applies one of our ClusterRoles, RoleBindings or
// ClusterRoleBindings: created when absent; when present with our label,
// rules, roleRef and subjects are set as desired (a binding whose roleRef,
// which is immutable, differs is replaced), keeping labels and annotations
// others added; when present without our label, a *ForeignObjectError; when
// already as desired, no write at all.
func ApplyRBAC(ctx context.Context, c client.Client, desired client.Object) error {
	var err error
	switch obj := desired.(type) {
	case *rbacv1.ClusterRole:
		_, err = ApplyClusterRole(ctx, c, obj)
	case *rbacv1.RoleBinding:
		_, err = ApplyRoleBinding(ctx, c, obj)
	case *rbacv1.ClusterRoleBinding:
		_, err = ApplyClusterRoleBinding(ctx, c, obj)
	default:
		err = fmt.Errorf("apply %T %s: not an RBAC object this package manages", desired, desired.GetName())
	}
	return err
}

// rbacKind says how to compare and update one RBAC kind.
type rbacKind[T client.Object] struct {
	name  string
	empty func() T
	// same tells whether cur already has want's content.
	same func(cur, want T) bool
	// replaceOnly tells whether cur can only become want by delete and
	// create (roleRef is immutable).
	replaceOnly func(cur, want T) bool
	// set copies src's content into dst.
	set func(dst, src T)
}

func applyOwned[T client.Object](ctx context.Context, c client.Client, desired T, k rbacKind[T]) (Result, error) {
	desired = withManagedLabel(desired)
	what := k.name + " " + displayName(desired)
	current := k.empty()
	err := c.Get(ctx, client.ObjectKeyFromObject(desired), current)
	switch {
	case apierrors.IsNotFound(err):
		return create(ctx, c, desired, k.name)
	case err != nil:
		return Result{}, fmt.Errorf("get %s: %w", what, err)
	case !IsManaged(current):
		return Result{}, foreign(k.name, desired)
	}
	if k.same(current, desired) && equality.Semantic.DeepEqual(current.GetLabels(), merged(current.GetLabels(), desired.GetLabels())) &&
		equality.Semantic.DeepEqual(current.GetAnnotations(), merged(current.GetAnnotations(), desired.GetAnnotations())) {
		return Result{}, nil
	}
	if k.replaceOnly(current, desired) {
		if err := deleteExactly(ctx, c, current); err != nil {
			return Result{}, fmt.Errorf("replace %s (its roleRef cannot change): %w", what, err)
		}
		return create(ctx, c, desired, k.name)
	}
	k.set(current, desired)
	mergeMetadata(current, desired)
	if err := c.Update(ctx, current, client.FieldOwner(FieldManager)); err != nil {
		return Result{}, fmt.Errorf("correct drift on %s: %w", what, err)
	}
	return Result{Changed: true}, nil
}

func create[T client.Object](ctx context.Context, c client.Client, desired T, kind string) (Result, error) {
	obj := desired.DeepCopyObject().(T)
	err := c.Create(ctx, obj, client.FieldOwner(FieldManager))
	switch {
	case apierrors.IsAlreadyExists(err):
		// Invisible to reads limited to our label, yet present.
		return Result{}, foreign(kind, desired)
	case err != nil:
		return Result{}, fmt.Errorf("create %s %s: %w", kind, displayName(desired), err)
	}
	return Result{Changed: true}, nil
}

func foreign(kind string, obj client.Object) error {
	return &ForeignObjectError{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// displayName is namespace/name, or name for cluster-scoped objects.
func displayName(obj client.Object) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}
