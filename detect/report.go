package detect

import (
	"math"
	"sort"
	"strings"
)

// Verdict says whether nested containers can be turned on.
type Verdict string

const (
	Supported   Verdict = "Supported"
	Unsupported Verdict = "Unsupported"
)

// GateState is what the cluster says about one feature gate at its version.
type GateState string

const (
	// GateEnabled: listed as enabled for the cluster version.
	GateEnabled GateState = "Enabled"
	// GateDisabled: listed as disabled. A disabled gate never counts as
	// enabled, even where it is GA.
	GateDisabled GateState = "Disabled"
	// GateAbsentGA: not listed, at a version where the feature is GA and
	// OpenShift dropped the gate. Counts as enabled.
	GateAbsentGA GateState = "AbsentGA"
	// GateAbsentUnknown: not listed, at a version where the feature is not
	// known to be GA. Counts as not enabled.
	GateAbsentUnknown GateState = "AbsentUnknown"
)

// Enabled tells whether the feature behind the gate is on.
func (s GateState) Enabled() bool { return s == GateEnabled || s == GateAbsentGA }

// Reason is a finding a human can act on: Code is a CamelCase identifier
// usable as a metav1.Condition reason, Message says what to do.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// NodeCounts counts nodes by user namespace support of their default
// runtime handler.
type NodeCounts struct {
	Total          int `json:"total"`
	UserNamespaces int `json:"userNamespaces"`
}

// DevWorkspaceSupport is what the installed DevWorkspace Operator's
// configuration API offers.
type DevWorkspaceSupport struct {
	// Installed: the DevWorkspaceOperatorConfig CRD exists.
	Installed bool `json:"installed"`
	// HostUsersSupported: its schema has config.workspace.hostUsers
	// (DevWorkspace Operator 0.37 or newer).
	HostUsersSupported bool `json:"hostUsersSupported"`
}

// SCCSupport is what the SecurityContextConstraints API offers.
type SCCSupport struct {
	// UserNamespaceLevelInSchema is nil when it could not be told: not
	// OpenShift, the SCC CRD is absent, or reading it is not permitted.
	// False means the API server prunes userNamespaceLevel from SCCs.
	UserNamespaceLevelInSchema *bool `json:"userNamespaceLevelInSchema,omitempty"`
}

// Report is the answer to "what can this cluster do".
type Report struct {
	Verdict           Verdict `json:"verdict"`
	OpenShift         bool    `json:"openshift"`
	OpenShiftVersion  string  `json:"openshiftVersion,omitempty"`
	KubernetesVersion string  `json:"kubernetesVersion,omitempty"`
	// FeatureSet is the FeatureGate's spec.featureSet, "Default" when empty.
	FeatureSet string `json:"featureSet,omitempty"`
	// FeatureGates holds the state of each gate nested containers need
	// (RequiredGates), at the cluster version.
	FeatureGates map[string]GateState `json:"featureGates,omitempty"`
	Nodes        NodeCounts           `json:"nodes"`
	DevWorkspace DevWorkspaceSupport  `json:"devWorkspace"`
	SCC          SCCSupport           `json:"scc"`
	// DevSpaces are the CheClusters of OpenShift Dev Spaces, when it is
	// installed (see AddDevSpaces).
	DevSpaces []DevSpaces `json:"devSpaces,omitempty"`
	// Reasons say why the verdict is Unsupported; empty when Supported.
	Reasons []Reason `json:"reasons,omitempty"`
	// Degraded are problems that do not make the cluster unsupported but
	// keep nested workspaces from working fully.
	Degraded []Reason `json:"degraded,omitempty"`
}

// ReasonsMessage is the messages of the reasons the verdict is Unsupported,
// joined; "no reason given" when there are none.
func (r *Report) ReasonsMessage() string {
	msgs := make([]string, 0, len(r.Reasons))
	for _, reason := range r.Reasons {
		msgs = append(msgs, reason.Message)
	}
	if len(msgs) == 0 {
		return "no reason given"
	}
	return strings.Join(msgs, "; ")
}

// OpenShiftMinor is the minor version of an OpenShift 4 cluster, for
// comparisons such as "4.20 or newer". It is 0 when the cluster is not
// OpenShift or its version is unknown, and math.MaxInt for a later major,
// which is newer than every 4.x.
func (r *Report) OpenShiftMinor() int {
	if r == nil || !r.OpenShift {
		return 0
	}
	v, err := ParseVersion(r.OpenShiftVersion)
	switch {
	case err != nil || v.Major < 4:
		return 0
	case v.Major > 4 || v.Minor > math.MaxInt32:
		return math.MaxInt
	}
	return int(v.Minor)
}

// GateNames returns the gates of the report in RequiredGates order, then
// any others sorted.
func (r *Report) GateNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, g := range RequiredGates() {
		if _, ok := r.FeatureGates[g]; ok {
			names = append(names, g)
			seen[g] = true
		}
	}
	var rest []string
	for g := range r.FeatureGates {
		if !seen[g] {
			rest = append(rest, g)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}
