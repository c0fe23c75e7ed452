// Package monitoring_test proves the monitoring the install ships with real
// parts: promtool runs the PrometheusRule's rule tests (each alert fires
// after its "for", not before), and a real Prometheus scrapes the real
// operator binary over TLS exactly as the ServiceMonitor says — HTTPS, the
// service CA's certificate checked for the Service's DNS name, the scraper's
// service account token let in by the shipped RBAC — and sees the Degraded
// alert go pending on a degraded cluster. Prometheus and promtool are built
// from the Go module proxy once (hack/build-prometheus.sh).
package monitoring_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/version"
)

const (
	repoRoot       = "../.."
	testVersion    = "9.9.9-e2e"
	degradedAlert  = "NestedWorkspacesDegraded"
	metricsService = "manifests/manager/metrics_service.yaml"
)

// prometheusBins builds (or finds cached) prometheus and promtool.
func prometheusBins(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds Prometheus from the module proxy (cached after the first time)")
	}
	cmd := exec.Command("bash", "hack/build-prometheus.sh")
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/build-prometheus.sh: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// readYAML decodes every document of a repository file into a map.
func readDocs(t *testing.T, file string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, file))
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		m := map[string]any{}
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(m) > 0 {
			docs = append(docs, m)
		}
	}
	return docs
}

