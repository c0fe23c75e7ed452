package operator

import (
	"fmt"
	"slices"
	"strings"

	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/workspaces"
)

// Observation is everything one reconcile decides on, read before anything
// is written.
type Observation struct {
	// Toggle is the NestedContainers resource; never nil.
	Toggle *enablerv1alpha1.NestedContainers
	// Report says what the cluster can do, Dev Spaces included; nil when
	// DetectErr is set.
	Report    *detect.Report
	DetectErr error
	// BuiltIn is OpenShift's nested-container SCC as the cluster holds it,
	// nil when it has none.
	BuiltIn *securityv1.SecurityContextConstraints
	// Workspaces are the DevWorkspaces as their watch sees them.
	Workspaces workspaces.Snapshot
	// Fence says whether the admission policy keeps the operator's service
	// account to what the operator writes; nil when not known (not
	// OpenShift, or not checked yet).
	Fence *FenceCheck
}

// FenceCheck is the result of trying, as the operator, a write the fence
// must refuse.
type FenceCheck struct {
	Fenced bool
	// Detail says what was admitted.
	Detail string
}

// Action is what a plan makes of the cluster.
type Action int

const (
	// Remove everything the operator wrote: disabled, unsupported, or the
	// DevWorkspace Operator missing.
	Remove Action = iota
	// Configure workspaces nested-capable.
	Configure
	// Hold keeps what is in place, writing nothing: detection cannot tell
	// right now, and the last configuration was good.
	Hold
	// Finalize removes everything and then the finalizer: the resource is
	// being deleted.
	Finalize
	// Unknown writes nothing: detection failed.
	Unknown
)

// SCCChoice is the SCC workspaces are pinned to.
type SCCChoice struct {
	Name string
	// Create is false for OpenShift's own SCC, used as is.
	Create bool
	// Capabilities are what the operator's own SCC allows: the workspace
	// capabilities, and CHOWN where Dev Spaces' container run adds it.
	Capabilities []string
	// PassedOver says why OpenShift's SCC, which the cluster has, is not
	// used (builtIn Auto).
	PassedOver string
}

// Plan is what the cluster should look like after a reconcile.
type Plan struct {
	Action   Action
	SCC      SCCChoice
	Settings dwoconfig.WorkspaceSettings
	// Grants are, by namespace, the service accounts that may use the SCC:
	// those of DevWorkspaces that exist.
	Grants map[string][]rbacv1.Subject
	// Note is said in the Ready message when configured (who else shapes
	// the workspaces).
	Note string
	// Why says why a plan removes the configuration.
	Why RemoveCause
	// HoldWhy explains a plan that holds.
	HoldWhy string
}

// Nested tells whether the plan keeps workspaces nested-capable (what a
// running workspace should be).
func (p Plan) Nested() bool { return p.Action == Configure || p.Action == Hold }

// RemoveCause is why a plan removes the configuration.
type RemoveCause int

const (
	// Disabled: spec.enabled is false.
	Disabled RemoveCause = iota + 1
	// ClusterUnsupported: detection says the cluster cannot.
	ClusterUnsupported
	// DevWorkspaceMissing and DevWorkspaceTooOld: no DevWorkspace Operator
	// that can set hostUsers, so an SCC and grants would serve no workspace.
	DevWorkspaceMissing
	DevWorkspaceTooOld
)

// decide turns the observation into a plan. It is pure. The Dev Spaces
// CheClusters decide who shapes Dev Spaces' workspaces: with container run
// on, Dev Spaces adds CHOWN to its workspaces, which keep our pin.
func decide(o Observation) Plan {
	nc := o.Toggle
	switch {
	case !nc.DeletionTimestamp.IsZero():
		return Plan{Action: Finalize}
	case o.DetectErr != nil:
		return Plan{Action: Unknown}
	}
	report := o.Report
	caps := nc.NormalizedCapabilities()
	run, notRun := cheByContainerRun(report.DevSpaces)
	p := Plan{}
	p.SCC = chooseSCC(nc, caps, len(run) > 0, o.BuiltIn)
	if len(run) > 0 {
		p.Note += fmt.Sprintf("; Dev Spaces' container run is on in CheCluster %s: its workspaces keep this pin and add CHOWN, which SCC %s allows them",
			strings.Join(run, ", "), p.SCC.Name)
	}
	if len(notRun) > 0 {
		p.Note += fmt.Sprintf("; Dev Spaces' container run is off in CheCluster %s: this operator makes its workspaces nested-capable too",
			strings.Join(notRun, ", "))
	}
	p.Settings = dwoconfig.WorkspaceSettings{SCCName: p.SCC.Name, RunAsUser: nc.EffectiveRunAsUser(), Capabilities: caps, Devices: nc.NormalizedDevices()}
	switch {
	case !nc.Spec.Enabled:
		p.Why = Disabled
	case report.Verdict != detect.Supported && wasConfigured(nc) && inconclusive(report.Reasons):
		p.Action, p.HoldWhy = Hold, "cannot tell now whether the cluster supports nested containers ("+report.ReasonsMessage()+
			"); keeping the configuration in place until it can (this happens mid-upgrade)"
	case report.Verdict != detect.Supported:
		p.Why = ClusterUnsupported
	case hasDegraded(report, detect.ReasonDevWorkspaceOperatorMissing):
		p.Why = DevWorkspaceMissing
	case hasDegraded(report, detect.ReasonDevWorkspaceOperatorTooOld):
		p.Why = DevWorkspaceTooOld
	default:
		p.Action, p.Grants = Configure, o.Workspaces.ServiceAccounts
	}
	return p
}

