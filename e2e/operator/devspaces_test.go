package operator_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/localcluster"
	"github.com/nested-workspaces/enabler/localcluster/dwo"
	"github.com/nested-workspaces/enabler/operator"
)

// With Dev Spaces' own container run on, a workspace the dashboard creates
// merges Che's DevWorkspaceOperatorConfig (which adds CHOWN) over ours
// (which pins the SCC). Both kinds of workspace must be admitted and run.
func TestWithDevSpacesContainerRun(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	if err := env.cluster.DevSpaces(ctx, true); err != nil {
		t.Fatal(err)
	}
	const carol = "carol-devspaces"
	t.Cleanup(func() {
		// Leave the other tests a cluster without Che's configuration and
		// without these workspaces.
		for _, name := range []string{"che-ws", "plain-ws"} {
			ws := &dwv2.DevWorkspace{ObjectMeta: metav1.ObjectMeta{Namespace: carol, Name: name}}
			if err := env.cluster.Client.Delete(ctx, ws); client.IgnoreNotFound(err) != nil {
				t.Error(err)
			}
		}
		localcluster.Eventually(t, runTimeout, "the workspaces are gone", func() error {
			deps := &appsv1.DeploymentList{}
			if err := env.cluster.Client.List(ctx, deps, client.InNamespace(carol), client.HasLabels{operator.WorkspaceIDLabel}); err != nil {
				return err
			}
			if len(deps.Items) > 0 {
				return errorf("%d workspace Deployments left in %s", len(deps.Items), carol)
			}
			return nil
		})
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		cc := &unstructured.Unstructured{}
		cc.SetGroupVersionKind(operator.CheClusterGVK)
		cc.SetNamespace(localcluster.DevSpacesNamespace)
		cc.SetName(localcluster.CheClusterName)
		che := &unstructured.Unstructured{}
		che.SetGroupVersionKind(operator.DWOConfigGVK)
		che.SetNamespace(localcluster.DevSpacesNamespace)
		che.SetName(localcluster.CheDWOConfigName)
		for _, o := range []client.Object{cc, che} {
			if err := env.cluster.Client.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
				t.Error(err)
			}
		}
	})
	setEnabled(t, true)
	localcluster.Eventually(t, waitTimeout, "Ready says Dev Spaces' container run shapes the SCC", func() error {
		c := meta.FindStatusCondition(getNC(t).Status.Conditions, enablerv1alpha1.ConditionReady)
		if c == nil || c.Reason != enablerv1alpha1.ReasonConfigured ||
			!strings.Contains(c.Message, localcluster.DevSpacesNamespace+"/"+localcluster.CheClusterName) || !strings.Contains(c.Message, "CHOWN") {
			return errorf("Ready = %+v", c)
		}
		return nil
	})
	// Che's configuration adds more than ours; that is no override.
	waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionFalse, enablerv1alpha1.ReasonAsExpected)

	ensureNamespace(t, carol)
	ws := dwo.DashboardWorkspace(carol, "che-ws", localcluster.DevSpacesNamespace, localcluster.CheDWOConfigName, localcluster.CheContainerRunSCC)
	if err := env.cluster.Client.Create(ctx, ws); err != nil {
		t.Fatal(err)
	}
	pod := runningWorkspace(t, ws)
	assertNestedPod(t, pod, enablerv1alpha1.DefaultSCCName, enablerv1alpha1.DefaultRunAsUser)
	if caps := pod.Spec.Containers[0].SecurityContext.Capabilities; caps == nil || !slices.Contains(caps.Add, "CHOWN") {
		t.Errorf("the Dev Spaces workspace lacks Che's CHOWN: %+v", caps)
	}

	plain, _ := startWorkspace(t, carol, "plain-ws")
	pod = runningWorkspace(t, plain)
	assertNestedPod(t, pod, enablerv1alpha1.DefaultSCCName, enablerv1alpha1.DefaultRunAsUser)
	if caps := pod.Spec.Containers[0].SecurityContext.Capabilities; slices.Contains(caps.Add, "CHOWN") {
		t.Errorf("a workspace outside Dev Spaces got CHOWN: %+v", caps)
	}
	assertInvariant(t)
}
