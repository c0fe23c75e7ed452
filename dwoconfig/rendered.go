package dwoconfig

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// RenderedPod is the security-relevant part of the pod spec the
// DevWorkspace Operator renders for a workspace under our settings, as
// DevWorkspace Operator v0.43 does on OpenShift (pkg/config/defaults.go:
// an empty pod security context; containers runAsNonRoot, a writable root
// filesystem, no privilege escalation and every capability dropped —
// which our fields then change), with extraCapabilities added as Dev
// Spaces' own configuration adds CHOWN. Its volumes are those a workspace
// has: the per-user PVC, an emptyDir, the projected service account token,
// and the ConfigMaps and Secrets Dev Spaces mounts. The SCC a workspace is
// pinned to is chosen by whether it admits this pod.
func RenderedPod(s WorkspaceSettings, extraCapabilities ...string) *corev1.PodSpec {
	var add []corev1.Capability
	for _, c := range s.Capabilities {
		add = append(add, corev1.Capability(c))
	}
	for _, c := range extraCapabilities {
		if !slices.Contains(add, corev1.Capability(c)) {
			add = append(add, corev1.Capability(c))
		}
	}
	unmasked := corev1.UnmaskedProcMount
	return &corev1.PodSpec{
		HostUsers:       ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To(s.RunAsUser)},
		Containers: []corev1.Container{{
			Name: "tools",
			SecurityContext: &corev1.SecurityContext{
				RunAsNonRoot:             ptr.To(true),
				ReadOnlyRootFilesystem:   ptr.To(false),
				AllowPrivilegeEscalation: ptr.To(true),
				ProcMount:                &unmasked,
				Capabilities:             &corev1.Capabilities{Add: add, Drop: []corev1.Capability{"ALL"}},
			},
		}},
		Volumes: []corev1.Volume{
			{Name: "claim-devworkspace", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim-devworkspace"}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}}},
				{DownwardAPI: &corev1.DownwardAPIProjection{}},
			}}}},
			{Name: "ca-certs", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "ca-certs"}}}},
			{Name: "git-credentials", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "git-credentials"}}},
		},
	}
}
