package scc

import (
	"context"
	"errors"
	"fmt"

	securityv1 "github.com/openshift/api/security/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/owned"
)

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
		e.Name, owned.ManagedByValue, owned.ManagedByLabel, owned.ManagedByValue, owned.ManagedByLabel, owned.ManagedByValue)
}

// Is makes errors.Is(err, owned.ErrNotOurs) true.
func (e *ForeignSCCError) Is(target error) bool { return target == owned.ErrNotOurs }

// Apply makes the SCC desired exist as built, and says whether it wrote:
//   - absent: created;
//   - present with our label: drift in any field we set is corrected, with
//     the resourceVersion read as precondition; labels and annotations
//     others added are kept;
//   - present without our label: a *ForeignSCCError, no write;
//   - already as desired: no write.
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
func Apply(ctx context.Context, c client.Client, live client.Reader, desired *securityv1.SecurityContextConstraints) (changed bool, err error) {
	desired = owned.WithLabel(desired)
	current := &securityv1.SecurityContextConstraints{}
	err = c.Get(ctx, client.ObjectKeyFromObject(desired), current)
	if apierrors.IsNotFound(err) && live != nil {
		err = live.Get(ctx, client.ObjectKeyFromObject(desired), current)
	}
	switch {
	case apierrors.IsNotFound(err):
		return createSCC(ctx, c, desired)
	case err != nil:
		return false, fmt.Errorf("get SCC %s: %w", desired.Name, err)
	case !owned.Labelled(current):
		return false, &ForeignSCCError{Name: desired.Name}
	}

	want := current.DeepCopy()
	setSCCFields(want, desired)
	owned.MergeMetadata(want, desired)
	if equality.Semantic.DeepEqual(current, want) {
		return false, nil
	}
	probe := want.DeepCopy()
	if err := c.Update(ctx, probe, client.DryRunAll, client.FieldOwner(owned.FieldManager)); err != nil {
		return false, fmt.Errorf("correct drift on SCC %s (dry run): %w", desired.Name, err)
	}
	if pruned(probe, desired) {
		return dropUnsafeSCC(ctx, c, current)
	}
	if err := c.Update(ctx, want, client.FieldOwner(owned.FieldManager)); err != nil {
		return false, fmt.Errorf("correct drift on SCC %s: %w", desired.Name, err)
	}
	if pruned(want, desired) {
		// The schema changed between the dry run and the write.
		return dropUnsafeSCC(ctx, c, want)
	}
	return true, nil
}

func createSCC(ctx context.Context, c client.Client, desired *securityv1.SecurityContextConstraints) (bool, error) {
	probe := desired.DeepCopy()
	if err := c.Create(ctx, probe, client.DryRunAll, client.FieldOwner(owned.FieldManager)); err != nil {
		return false, createError(desired.Name, err)
	}
	if pruned(probe, desired) {
		return false, fmt.Errorf("create SCC %s: %w", desired.Name, ErrUserNamespaceLevelPruned)
	}
	created := desired.DeepCopy()
	if err := c.Create(ctx, created, client.FieldOwner(owned.FieldManager)); err != nil {
		return false, createError(desired.Name, err)
	}
	if pruned(created, desired) {
		return dropUnsafeSCC(ctx, c, created)
	}
	return true, nil
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
func dropUnsafeSCC(ctx context.Context, c client.Client, ours *securityv1.SecurityContextConstraints) (bool, error) {
	if err := owned.DeleteExactly(ctx, c, ours); err != nil {
		return false, fmt.Errorf("SCC %s: %w; deleting it, as it would allow SETUID/SETGID in the host user namespace, failed: %v",
			ours.Name, ErrUserNamespaceLevelPruned, err)
	}
	return true, fmt.Errorf("SCC %s (deleted: it would allow SETUID/SETGID in the host user namespace): %w",
		ours.Name, ErrUserNamespaceLevelPruned)
}

// setSCCFields copies every non-metadata field of src into dst.
func setSCCFields(dst, src *securityv1.SecurityContextConstraints) {
	meta, typeMeta := dst.ObjectMeta, dst.TypeMeta
	*dst = *src.DeepCopy()
	dst.ObjectMeta, dst.TypeMeta = meta, typeMeta
}

// Release deletes our SCCs (labelled and named ours) other than keep ("":
// all of them). An SCC of one of our names that lacks our label is an
// admin's and stays.
func Release(ctx context.Context, c client.Client, keep string) error {
	return owned.DeleteAll(ctx, c, "SecurityContextConstraints", &securityv1.SecurityContextConstraintsList{}, OurNames(),
		func(o client.Object) bool { return o.GetName() == keep })
}