// writeRules writes the PrometheusRule's groups as a Prometheus rule file.
func writeRules(t *testing.T, dir string) string {
	t.Helper()
	rule := readDocs(t, "manifests/monitoring/prometheus_rule.yaml")[0]
	groups, _, err := unstructured.NestedSlice(rule, "spec", "groups")
	if err != nil || len(groups) == 0 {
		t.Fatalf("PrometheusRule spec.groups: %v", err)
	}
	data, err := yaml.Marshal(map[string]any{"groups": groups})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// promtool checks the rules as Prometheus loads them, then runs the unit
// tests in testdata/alerts_test.yaml against them.
func TestAlertRules(t *testing.T) {
	bins := prometheusBins(t)
	dir := t.TempDir()
	rules := writeRules(t, dir)
	if out, err := exec.Command(filepath.Join(bins, "promtool"), "check", "rules", rules).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	tests, err := os.ReadFile(filepath.Join("testdata", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	testFile := filepath.Join(dir, "alerts_test.yaml")
	if err := os.WriteFile(testFile, tests, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(bins, "promtool"), "test", "rules", testFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// serviceMonitor is the part of the shipped ServiceMonitor a scrape
// configuration is made from. It is decoded strictly: a field added to
// the ServiceMonitor that this test does not translate fails the test,
// rather than go unproven. (The API server checks the whole object
// against the CRD: manifests/apply_test.go.)
type serviceMonitor struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port            string `json:"port"`
			Scheme          string `json:"scheme"`
			Path            string `json:"path"`
			Interval        string `json:"interval"`
			BearerTokenFile string `json:"bearerTokenFile"`
			TLSConfig       struct {
				CAFile     string `json:"caFile"`
				ServerName string `json:"serverName"`
			} `json:"tlsConfig"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func TestPrometheusScrapesTheOperatorAsTheServiceMonitorSays(t *testing.T) {
	bins := prometheusBins(t)
	ctx := context.Background()
	dir := t.TempDir()

	// What the install ships.
	svc := &corev1.Service{}
	data, err := os.ReadFile(filepath.Join(repoRoot, metricsService))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, svc); err != nil {
		t.Fatal(err)
	}
	sm := &serviceMonitor{}
	data, err = os.ReadFile(filepath.Join(repoRoot, "manifests/monitoring/service_monitor.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, sm); err != nil {
		t.Fatalf("the ServiceMonitor has a field this test does not translate into Prometheus' configuration: %v", err)
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor endpoints %+v, want one", sm.Spec.Endpoints)
	}
	endpoint := sm.Spec.Endpoints[0]
	selector, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if !selector.Matches(labels.Set(svc.Labels)) || sm.Metadata.Namespace != svc.Namespace {
		t.Fatalf("the ServiceMonitor (selector %s, namespace %s) does not select Service %s/%s %v", selector, sm.Metadata.Namespace, svc.Namespace, svc.Name, svc.Labels)
	}
	if svc.Spec.Ports[0].Name != endpoint.Port {
		t.Fatalf("ServiceMonitor port %q, Service port %q", endpoint.Port, svc.Spec.Ports[0].Name)
	}
	serviceDNS := svc.Name + "." + svc.Namespace + ".svc"
	if endpoint.TLSConfig.ServerName != serviceDNS {
		t.Fatalf("ServiceMonitor serverName %q; the service CA certifies %q", endpoint.TLSConfig.ServerName, serviceDNS)
	}

	// The service CA: it signs a serving certificate for the Service's DNS
	// names into the Secret the Service's annotation names; the pod mounts
	// it as the metrics cert dir (tls.crt, tls.key), Prometheus trusts the CA
	// bundle. Here the CA is the test's and the "mount" a directory.
	if svc.Annotations["service.beta.openshift.io/serving-cert-secret-name"] == "" {
		t.Fatal("the metrics Service asks the service CA for no certificate")
	}
	caFile, certDir := serviceCA(t, dir, serviceDNS, serviceDNS+".cluster.local")

	c := localcluster.StartForTest(t, localcluster.Options{OpenShift: true, DevWorkspace: true, NestedContainers: true})
	// A degraded cluster: Dev Spaces' container run on where pods get no
	// user namespace (OpenShift 4.18).
	if err := c.Simulate(ctx, localcluster.OCP418); err != nil {
		t.Fatal(err)
	}
	if err := c.DevSpaces(ctx, localcluster.DevSpacesSettings{ContainerRun: true, ContainerBuild: true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Client.Create(ctx, &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}); err != nil {
		t.Fatal(err)
	}
	// The shipped RBAC for OpenShift's Prometheus, and its service account.
	for _, ns := range []string{"openshift-monitoring", svc.Namespace} {
		if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, file := range []string{"manifests/rbac/metrics_reader_role.yaml", "manifests/monitoring/prometheus_rbac.yaml"} {
		for _, doc := range readDocs(t, file) {
			if err := c.Client.Create(ctx, &unstructured.Unstructured{Object: doc}); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
		}
	}
	scraper := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "openshift-monitoring", Name: "prometheus-k8s"}}
	if err := c.Client.Create(ctx, scraper); err != nil {
		t.Fatal(err)
	}
	tr := &authenticationv1.TokenRequest{}
	if err := c.Client.SubResource("token").Create(ctx, scraper, tr); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(tr.Status.Token), 0o600); err != nil {
		t.Fatal(err)
	}

	// The operator, built as a release is (version stamped), with the
	// metrics cert dir.
	bin := filepath.Join(dir, "nested-enabler")
	build := exec.Command("go", "build", "-ldflags", version.LinkerFlags(testVersion, ""), "-o", bin, "./cmd/nested-enabler")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	metricsAddr, probeAddr := freeAddr(t), freeAddr(t)
	operatorLog := &syncBuffer{}
	// It runs as its service account, with the shipped ClusterRole and the
	// fence that bounds it: so installed, the only Degraded reason is the
	// one the test stages.
	asOperator, err := c.InstallOperatorIdentity(ctx, svc.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	operatorKubeconfig := filepath.Join(dir, "operator.kubeconfig")
	if err := localcluster.WriteKubeconfig(asOperator, operatorKubeconfig); err != nil {
		t.Fatal(err)
	}
	op := exec.Command(bin, "run", "--kubeconfig", operatorKubeconfig, "--leader-elect=false",
		"--metrics-bind-address", metricsAddr, "--metrics-cert-dir", certDir, "--health-probe-bind-address", probeAddr)
	op.Stdout, op.Stderr = operatorLog, operatorLog
	if err := op.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = op.Process.Signal(os.Interrupt)
		_ = op.Wait()
		if t.Failed() {
			t.Logf("operator log:\n%s", operatorLog.String())
		}
	})

	t.Run("the_version_is_logged_at_start", func(t *testing.T) {
		localcluster.Eventually(t, 30*time.Second, "the start line names the version", func() error {
			for _, line := range strings.Split(operatorLog.String(), "\n") {
				if strings.Contains(line, `"msg":"starting the nested-workspaces operator"`) && strings.Contains(line, `"version":"`+testVersion+`"`) {
					return nil
				}
			}
			return fmt.Errorf("no start line with version %s", testVersion)
		})
	})

	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	t.Run("the_service_CA_certificate_is_served_over_HTTP_1_only", func(t *testing.T) {
		localcluster.Eventually(t, 30*time.Second, "a TLS handshake for the Service's name, verified by the service CA", func() error {
			conn, err := tls.Dial("tcp", metricsAddr, &tls.Config{RootCAs: roots, ServerName: serviceDNS, NextProtos: []string{"h2", "http/1.1"}})
			if err != nil {
				return err
			}
			defer conn.Close()
			if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
				t.Errorf("a client offering h2 negotiated %q, want http/1.1 (HTTP/2 off)", p)
			}
			return nil
		})
	})

	// Prometheus, configured from the ServiceMonitor's endpoint: its scheme,
	// path, token file, CA file and server name. Where OpenShift mounts the
	// token and the service CA bundle into prometheus-k8s, the test has its
	// files; the target is the operator's address, which the Service's
	// endpoints would list; the interval is 1 s instead of 30 s.
	rules := writeRules(t, dir)
	promConfig := map[string]any{
		"global":     map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files": []string{rules},
		"scrape_configs": []any{map[string]any{
			"job_name":          "serviceMonitor/" + sm.Metadata.Namespace + "/" + sm.Metadata.Name + "/0",
			"scheme":            endpoint.Scheme,
			"metrics_path":      endpoint.Path,
			"bearer_token_file": mapFile(t, endpoint.BearerTokenFile, "/var/run/secrets/kubernetes.io/serviceaccount/token", tokenFile),
			"tls_config": map[string]any{
				"ca_file":     mapFile(t, endpoint.TLSConfig.CAFile, "/etc/prometheus/configmaps/serving-certs-ca-bundle/service-ca.crt", caFile),
				"server_name": endpoint.TLSConfig.ServerName,
			},
			// prometheus-operator labels targets with the Service's name as job
			// and its namespace.
			"static_configs": []any{map[string]any{
				"targets": []string{metricsAddr},
				"labels":  map[string]string{"job": svc.Name, "namespace": svc.Namespace},
			}},
		}},
	}
	configData, err := yaml.Marshal(promConfig)
	if err != nil {
		t.Fatal(err)
	}
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, configData, 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := freeAddr(t)
	promLog := &syncBuffer{}
	prom := exec.Command(filepath.Join(bins, "prometheus"), "--config.file", configFile, "--storage.tsdb.path", filepath.Join(dir, "tsdb"),
		"--web.listen-address", promAddr, "--log.level", "warn")
	prom.Stdout, prom.Stderr = promLog, promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = prom.Process.Signal(os.Interrupt)
		_ = prom.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s\nconfig:\n%s", promLog.String(), configData)
		}
	})
	api := "http://" + promAddr + "/api/v1/"

	t.Run("the_target_is_up", func(t *testing.T) {
		localcluster.Eventually(t, 60*time.Second, "Prometheus scrapes the operator", func() error {
			var targets struct {
				ActiveTargets []struct {
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"activeTargets"`
			}
			if err := promGet(api+"targets", &targets); err != nil {
				return err
			}
			if len(targets.ActiveTargets) != 1 || targets.ActiveTargets[0].Health != "up" {
				return fmt.Errorf("targets %+v", targets.ActiveTargets)
			}
			return nil
		})
	})
	t.Run("build_info_names_the_version", func(t *testing.T) {
		localcluster.Eventually(t, 30*time.Second, "nested_workspaces_build_info scraped", func() error {
			result, err := promQuery(api, `nested_workspaces_build_info`)
			if err != nil {
				return err
			}
			if len(result) != 1 || result[0].Metric["version"] != testVersion || result[0].Value[1] != "1" {
				return fmt.Errorf("build info %+v", result)
			}
			return nil
		})
	})
	t.Run("the_degraded_alert_goes_pending_with_its_reason", func(t *testing.T) {
		localcluster.Eventually(t, 60*time.Second, degradedAlert+" pending", func() error {
			var alerts struct {
				Alerts []struct {
					Labels map[string]string `json:"labels"`
					State  string            `json:"state"`
				} `json:"alerts"`
			}
			if err := promGet(api+"alerts", &alerts); err != nil {
				return err
			}
			for _, a := range alerts.Alerts {
				if a.Labels["alertname"] == degradedAlert && a.Labels["reason"] == detect.ReasonDevSpacesContainerRunUnsupported && a.State == "pending" {
					return nil
				}
			}
			return fmt.Errorf("alerts %+v", alerts.Alerts)
		})
		// Only the Degraded alert: the operator is up and nothing else holds.
		result, err := promQuery(api, `ALERTS{alertname!="`+degradedAlert+`"}`)
		if err != nil || len(result) != 0 {
			t.Errorf("other alerts %+v (%v)", result, err)
		}
	})
}

