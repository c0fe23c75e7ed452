package operator

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/grants"
	"github.com/nested-workspaces/enabler/scc"
)

// SCCs: read all (OpenShift's nested-container, an admin's SCC of our
// name), create ours; change, delete and use only ours by name, and use
// OpenShift's (to grant it, RBAC escalation rules want the granter to hold
// it). Kubernetes cannot limit create by name: the admission policy in
// manifests/policy fences what may be created.
// +kubebuilder:rbac:groups=security.openshift.io,resources=securitycontextconstraints,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=security.openshift.io,resources=securitycontextconstraints,resourceNames=nested-podman,verbs=update;patch;delete;use
// +kubebuilder:rbac:groups=security.openshift.io,resources=securitycontextconstraints,resourceNames=nested-container,verbs=use

// apply makes the cluster match the plan through each object's package,
// and returns what each did.
func (r *Reconciler) apply(ctx context.Context, nc *enablerv1alpha1.NestedContainers, p Plan) Applied {
	var a Applied
	switch p.Action {
	case Configure:
		r.configure(ctx, nc, p, &a)
	case Remove:
		a.Removal = r.remove(ctx)
	case Finalize:
		if !controllerutil.ContainsFinalizer(nc, Finalizer) {
			return a
		}
		if a.Removal = r.remove(ctx); a.Removal == nil {
			a.Finalizer = patchFinalizer(inStep(ctx, "remove the finalizer"), r.Client, nc, false)
		}
	}
	return a
}

// configure makes workspaces nested-capable, in an order that never leaves
// a workspace pinned to an SCC it cannot use: the SCC, then the grants to
// use it, then the DevWorkspaceOperatorConfig that pins workspaces to it,
// and only then the release of whatever was used before. It stops at the
// first step that fails.
func (r *Reconciler) configure(ctx context.Context, nc *enablerv1alpha1.NestedContainers, p Plan, a *Applied) {
	if a.Finalizer = patchFinalizer(inStep(ctx, "add the finalizer"), r.Client, nc, true); a.Finalizer != nil {
		return
	}
	if p.SCC.Create {
		desired := scc.NestedPodmanSCC(p.SCC.Name, p.Settings.RunAsUser, p.SCC.Capabilities)
		if _, a.SCC = scc.Apply(inStep(ctx, "apply SCC "+p.SCC.Name), r.Client, r.APIReader, desired); a.SCC != nil {
			// Without the SCC workspace pods cannot be admitted; configuring
			// DWO now would only make new workspaces fail to start.
			return
		}
	}
	a.Grants, a.GrantsRan = grants.Apply(inStep(ctx, "grant use of SCC "+p.SCC.Name), r.Client, p.SCC.Name, p.Grants), true
	if a.Grants.Err != nil {
		return
	}
	a.DWOConfig, a.DWOConfigRan = dwoconfig.Apply(inStep(ctx, "pin workspaces in the DevWorkspaceOperatorConfig"), r.Client, r.DWONamespace, p.Settings), true
	if d := a.DWOConfig; d.Err != nil || d.Conflict != nil || d.NotServed {
		return
	}
	a.Release = runSteps(ctx, []step{
		{"release other SCCs' grants", func(ctx context.Context) error { return grants.Release(ctx, r.Client, p.SCC.Name) }},
		{"release the DevWorkspace Operator's grants of other SCCs", func(ctx context.Context) error {
			return r.releaseDWOMinted(ctx, p.SCC.Name)
		}},
		{"delete our other SCCs", func(ctx context.Context) error { return scc.Release(ctx, r.Client, p.SCC.Name) }},
	})
}

// releaseDWOMinted deletes the DevWorkspace Operator's grants of our SCCs
// but keep, once for each keep: they are listed past the caches, and
// nothing mints them again without the operator (which no longer lets the
// DevWorkspace controller use an SCC), so not at every reconcile.
func (r *Reconciler) releaseDWOMinted(ctx context.Context, keep string) error {
	if r.dwoMinted != nil && *r.dwoMinted == keep {
		return nil
	}
	if err := grants.ReleaseDWOMinted(ctx, r.Client, r.APIReader, keep); err != nil {
		return err
	}
	r.dwoMinted = &keep
	return nil
}

// remove removes what the operator wrote; see RemoveAll. The DevWorkspace
// Operator's grants are released once (see releaseDWOMinted).
func (r *Reconciler) remove(ctx context.Context) error {
	released := r.dwoMinted != nil && *r.dwoMinted == ""
	err := RemoveAll(ctx, r.Client, r.APIReader, r.DWONamespace, !released)
	if err == nil {
		none := ""
		r.dwoMinted = &none
	}
	return err
}

// RemoveAll removes everything the operator wrote, in order, stopping at the
// first step that fails: our DevWorkspaceOperatorConfig fields first, so
// that no new workspace is rendered for an SCC that is about to go; then
// the grants, ours and (withDWOMinted) those the DevWorkspace Operator
// minted for our SCCs; then our SCCs. c may read through caches limited to
// our label; live must read past them.
func RemoveAll(ctx context.Context, c client.Client, live client.Reader, dwoNamespace string, withDWOMinted bool) error {
	steps := []step{
		{"remove our fields from the DevWorkspaceOperatorConfig", func(ctx context.Context) error { return dwoconfig.Release(ctx, c, dwoNamespace) }},
		{"delete our grants", func(ctx context.Context) error { return grants.Release(ctx, c, "") }},
	}
	if withDWOMinted {
		steps = append(steps, step{"delete the DevWorkspace Operator's grants of our SCCs", func(ctx context.Context) error {
			return grants.ReleaseDWOMinted(ctx, c, live, "")
		}})
	}
	steps = append(steps, step{"delete our SCCs", func(ctx context.Context) error { return scc.Release(ctx, c, "") }})
	return runSteps(ctx, steps)
}

// patchFinalizer adds or removes our finalizer, writing only when that
// changes something.
func patchFinalizer(ctx context.Context, c client.Client, nc *enablerv1alpha1.NestedContainers, add bool) error {
	if controllerutil.ContainsFinalizer(nc, Finalizer) == add {
		return nil
	}
	patch := client.MergeFrom(nc.DeepCopy())
	if add {
		controllerutil.AddFinalizer(nc, Finalizer)
	} else {
		controllerutil.RemoveFinalizer(nc, Finalizer)
	}
	if err := c.Patch(ctx, nc, patch); err != nil {
		return fmt.Errorf("update the finalizer of NestedContainers %s: %w", nc.Name, err)
	}
	return nil
}
