package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/localcluster"
	"github.com/nested-workspaces/enabler/operator"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// `nested-enabler run` is what the Deployment runs: it must elect a leader,
// answer its probes and serve Prometheus metrics, and stop cleanly.
func TestRunServesProbesMetricsAndLeaderElection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real control plane")
	}
	ctx := context.Background()
	c, err := localcluster.Start(ctx, localcluster.Options{OpenShift: true, DevWorkspace: true, NestedContainers: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
		t.Fatal(err)
	}
	// The DevWorkspace Operator's namespace, where its global config lives.
	if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operator.DefaultDWONamespace}}); err != nil {
		t.Fatal(err)
	}
	metricsAddr, probeAddr := freePort(t), freePort(t)
	runCtx, stop := context.WithCancel(ctx)
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- execute(runCtx, []string{"run", "--kubeconfig", c.KubeconfigPath,
			"--leader-elect", "--leader-election-namespace", "default",
			"--metrics-bind-address", metricsAddr, "--health-probe-bind-address", probeAddr}, io.Discard, &stderr)
	}()

	waitHTTP(t, "http://"+probeAddr+"/healthz", "ok")
	waitHTTP(t, "http://"+probeAddr+"/readyz", "ok")
	localcluster.Eventually(t, 60*time.Second, "leader election Lease held", func() error {
		lease := &coordinationv1.Lease{}
		if err := c.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: operator.LeaderElectionID}, lease); err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return fmt.Errorf("no holder")
		}
		return nil
	})
	nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
	nc.Spec.Enabled = true
	if err := c.Client.Create(ctx, nc); err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, "http://"+metricsAddr+"/metrics", `nested_workspaces_condition{type="Ready"} 1`)
	waitHTTP(t, "http://"+metricsAddr+"/metrics", `controller_runtime_reconcile_total{controller="nestedcontainers",result="success"}`)

	stop()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exited %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30s of its context ending")
	}
}

func waitHTTP(t *testing.T, url, want string) {
	t.Helper()
	localcluster.Eventually(t, 60*time.Second, url+" contains "+want, func() error {
		code, body, err := get(url)
		if err != nil {
			return err
		}
		if code != http.StatusOK || !strings.Contains(body, want) {
			return fmt.Errorf("HTTP %d, body lacks %q", code, want)
		}
		return nil
	})
}