// mapFile returns local for a path of prometheus-k8s's pod that the test
// knows, and fails on any other (a changed ServiceMonitor must be
// translated here on purpose).
func mapFile(t *testing.T, path, known, local string) string {
	t.Helper()
	if path != known {
		t.Fatalf("the ServiceMonitor names %q, which this test does not map (it knows %q)", path, known)
	}
	return local
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func promQuery(api, query string) ([]sample, error) {
	var data struct {
		Result []sample `json:"result"`
	}
	if err := promGet(api+"query?query="+url.QueryEscape(query), &data); err != nil {
		return nil, err
	}
	return data.Result, nil
}

func promGet(u string, data any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var envelope struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return fmt.Errorf("%s: %v: %s", u, err, body)
	}
	if envelope.Status != "success" {
		return fmt.Errorf("%s: %s", u, envelope.Error)
	}
	return json.Unmarshal(envelope.Data, data)
}

// serviceCA makes a CA and a serving certificate for names signed by it,
// as OpenShift's service CA does; it returns the CA bundle file and the
// directory holding tls.crt and tls.key.
func serviceCA(t *testing.T, dir string, names ...string) (caFile, certDir string) {
	t.Helper()
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "openshift-service-serving-signer@test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	certDir = filepath.Join(dir, "metrics-cert")
	if err := os.MkdirAll(certDir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, der []byte) {
		if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	caFile = filepath.Join(dir, "service-ca.crt")
	write(caFile, "CERTIFICATE", caDER)
	write(filepath.Join(certDir, "tls.crt"), "CERTIFICATE", der)
	write(filepath.Join(certDir, "tls.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	return caFile, certDir
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer is a bytes.Buffer a process writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
