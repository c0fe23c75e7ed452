package workspaces

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// IDLabel marks every object the DevWorkspace Operator creates for a
// workspace.
const IDLabel = "controller.devfile.io/devworkspace_id"

// DevWorkspaceGVK is the workspace kind: its service accounts may use the
// SCC, its Deployments are counted.
var DevWorkspaceGVK = schema.GroupVersionKind{Group: "workspace.devfile.io", Version: "v1alpha2", Kind: "DevWorkspace"}

// IsNested reports whether a pod template runs nested-capable: its own user
// namespace, /proc unmasked and SETUID/SETGID in every container.
func IsNested(t *corev1.PodTemplateSpec) bool {
	if t.Spec.HostUsers == nil || *t.Spec.HostUsers {
		return false
	}
	if len(t.Spec.Containers) == 0 {
		return false
	}
	for _, c := range t.Spec.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.ProcMount == nil || *sc.ProcMount != corev1.UnmaskedProcMount || sc.Capabilities == nil {
			return false
		}
		if !slices.Contains(sc.Capabilities.Add, "SETUID") || !slices.Contains(sc.Capabilities.Add, "SETGID") {
			return false
		}
	}
	return true
}
