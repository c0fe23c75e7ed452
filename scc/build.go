package scc

import (
	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/owned"
)

// BuiltInSCCName is the SCC OpenShift ships from 4.20 for nested containers.
const BuiltInSCCName = "nested-container"

// OurNames are the SCCs the operator creates, changes and deletes (its RBAC
// names them): an SCC is ours only with our label and one of these names.
func OurNames() []string { return []string{enablerv1alpha1.DefaultSCCName} }

// PinnableNames are the SCCs workspaces may be pinned to and granted: ours,
// and OpenShift's own, used as is.
func PinnableNames() []string { return []string{enablerv1alpha1.DefaultSCCName, BuiltInSCCName} }

// SELinuxType is the SELinux type container engines run as inside a pod;
// container_t forbids the mounts podman makes.
const SELinuxType = "container_engine_t"

// descriptionAnnotation is shown by `oc describe scc`.
const descriptionAnnotation = "kubernetes.io/description"

// GroupRange is the GID range fsGroup and supplemental groups must come
// from: inside the pod's 65536-ID user namespace and clear of the low
// system GIDs.
func GroupRange() securityv1.IDRange { return securityv1.IDRange{Min: 1000, Max: 65534} }

// NestedPodmanSCC is the SCC nested-podman workspace pods run under, as in
// the OpenShift feature request: the pod must have its own user namespace
// (userNamespaceLevel RequirePodLevel); its containers run as runAsUser and
// may add SETUID and SETGID (for newuidmap/newgidmap) and, if asked, CHOWN;
// privilege escalation is allowed (file capabilities on newuidmap), but not
// privileged containers, host namespaces, host ports or host paths. SELinux
// type container_engine_t permits the mounts podman makes. Priority is nil
// so it never outranks the SCCs other pods get; workspace pods are pinned to
// it with the openshift.io/required-scc annotation.
//
// caps is normalized as spec.capabilities is (case, CAP_ prefix,
// duplicates); names outside SETUID, SETGID and CHOWN are dropped, and none
// left means SETUID and SETGID. A runAsUser outside 1..65535 means the
// default, 1000: UID 0 would leave no room for subordinate IDs below it.
func NestedPodmanSCC(name string, runAsUser int64, caps []string) *securityv1.SecurityContextConstraints {
	runAsUser = enablerv1alpha1.NormalizeRunAsUser(runAsUser)
	var allowed []corev1.Capability
	for _, c := range enablerv1alpha1.NormalizeCapabilities(caps) {
		allowed = append(allowed, corev1.Capability(c))
	}
	return &securityv1.SecurityContextConstraints{
		TypeMeta: metav1.TypeMeta{APIVersion: securityv1.GroupVersion.String(), Kind: "SecurityContextConstraints"},
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: owned.Labels(),
			Annotations: map[string]string{
				descriptionAnnotation: "Lets DevWorkspace pods run podman inside their own user namespace (hostUsers: false). " +
					"Managed by nested-workspaces-enabler: set spec.enabled=false in NestedContainers cluster to remove it.",
			},
		},
		Priority:                        nil,
		AllowPrivilegedContainer:        false,
		AllowPrivilegeEscalation:        ptr.To(true),
		DefaultAllowPrivilegeEscalation: nil,
		AllowedCapabilities:             allowed,
		DefaultAddCapabilities:          nil,
		RequiredDropCapabilities:        nil,
		AllowHostDirVolumePlugin:        false,
		AllowHostNetwork:                false,
		AllowHostPorts:                  false,
		AllowHostPID:                    false,
		AllowHostIPC:                    false,
		ReadOnlyRootFilesystem:          false,
		Volumes: []securityv1.FSType{
			securityv1.FSTypeConfigMap,
			securityv1.FSTypeDownwardAPI,
			securityv1.FSTypeEmptyDir,
			securityv1.FSTypePersistentVolumeClaim,
			securityv1.FSProjected,
			securityv1.FSTypeSecret,
		},
		RunAsUser: securityv1.RunAsUserStrategyOptions{
			Type: securityv1.RunAsUserStrategyMustRunAs,
			UID:  ptr.To(runAsUser),
		},
		SELinuxContext: securityv1.SELinuxContextStrategyOptions{
			Type:           securityv1.SELinuxStrategyMustRunAs,
			SELinuxOptions: &corev1.SELinuxOptions{Type: SELinuxType},
		},
		FSGroup: securityv1.FSGroupStrategyOptions{
			Type:   securityv1.FSGroupStrategyMustRunAs,
			Ranges: []securityv1.IDRange{GroupRange()},
		},
		SupplementalGroups: securityv1.SupplementalGroupsStrategyOptions{
			Type:   securityv1.SupplementalGroupsStrategyMustRunAs,
			Ranges: []securityv1.IDRange{GroupRange()},
		},
		UserNamespaceLevel: securityv1.NamespaceLevelRequirePod,
		// Use is granted through RBAC (package grants), never by listing
		// users or groups here.
		Users:  []string{},
		Groups: []string{},
	}
}
