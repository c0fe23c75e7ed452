// Package lateinstall_test proves that the operator picks up a
// DevWorkspace Operator installed after it: its own package, because the
// cluster must start without the DevWorkspace CRDs.
package lateinstall_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr"
	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

func TestDevWorkspaceOperatorInstalledAfterTheOperator(t *testing.T) {
	ctrl.SetLogger(logr.Discard())
	ctx := context.Background()
	c := localcluster.StartForTest(t, localcluster.Options{OpenShift: true, NestedContainers: true})
	if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
		t.Fatal(err)
	}
	mgr, err := operator.NewManager(operator.Options{Config: c.Config, MetricsAddr: "0", ProbeAddr: "0"})
	if err != nil {
		t.Fatal(err)
	}
	mgrCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	t.Cleanup(func() { stop(); <-done })

	nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
	nc.Spec.Enabled = true
	if err := c.Client.Create(ctx, nc); err != nil {
		t.Fatal(err)
	}
	ready := func(reason string, within time.Duration) {
		t.Helper()
		localcluster.Eventually(t, within, "Ready reason "+reason, func() error {
			if err := c.Client.Get(ctx, client.ObjectKeyFromObject(nc), nc); err != nil {
				return err
			}
			cond := meta.FindStatusCondition(nc.Status.Conditions, enablerv1alpha1.ConditionReady)
			if cond == nil || cond.Reason != reason || cond.ObservedGeneration != nc.Generation {
				return fmt.Errorf("Ready = %+v", cond)
			}
			return nil
		})
	}
	ready(enablerv1alpha1.ReasonDevWorkspaceMissing, time.Minute)
	// Nothing is written while no DevWorkspace Operator could use it.
	roles := &metav1.PartialObjectMetadataList{}
	roles.SetGroupVersionKind(securityv1.GroupVersion.WithKind("SecurityContextConstraintsList"))
	if err := c.Client.List(ctx, roles, client.MatchingLabels{"app.kubernetes.io/managed-by": "nested-workspaces-enabler"}); err != nil {
		t.Fatal(err)
	}
	if len(roles.Items) > 0 || len(nc.Finalizers) > 0 {
		t.Errorf("wrote before the DevWorkspace Operator was there: %d SCCs, finalizers %v", len(roles.Items), nc.Finalizers)
	}

	// Installing the DevWorkspace Operator: its namespace and its CRDs.
	if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operator.DefaultDWONamespace}}); err != nil {
		t.Fatal(err)
	}
	crds, err := localcluster.DevWorkspaceCRDs()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.InstallCRDs(ctx, crds); err != nil {
		t.Fatal(err)
	}
	// The CRDs are watched: their arrival starts the configuration.
	ready(enablerv1alpha1.ReasonConfigured, 90*time.Second)
	dwoc := &unstructured.Unstructured{}
	dwoc.SetGroupVersionKind(dwoconfig.GVK)
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: operator.DefaultDWONamespace, Name: dwoconfig.Name}, dwoc); err != nil {
		t.Fatal(err)
	}
	if v, found, _ := unstructured.NestedBool(dwoc.Object, "config", "workspace", "hostUsers"); !found || v {
		t.Fatalf("DWOC not configured: %v", dwoc.Object["config"])
	}

	// From now on the DevWorkspaceOperatorConfig is watched: another
	// manager taking a field over is seen at once, not at the next recheck.
	start := time.Now()
	takeover := &unstructured.Unstructured{}
	takeover.SetGroupVersionKind(dwoconfig.GVK)
	takeover.SetName(dwoconfig.Name)
	takeover.SetNamespace(operator.DefaultDWONamespace)
	takeover.Object["config"] = map[string]any{"workspace": map[string]any{"hostUsers": true}}
	if err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(takeover), client.FieldOwner("someone-else"), client.ForceOwnership); err != nil && !apierrors.IsConflict(err) {
		t.Fatal(err)
	}
	ready(enablerv1alpha1.ReasonDWOConfigConflict, 10*time.Second)
	t.Logf("the takeover was seen %s later", time.Since(start).Round(100*time.Millisecond))
}
