package operator_test

import (
	"context"
	"slices"
	"testing"
	"time"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/localcluster/dwo"
	"github.com/nested-workspaces/enabler/test/operatortest"
)

// runTimeout bounds a workspace's way from DevWorkspace to Running pod:
// DWO renders, the controller manager makes the pod, SCC admission admits
// it, the scheduler binds it, kwok reports it Running, DWO sees it ready.
const runTimeout = 90 * time.Second

// runningWorkspace waits until the DevWorkspace is Running and returns its
// Running pod.
func runningWorkspace(t *testing.T, ws *dwv2.DevWorkspace) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	if _, err := dwo.WaitForRunning(ctx, env.cluster.Client, ws, runTimeout); err != nil {
		t.Fatalf("%v; events: %s", err, env.cluster.EventsFor(ctx, ws.Namespace))
	}
	var pod *corev1.Pod
	localcluster.Eventually(t, runTimeout, "the Running pod of "+ws.Name, func() error {
		p, err := dwo.RunningPod(ctx, env.cluster.Client, ws)
		if err == nil && p == nil {
			err = errorf("no Running pod; events: %s", env.cluster.EventsFor(ctx, ws.Namespace))
		}
		pod = p
		return err
	})
	return pod
}

// admission is what OpenShift's SCC admission made of a pod.
type admission struct {
	scc         string
	uid         int64
	seLinuxType string
	nested      bool // hostUsers false and SETUID/SETGID added
}

func admitted(t *testing.T, pod *corev1.Pod) admission {
	t.Helper()
	a := admission{scc: pod.Annotations[securityv1.ValidatedSCCAnnotation], uid: -1}
	if pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.SELinuxOptions != nil {
		a.seLinuxType = pod.Spec.SecurityContext.SELinuxOptions.Type
	}
	tools := &pod.Spec.Containers[0]
	if uid := dwo.EffectiveUID(pod, tools); uid != nil {
		a.uid = *uid
	}
	caps := tools.SecurityContext.Capabilities
	a.nested = pod.Spec.HostUsers != nil && !*pod.Spec.HostUsers && caps != nil &&
		slices.Contains(caps.Add, "SETUID") && slices.Contains(caps.Add, "SETGID")
	return a
}

// assertNestedPod checks the proof the product stands on: the workspace
// pod was admitted under sccName as UID uid, with the SELinux type
// container engines need, in its own user namespace with SETUID/SETGID.
func assertNestedPod(t *testing.T, pod *corev1.Pod, sccName string, uid int64) {
	t.Helper()
	got := admitted(t, pod)
	want := admission{scc: sccName, uid: uid, seLinuxType: "container_engine_t", nested: true}
	if got != want {
		t.Errorf("pod %s admitted as %+v, want %+v", pod.Name, got, want)
	}
}

// assertRestrictedPod checks that a workspace pod got restricted-v2 with a
// UID from its namespace's range and no SETUID/SETGID.
func assertRestrictedPod(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	got := admitted(t, pod)
	if got.scc != "restricted-v2" || got.uid < 1000000000 || got.nested {
		t.Errorf("pod %s admitted as %+v, want restricted-v2 with a namespace-range UID and no nested settings", pod.Name, got)
	}
}

// setSpec changes the NestedContainers spec (creating it if needed).
func setSpec(t *testing.T, change func(*enablerv1alpha1.NestedContainersSpec)) {
	t.Helper()
	operatortest.SetSpec(t, env.cluster.Client, change)
}

// restartWorkspace stops and starts a workspace as a user does from the
// dashboard, and returns its new Running pod.
func restartWorkspace(t *testing.T, ws *dwv2.DevWorkspace) *corev1.Pod {
	t.Helper()
	setStarted(t, ws, false)
	setStarted(t, ws, true)
	return runningWorkspace(t, ws)
}

// setStarted stops or starts a workspace as a user does from the
// dashboard; stopping waits until it is Stopped (or Failed).
func setStarted(t *testing.T, ws *dwv2.DevWorkspace, started bool) {
	t.Helper()
	ctx := context.Background()
	cur := &dwv2.DevWorkspace{}
	if err := env.cluster.Client.Get(ctx, client.ObjectKeyFromObject(ws), cur); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Spec.Started = started
	if err := env.cluster.Client.Patch(ctx, cur, patch); err != nil {
		t.Fatal(err)
	}
	if started {
		return
	}
	localcluster.Eventually(t, runTimeout, ws.Name+" stopped", func() error {
		if err := env.cluster.Client.Get(ctx, client.ObjectKeyFromObject(ws), cur); err != nil {
			return err
		}
		if cur.Status.Phase != dwv2.DevWorkspaceStatusStopped && cur.Status.Phase != dwv2.DevWorkspaceStatusFailed {
			return errorf("phase %s", cur.Status.Phase)
		}
		return nil
	})
}

// tenantClient acts as a user who is admin of namespace ns and nothing else.
func tenantClient(t *testing.T, user, ns string) client.Client {
	t.Helper()
	return operatortest.Tenant(t, env.cluster, user, ns)
}
