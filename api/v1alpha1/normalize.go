package v1alpha1

import "strings"

// allowedCapabilities is the capability allow-list in canonical order. The
// order is fixed so the same set always renders the same way and equal
// configurations compare equal wherever they are written.
func allowedCapabilities() []string {
	return []string{CapabilitySetUID, CapabilitySetGID, CapabilityChown}
}

// DefaultCapabilities are what spec.capabilities defaults to.
func DefaultCapabilities() []string { return []string{CapabilitySetUID, CapabilitySetGID} }

// DefaultDevices are what spec.devices defaults to.
func DefaultDevices() []string { return []string{DeviceFuse, DeviceNetTun} }

// NormalizeCapabilities upper-cases capability names, strips the CAP_
// prefix, removes duplicates and anything outside the allow-list, and
// returns them in canonical order (SETUID, SETGID, CHOWN). The API server
// already rejects names outside the allow-list; dropping them here as well
// means no caller can grant more than the CRD allows, whatever object it
// was handed. An empty result becomes DefaultCapabilities, as the CRD
// default would have made it.
func NormalizeCapabilities(caps []string) []string {
	want := map[string]bool{}
	for _, c := range caps {
		want[strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")] = true
	}
	var out []string
	for _, c := range allowedCapabilities() {
		if want[c] {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return DefaultCapabilities()
	}
	return out
}

// NormalizeDevices removes duplicates and devices outside the allow-list
// and returns them in canonical order; empty becomes DefaultDevices.
func NormalizeDevices(devices []string) []string {
	want := map[string]bool{}
	for _, d := range devices {
		want[strings.TrimSpace(d)] = true
	}
	var out []string
	for _, d := range DefaultDevices() {
		if want[d] {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return DefaultDevices()
	}
	return out
}

// NormalizedCapabilities is spec.capabilities in canonical form; see
// NormalizeCapabilities.
func (nc *NestedContainers) NormalizedCapabilities() []string {
	return NormalizeCapabilities(nc.Spec.Capabilities)
}

// NormalizedDevices is spec.devices in canonical form; see NormalizeDevices.
func (nc *NestedContainers) NormalizedDevices() []string {
	return NormalizeDevices(nc.Spec.Devices)
}

// EffectiveRunAsUser is spec.runAsUser, or DefaultRunAsUser when it is unset
// or outside 1..65535 (the API server rejects such values; an object read
// from an older schema may still carry one).
func (nc *NestedContainers) EffectiveRunAsUser() int64 {
	return NormalizeRunAsUser(nc.Spec.RunAsUser)
}

// MinRunAsUser and MaxRunAsUser bound spec.runAsUser: inside the pod's
// 65536-ID user namespace, and never 0, which would leave no room for
// subordinate IDs below it.
const (
	MinRunAsUser int64 = 1
	MaxRunAsUser int64 = 65535
)

// NormalizeRunAsUser is uid when it lies in MinRunAsUser..MaxRunAsUser,
// DefaultRunAsUser otherwise.
func NormalizeRunAsUser(uid int64) int64 {
	if uid < MinRunAsUser || uid > MaxRunAsUser {
		return DefaultRunAsUser
	}
	return uid
}
