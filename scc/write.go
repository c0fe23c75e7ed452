package scc

import (
	"context"
	"errors"
	"fmt"

	securityv1 "github.com/openshift/api/security/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Result says what an Apply call did.
type Result struct {
	// Changed is true when the call wrote to the API server (create,
	// update or delete); false means the object already was as wanted.
	Changed bool
}

// ErrNotOurs matches (errors.Is) every error about an object of the name we
// need that lacks our managed-by label and is therefore left alone.
var ErrNotOurs = errors.New("exists and is not managed by " + ManagedByValue)

// ErrUserNamespaceLevelPruned means the API server does not keep an SCC's
// userNamespaceLevel: its SCC schema predates the field, as on OpenShift
// 4.19 with featureSet Default and older releases. Such an SCC would grant
// SETUID/SETGID to pods in the host user namespace, so none is kept.
var ErrUserNamespaceLevelPruned = errors.New("the API server drops userNamespaceLevel from SecurityContextConstraints, " +
	"so no SCC can require pods to run in their own user namespace; nested containers need OpenShift 4.20 or newer, " +
	"or 4.19 with the FeatureGate featureSet TechPreviewNoUpgrade (or CustomNoUpgrade enabling UserNamespacesSupport, " +
	"UserNamespacesPodSecurityStandards and ProcMountType)")

// ForeignSCCError is returned when an SCC of the wanted name exists without
// our managed-by label: it belongs to someone else and is never changed.
type ForeignSCCError struct {
	Name string
}

func (e *ForeignSCCError) Error() string {
	return fmt.Sprintf("SecurityContextConstraints %q already exists and was not created by %s (it lacks the label %s=%s), so it is left untouched: "+
		"delete that SCC if it is a leftover, or label it %s=%s to hand it over (it is then overwritten); "+
		"on OpenShift 4.20 or newer, spec.scc.builtIn Auto uses OpenShift's own nested-container SCC instead",
		e.Name, ManagedByValue, ManagedByLabel, ManagedByValue, ManagedByLabel, ManagedByValue)
}

// Is makes errors.Is(err, ErrNotOurs) true.
func (e *ForeignSCCError) Is(target error) bool { return target == ErrNotOurs }

// ApplySCC makes the SCC desired exist as built, and says whether it wrote:
//   - absent: created;
//   - present with our label: drift in any field we set is corrected, with
//     the resourceVersion read as precondition; labels and annotations
//     others added are kept;
//   - present without our label: a *ForeignSCCError, no write;
//   - already as desired: Result{Changed: false}, no write.
//
// Before each write a server-side dry run shows whether the API server
// keeps userNamespaceLevel. If it does not, nothing is written, an SCC of
// ours that lost the field is deleted, and the error wraps
// ErrUserNamespaceLevelPruned.
//
// c may read through a cache that holds only our SCCs; live (may be nil)
// reads past it, so an admin's SCC of the same name is recognised before
// any write. Without it, the create is refused by the API server and
// reported the same way.
func ApplySCC(ctx context.Context, c client.Client, live client.Reader, desired *securityv1.SecurityContextConstraints) (Result, error) {
	desired = withManagedLabel(desired)
	current := &securityv1.SecurityContextConstraints{}
	err := c.Get(ctx, client.ObjectKeyFromObject(desired), current)
	if apierrors.IsNotFound(err) && live != nil {
		err = live.Get(ctx, client.ObjectKeyFromObject(desired), current)
	}
	switch {
	case apierrors.IsNotFound(err):
		return createSCC(ctx, c, desired)
	case err != nil:
		return Result{}, fmt.Errorf("get SCC %s: %w", desired.Name, err)
	case !IsManaged(current):
		return Result{}, &ForeignSCCError{Name: desired.Name}
	}

	want := current.DeepCopy()
	setSCCFields(want, desired)
	mergeMetadata(want, desired)
	if equality.Semantic.DeepEqual(current, want) {
		return Result{}, nil
	}
	probe := want.DeepCopy()
	if err := c.Update(ctx, probe, client.DryRunAll, client.FieldOwner(FieldManager)); err != nil {
		return Result{}, fmt.Errorf("correct drift on SCC %s (dry run): %w", desired.Name, err)
	}
	if pruned(probe, desired) {
		return dropUnsafeSCC(ctx, c, current)
	}
	if err := c.Update(ctx, want, client.FieldOwner(FieldManager)); err != nil {
		return Result{}, fmt.Errorf("correct drift on SCC %s: %w", desired.Name, err)
	}
	if pruned(want, desired) {
		// The schema changed between the dry run and the write.
		return dropUnsafeSCC(ctx, c, want)
	}
	return Result{Changed: true}, nil
}

func createSCC(ctx context.Context, c client.Client, desired *securityv1.SecurityContextConstraints) (Result, error) {
	probe := desired.DeepCopy()
	if err := c.Create(ctx, probe, client.DryRunAll, client.FieldOwner(FieldManager)); err != nil {
		return Result{}, createError(desired.Name, err)
	}
	if pruned(probe, desired) {
		return Result{}, fmt.Errorf("create SCC %s: %w", desired.Name, ErrUserNamespaceLevelPruned)
	}
	created := desired.DeepCopy()
	if err := c.Create(ctx, created, client.FieldOwner(FieldManager)); err != nil {
		return Result{}, createError(desired.Name, err)
	}
	if pruned(created, desired) {
		return dropUnsafeSCC(ctx, c, created)
	}
	return Result{Changed: true}, nil
}

func createError(name string, err error) error {
	if apierrors.IsAlreadyExists(err) {
		// Not visible to our reads yet present: it lacks our label (or
		// appeared this instant, which the next reconcile sorts out).
		return &ForeignSCCError{Name: name}
	}
	return fmt.Errorf("create SCC %s: %w", name, err)
}

// pruned tells whether the API server dropped the userNamespaceLevel that
// desired asks for. The SCC schema defaults the field to AllowHostLevel
// where it knows it, so empty means the schema lacks it.
func pruned(got, desired *securityv1.SecurityContextConstraints) bool {
	return desired.UserNamespaceLevel != "" && got.UserNamespaceLevel != desired.UserNamespaceLevel
}

// dropUnsafeSCC deletes our SCC that no longer requires pod user namespaces
// but still allows SETUID/SETGID.
func dropUnsafeSCC(ctx context.Context, c client.Client, ours *securityv1.SecurityContextConstraints) (Result, error) {
	if err := deleteExactly(ctx, c, ours); err != nil {
		return Result{}, fmt.Errorf("SCC %s: %w; deleting it, as it would allow SETUID/SETGID in the host user namespace, failed: %v",
			ours.Name, ErrUserNamespaceLevelPruned, err)
	}
	return Result{Changed: true}, fmt.Errorf("SCC %s (deleted: it would allow SETUID/SETGID in the host user namespace): %w",
		ours.Name, ErrUserNamespaceLevelPruned)
}

// setSCCFields copies every non-metadata field of src into dst.
func setSCCFields(dst, src *securityv1.SecurityContextConstraints) {
	meta, typeMeta := dst.ObjectMeta, dst.TypeMeta
	*dst = *src.DeepCopy()
	dst.ObjectMeta, dst.TypeMeta = meta, typeMeta
}

// withManagedLabel returns obj, or a copy of it carrying our managed-by
// label if it lacks it: whatever we create must be recognisable as ours.
func withManagedLabel[T client.Object](obj T) T {
	if IsManaged(obj) {
		return obj
	}
	out := obj.DeepCopyObject().(T)
	out.SetLabels(merged(out.GetLabels(), ManagedLabels()))
	return out
}

// mergeMetadata adds desired's labels and annotations to obj, keeping any
// others (an admin's notes, other tools' labels).
func mergeMetadata(obj, desired metav1.Object) {
	obj.SetLabels(merged(obj.GetLabels(), desired.GetLabels()))
	obj.SetAnnotations(merged(obj.GetAnnotations(), desired.GetAnnotations()))
}

func merged(have, want map[string]string) map[string]string {
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

// deleteExactly deletes obj only if it is still the object that was read
// (same UID and resourceVersion), so an object changed or replaced since,
// e.g. relabelled by an admin, is never deleted on stale information.
func deleteExactly(ctx context.Context, c client.Client, obj client.Object) error {
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

// DeleteSCC deletes the SCC name if it is ours; an SCC of that name without
// our label, or none, is not an error.
func DeleteSCC(ctx context.Context, c client.Client, name string) error {
	current := &securityv1.SecurityContextConstraints{}
	err := c.Get(ctx, client.ObjectKey{Name: name}, current)
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get SCC %s: %w", name, err)
	}
	if !IsManaged(current) {
		return nil
	}
	// Only the UID is a precondition: c may read through a cache whose
	// resourceVersion lags our own last write, and the object it shows is
	// ours either way.
	uid := current.UID
	if err := client.IgnoreNotFound(c.Delete(ctx, current, client.Preconditions{UID: &uid})); err != nil {
		return fmt.Errorf("delete SCC %s: %w", name, err)
	}
	return nil
}

// PreferBuiltIn returns BuiltInSCCName when builtInMode is not "Never", the
// cluster is OpenShift 4.openshiftMinor with minor 20 or newer, and that SCC
// exists and requires pod user namespaces; "" means create our own. r must
// read past caches limited to our objects: OpenShift's SCC lacks our label.
func PreferBuiltIn(ctx context.Context, r client.Reader, builtInMode string, openshiftMinor int) (string, error) {
	if builtInMode == "Never" || openshiftMinor < 20 {
		return "", nil
	}
	builtIn := &securityv1.SecurityContextConstraints{}
	err := r.Get(ctx, client.ObjectKey{Name: BuiltInSCCName}, builtIn)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("look for OpenShift's %s SCC: %w", BuiltInSCCName, err)
	case GrantsCapabilitiesWithoutUserNamespace(builtIn):
		// Modified on this cluster into something we would not create.
		return "", nil
	}
	return BuiltInSCCName, nil
}
