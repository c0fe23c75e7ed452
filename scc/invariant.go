package scc

import (
	"strings"

	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
)

// GrantsCapabilitiesWithoutUserNamespace reports an SCC that lets a pod
// have SETUID or SETGID (allowed, added by default, "*", or a privileged
// container) without requiring the pod's own user namespace. In the host
// user namespace those capabilities are real privilege; nothing this
// operator writes or uses may look like that.
func GrantsCapabilitiesWithoutUserNamespace(s *securityv1.SecurityContextConstraints) bool {
	if s == nil || s.UserNamespaceLevel == securityv1.NamespaceLevelRequirePod {
		return false
	}
	if s.AllowPrivilegedContainer {
		return true
	}
	for _, list := range [][]corev1.Capability{s.AllowedCapabilities, s.DefaultAddCapabilities} {
		for _, c := range list {
			switch strings.TrimPrefix(strings.ToUpper(string(c)), "CAP_") {
			case "SETUID", "SETGID", "*", "ALL":
				return true
			}
		}
	}
	return false
}
