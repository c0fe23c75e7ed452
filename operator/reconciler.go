package operator

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/workspaces"
)

// The toggle, its status and its finalizer.
// +kubebuilder:rbac:groups=enabler.nested-workspaces.io,resources=nestedcontainers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=enabler.nested-workspaces.io,resources=nestedcontainers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=enabler.nested-workspaces.io,resources=nestedcontainers/finalizers,verbs=update

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
	// APIReader reads objects the caches do not hold.
	APIReader client.Reader
	Detector  ClusterDetector
	Events    events.EventRecorder
	// Workspaces keeps the DevWorkspaces' states.
	Workspaces *workspaces.Watcher
	// DWONamespace holds the global DevWorkspaceOperatorConfig.
	DWONamespace string

	watches *optionalWatches
	fence   *fenceProbe
	// dwoMinted is the SCC whose DevWorkspace Operator grants were kept
	// the last time the others' were deleted ("": none kept); nil before
	// the first time since start.
	dwoMinted *string
}

// Reconcile observes, decides, applies and reports: one observation value,
// a pure plan and verdict, typed results from each object's package, and
// one status write.
func (r *Reconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	nc := &enablerv1alpha1.NestedContainers{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get NestedContainers %s: %w", enablerv1alpha1.ClusterName, err)
	}
	obs, ready, err := r.observe(ctx, nc)
	if err != nil || !ready {
		// Not ready: a watch has not listed yet, and says so when it has.
		return ctrl.Result{}, err
	}
	plan := decide(obs)
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("transition", plan.transition()))
	applied := r.apply(ctx, nc, plan)
	verdict := judge(obs, plan, applied)
	if plan.Action == Finalize && verdict.Retry == nil {
		return ctrl.Result{}, nil // the resource is gone
	}
	if err := r.report(ctx, nc, obs, verdict); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: r.requeueAfter(obs, verdict)}, verdict.Retry
}

// requeueAfter is the verdict's, or sooner when the fence is to be tried
// again first.
func (r *Reconciler) requeueAfter(o Observation, v Verdict) time.Duration {
	after := v.RequeueAfter
	if o.Fence != nil && r.fence != nil {
		if due := max(r.fence.due(), time.Second); after == 0 || due < after {
			after = due
		}
	}
	return after
}
