package operator

import (
	"context"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/scc"
)

// builtInSCC names OpenShift's own nested-container SCC when the spec asks
// for it (builtIn Auto) and the cluster has it.
func (r *Reconciler) builtInSCC(ctx context.Context, nc *enablerv1alpha1.NestedContainers, report *detect.Report) (string, error) {
	if report.Verdict != detect.Supported {
		return "", nil
	}
	// The cache holds every SCC, so OpenShift's own is seen to come and go.
	mode, minor := string(nc.Spec.SCC.BuiltIn), report.OpenShiftMinor()
	name, err := scc.PreferBuiltIn(ctx, r.Client, mode, minor)
	if name != "" || err != nil || r.APIReader == nil {
		return name, err
	}
	// Refused from the cache: look again at the API server. Around a change
	// of the SCC schema (an upgrade to 4.20 adds userNamespaceLevel) the
	// cache may still hold OpenShift's SCC as read under the old schema,
	// without RequirePodLevel, while the object itself has it.
	return scc.PreferBuiltIn(ctx, r.APIReader, mode, minor)
}
