package operator

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
)

// The toggle, its status and its finalizer.
// +kubebuilder:rbac:groups=enabler.nested-workspaces.io,resources=nestedcontainers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=enabler.nested-workspaces.io,resources=nestedcontainers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=enabler.nested-workspaces.io,resources=nestedcontainers/finalizers,verbs=update

// blockedRecheck is how often a configuration blocked by what is not
// watched (an admin's SCC, a tenant's RoleBinding of our name, another
// manager's field, a DevWorkspace Operator not yet installed) is looked at
// again.
const blockedRecheck = 30 * time.Second

// holdRecheck is how soon a configuration kept while detection cannot tell
// is looked at again.
const holdRecheck = 10 * time.Second

// Finalizer lets the operator remove what it wrote when the
// NestedContainers resource is deleted.
const Finalizer = "enabler.nested-workspaces.io/cleanup"

// ClusterDetector answers what the cluster can do.
type ClusterDetector interface {
	Detect(ctx context.Context) (*detect.Report, error)
}

// Reconciler makes the cluster match the NestedContainers toggle.
type Reconciler struct {
	// Client reads through the manager's label-limited caches and writes.
	Client client.Client
	// APIReader reads objects the caches do not hold (OpenShift's own SCC).
	APIReader client.Reader
	Detector  ClusterDetector
	Events    events.EventRecorder
	// Counter keeps the workspace counts (nil: count page by page at every
	// reconcile).
	Counter *WorkspaceCounter
	// DWONamespace holds the global DevWorkspaceOperatorConfig and the
	// DevWorkspace controller's service account DWOServiceAccount.
	DWONamespace      string
	DWOServiceAccount string

	watches *optionalWatches
}

// Reconcile observes, decides, applies and reports.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	nc, err := r.observeToggle(ctx)
	if err != nil || nc == nil {
		return ctrl.Result{}, err
	}
	if !nc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, nc)
	}
	if err := r.watches.ensure(ctx); err != nil {
		return ctrl.Result{}, fmt.Errorf("watch the DevWorkspace Operator's kinds: %w", err)
	}
	report, err := r.Detector.Detect(ctx)
	if err != nil {
		return ctrl.Result{}, r.reportDetectionFailure(ctx, nc, err)
	}
	builtIn, err := r.builtInSCC(ctx, nc, report)
	if err != nil {
		return ctrl.Result{}, err
	}
	if r.watches.serving(CheClusterGVK) {
		devSpaces, err := detect.ReadDevSpaces(ctx, r.Client)
		if err != nil {
			return ctrl.Result{}, err
		}
		report.AddDevSpaces(devSpaces)
	}
	plan := decide(nc, report, builtIn, wasConfigured(nc))
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("transition", plan.transition()))
	outcome := r.apply(ctx, nc, plan)
	counts, err := r.countWorkspaces(ctx, (plan.Nested || plan.Hold) && !outcome.blocked())
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.report(ctx, nc, report, plan, outcome, counts); err != nil {
		return ctrl.Result{}, err
	}
	if err := outcome.retryError(); err != nil {
		return ctrl.Result{}, err
	}
	if plan.Hold {
		// Nothing watched may change when the cause passes (discovery after
		// an API server restart): look again soon.
		return ctrl.Result{RequeueAfter: holdRecheck}, nil
	}
	if outcome.waitsOnUnwatched() || plan.WhyNotReason == enablerv1alpha1.ReasonDevWorkspaceMissing || plan.WhyNotReason == enablerv1alpha1.ReasonDevWorkspaceTooOld {
		return ctrl.Result{RequeueAfter: blockedRecheck}, nil
	}
	return ctrl.Result{}, nil
}

// wasConfigured tells whether the last reconcile left workspaces
// configured nested-capable.
func wasConfigured(nc *enablerv1alpha1.NestedContainers) bool {
	c := meta.FindStatusCondition(nc.Status.Conditions, enablerv1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue
}

func (r *Reconciler) observeToggle(ctx context.Context) (*enablerv1alpha1.NestedContainers, error) {
	nc := &enablerv1alpha1.NestedContainers{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get NestedContainers %s: %w", enablerv1alpha1.ClusterName, err)
	}
	return nc, nil
}

func (r *Reconciler) ensureFinalizer(ctx context.Context, nc *enablerv1alpha1.NestedContainers) error {
	if controllerutil.ContainsFinalizer(nc, Finalizer) {
		return nil
	}
	patch := client.MergeFrom(nc.DeepCopy())
	controllerutil.AddFinalizer(nc, Finalizer)
	if err := r.Client.Patch(ctx, nc, patch); err != nil {
		return fmt.Errorf("add finalizer: %w", err)
	}
	return nil
}

// finalize removes everything we wrote, then lets the resource go.
func (r *Reconciler) finalize(ctx context.Context, nc *enablerv1alpha1.NestedContainers) error {
	if !controllerutil.ContainsFinalizer(nc, Finalizer) {
		return nil
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("transition", "remove everything: the NestedContainers resource is being deleted"))
	if err := r.cleanUp(ctx); err != nil {
		return r.reportCleanupFailure(ctx, nc, err)
	}
	patch := client.MergeFrom(nc.DeepCopy())
	controllerutil.RemoveFinalizer(nc, Finalizer)
	if err := r.Client.Patch(ctx, nc, patch); err != nil {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	return nil
}

// outcome collects what went wrong while applying, for the status.
type outcome struct {
	// blocking problems keep workspaces from being made nested (Ready false).
	blocking []problem
	// degraded problems are reported but do not undo the configuration.
	degraded []problem
	// transient errors are retried.
	transient error
	// cleanup is the step of a disable that failed; what comes after it
	// was kept (and is retried).
	cleanup error
}

type problem struct{ reason, message string }

func (o *outcome) block(reason, msg string)   { o.blocking = append(o.blocking, problem{reason, msg}) }
func (o *outcome) degrade(reason, msg string) { o.degraded = append(o.degraded, problem{reason, msg}) }
func (o *outcome) fail(err error)             { o.transient = errors.Join(o.transient, err) }
func (o *outcome) cleanupFailed(err error)    { o.cleanup = err; o.fail(err) }
func (o *outcome) blocked() bool              { return len(o.blocking) > 0 || o.transient != nil }
func (o *outcome) retryError() error          { return o.transient }

// waitsOnUnwatched tells whether something not watched holds the
// configuration back, so that only a recheck can see it go.
func (o *outcome) waitsOnUnwatched() bool {
	if len(o.blocking) > 0 {
		return true
	}
	for _, d := range o.degraded {
		if d.reason == enablerv1alpha1.ReasonGrantBlocked {
			return true
		}
	}
	return false
}
