package operator

import (
	"fmt"
	"slices"
	"strings"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
)

// Plan is what the cluster should look like after a reconcile.
type Plan struct {
	// Nested is true when workspaces should be made nested-capable.
	Nested bool
	// SCCName is the SCC workspace pods are pinned to.
	SCCName string
	// CreateSCC is false when OpenShift's own nested-container SCC is used.
	CreateSCC bool
	Settings  WorkspaceSettings
	// Why explains a plan that is not Nested, for the Ready condition.
	WhyNot, WhyNotReason string
}

// decide turns the toggle and the detection report into a plan. It is pure.
func decide(nc *enablerv1alpha1.NestedContainers, report *detect.Report, builtInSCC string) Plan {
	sccName := nc.Spec.SCC.Name
	if sccName == "" {
		sccName = enablerv1alpha1.DefaultSCCName
	}
	p := Plan{SCCName: sccName, CreateSCC: true}
	caps := nc.NormalizedCapabilities()
	// OpenShift's nested-container SCC allows SETUID and SETGID only.
	if builtInSCC != "" && !slices.Contains(caps, enablerv1alpha1.CapabilityChown) {
		p.SCCName, p.CreateSCC = builtInSCC, false
	}
	p.Settings = WorkspaceSettings{SCCName: p.SCCName, RunAsUser: nc.EffectiveRunAsUser(), Capabilities: caps, Devices: nc.NormalizedDevices()}
	switch {
	case !nc.Spec.Enabled:
		p.WhyNotReason, p.WhyNot = enablerv1alpha1.ReasonDisabled, "spec.enabled is false: set it to true to make new workspaces nested-capable"
	case report.Verdict != detect.Supported:
		p.WhyNotReason, p.WhyNot = enablerv1alpha1.ReasonClusterUnsupported, "cluster cannot run nested containers: "+reasonMessages(report.Reasons)
	default:
		p.Nested = true
	}
	return p
}

func reasonMessages(rs []detect.Reason) string {
	msgs := make([]string, 0, len(rs))
	for _, r := range rs {
		msgs = append(msgs, r.Message)
	}
	if len(msgs) == 0 {
		return "no reason given"
	}
	return strings.Join(msgs, "; ")
}

func describeSCC(p Plan) string {
	if p.CreateSCC {
		return fmt.Sprintf("SCC %s (managed by this operator)", p.SCCName)
	}
	return fmt.Sprintf("OpenShift's built-in SCC %s", p.SCCName)
}
