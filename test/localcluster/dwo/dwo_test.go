package dwo_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/localcluster/dwo"
)

// The in-process controller must render a workspace Deployment the way DWO
// on OpenShift does: its defaults drop all capabilities and forbid privilege
// escalation, and without configuration there is no pod user namespace.
func TestControllerRendersWorkspaceDeployment(t *testing.T) {
	ctx := context.Background()
	c := localcluster.StartForTest(t, localcluster.Options{OpenShift: true, DevWorkspace: true})
	if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
		t.Fatal(err)
	}
	ctrl, err := dwo.Start(ctx, c.Config, dwo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ctrl.Stop()
	if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "user1-devspaces"}}); err != nil {
		t.Fatal(err)
	}
	ws := dwo.SampleWorkspace("user1-devspaces", "podman-ws")
	if err := c.Client.Create(ctx, ws); err != nil {
		t.Fatal(err)
	}
	dep, err := dwo.WaitForDeployment(ctx, c.Client, ws, 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pod := dep.Spec.Template.Spec
	if pod.HostUsers != nil && !*pod.HostUsers {
		t.Errorf("hostUsers = false without configuration")
	}
	sc := pod.Containers[0].SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || len(sc.Capabilities.Drop) == 0 {
		t.Errorf("container securityContext = %+v, want DWO's OpenShift default (drop ALL, no privilege escalation)", sc)
	}
	if _, err := dwo.Start(ctx, c.Config, dwo.Options{}); err == nil {
		t.Errorf("a second controller in the same process started")
	}
}
