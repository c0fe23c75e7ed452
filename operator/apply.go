package operator

import (
	"context"
	"errors"
	"fmt"
	"strings"

	securityv1 "github.com/openshift/api/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
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
	if err := r.ensureFinalizer(ctx, nc); err != nil {
		o.fail(err)
		return o
	}
	if p.CreateSCC {
		r.applySCC(ctx, p, o)
		if o.blocked() {
			// Without the SCC workspace pods cannot be admitted; configuring
			// DWO now would only make new workspaces fail to start.
			return o
		}
	}
	blocked, err := r.applyGrants(ctx, p.SCCName)
	if len(blocked) > 0 {
		o.degrade(enablerv1alpha1.ReasonGrantBlocked, describeBlocked(p.SCCName, blocked))
	}
	if err != nil {
		o.fail(fmt.Errorf("grant use of %s: %w", describeSCC(p), err))
		return o
	}
	r.applyDWOConfig(ctx, p, o)
	if o.blocked() {
		return o
	}
	if err := r.releaseOtherSCCs(ctx, p.SCCName); err != nil {
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

// releaseDWOConfig removes exactly the fields we own from the global DWOC.
func (r *Reconciler) releaseDWOConfig(ctx context.Context) error {
	current, err := r.getDWOConfig(ctx)
	if err != nil || current == nil || !managedBy(current, FieldManager) {
		return err
	}
	if err := r.Client.Patch(ctx, emptyDWOConfig(r.DWONamespace), client.Apply, client.FieldOwner(FieldManager)); err != nil && !meta.IsNoMatchError(err) {
		return fmt.Errorf("remove our fields from DevWorkspaceOperatorConfig %s/%s: %w", r.DWONamespace, DWOConfigName, err)
	}
	return nil
}

// cleanUp removes everything we wrote, in order, stopping at the first
// failure: our DevWorkspaceOperatorConfig fields first, so that no new
// workspace is rendered for an SCC that is about to go; then the grants;
// then our SCCs.
func (r *Reconciler) cleanUp(ctx context.Context) error {
	return runSteps(ctx, []step{
		{"remove our fields from the DevWorkspaceOperatorConfig", r.releaseDWOConfig},
		{"delete our RoleBindings", func(ctx context.Context) error {
			return r.deleteOurs(ctx, "RoleBinding", &rbacv1.RoleBindingList{}, keepNone)
		}},
		{"delete our ClusterRoleBindings", func(ctx context.Context) error {
			return r.deleteOurs(ctx, "ClusterRoleBinding", &rbacv1.ClusterRoleBindingList{}, keepNone)
		}},
		{"delete our ClusterRoles", func(ctx context.Context) error {
			return r.deleteOurs(ctx, "ClusterRole", &rbacv1.ClusterRoleList{}, keepNone)
		}},
		{"delete our SCCs", func(ctx context.Context) error { return r.deleteOurSCCs(ctx, "") }},
	})
}

func keepNone(client.Object) bool { return false }

// deleteOurSCCs deletes every SCC that carries our label but keep.
func (r *Reconciler) deleteOurSCCs(ctx context.Context, keep string) error {
	return r.deleteOurs(ctx, "SecurityContextConstraints", &securityv1.SecurityContextConstraintsList{},
		func(o client.Object) bool { return o.GetName() == keep })
}

// builtInSCC names OpenShift's own nested-container SCC when the spec asks
// for it (builtIn Auto) and the cluster has it.
func (r *Reconciler) builtInSCC(ctx context.Context, nc *enablerv1alpha1.NestedContainers, report *detect.Report) (string, error) {
	if report.Verdict != detect.Supported {
		return "", nil
	}
	// The cache holds every SCC, so OpenShift's own is seen to come and go.
	mode, minor := string(nc.Spec.SCC.BuiltIn), report.OpenShiftMinor()
	name, err := scc.PreferBuiltIn(ctx, r.Client, mode, minor)
	if name != "" || err != nil || r.APIReader == nil {
		return name, err
	}
	// Refused from the cache: look again at the API server. Around a change
	// of the SCC schema (an upgrade to 4.20 adds userNamespaceLevel) the
	// cache may still hold OpenShift's SCC as read under the old schema,
	// without RequirePodLevel, while the object itself has it.
	return scc.PreferBuiltIn(ctx, r.APIReader, mode, minor)
}

// workspacePageSize bounds how many workspace Deployments are decoded at
// once: the counts are read page by page rather than cached whole.
const workspacePageSize = 500

func (r *Reconciler) countWorkspaces(ctx context.Context, nestedWanted bool) (WorkspaceCounts, error) {
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
