package owned

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The label that marks what the operator writes, and the field manager of
// its writes (recorded in managedFields; the DevWorkspaceOperatorConfig's
// fields are told apart by it).
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "nested-workspaces-enabler"
	FieldManager   = "nested-workspaces-enabler"
)

// Labels returns the labels that mark an object as ours, e.g. for a label
// selector.
func Labels() map[string]string {
	return map[string]string{ManagedByLabel: ManagedByValue}
}

// Labelled tells whether obj carries our managed-by label (which anyone
// can set: see Is).
func Labelled(obj metav1.Object) bool {
	return obj.GetLabels()[ManagedByLabel] == ManagedByValue
}

// Is tells whether obj is ours: labelled, and named as the operator names
// objects of its kind.
func Is(obj metav1.Object, names []string) bool {
	return Labelled(obj) && slices.Contains(names, obj.GetName())
}

// ErrNotOurs matches (errors.Is) every error about an object of one of our
// names that lacks our label and is therefore left alone.
var ErrNotOurs = errors.New("exists and is not managed by " + ManagedByValue)

// ForeignError is returned when an object of the name we need exists
// without our managed-by label; it is never changed.
type ForeignError struct {
	Kind, Namespace, Name string
}

func (e *ForeignError) Error() string {
	return fmt.Sprintf("%s %s already exists and was not created by %s (it lacks the label %s=%s), so it is left untouched: "+
		"delete it if it is a leftover, or label it to hand it over (if it was created a moment ago, the next attempt sees it)",
		e.Kind, DisplayName(e.Namespace, e.Name), ManagedByValue, ManagedByLabel, ManagedByValue)
}

// Is makes errors.Is(err, ErrNotOurs) true.
func (e *ForeignError) Is(target error) bool { return target == ErrNotOurs }

// DisplayName is namespace/name, or name for cluster-scoped objects.
func DisplayName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// WithLabel returns obj, or a copy of it carrying our managed-by label if
// it lacks it: whatever we create must be recognisable as ours.
func WithLabel[T client.Object](obj T) T {
	if Labelled(obj) {
		return obj
	}
	out := obj.DeepCopyObject().(T)
	out.SetLabels(Merged(out.GetLabels(), Labels()))
	return out
}

// MergeMetadata adds desired's labels and annotations to obj, keeping any
// others (an admin's notes, other tools' labels).
func MergeMetadata(obj, desired metav1.Object) {
	obj.SetLabels(Merged(obj.GetLabels(), desired.GetLabels()))
	obj.SetAnnotations(Merged(obj.GetAnnotations(), desired.GetAnnotations()))
}

// Merged is have with want's entries set over it; have itself when want
// is empty.
func Merged(have, want map[string]string) map[string]string {
	if len(want) == 0 {
		return have
	}
	out := make(map[string]string, len(have)+len(want))
	for k, v := range have {
		out[k] = v
	}
	for k, v := range want {
		out[k] = v
	}
	return out
}

// DeleteExactly deletes obj only if it is still the object that was read
// (same UID and resourceVersion), so an object changed or replaced since,
// e.g. relabelled by an admin, is never deleted on stale information.
func DeleteExactly(ctx context.Context, c client.Client, obj client.Object) error {
	uid, rv := obj.GetUID(), obj.GetResourceVersion()
	pre := client.Preconditions{}
	if uid != "" {
		pre.UID = &uid
	}
	if rv != "" {
		pre.ResourceVersion = &rv
	}
	return client.IgnoreNotFound(c.Delete(ctx, obj, pre))
}

// DeleteAll deletes every object of list's kind that is ours (labelled and
// named one of names) and that keep does not accept. It lists by our label
// (c may read through a cache limited to it) and deletes each by UID: a
// cache may lag our own last write, and the object it shows is ours either
// way. Objects that only carry our label are skipped: they are someone
// else's, and our RBAC could not delete them. A failed delete does not stop
// the others; the errors are joined.
func DeleteAll(ctx context.Context, c client.Client, kind string, list client.ObjectList, names []string, keep func(client.Object) bool) error {
	// Read only (a delete does not change the object it is given): from
	// the operator's cache, no copy of every object of ours per call.
	if err := c.List(ctx, list, client.MatchingLabels(Labels()), client.UnsafeDisableDeepCopy); err != nil {
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
		if !ok || !Is(obj, names) || (keep != nil && keep(obj)) {
			continue
		}
		uid := obj.GetUID()
		if err := client.IgnoreNotFound(c.Delete(ctx, obj, client.Preconditions{UID: &uid})); err != nil {
			errs = append(errs, fmt.Errorf("delete %s %s: %w", kind, DisplayName(obj.GetNamespace(), obj.GetName()), err))
		}
	}
	return errors.Join(errs...)
}
