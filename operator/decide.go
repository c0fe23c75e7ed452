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
	// Hold keeps what is in place, writing nothing: detection cannot tell
	// right now, and the last configuration was good. HoldWhy says why.
	Hold    bool
	HoldWhy string
	// SCCName is the SCC workspace pods are pinned to.
	SCCName string
	// CreateSCC is false when OpenShift's own nested-container SCC is used.
	CreateSCC bool
	// SCCCapabilities are what our SCC allows: the workspace capabilities,
	// and CHOWN where Dev Spaces' container run adds it to its workspaces.
	SCCCapabilities []string
	// Note is said in the Ready message when configured (who else shapes
	// the workspaces).
	Note     string
	Settings WorkspaceSettings
	// Why explains a plan that is not Nested, for the Ready condition.
	WhyNot, WhyNotReason string
}

// decide turns the toggle and the detection report into a plan. It is pure.
// configured tells whether the last reconcile left workspaces configured
// (Ready=True): a detection that cannot tell for now then keeps it.
//
// The report's CheClusters decide who shapes Dev Spaces' workspaces: with
// container run on, Dev Spaces adds CHOWN to its workspaces, which keep our
// pin, so the SCC must allow CHOWN — ours does, OpenShift's nested-container
// does not; with it off, our toggle makes them nested like any other.
func decide(nc *enablerv1alpha1.NestedContainers, report *detect.Report, builtInSCC string, configured bool) Plan {
	p := Plan{SCCName: enablerv1alpha1.DefaultSCCName, CreateSCC: true}
	caps := nc.NormalizedCapabilities()
	p.SCCCapabilities = caps
	run, notRun := cheByContainerRun(report.DevSpaces)
	if len(run) > 0 && !slices.Contains(caps, enablerv1alpha1.CapabilityChown) {
		p.SCCCapabilities = append(slices.Clone(caps), enablerv1alpha1.CapabilityChown)
	}
	// OpenShift's nested-container SCC allows SETUID and SETGID only.
	if builtInSCC != "" && !slices.Contains(p.SCCCapabilities, enablerv1alpha1.CapabilityChown) {
		p.SCCName, p.CreateSCC = builtInSCC, false
	}
	if len(run) > 0 {
		p.Note += fmt.Sprintf("; Dev Spaces' container run is on in CheCluster %s: its workspaces keep this pin and add CHOWN, which SCC %s allows them",
			strings.Join(run, ", "), p.SCCName)
	}
	if len(notRun) > 0 {
		p.Note += fmt.Sprintf("; Dev Spaces' container run is off in CheCluster %s: this operator makes its workspaces nested-capable too",
			strings.Join(notRun, ", "))
	}
	p.Settings = WorkspaceSettings{SCCName: p.SCCName, RunAsUser: nc.EffectiveRunAsUser(), Capabilities: caps, Devices: nc.NormalizedDevices()}
	dwo := dwoProblem(report)
	switch {
	case !nc.Spec.Enabled:
		p.WhyNotReason, p.WhyNot = enablerv1alpha1.ReasonDisabled, "spec.enabled is false: set it to true to make new workspaces nested-capable"
		for _, c := range report.DevSpaces {
			if c.ContainerRun {
				p.WhyNot += fmt.Sprintf("; Dev Spaces' container run (CheCluster %s) makes its own workspaces nested under SCC %s", c.Key(), c.ContainerRunSCC)
			}
		}
	case report.Verdict != detect.Supported && configured && inconclusive(report.Reasons):
		p.Hold, p.HoldWhy = true, "cannot tell now whether the cluster supports nested containers ("+report.ReasonsMessage()+
			"); keeping the configuration in place until it can (this happens mid-upgrade)"
	case report.Verdict != detect.Supported:
		p.WhyNotReason, p.WhyNot = enablerv1alpha1.ReasonClusterUnsupported, "cluster cannot run nested containers: "+report.ReasonsMessage()
	case dwo != nil:
		// Without a DevWorkspace Operator that can set hostUsers, an SCC and
		// grants would serve no workspace: write nothing.
		p.WhyNotReason, p.WhyNot = dwo.reason, dwo.message
	default:
		p.Nested = true
	}
	return p
}

// inconclusive tells whether every reason for an Unsupported verdict is one
// that passes (objects or API groups missing for a moment, a FeatureGate not
// yet listing the new version mid-upgrade), rather than a fact about the
// cluster (too old, gates off). It only matters for a cluster that was
// configured (see decide).
func inconclusive(rs []detect.Reason) bool {
	if len(rs) == 0 {
		return false
	}
	for _, r := range rs {
		switch r.Code {
		// NotOpenShift for a cluster that was configured as OpenShift: right
		// after the API server restarts, the groups its CRDs serve
		// (config.openshift.io among them) are missing from discovery for a
		// moment. A cluster does not stop being OpenShift.
		case detect.ReasonClusterVersionMissing, detect.ReasonClusterVersionUnknown, detect.ReasonVersionUnparsable,
			detect.ReasonFeatureGateMissing, detect.ReasonFeatureGateVersionMissing, detect.ReasonNotOpenShift:
		default:
			return false
		}
	}
	return true
}

// cheByContainerRun splits the CheClusters ("namespace/name") by whether
// their container run is on.
func cheByContainerRun(cs []detect.DevSpaces) (on, off []string) {
	for _, c := range cs {
		if c.ContainerRun {
			on = append(on, c.Key())
		} else {
			off = append(off, c.Key())
		}
	}
	return on, off
}

func dwoProblem(report *detect.Report) *problem {
	for _, d := range report.Degraded {
		switch d.Code {
		case detect.ReasonDevWorkspaceOperatorMissing:
			return &problem{enablerv1alpha1.ReasonDevWorkspaceMissing, d.Message}
		case detect.ReasonDevWorkspaceOperatorTooOld:
			return &problem{enablerv1alpha1.ReasonDevWorkspaceTooOld, d.Message}
		}
	}
	return nil
}

// transition says in a few words what the plan makes of the cluster, for
// the log line of every write made for it.
func (p Plan) transition() string {
	switch {
	case p.Hold:
		return "keep the configuration: " + p.HoldWhy
	case p.Nested:
		return "make workspaces nested under " + describeSCC(p)
	}
	return "remove the configuration (" + p.WhyNotReason + ")"
}

func describeSCC(p Plan) string {
	if p.CreateSCC {
		return fmt.Sprintf("SCC %s (managed by this operator)", p.SCCName)
	}
	return fmt.Sprintf("OpenShift's built-in SCC %s", p.SCCName)
}
