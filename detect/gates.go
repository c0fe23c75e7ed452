package detect

import (
	configv1 "github.com/openshift/api/config/v1"
)

// The feature gates nested containers need, as OpenShift names them.
const (
	GateUserNamespacesSupport              = "UserNamespacesSupport"
	GateUserNamespacesPodSecurityStandards = "UserNamespacesPodSecurityStandards"
	GateProcMountType                      = "ProcMountType"
)

// RequiredGates returns the gates that must all be enabled (or GA) at the
// cluster version, in the order reports list them.
func RequiredGates() []string {
	return []string{GateUserNamespacesSupport, GateUserNamespacesPodSecurityStandards, GateProcMountType}
}

// GAAt tells whether gate is known to be GA at version v: OpenShift then no
// longer lists it in the FeatureGate status.
func GAAt(gate string, v Version) bool {
	switch gate {
	case GateProcMountType:
		return v.AtLeast(4, 22)
	case GateUserNamespacesSupport, GateUserNamespacesPodSecurityStandards:
		return v.AtLeast(4, 23)
	}
	return false
}

// FeatureGateEntry returns the status.featureGates entry for version, or nil.
func FeatureGateEntry(fg *configv1.FeatureGate, version string) *configv1.FeatureGateDetails {
	if fg == nil {
		return nil
	}
	for i := range fg.Status.FeatureGates {
		if fg.Status.FeatureGates[i].Version == version {
			return &fg.Status.FeatureGates[i]
		}
	}
	return nil
}

// GateStates returns the state of each of RequiredGates in entry (nil: no
// entry, every gate is absent) at version v. A gate listed as disabled is
// Disabled even if it is also listed as enabled or is GA.
func GateStates(entry *configv1.FeatureGateDetails, v Version) map[string]GateState {
	listed := map[string]GateState{}
	if entry != nil {
		for _, g := range entry.Enabled {
			listed[string(g.Name)] = GateEnabled
		}
		for _, g := range entry.Disabled {
			listed[string(g.Name)] = GateDisabled
		}
	}
	states := map[string]GateState{}
	for _, gate := range RequiredGates() {
		switch s, ok := listed[gate]; {
		case ok:
			states[gate] = s
		case GAAt(gate, v):
			states[gate] = GateAbsentGA
		default:
			states[gate] = GateAbsentUnknown
		}
	}
	return states
}

// notEnabled lists the RequiredGates that are not enabled, in order.
func notEnabled(states map[string]GateState) []string {
	var out []string
	for _, g := range RequiredGates() {
		if !states[g].Enabled() {
			out = append(out, g)
		}
	}
	return out
}
