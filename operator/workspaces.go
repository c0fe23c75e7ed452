package operator

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Workspace Deployments are only read (WorkspaceCounter lists and watches them).
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch

// WorkspaceIDLabel marks every object DWO creates for a workspace.
const WorkspaceIDLabel = "controller.devfile.io/devworkspace_id"

// WorkspaceCounts summarises workspace Deployments.
type WorkspaceCounts struct {
	Total, Nested, PendingRestart int32
}

// Plus adds two counts.
func (c WorkspaceCounts) Plus(o WorkspaceCounts) WorkspaceCounts {
	return WorkspaceCounts{Total: c.Total + o.Total, Nested: c.Nested + o.Nested, PendingRestart: c.PendingRestart + o.PendingRestart}
}

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

// GrantsCapabilitiesOutsideUserNamespace is the invariant we never break: a
// pod template that adds SETUID or SETGID while sharing the host's user
// namespace.
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

// CountWorkspaces counts workspace Deployments, those already nested, and
// the running ones that need a restart to match the toggle (DWO applies its
// configuration when it next renders a workspace, not to running ones).
func CountWorkspaces(deployments []appsv1.Deployment, nestedWanted bool) WorkspaceCounts {
	var c WorkspaceCounts
	for i := range deployments {
		d := &deployments[i]
		c.Total++
		nested := IsNested(&d.Spec.Template)
		if nested {
			c.Nested++
		}
		running := d.Spec.Replicas == nil || *d.Spec.Replicas > 0
		if running && nested != nestedWanted {
			c.PendingRestart++
		}
	}
	return c
}

// workspacePageSize bounds how many workspace Deployments are decoded at
// once (each ~20 KiB decoded): the counts are read page by page rather than
// cached whole, and the operator's peak memory is mostly one page.
const workspacePageSize = 100

// countWorkspaces takes the counts from the Counter; before its first list
// has completed (or without one), it reads the workspace Deployments page by
// page.
func (r *Reconciler) countWorkspaces(ctx context.Context, nestedWanted bool) (WorkspaceCounts, error) {
	if r.Counter != nil {
		if c, synced := r.Counter.Counts(nestedWanted); synced {
			return c, nil
		}
	}
	var total WorkspaceCounts
	cont := ""
	for {
		page := &appsv1.DeploymentList{}
		if err := r.APIReader.List(ctx, page, client.HasLabels{WorkspaceIDLabel}, client.Limit(workspacePageSize), client.Continue(cont)); err != nil {
			return WorkspaceCounts{}, fmt.Errorf("list workspace Deployments: %w", err)
		}
		total = total.Plus(CountWorkspaces(page.Items, nestedWanted))
		if cont = page.Continue; cont == "" {
			return total, nil
		}
	}
}
