package operator

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/internal/bounded"
	"github.com/nested-workspaces/enabler/workspaces"
)

// An Event for each condition change.
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch;update
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch;update

// report is the only status writer: it writes the verdict and what was
// observed when they changed, an Event for every condition that changed,
// and the metrics.
func (r *Reconciler) report(ctx context.Context, nc *enablerv1alpha1.NestedContainers, o Observation, v Verdict) error {
	next := status(nc, o, v)
	recordMetrics(next)
	if equality.Semantic.DeepEqual(&nc.Status, next) {
		return nil
	}
	prev := nc.Status.DeepCopy()
	nc.Status = *next
	if err := r.Client.Status().Update(ctx, nc); err != nil {
		return fmt.Errorf("update NestedContainers status: %w", err)
	}
	r.emitTransitions(nc, prev.Conditions, next.Conditions)
	return nil
}

// status is the next status: pure, so that the status a verdict makes is
// proven without a cluster. What detection failed to read keeps its last
// value.
func status(nc *enablerv1alpha1.NestedContainers, o Observation, v Verdict) *enablerv1alpha1.NestedContainersStatus {
	next := nc.Status.DeepCopy()
	next.ObservedGeneration = nc.Generation
	for _, c := range []*metav1.Condition{v.Supported, v.Ready, v.Degraded} {
		if c != nil {
			c := *c
			c.ObservedGeneration = nc.Generation
			meta.SetStatusCondition(&next.Conditions, c)
		}
	}
	if o.Report != nil {
		next.Cluster = clusterFacts(o.Report)
		next.Nodes = enablerv1alpha1.NodeCounts{Total: int32(o.Report.Nodes.Total), UserNamespaces: int32(o.Report.Nodes.UserNamespaces)}
		next.SCC = v.SCC
		ready := meta.FindStatusCondition(next.Conditions, enablerv1alpha1.ConditionReady)
		next.Workspaces = workspaceCounts(o.Workspaces, ready != nil && ready.Status == metav1.ConditionTrue)
	}
	return next
}

// maxFailingMessage bounds a failingSample message, quoted (the CRD's
// maxLength).
const maxFailingMessage = 512

func workspaceCounts(s workspaces.Snapshot, nestedWanted bool) enablerv1alpha1.WorkspaceCounts {
	c := enablerv1alpha1.WorkspaceCounts{
		Total: s.Counts.Total, Nested: s.Counts.Nested, PendingRestart: s.Counts.PendingRestart(nestedWanted), Failing: s.Counts.Failing,
	}
	for _, f := range s.Failing {
		cause := enablerv1alpha1.FailureCauseOther
		switch {
		case f.OurConfiguration:
			cause = enablerv1alpha1.FailureCauseOurConfiguration
		case f.RefusedBySCC:
			cause = enablerv1alpha1.FailureCauseSCCRefused
		}
		// Quoted: the message may hold the workspace owner's text, which
		// must not pass for the operator's own.
		c.FailingSample = append(c.FailingSample, enablerv1alpha1.FailingWorkspace{
			Namespace: bounded.Cut(f.Namespace, 63), Name: bounded.Cut(f.Name, 253), Cause: cause,
			Message: bounded.Quote(f.Message, maxFailingMessage),
		})
	}
	return c
}

func clusterFacts(rep *detect.Report) enablerv1alpha1.ClusterFacts {
	gates := map[string]bool{}
	for name, state := range rep.FeatureGates {
		gates[name] = state.Enabled()
	}
	return enablerv1alpha1.ClusterFacts{
		OpenShiftVersion:  rep.OpenShiftVersion,
		KubernetesVersion: rep.KubernetesVersion,
		FeatureSet:        rep.FeatureSet,
		FeatureGates:      gates,
	}
}

// emitTransitions records an Event for each condition whose status or
// reason changed.
func (r *Reconciler) emitTransitions(nc *enablerv1alpha1.NestedContainers, before, after []metav1.Condition) {
	if r.Events == nil {
		return
	}
	for _, c := range after {
		old := meta.FindStatusCondition(before, c.Type)
		if old != nil && old.Status == c.Status && old.Reason == c.Reason {
			continue
		}
		eventType := corev1.EventTypeNormal
		if isBad(c) {
			eventType = corev1.EventTypeWarning
		}
		r.Events.Eventf(nc, nil, eventType, c.Reason, c.Type, "%s=%s: %s", c.Type, c.Status, bounded.Cut(c.Message, 1024))
	}
}

// isBad tells whether a condition asks for an admin's attention.
func isBad(c metav1.Condition) bool {
	switch c.Type {
	case enablerv1alpha1.ConditionDegraded:
		return c.Status == metav1.ConditionTrue
	case enablerv1alpha1.ConditionReady:
		return c.Status == metav1.ConditionFalse && c.Reason != enablerv1alpha1.ReasonDisabled
	default:
		return c.Status == metav1.ConditionFalse
	}
}
