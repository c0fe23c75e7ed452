package operator

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
)

// An Event for each condition change.
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch;update
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch;update

// report writes the status when it changed, and an Event for every
// condition that changed.
func (r *Reconciler) report(ctx context.Context, nc *enablerv1alpha1.NestedContainers, rep *detect.Report, p Plan, o *outcome, counts WorkspaceCounts) error {
	next := nc.Status.DeepCopy()
	next.ObservedGeneration = nc.Generation
	next.Cluster = clusterFacts(rep)
	next.Nodes = enablerv1alpha1.NodeCounts{Total: int32(rep.Nodes.Total), UserNamespaces: int32(rep.Nodes.UserNamespaces)}
	next.Workspaces = enablerv1alpha1.WorkspaceCounts{Total: counts.Total, Nested: counts.Nested, PendingRestart: counts.PendingRestart}
	setConditions(next, nc.Generation, rep, p, o)
	recordWorkspaceMetrics(counts)
	return r.writeStatus(ctx, nc, next)
}

// reportDetectionFailure says that nothing is known: Supported becomes
// Unknown (a stale True or False would mislead), Ready False. What is in
// place is left as it is.
func (r *Reconciler) reportDetectionFailure(ctx context.Context, nc *enablerv1alpha1.NestedContainers, detectErr error) error {
	msg := fmt.Sprintf("cannot tell what the cluster supports: %v; check the operator's RBAC and API server reachability (what is configured is left as it is)", detectErr)
	return r.reportFailure(ctx, nc, detectErr, enablerv1alpha1.ReasonDetectionFailed, msg,
		conditionState{enablerv1alpha1.ConditionSupported, metav1.ConditionUnknown},
		conditionState{enablerv1alpha1.ConditionReady, metav1.ConditionFalse})
}

// reportCleanupFailure says that deleting the resource is waiting on a
// cleanup step that failed.
func (r *Reconciler) reportCleanupFailure(ctx context.Context, nc *enablerv1alpha1.NestedContainers, cleanupErr error) error {
	msg := cleanupMessage(cleanupErr) + "; the resource is deleted once cleanup completes"
	return r.reportFailure(ctx, nc, cleanupErr, enablerv1alpha1.ReasonCleanupFailed, msg,
		conditionState{enablerv1alpha1.ConditionReady, metav1.ConditionFalse},
		conditionState{enablerv1alpha1.ConditionDegraded, metav1.ConditionTrue})
}

type conditionState struct {
	condType string
	status   metav1.ConditionStatus
}

// reportFailure sets each of states with reason and msg, writes the status
// and returns failure, so that the reconcile is retried.
func (r *Reconciler) reportFailure(ctx context.Context, nc *enablerv1alpha1.NestedContainers, failure error, reason, msg string, states ...conditionState) error {
	next := nc.Status.DeepCopy()
	next.ObservedGeneration = nc.Generation
	for _, s := range states {
		meta.SetStatusCondition(&next.Conditions, metav1.Condition{Type: s.condType, Status: s.status,
			Reason: reason, ObservedGeneration: nc.Generation, Message: msg})
	}
	if err := r.writeStatus(ctx, nc, next); err != nil {
		return err
	}
	return failure
}

func cleanupMessage(err error) string {
	return fmt.Sprintf("removing what this operator wrote stopped at a failed step (%v); what comes after it is kept so that no workspace "+
		"is pinned to an SCC it cannot use, and is retried", err)
}

func (r *Reconciler) writeStatus(ctx context.Context, nc *enablerv1alpha1.NestedContainers, next *enablerv1alpha1.NestedContainersStatus) error {
	// Every path that sets conditions comes here (a failed detection or
	// cleanup too), so the condition metrics always say what status says.
	recordConditionMetrics(next.Conditions)
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

func setConditions(st *enablerv1alpha1.NestedContainersStatus, gen int64, rep *detect.Report, p Plan, o *outcome) {
	set := func(t string, ok bool, reason, msg string) {
		status := metav1.ConditionFalse
		if ok {
			status = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen})
	}

	switch {
	case rep.Verdict == detect.Supported:
		set(enablerv1alpha1.ConditionSupported, true, enablerv1alpha1.ReasonClusterSupported, supportedMessage(rep))
	case p.Hold:
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: enablerv1alpha1.ConditionSupported, Status: metav1.ConditionUnknown,
			Reason: enablerv1alpha1.ReasonDetectionInconclusive, Message: rep.ReasonsMessage(), ObservedGeneration: gen})
	default:
		set(enablerv1alpha1.ConditionSupported, false, enablerv1alpha1.ReasonClusterUnsupported, rep.ReasonsMessage())
	}

	switch {
	case p.Hold:
		set(enablerv1alpha1.ConditionReady, true, enablerv1alpha1.ReasonKeptLastGood, p.HoldWhy)
	case !p.Nested && o.cleanup != nil:
		set(enablerv1alpha1.ConditionReady, false, enablerv1alpha1.ReasonCleanupFailed, p.WhyNot+"; but "+cleanupMessage(o.cleanup))
	case !p.Nested:
		set(enablerv1alpha1.ConditionReady, false, p.WhyNotReason, p.WhyNot)
	case len(o.blocking) > 0:
		set(enablerv1alpha1.ConditionReady, false, o.blocking[0].reason, joinProblems(o.blocking))
	case o.transient != nil:
		set(enablerv1alpha1.ConditionReady, false, enablerv1alpha1.ReasonApplyFailed, o.transient.Error()+"; retrying")
	default:
		set(enablerv1alpha1.ConditionReady, true, enablerv1alpha1.ReasonConfigured, fmt.Sprintf(
			"new workspaces run nested-capable under %s; the DevWorkspace Operator restarts running ones onto it when it next reconciles them (status.workspaces.pendingRestart counts those not yet restarted)%s", describeSCC(p), p.Note))
	}

	degraded := append([]problem{}, o.degraded...)
	if o.cleanup != nil {
		degraded = append([]problem{{enablerv1alpha1.ReasonCleanupFailed, cleanupMessage(o.cleanup)}}, degraded...)
	}
	if p.Hold {
		degraded = append([]problem{{enablerv1alpha1.ReasonDetectionInconclusive, p.HoldWhy}}, degraded...)
	}
	for _, d := range rep.Degraded {
		degraded = append(degraded, problem{d.Code, d.Message})
	}
	if len(degraded) > 0 {
		set(enablerv1alpha1.ConditionDegraded, true, degraded[0].reason, joinProblems(degraded))
	} else {
		set(enablerv1alpha1.ConditionDegraded, false, enablerv1alpha1.ReasonAsExpected, "nothing degraded")
	}
}

func supportedMessage(rep *detect.Report) string {
	if rep.OpenShiftVersion == "" {
		return "cluster supports nested containers"
	}
	return fmt.Sprintf("OpenShift %s supports pod user namespaces", rep.OpenShiftVersion)
}

func joinProblems(ps []problem) string {
	msgs := make([]string, 0, len(ps))
	for _, p := range ps {
		msgs = append(msgs, p.message)
	}
	return strings.Join(msgs, "; ")
}

// emitTransitions records an Event for each condition whose status changed.
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
		r.Events.Eventf(nc, nil, eventType, c.Reason, c.Type, "%s=%s: %s", c.Type, c.Status, c.Message)
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
