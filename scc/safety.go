package scc

import (
	"fmt"
	"slices"
	"strings"

	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
)

// allowedCapabilities are the only capabilities an SCC the operator writes
// or pins may let a pod add: what nested podman needs (SETUID, SETGID for
// newuidmap/newgidmap) and what Dev Spaces adds (CHOWN).
var allowedCapabilities = []string{"SETUID", "SETGID", "CHOWN"}

// confinedSELinuxTypes are the SELinux types an SCC we pin may force:
// OpenShift's container types. spc_t (unconfined) or a free choice
// (RunAsAny) would let a pod out of SELinux confinement.
var confinedSELinuxTypes = []string{"container_t", SELinuxType}

// LessSafeThanOurs lists what makes s allow more than the operator's own
// SCC does in the ways that reach past a pod's user namespace: privileged
// containers, host namespaces, ports or directories, no pod user namespace,
// a capability outside SETUID, SETGID and CHOWN (or any added by default),
// an SELinux type that is not a confined container type, unsafe sysctls,
// every volume type. The operator never pins workspaces to such an SCC,
// whoever made it; the admission policy in manifests/policy states the same
// rules for every SCC the operator writes.
//
// Not listed, on purpose, because OpenShift's own nested-container allows
// them and the pod's user namespace bounds them: any UID inside 0..65534
// (UID 0 there is not root on the node) and any seccomp profile.
func LessSafeThanOurs(s *securityv1.SecurityContextConstraints) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if s.UserNamespaceLevel != securityv1.NamespaceLevelRequirePod {
		add("userNamespaceLevel is %q, not RequirePodLevel: pods may share the node's user namespace", s.UserNamespaceLevel)
	}
	if s.AllowPrivilegedContainer {
		add("allowPrivilegedContainer is true")
	}
	for field, on := range map[string]bool{
		"allowHostNetwork": s.AllowHostNetwork, "allowHostPID": s.AllowHostPID, "allowHostIPC": s.AllowHostIPC,
		"allowHostPorts": s.AllowHostPorts, "allowHostDirVolumePlugin": s.AllowHostDirVolumePlugin,
	} {
		if on {
			add("%s is true", field)
		}
	}
	for _, c := range s.AllowedCapabilities {
		if !slices.Contains(allowedCapabilities, normalizeCapability(c)) {
			add("allowedCapabilities has %s (only SETUID, SETGID and CHOWN)", c)
		}
	}
	if len(s.DefaultAddCapabilities) > 0 {
		add("defaultAddCapabilities adds %v to every pod", s.DefaultAddCapabilities)
	}
	switch sel := s.SELinuxContext; {
	case sel.Type != securityv1.SELinuxStrategyMustRunAs:
		add("seLinuxContext is %q: pods may choose any SELinux label", sel.Type)
	case selinuxType(sel) != "" && !slices.Contains(confinedSELinuxTypes, selinuxType(sel)):
		// No type means the runtime's default, container_t.
		add("seLinuxContext type %q is not a confined container type (container_t, container_engine_t)", selinuxType(sel))
	}
	if len(s.AllowedUnsafeSysctls) > 0 {
		add("allowedUnsafeSysctls is %v", s.AllowedUnsafeSysctls)
	}
	if slices.Contains(s.Volumes, securityv1.FSTypeAll) {
		add("volumes allows every type (*)")
	}
	slices.Sort(out) // the map above has no order
	return out
}

func selinuxType(s securityv1.SELinuxContextStrategyOptions) string {
	if s.SELinuxOptions == nil {
		return ""
	}
	return s.SELinuxOptions.Type
}

func normalizeCapability(c corev1.Capability) string {
	return strings.TrimPrefix(strings.ToUpper(string(c)), "CAP_")
}
