package operator

import (
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
)

// The Degraded alert reads nested_workspaces_condition: every way status
// becomes Degraded reaches it with its reason (report, the only status
// writer, records the metrics from the status it writes), and a reason
// that is gone does not stay behind as a second series.
func TestConditionMetricsFollowStatus(t *testing.T) {
	degraded := func(reason string, status metav1.ConditionStatus) string {
		v := "0"
		if status == metav1.ConditionTrue {
			v = "1"
		}
		return ConditionMetric + `{reason="` + reason + `",type="Degraded"} ` + v
	}
	nc := toggle(true, deleting)
	steps := []struct {
		name string
		obs  Observation
		a    Applied
		want []string
	}{
		{"a_failed_cleanup_is_degraded", Observation{Toggle: nc}, Applied{Removal: errors.New("delete RoleBinding: conflict")},
			[]string{degraded(enablerv1alpha1.ReasonCleanupFailed, metav1.ConditionTrue)}},
		{"a_new_reason_replaces_the_old_series", Observation{Toggle: toggle(true), Report: supported("4.22.0")}, Applied{GrantsRan: true, DWOConfigRan: true},
			[]string{degraded(enablerv1alpha1.ReasonAsExpected, metav1.ConditionFalse)}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			v := judge(s.obs, decide(s.obs), s.a)
			next := status(nc, s.obs, v)
			recordMetrics(next)
			nc.Status = *next
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
