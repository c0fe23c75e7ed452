package operator

import (
	"context"
	"fmt"

	securityv1 "github.com/openshift/api/security/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/scc"
)

// observe reads everything the decision needs, writing nothing. It is not
// ready while the workspaces' watch has not listed once (their watch
// triggers a reconcile when it has).
func (r *Reconciler) observe(ctx context.Context, nc *enablerv1alpha1.NestedContainers) (Observation, bool, error) {
	o := Observation{Toggle: nc}
	if !nc.DeletionTimestamp.IsZero() {
		return o, true, nil
	}
	if err := r.watches.ensure(ctx); err != nil {
		return o, false, fmt.Errorf("watch the DevWorkspace Operator's kinds: %w", err)
	}
	report, err := r.Detector.Detect(ctx)
	if err != nil {
		o.DetectErr = err
		return o, true, nil
	}
	if r.watches.serving(CheClusterGVK) {
		devSpaces, err := detect.ReadDevSpaces(ctx, r.Client)
		if err != nil {
			return o, false, err
		}
		report.AddDevSpaces(devSpaces)
	}
	o.Report = report
	if report.Verdict == detect.Supported && report.OpenShiftMinor() >= 20 {
		if o.BuiltIn, err = r.builtInSCC(ctx, nc); err != nil {
			return o, false, err
		}
	}
	if r.Workspaces != nil {
		snap, synced := r.Workspaces.Snapshot()
		if !synced {
			return o, false, nil
		}
		o.Workspaces = snap
	}
	if report.OpenShift && r.fence != nil {
		o.Fence = r.fence.check(ctx)
	}
	return o, true, nil
}

// builtInSCC reads OpenShift's nested-container SCC: from the cache, which
// holds every SCC so that it is seen to come and go; and again from the API
// server when the cached copy would be passed over, because around a change
// of the SCC schema (an upgrade to 4.20 adds userNamespaceLevel) the cache
// may still hold it as read under the old schema.
func (r *Reconciler) builtInSCC(ctx context.Context, nc *enablerv1alpha1.NestedContainers) (*securityv1.SecurityContextConstraints, error) {
	if nc.Spec.SCC.BuiltIn == enablerv1alpha1.BuiltInNever {
		return nil, nil
	}
	s, err := getSCC(ctx, r.Client, scc.BuiltInSCCName)
	if err != nil || s == nil || r.APIReader == nil {
		return s, err
	}
	if c := chooseSCC(nc, nc.NormalizedCapabilities(), false, s); c.PassedOver == "" {
		return s, nil
	}
	return getSCC(ctx, r.APIReader, scc.BuiltInSCCName)
}

func getSCC(ctx context.Context, c client.Reader, name string) (*securityv1.SecurityContextConstraints, error) {
	s := &securityv1.SecurityContextConstraints{}
	err := c.Get(ctx, client.ObjectKey{Name: name}, s)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("look for OpenShift's %s SCC: %w", name, err)
	}
	return s, nil
}
