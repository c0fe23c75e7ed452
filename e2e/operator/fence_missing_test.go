package operator_test

import (
	"context"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
)

// The operator checks that the fence holds (a dry run, as itself, of a
// write the fence must refuse) and says so when it does not: an admin who
// installed from OperatorHub without manifests/policy, or removed it, is
// told.
func TestFenceMissingIsReported(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) {
		s.Enabled, s.SCC.BuiltIn = true, enablerv1alpha1.BuiltInAuto
	})
	waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionFalse, enablerv1alpha1.ReasonAsExpected)
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	if err := env.cluster.Client.Get(ctx, client.ObjectKey{Name: "nested-workspaces-enabler-scc-fence"}, binding); err != nil {
		t.Fatal(err)
	}
	restore := binding.DeepCopy()
	restore.ObjectMeta = metav1.ObjectMeta{Name: binding.Name, Labels: binding.Labels}
	if err := env.cluster.Client.Delete(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.cluster.Client.Create(ctx, restore.DeepCopy()) })
	msg := waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionTrue, enablerv1alpha1.ReasonFenceMissing)
	t.Logf("Degraded: %s", msg)
	if err := env.cluster.Client.Create(ctx, restore.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionFalse, enablerv1alpha1.ReasonAsExpected)
}
