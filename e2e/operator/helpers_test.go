package operator_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	securityv1 "github.com/openshift/api/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/devfile/devworkspace-operator/pkg/constants"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/localcluster/dwo"
	"github.com/nested-workspaces/enabler/test/operatortest"
	"github.com/nested-workspaces/enabler/workspaces"
)

const waitTimeout = 60 * time.Second

func requireE2E(t *testing.T) {
	t.Helper()
	if env.cluster == nil {
		t.Skip("operator e2e needs the real control plane (not run with -short)")
	}
}

func getNC(t *testing.T) *enablerv1alpha1.NestedContainers {
	t.Helper()
	return operatortest.NestedContainers(t, env.cluster.Client)
}

func setEnabled(t *testing.T, enabled bool) {
	t.Helper()
	setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.Enabled = enabled })
}

// waitCondition waits until the condition has the status and reason, for
// the current generation, and returns its message.
func waitCondition(t *testing.T, condType string, status metav1.ConditionStatus, reason string) string {
	t.Helper()
	return operatortest.WaitCondition(t, env.cluster.Client, waitTimeout, condType, status, reason)
}

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	err := env.cluster.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// startWorkspace creates a DevWorkspace and returns the Deployment DWO renders.
func startWorkspace(t *testing.T, namespace, name string) (*dwv2.DevWorkspace, *appsv1.Deployment) {
	t.Helper()
	ensureNamespace(t, namespace)
	ws := dwo.SampleWorkspace(namespace, name)
	if err := env.cluster.Client.Create(context.Background(), ws); err != nil {
		t.Fatal(err)
	}
	dep, err := dwo.WaitForDeployment(context.Background(), env.cluster.Client, ws, 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return ws, dep
}

func getDWOConfig(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(dwoconfig.GVK)
	err := env.cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: operator.DefaultDWONamespace, Name: dwoconfig.Name}, u)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func sccExists(t *testing.T, name string) bool {
	t.Helper()
	err := env.cluster.Client.Get(context.Background(), client.ObjectKey{Name: name}, &securityv1.SecurityContextConstraints{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// assertInvariant fails when any workspace pod template adds SETUID/SETGID
// outside a pod user namespace.
func assertInvariant(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	list := &appsv1.DeploymentList{}
	if err := env.cluster.Client.List(ctx, list, client.HasLabels{workspaces.IDLabel}); err != nil {
		t.Fatal(err)
	}
	for _, d := range list.Items {
		if !operatortest.GrantsCapabilitiesOutsideUserNamespace(&d.Spec.Template.Spec) {
			continue
		}
		// Dev Spaces' container build does this by its own design, under its
		// own SCC: allowed as long as nothing of ours pins it.
		pinned := d.Spec.Template.Annotations[dwoconfig.RequiredSCCAnnotation]
		if pinned == "" && cheContainerBuild(ctx, &d) {
			continue
		}
		t.Errorf("invariant broken: %s/%s adds SETUID/SETGID without hostUsers: false (pinned to %q)", d.Namespace, d.Name, pinned)
	}
}

// cheContainerBuild tells whether the workspace of a Deployment is one Dev
// Spaces' dashboard made for container build.
func cheContainerBuild(ctx context.Context, d *appsv1.Deployment) bool {
	ws := &dwv2.DevWorkspace{}
	key := client.ObjectKey{Namespace: d.Namespace, Name: d.Labels["controller.devfile.io/devworkspace_name"]}
	if err := env.cluster.Client.Get(ctx, key, ws); err != nil {
		return false
	}
	return ws.Spec.Template.Attributes.GetString(constants.WorkspaceSCCAttribute, nil) == localcluster.CheContainerBuildSCC
}

// settled waits until the Deployment stops changing for quiet, and returns it.
func settled(t *testing.T, key client.ObjectKey, quiet time.Duration) *appsv1.Deployment {
	t.Helper()
	var last string
	stableSince := time.Now()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		d := &appsv1.Deployment{}
		if err := env.cluster.Client.Get(context.Background(), key, d); err != nil {
			t.Fatal(err)
		}
		if d.ResourceVersion != last {
			last, stableSince = d.ResourceVersion, time.Now()
		} else if time.Since(stableSince) >= quiet {
			return d
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Deployment %s kept changing for %s", key, waitTimeout)
	return nil
}

// poke makes the operator reconcile without changing its input.
func poke(t *testing.T) {
	t.Helper()
	operatortest.Poke(t, env.cluster.Client)
}

// quietWrites waits until the operator has made no write for a while.
func quietWrites(t *testing.T) {
	t.Helper()
	last := env.requests.Writes()
	stable := time.Now()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		if n := env.requests.Writes(); n != last {
			last, stable = n, time.Now()
		} else if time.Since(stable) > 3*time.Second {
			return
		}
	}
	t.Fatalf("operator kept writing: %v", env.requests.Snapshot())
}

// requestsSettled waits until the operator has made no request at all
// for a second: a reconcile in flight has finished.
func requestsSettled(t *testing.T) {
	t.Helper()
	last, stable := env.requests.Total(), time.Now()
	localcluster.Eventually(t, waitTimeout, "the operator's requests settle", func() error {
		if n := env.requests.Total(); n != last {
			last, stable = n, time.Now()
		}
		if time.Since(stable) < time.Second {
			return errorf("requests still coming (%d)", last)
		}
		return nil
	})
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func metaLen(list client.ObjectList) int { return meta.LenList(list) }
