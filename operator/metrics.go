package operator

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The metrics endpoint authenticates and authorizes its callers.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Prometheus gauges beside controller-runtime's own metrics, registered
// with its registry so they are served on the manager's metrics endpoint.
var (
	workspacesGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nested_workspaces_workspaces",
		Help: "Workspace Deployments by state: total, nested, pending_restart.",
	}, []string{"state"})
	conditionGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nested_workspaces_condition",
		Help: "1 when the NestedContainers condition is True, 0 otherwise.",
	}, []string{"type"})
	registerOnce sync.Once
)

func registerMetrics() {
	registerOnce.Do(func() { metrics.Registry.MustRegister(workspacesGauge, conditionGauge) })
}

func recordMetrics(counts WorkspaceCounts, conditions map[string]bool) {
	workspacesGauge.WithLabelValues("total").Set(float64(counts.Total))
	workspacesGauge.WithLabelValues("nested").Set(float64(counts.Nested))
	workspacesGauge.WithLabelValues("pending_restart").Set(float64(counts.PendingRestart))
	for t, ok := range conditions {
		v := 0.0
		if ok {
			v = 1
		}
		conditionGauge.WithLabelValues(t).Set(v)
	}
}
