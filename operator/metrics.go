package operator

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/version"
)

// The metrics endpoint authenticates and authorizes its callers.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Metric names the PrometheusRule in manifests/monitoring alerts on
// (e2e/monitoring proves each alert against what the operator serves).
const (
	WorkspacesMetric = "nested_workspaces_workspaces"
	ConditionMetric  = "nested_workspaces_condition"
	BuildInfoMetric  = "nested_workspaces_build_info"
)

// Workspace states of WorkspacesMetric.
const (
	WorkspacesTotal          = "total"
	WorkspacesNested         = "nested"
	WorkspacesPendingRestart = "pending_restart"
	// WorkspacesFailing counts workspaces failing to start.
	WorkspacesFailing = "failing"
)

// Prometheus gauges beside controller-runtime's own metrics, registered
// with its registry so they are served on the manager's metrics endpoint.
var (
	workspacesGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: WorkspacesMetric,
		Help: "Workspaces by state: total, nested, pending_restart, failing (failed to start).",
	}, []string{"state"})
	conditionGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: ConditionMetric,
		Help: "1 when the NestedContainers condition is True, 0 otherwise; reason is the condition's reason.",
	}, []string{"type", "reason"})
	buildInfoGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: BuildInfoMetric,
		Help: "Always 1; the labels say which build of the operator runs.",
	}, []string{"version", "revision", "goversion"})
	registerOnce sync.Once
)

func registerMetrics() {
	registerOnce.Do(func() {
		metrics.Registry.MustRegister(workspacesGauge, conditionGauge, buildInfoGauge)
		v := version.Get()
		buildInfoGauge.WithLabelValues(v.Version, v.Revision, v.GoVersion).Set(1)
		workspacesGauge.WithLabelValues(WorkspacesFailing).Set(0)
	})
}

// recordMetrics serves what the status says: its labels take only the
// operator's own words (states, condition types and reasons), never
// another object's text.
func recordMetrics(st *enablerv1alpha1.NestedContainersStatus) {
	w := st.Workspaces
	workspacesGauge.WithLabelValues(WorkspacesTotal).Set(float64(w.Total))
	workspacesGauge.WithLabelValues(WorkspacesNested).Set(float64(w.Nested))
	workspacesGauge.WithLabelValues(WorkspacesPendingRestart).Set(float64(w.PendingRestart))
	workspacesGauge.WithLabelValues(WorkspacesFailing).Set(float64(w.Failing))
	recordConditionMetrics(st.Conditions)
}

// recordConditionMetrics serves one series per condition type, labelled
// with its current reason: the series of an earlier reason goes, so that
// an alert on {type="Degraded"} never sees two.
func recordConditionMetrics(conditions []metav1.Condition) {
	for _, c := range conditions {
		v := 0.0
		if c.Status == metav1.ConditionTrue {
			v = 1
		}
		conditionGauge.DeletePartialMatch(prometheus.Labels{"type": c.Type})
		conditionGauge.WithLabelValues(c.Type, c.Reason).Set(v)
	}
}
