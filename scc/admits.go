package scc

import (
	"fmt"
	"slices"

	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
)

// PreallocatedRangeStart is where OpenShift's namespace controller starts
// the UID and GID blocks it gives namespaces (openshift.io/sa.scc.uid-range,
// sa.scc.supplemental-groups): an SCC that takes its range from the
// namespace never admits an ID below it, such as a workspace's runAsUser.
const PreallocatedRangeStart int64 = 1_000_000_000

// Refusal is one reason SCC admission would refuse a pod under an SCC:
// the SCC field that decides it, what the pod asks for, and why not.
type Refusal struct {
	// Field is the SCC's field ("runAsUser", "allowedCapabilities").
	Field string
	// Reason says what the pod asks and what the SCC allows.
	Reason string
}

func (r Refusal) String() string { return r.Field + ": " + r.Reason }

// Refusals is what SCC admission would refuse of pod under s, nothing when
// it admits it. It follows OpenShift's SCC admission
// (openshift/apiserver-library-go, sccmatching's provider and strategies,
// as OpenShift 4.20 builds it) field by field for what a pod spec can ask:
// the pod's user namespace, the UID (where an SCC sets no UID range, the
// namespace's pre-allocated one, which starts at PreallocatedRangeStart),
// fsGroup and supplemental groups, SELinux, seccomp, privileged,
// capabilities (added ones allowed or added by default, required drops
// dropped), privilege escalation, read-only root, host namespaces and
// ports, and volume types. It does not judge who may use s (RBAC) nor
// sysctls. e2e TestAdmissionModelAgreesWithOpenShift compares it with the
// real admission plugin on the simulated cluster.
func Refusals(s *securityv1.SecurityContextConstraints, pod *corev1.PodSpec) []Refusal {
	var out []Refusal
	refuse := func(field, format string, args ...any) {
		out = append(out, Refusal{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if s.UserNamespaceLevel == securityv1.NamespaceLevelRequirePod && (pod.HostUsers == nil || *pod.HostUsers) {
		refuse("userNamespaceLevel", "RequirePodLevel needs hostUsers: false, the pod shares the node's user namespace")
	}
	for field, on := range map[string]bool{"allowHostNetwork": pod.HostNetwork, "allowHostPID": pod.HostPID, "allowHostIPC": pod.HostIPC} {
		if on && !hostAllowed(s, field) {
			refuse(field, "false, the pod asks for it")
		}
	}
	if psc.FSGroup != nil {
		groupRefusal(s.FSGroup.Type == securityv1.FSGroupStrategyMustRunAs, s.FSGroup.Ranges, []int64{*psc.FSGroup}, "fsGroup", refuse)
	}
	if len(psc.SupplementalGroups) > 0 {
		groupRefusal(s.SupplementalGroups.Type == securityv1.SupplementalGroupsStrategyMustRunAs, s.SupplementalGroups.Ranges, psc.SupplementalGroups, "supplementalGroups", refuse)
	}
	seccompRefusal(s, psc.SeccompProfile, "the pod", refuse)
	seLinuxRefusal(s, psc.SELinuxOptions, "the pod", refuse)
	volumeRefusals(s, pod.Volumes, refuse)
	for _, list := range [][]corev1.Container{pod.InitContainers, pod.Containers} {
		for i := range list {
			containerRefusals(s, psc, &list[i], refuse)
		}
	}
	return out
}

func hostAllowed(s *securityv1.SecurityContextConstraints, field string) bool {
	switch field {
	case "allowHostNetwork":
		return s.AllowHostNetwork
	case "allowHostPID":
		return s.AllowHostPID
	}
	return s.AllowHostIPC
}

func groupRefusal(mustRunAs bool, ranges []securityv1.IDRange, groups []int64, field string, refuse func(string, string, ...any)) {
	if !mustRunAs {
		return
	}
	for _, g := range groups {
		if len(ranges) == 0 {
			if g < PreallocatedRangeStart {
				refuse(field, "MustRunAs without ranges takes the namespace's pre-allocated groups (from %d up), which never contain %d", PreallocatedRangeStart, g)
			}
			continue
		}
		if !slices.ContainsFunc(ranges, func(r securityv1.IDRange) bool { return g >= r.Min && g <= r.Max }) {
			refuse(field, "%d is outside the ranges %v", g, ranges)
		}
	}
}

func containerRefusals(s *securityv1.SecurityContextConstraints, psc *corev1.PodSecurityContext, c *corev1.Container, refuse func(string, string, ...any)) {
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	who := "container " + c.Name
	uid, nonRoot := sc.RunAsUser, sc.RunAsNonRoot
	if uid == nil {
		uid = psc.RunAsUser
	}
	if nonRoot == nil {
		nonRoot = psc.RunAsNonRoot
	}
	runAsUserRefusal(s.RunAsUser, uid, nonRoot, who, refuse)
	seLinux := sc.SELinuxOptions
	if seLinux == nil {
		seLinux = psc.SELinuxOptions
	}
	seLinuxRefusal(s, seLinux, who, refuse)
	seccompRefusal(s, sc.SeccompProfile, who, refuse)
	if sc.Privileged != nil && *sc.Privileged && !s.AllowPrivilegedContainer {
		refuse("allowPrivilegedContainer", "false, %s is privileged", who)
	}
	capabilityRefusals(s, sc.Capabilities, who, refuse)
	if !s.AllowHostPorts {
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				refuse("allowHostPorts", "false, %s asks for host port %d", who, p.HostPort)
			}
		}
	}
	if s.ReadOnlyRootFilesystem && (sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem) {
		refuse("readOnlyRootFilesystem", "true, %s has a writable root filesystem", who)
	}
	// Unset, the plugin sets it to the SCC's false first; set to true, it
	// is refused.
	if s.AllowPrivilegeEscalation != nil && !*s.AllowPrivilegeEscalation && sc.AllowPrivilegeEscalation != nil && *sc.AllowPrivilegeEscalation {
		refuse("allowPrivilegeEscalation", "false, %s allows privilege escalation (newuidmap needs it)", who)
	}
}

func runAsUserRefusal(o securityv1.RunAsUserStrategyOptions, uid *int64, nonRoot *bool, who string, refuse func(string, string, ...any)) {
	switch o.Type {
	case securityv1.RunAsUserStrategyMustRunAs:
		if uid == nil || o.UID == nil || *uid != *o.UID {
			refuse("runAsUser", "MustRunAs %s, %s runs as %s", idOrUnset(o.UID), who, idOrUnset(uid))
		}
	case securityv1.RunAsUserStrategyMustRunAsRange:
		if o.UIDRangeMin == nil && o.UIDRangeMax == nil {
			if uid == nil || *uid < PreallocatedRangeStart {
				refuse("runAsUser", "MustRunAsRange without uidRangeMin/uidRangeMax takes the namespace's pre-allocated range (from %d up), which never contains the %s UID %s",
					PreallocatedRangeStart, who, idOrUnset(uid))
			}
			return
		}
		lo, hi := rangeEnd(o.UIDRangeMin, 0), rangeEnd(o.UIDRangeMax, 1<<62)
		if uid == nil {
			// Assigned the range's start by the SCC.
			uid = &lo
		}
		if *uid < lo || *uid > hi {
			refuse("runAsUser", "MustRunAsRange %d-%d, %s runs as %d", lo, hi, who, *uid)
		}
		if *uid == 0 && nonRoot != nil && *nonRoot {
			// Admitted, but the kubelet refuses to start a runAsNonRoot
			// container as UID 0.
			refuse("runAsUser", "MustRunAsRange %d-%d gives %s UID 0, which its runAsNonRoot forbids: set runAsUser", lo, hi, who)
		}
	case securityv1.RunAsUserStrategyMustRunAsNonRoot:
		if uid != nil && *uid == 0 {
			refuse("runAsUser", "MustRunAsNonRoot, %s runs as root", who)
		}
		if uid == nil && (nonRoot == nil || !*nonRoot) {
			refuse("runAsUser", "MustRunAsNonRoot needs runAsNonRoot or a UID, %s sets neither", who)
		}
	case securityv1.RunAsUserStrategyRunAsAny:
	default:
		refuse("runAsUser", "unknown strategy %q", o.Type)
	}
}

func rangeEnd(v *int64, def int64) int64 {
	if v == nil {
		return def
	}
	return *v
}

func idOrUnset(v *int64) string {
	if v == nil {
		return "unset"
	}
	return fmt.Sprint(*v)
}

func seLinuxRefusal(s *securityv1.SecurityContextConstraints, o *corev1.SELinuxOptions, who string, refuse func(string, string, ...any)) {
	if o == nil || s.SELinuxContext.Type != securityv1.SELinuxStrategyMustRunAs {
		return // assigned by the SCC, or anything goes
	}
	want := s.SELinuxContext.SELinuxOptions
	if want == nil {
		want = &corev1.SELinuxOptions{}
	}
	for _, f := range []struct{ name, got, want string }{{"type", o.Type, want.Type}, {"user", o.User, want.User}, {"role", o.Role, want.Role}} {
		if f.want != "" && f.got != "" && f.got != f.want {
			refuse("seLinuxContext", "MustRunAs %s %s, %s asks for %s", f.name, f.want, who, f.got)
		}
	}
}

func seccompRefusal(s *securityv1.SecurityContextConstraints, p *corev1.SeccompProfile, who string, refuse func(string, string, ...any)) {
	if p == nil || slices.Contains(s.SeccompProfiles, "*") {
		return
	}
	want := seccompName(p)
	for _, allowed := range s.SeccompProfiles {
		if allowed == want || (want == corev1.SeccompProfileRuntimeDefault && allowed == corev1.DeprecatedSeccompProfileDockerDefault) {
			return
		}
	}
	refuse("seccompProfiles", "%v, %s asks for %s", s.SeccompProfiles, who, want)
}

func seccompName(p *corev1.SeccompProfile) string {
	switch p.Type {
	case corev1.SeccompProfileTypeRuntimeDefault:
		return corev1.SeccompProfileRuntimeDefault
	case corev1.SeccompProfileTypeUnconfined:
		return corev1.SeccompProfileNameUnconfined
	case corev1.SeccompProfileTypeLocalhost:
		if p.LocalhostProfile != nil {
			return corev1.SeccompLocalhostProfileNamePrefix + *p.LocalhostProfile
		}
	}
	return string(p.Type)
}

func capabilityRefusals(s *securityv1.SecurityContextConstraints, caps *corev1.Capabilities, who string, refuse func(string, string, ...any)) {
	if caps == nil {
		caps = &corev1.Capabilities{}
	}
	if !slices.Contains(s.AllowedCapabilities, securityv1.AllowAllCapabilities) {
		for _, c := range caps.Add {
			if !slices.Contains(s.AllowedCapabilities, c) && !slices.Contains(s.DefaultAddCapabilities, c) {
				refuse("allowedCapabilities", "%v, %s adds %s", s.AllowedCapabilities, who, c)
			}
		}
	}
	// Required drops are added to the container's drop list by the plugin,
	// never refused.
}

// volumeType names each volume's SCC type, as OpenShift's SCC admission
// does (sccutil.GetVolumeFSType): the first source set.
func volumeType(v *corev1.Volume) securityv1.FSType {
	src := v.VolumeSource
	switch {
	case src.HostPath != nil:
		return securityv1.FSTypeHostPath
	case src.EmptyDir != nil:
		return securityv1.FSTypeEmptyDir
	case src.Secret != nil:
		return securityv1.FSTypeSecret
	case src.ConfigMap != nil:
		return securityv1.FSTypeConfigMap
	case src.DownwardAPI != nil:
		return securityv1.FSTypeDownwardAPI
	case src.PersistentVolumeClaim != nil:
		return securityv1.FSTypePersistentVolumeClaim
	case src.Projected != nil:
		return securityv1.FSProjected
	case src.CSI != nil:
		return securityv1.FSTypeCSI
	case src.Ephemeral != nil:
		return securityv1.FSTypeEphemeral
	case src.Image != nil:
		return securityv1.FSTypeImage
	case src.NFS != nil:
		return securityv1.FSTypeNFS
	}
	return securityv1.FSTypeNone
}

func volumeRefusals(s *securityv1.SecurityContextConstraints, volumes []corev1.Volume, refuse func(string, string, ...any)) {
	if slices.Contains(s.Volumes, securityv1.FSTypeAll) {
		if len(volumes) > 0 && !s.AllowHostDirVolumePlugin {
			for i := range volumes {
				if volumeType(&volumes[i]) == securityv1.FSTypeHostPath {
					refuse("allowHostDirVolumePlugin", "false, volume %s is a hostPath", volumes[i].Name)
				}
			}
		}
		return
	}
	for i := range volumes {
		v := &volumes[i]
		t := volumeType(v)
		if slices.Contains(s.Volumes, t) {
			continue
		}
		// Bound service account tokens (projected token, kube-root-ca.crt,
		// namespace) count as secrets.
		if t == securityv1.FSProjected && slices.Contains(s.Volumes, securityv1.FSTypeSecret) && onlyServiceAccountTokenSources(v.Projected) {
			continue
		}
		refuse("volumes", "%v, volume %s is %s", s.Volumes, v.Name, t)
	}
}

func onlyServiceAccountTokenSources(p *corev1.ProjectedVolumeSource) bool {
	for _, src := range p.Sources {
		switch {
		case src.ServiceAccountToken != nil:
		case src.ConfigMap != nil && src.ConfigMap.Name == "kube-root-ca.crt":
		case src.DownwardAPI != nil:
		default:
			return false
		}
	}
	return true
}
