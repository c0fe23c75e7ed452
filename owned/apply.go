package owned

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Kind says how to compare and correct one kind of object we own.
type Kind[T client.Object] struct {
	// Name is the kind, for messages ("RoleBinding").
	Name  string
	Empty func() T
	// Same tells whether cur already has want's content.
	Same func(cur, want T) bool
	// ReplaceOnly tells whether cur can only become want by delete and
	// create (a binding's roleRef is immutable); nil means never.
	ReplaceOnly func(cur, want T) bool
	// Set copies src's content into dst.
	Set func(dst, src T)
}

// Apply makes desired exist as built and says whether it wrote:
//   - absent: created (with our label);
//   - present with our label: its content is set as desired (a binding
//     whose roleRef differs is replaced), keeping labels and annotations
//     others added;
//   - present without our label: a *ForeignError, no write;
//   - already as desired: no write.
//
// c may read through a cache limited to our label: an object of the name
// that lacks it is then invisible, and the create is refused as
// AlreadyExists, which is reported the same way.
func Apply[T client.Object](ctx context.Context, c client.Client, desired T, k Kind[T]) (changed bool, err error) {
	desired = WithLabel(desired)
	what := k.Name + " " + DisplayName(desired.GetNamespace(), desired.GetName())
	current := k.Empty()
	err = c.Get(ctx, client.ObjectKeyFromObject(desired), current)
	switch {
	case apierrors.IsNotFound(err):
		return create(ctx, c, desired, k.Name)
	case err != nil:
		return false, fmt.Errorf("get %s: %w", what, err)
	case !Labelled(current):
		return false, foreign(k.Name, desired)
	}
	if InStep(current, desired, k) {
		return false, nil
	}
	if k.ReplaceOnly != nil && k.ReplaceOnly(current, desired) {
		if err := DeleteExactly(ctx, c, current); err != nil {
			return false, fmt.Errorf("replace %s (its roleRef cannot change): %w", what, err)
		}
		return create(ctx, c, desired, k.Name)
	}
	k.Set(current, desired)
	MergeMetadata(current, desired)
	if err := c.Update(ctx, current, client.FieldOwner(FieldManager)); err != nil {
		return false, fmt.Errorf("correct drift on %s: %w", what, err)
	}
	return true, nil
}

// InStep tells whether current, an object of ours, is as desired: what
// k.Same compares, and desired's labels and annotations present. Apply
// writes nothing then; a caller holding current (from a cached list) can
// skip Apply.
func InStep[T client.Object](current, desired T, k Kind[T]) bool {
	// Compared in place, without copies: a reconcile asks this of every
	// namespace's binding.
	cur := current.GetLabels()
	return k.Same(current, desired) && cur[ManagedByLabel] == ManagedByValue &&
		holds(cur, desired.GetLabels()) && holds(current.GetAnnotations(), desired.GetAnnotations())
}

// holds tells whether have has every key of want with want's value.
func holds(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func create[T client.Object](ctx context.Context, c client.Client, desired T, kind string) (bool, error) {
	obj := desired.DeepCopyObject().(T)
	err := c.Create(ctx, obj, client.FieldOwner(FieldManager))
	switch {
	case apierrors.IsAlreadyExists(err):
		// Invisible to reads limited to our label, yet present.
		return false, foreign(kind, desired)
	case err != nil:
		return false, fmt.Errorf("create %s %s: %w", kind, DisplayName(desired.GetNamespace(), desired.GetName()), err)
	}
	return true, nil
}

func foreign(kind string, obj client.Object) error {
	return &ForeignError{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}
