package operator

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
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

// apply makes the cluster match the plan, in an order that never leaves a
// workspace pinned to an SCC it cannot use: the SCC, then the grants to use
// it, then the DevWorkspaceOperatorConfig that pins workspaces to it, and
// only then the release of whatever was used before. It stops at the first
// step that fails.
func (r *Reconciler) apply(ctx context.Context, nc *enablerv1alpha1.NestedContainers, p Plan) *outcome {
	o := &outcome{}
	switch {
	case p.Hold:
		return o
	case !p.Nested:
		if err := r.cleanUp(ctx); err != nil {
			o.cleanupFailed(err)
		}
		return o
	}
	if err := r.ensureFinalizer(inStep(ctx, "add the finalizer"), nc); err != nil {
		o.fail(err)
		return o
	}
	if p.CreateSCC {
		r.applySCC(inStep(ctx, "apply SCC "+p.SCCName), p, o)
		if o.blocked() {
			// Without the SCC workspace pods cannot be admitted; configuring
			// DWO now would only make new workspaces fail to start.
			return o
		}
	}
	blocked, err := r.applyGrants(inStep(ctx, "grant use of SCC "+p.SCCName), p.SCCName)
	if len(blocked) > 0 {
		o.degrade(enablerv1alpha1.ReasonGrantBlocked, describeBlocked(p.SCCName, blocked))
	}
	if err != nil {
		o.fail(fmt.Errorf("grant use of %s: %w", describeSCC(p), err))
		return o
	}
	r.applyDWOConfig(inStep(ctx, "pin workspaces in the DevWorkspaceOperatorConfig"), p, o)
	if o.blocked() {
		return o
	}
	if err := r.releaseOtherSCCs(inStep(ctx, "release what was used before"), p.SCCName); err != nil {
		o.fail(fmt.Errorf("release what was used before %s: %w", describeSCC(p), err))
	}
	return o
}

func (r *Reconciler) applySCC(ctx context.Context, p Plan, o *outcome) {
	desired := scc.NestedPodmanSCC(p.SCCName, p.Settings.RunAsUser, p.SCCCapabilities)
	_, err := scc.ApplySCC(ctx, r.Client, r.APIReader, desired)
	var foreign *scc.ForeignSCCError
	switch {
	case err == nil:
	case errors.As(err, &foreign):
		o.block(enablerv1alpha1.ReasonSCCNotOwned, err.Error())
	case errors.Is(err, scc.ErrUserNamespaceLevelPruned):
		o.block(enablerv1alpha1.ReasonUserNamespaceLevelPruned, err.Error())
		o.degrade(enablerv1alpha1.ReasonUserNamespaceLevelPruned, err.Error())
	default:
		o.fail(fmt.Errorf("apply %s: %w", describeSCC(p), err))
	}
}

func (r *Reconciler) applyDWOConfig(ctx context.Context, p Plan, o *outcome) {
	desired := DesiredDWOConfig(r.DWONamespace, p.Settings)
	current, err := r.getDWOConfig(ctx)
	if err != nil {
		o.fail(err)
		return
	}
	if !dwoConfigInStep(current, desired) {
		err := r.Client.Patch(ctx, desired, client.Apply, client.FieldOwner(FieldManager))
		switch {
		case apierrors.IsConflict(err):
			// Half a configuration is never safe (e.g. the capabilities
			// without hostUsers: false): withdraw all of ours until the
			// other manager lets go.
			if rerr := r.releaseDWOConfig(ctx); rerr != nil {
				o.fail(rerr)
			}
			o.block(enablerv1alpha1.ReasonDWOConfigConflict, fmt.Sprintf(
				"another manager owns a field of DevWorkspaceOperatorConfig %s/%s that nested workspaces need, "+
					"so this operator withdrew all of its fields there; remove that field or hand it over, then this operator applies them again: %v",
				r.DWONamespace, DWOConfigName, err))
		case meta.IsNoMatchError(err):
			o.block(enablerv1alpha1.ReasonDevWorkspaceMissing, "DevWorkspaceOperatorConfig is not served: install the DevWorkspace Operator (or Dev Spaces) first")
			return
		case err != nil:
			o.fail(fmt.Errorf("apply DevWorkspaceOperatorConfig %s/%s: %w", r.DWONamespace, DWOConfigName, err))
		}
	}
	all := &unstructured.UnstructuredList{}
	all.SetGroupVersionKind(DWOConfigGVK.GroupVersion().WithKind(DWOConfigGVK.Kind + "List"))
	if err := r.Client.List(ctx, all); err != nil {
		o.fail(fmt.Errorf("list DevWorkspaceOperatorConfigs: %w", err))
		return
	}
	if overrides := FindConfigOverrides(all.Items, r.DWONamespace, desired); len(overrides) > 0 {
		msgs := make([]string, 0, len(overrides))
		for _, ov := range overrides {
			msgs = append(msgs, ov.String())
		}
		o.degrade(enablerv1alpha1.ReasonExternalConfigOverrides, "workspaces that use these configurations will not be nested-capable: "+
			strings.Join(msgs, "; ")+"; remove those fields or set them as the global DevWorkspaceOperatorConfig has them")
	}
}

func (r *Reconciler) getDWOConfig(ctx context.Context) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(DWOConfigGVK)
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.DWONamespace, Name: DWOConfigName}, u)
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get DevWorkspaceOperatorConfig: %w", err)
	}
	return u, nil
}