// chooseSCC pins workspaces to OpenShift's nested-container when builtIn is
// Auto and it admits the pod the DevWorkspace Operator renders from our
// settings (with Dev Spaces' CHOWN where its container run is on) and is
// not less safe than the operator's own SCC; otherwise to the operator's
// own, saying why the built-in was passed over.
func chooseSCC(nc *enablerv1alpha1.NestedContainers, caps []string, devSpacesRun bool, builtIn *securityv1.SecurityContextConstraints) SCCChoice {
	ours := SCCChoice{Name: enablerv1alpha1.DefaultSCCName, Create: true, Capabilities: caps}
	var extra []string
	if devSpacesRun && !slices.Contains(caps, enablerv1alpha1.CapabilityChown) {
		extra = []string{enablerv1alpha1.CapabilityChown}
		ours.Capabilities = append(slices.Clone(caps), enablerv1alpha1.CapabilityChown)
	}
	if nc.Spec.SCC.BuiltIn == enablerv1alpha1.BuiltInNever || builtIn == nil {
		return ours
	}
	settings := dwoconfig.WorkspaceSettings{SCCName: scc.BuiltInSCCName, RunAsUser: nc.EffectiveRunAsUser(), Capabilities: caps, Devices: nc.NormalizedDevices()}
	if why := passOver(builtIn, dwoconfig.RenderedPod(settings, extra...)); why != "" {
		ours.PassedOver = why
		return ours
	}
	return SCCChoice{Name: scc.BuiltInSCCName, Capabilities: caps}
}

// passOver says why the built-in SCC must not be pinned ("" when it may):
// what it refuses of the workspace pod, or what makes it less safe than
// ours, naming the fields and the fix.
func passOver(builtIn *securityv1.SecurityContextConstraints, pod *corev1.PodSpec) string {
	if unsafe := scc.LessSafeThanOurs(builtIn); len(unsafe) > 0 {
		return fmt.Sprintf("OpenShift's SCC %s is passed over: it allows more than this operator would pin workspaces to (%s); it was changed on this cluster: "+
			"restore OpenShift's own, or keep spec.scc.builtIn Never", builtIn.Name, strings.Join(unsafe, "; "))
	}
	refusals := scc.Refusals(builtIn, pod)
	if len(refusals) == 0 {
		return ""
	}
	msgs := make([]string, 0, len(refusals))
	for _, r := range refusals {
		msgs = append(msgs, r.String())
	}
	fix := "restore OpenShift's own, or keep spec.scc.builtIn Never"
	if builtIn.RunAsUser.Type == securityv1.RunAsUserStrategyMustRunAsRange && builtIn.RunAsUser.UIDRangeMin == nil && builtIn.RunAsUser.UIDRangeMax == nil {
		fix = "OpenShift 4.20 and 4.21 z-streams built before the fix (OCPBUGS-98555 for 4.20, August 2026; OCPBUGS-81747 for 4.21, July 2026) ship it " +
			"without uidRangeMin/uidRangeMax; upgrade to a z-stream with the fix, or keep spec.scc.builtIn Never"
	}
	return fmt.Sprintf("OpenShift's SCC %s is passed over: it does not admit the workspace pods this configuration renders (%s): %s", builtIn.Name, strings.Join(msgs, "; "), fix)
}

// wasConfigured tells whether the last reconcile left workspaces
// configured nested-capable.
func wasConfigured(nc *enablerv1alpha1.NestedContainers) bool {
	for _, c := range nc.Status.Conditions {
		if c.Type == enablerv1alpha1.ConditionReady {
			return c.Status == "True"
		}
	}
	return false
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

func hasDegraded(report *detect.Report, code string) bool {
	for _, d := range report.Degraded {
		if d.Code == code {
			return true
		}
	}
	return false
}

// transition says in a few words what the plan makes of the cluster, for
// the log line of every write made for it.
func (p Plan) transition() string {
	switch p.Action {
	case Hold:
		return "keep the configuration: " + p.HoldWhy
	case Configure:
		return "make workspaces nested under " + describeSCC(p.SCC)
	case Finalize:
		return "remove everything: the NestedContainers resource is being deleted"
	case Unknown:
		return "write nothing: detection failed"
	}
	return fmt.Sprintf("remove the configuration (%s)", p.Why)
}

func describeSCC(c SCCChoice) string {
	if c.Create {
		return fmt.Sprintf("SCC %s (managed by this operator)", c.Name)
	}
	return fmt.Sprintf("OpenShift's built-in SCC %s", c.Name)
}

func (c RemoveCause) String() string {
	switch c {
	case Disabled:
		return "disabled"
	case ClusterUnsupported:
		return "the cluster is unsupported"
	case DevWorkspaceMissing:
		return "no DevWorkspace Operator"
	case DevWorkspaceTooOld:
		return "the DevWorkspace Operator is too old"
	}
	return "unknown"
}
