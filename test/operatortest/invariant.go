package operatortest

import (
	corev1 "k8s.io/api/core/v1"
)

// GrantsCapabilitiesOutsideUserNamespace is the invariant the operator
// never breaks: a pod spec that adds SETUID or SETGID while sharing the
// host's user namespace.
func GrantsCapabilitiesOutsideUserNamespace(spec *corev1.PodSpec) bool {
	if spec.HostUsers != nil && !*spec.HostUsers {
		return false
	}
	for _, list := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range list {
			if c.SecurityContext == nil || c.SecurityContext.Capabilities == nil {
				continue
			}
			for _, cap := range c.SecurityContext.Capabilities.Add {
				if cap == "SETUID" || cap == "SETGID" || cap == "CAP_SETUID" || cap == "CAP_SETGID" {
					return true
				}
			}
		}
	}
	return false
}
