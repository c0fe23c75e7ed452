package operator

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
)

// The metrics endpoint authenticates and authorizes its callers.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Prometheus gauges beside controller-runtime's own metrics, registered
// with its registry so they are served on the manager's metrics endpoint.
// Their labels take only the operator's own words (states, condition types
// and reasons), never another object's text.
var (
	workspacesGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nested_workspaces_workspaces",
		Help: "Workspaces by state: total, nested, pending_restart, failing (failed to start).",
	}, []string{"state"})
	conditionGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nested_workspaces_condition",
		Help: "1 when the NestedContainers condition is True, 0 otherwise; reason is the condition's reason.",
	}, []string{"type", "reason"})
	registerOnce sync.Once
)

func registerMetrics() {
	registerOnce.Do(func() { metrics.Registry.MustRegister(workspacesGauge, conditionGauge) })
}

func recordMetrics(st *enablerv1alpha1.NestedContainersStatus) {
	w := st.Workspaces
	workspacesGauge.WithLabelValues("total").Set(float64(w.Total))
	workspacesGauge.WithLabelValues("nested").Set(float64(w.Nested))
	workspacesGauge.WithLabelValues("pending_restart").Set(float64(w.PendingRestart))
	workspacesGauge.WithLabelValues("failing").Set(float64(w.Failing))
	for _, c := range st.Conditions {
		v := 0.0
		if c.Status == metav1.ConditionTrue {
			v = 1
		}
		conditionGauge.DeletePartialMatch(prometheus.Labels{"type": c.Type})
		conditionGauge.WithLabelValues(c.Type, c.Reason).Set(v)
	}
}
