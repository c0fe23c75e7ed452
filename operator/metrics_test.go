package operator

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
)

// The Degraded alert reads nested_workspaces_condition: every way status
// becomes Degraded must reach it with its reason, and a reason that is
// gone must not stay behind as a second series.
func TestConditionMetricsFollowStatus(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := enablerv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName, Generation: 1}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(nc).WithStatusSubresource(nc).Build()
	r := &Reconciler{Client: c}
	ctx := context.Background()

	degraded := func(reason string, status metav1.ConditionStatus) string {
		v := "0"
		if status == metav1.ConditionTrue {
			v = "1"
		}
		return ConditionMetric + `{reason="` + reason + `",type="Degraded"} ` + v
	}
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"a_failed_cleanup_is_degraded", func() error {
			return r.reportCleanupFailure(ctx, nc, errors.New("delete RoleBinding: conflict"))
		}, []string{degraded(enablerv1alpha1.ReasonCleanupFailed, metav1.ConditionTrue)}},
		{"a_new_reason_replaces_the_old_series", func() error {
			next := nc.Status.DeepCopy()
			next.Conditions = []metav1.Condition{{Type: enablerv1alpha1.ConditionDegraded, Status: metav1.ConditionFalse,
				Reason: enablerv1alpha1.ReasonAsExpected, Message: "nothing degraded", LastTransitionTime: metav1.Now()}}
			return r.writeStatus(ctx, nc, next)
		}, []string{degraded(enablerv1alpha1.ReasonAsExpected, metav1.ConditionFalse)}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			_ = s.do() // reportCleanupFailure returns the failure, for a retry
			var degradedSeries []string
			for _, line := range strings.Split(gatherText(t), "\n") {
				if strings.HasPrefix(line, ConditionMetric+"{") && strings.Contains(line, `type="Degraded"`) {
					degradedSeries = append(degradedSeries, line)
				}
			}
			if strings.Join(degradedSeries, "\n") != strings.Join(s.want, "\n") {
				t.Errorf("Degraded series:\n%s\nwant:\n%s", strings.Join(degradedSeries, "\n"), strings.Join(s.want, "\n"))
			}
		})
	}
}

func gatherText(t *testing.T) string {
	t.Helper()
	out, err := testutil.CollectAndFormat(conditionGauge, expfmt.TypeTextPlain, ConditionMetric)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
