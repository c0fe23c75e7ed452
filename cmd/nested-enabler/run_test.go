package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/test/localcluster"
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
	// Metrics: HTTPS, only for callers the API server authenticates and
	// allows to get /metrics.
	scraper := serviceAccountToken(t, c, "scraper", "nested-workspaces-enabler-metrics-reader")
	stranger := serviceAccountToken(t, c, "stranger", "")
	metricsURL := "https://" + metricsAddr + "/metrics"
	waitHTTPS(t, metricsURL, scraper, http.StatusOK, `nested_workspaces_condition{reason="Configured",type="Ready"} 1`)
	waitHTTPS(t, metricsURL, scraper, http.StatusOK, `controller_runtime_reconcile_total{controller="nestedcontainers",result="success"}`)
	waitHTTPS(t, metricsURL, "", http.StatusUnauthorized, "")
	waitHTTPS(t, metricsURL, stranger, http.StatusForbidden, "")

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

// serviceAccountToken makes a service account in default, binds it to
// clusterRole (unless empty) and returns a token for it.
func serviceAccountToken(t *testing.T, c *localcluster.Cluster, name, clusterRole string) string {
	t.Helper()
	ctx := context.Background()
	if clusterRole != "" {
		role := &rbacv1.ClusterRole{}
		data, err := os.ReadFile("../../manifests/rbac/metrics_reader_role.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(data, role); err != nil {
			t.Fatal(err)
		}
		if err := c.Client.Create(ctx, role); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name + "-" + clusterRole},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "default", Name: name}}}
		if err := c.Client.Create(ctx, binding); err != nil {
			t.Fatal(err)
		}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	if err := c.Client.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptrInt64(3600)}}
	if err := c.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

func ptrInt64(v int64) *int64 { return &v }

// waitHTTPS waits until url answers code (and a body containing want) to
// a request with the bearer token (none if empty). The certificate is the
// operator's self-signed one.
func waitHTTPS(t *testing.T, url, token string, code int, want string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	localcluster.Eventually(t, 60*time.Second, fmt.Sprintf("%s answers %d", url, code), func() error {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != code || !strings.Contains(string(body), want) {
			return fmt.Errorf("HTTP %d, body lacks %q", resp.StatusCode, want)
		}
		return nil
	})
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
