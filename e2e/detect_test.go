package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

// TestDetectOpenShift runs the Detector and the `detect` CLI against each
// simulated OpenShift release, then against broken objects and users
// without permissions, all on one real control plane.
func TestDetectOpenShift(t *testing.T) {
	ctx := context.Background()
	skipShort(t)
	c := localcluster.StartForTest(t, localcluster.Options{OpenShift: true, DevWorkspace: true})
	bin := buildCLI(t)

	const (
		uns  = detect.GateUserNamespacesSupport
		pss  = detect.GateUserNamespacesPodSecurityStandards
		proc = detect.GateProcMountType
	)
	allEnabled := map[string]detect.GateState{uns: detect.GateEnabled, pss: detect.GateEnabled, proc: detect.GateEnabled}
	scenarios := []struct {
		name       string
		scenario   localcluster.Scenario
		verdict    detect.Verdict
		reason     string
		gates      map[string]detect.GateState
		sccKeeps   bool
		tableLines []string
	}{
		{"4.18_is_unsupported", localcluster.OCP418, detect.Unsupported, detect.ReasonOpenShiftTooOld, nil, false,
			[]string{"Platform:                OpenShift 4.18.20", "OpenShiftTooOld: OpenShift 4.18.20 does not support pod user namespaces"}},
		{"4.19_default_featureset_is_unsupported", localcluster.OCP419Default, detect.Unsupported, detect.ReasonFeatureGatesNotEnabled,
			map[string]detect.GateState{uns: detect.GateDisabled, pss: detect.GateDisabled, proc: detect.GateDisabled}, false,
			[]string{"Feature set:             Default",
				"OpenShift 4.19.3 with featureSet Default: enable TechPreviewNoUpgrade or CustomNoUpgrade with UserNamespacesSupport, UserNamespacesPodSecurityStandards, ProcMountType"}},
		{"4.19_techpreview_is_supported", localcluster.OCP419TechPreview, detect.Supported, "", allEnabled, true,
			[]string{"Verdict:                 Supported", "Feature set:             TechPreviewNoUpgrade",
				"Feature gates:           UserNamespacesSupport               enabled",
				"                         UserNamespacesPodSecurityStandards  enabled",
				"                         ProcMountType                       enabled",
				"Nodes:                   3 of 3 with user namespace support"}},
		{"4.19_customnoupgrade_with_two_gates_names_procmounttype", localcluster.OCP419CustomTwoGates, detect.Unsupported, detect.ReasonFeatureGatesNotEnabled,
			map[string]detect.GateState{uns: detect.GateEnabled, pss: detect.GateEnabled, proc: detect.GateDisabled}, true,
			[]string{"OpenShift 4.19.3 with featureSet CustomNoUpgrade: feature gate ProcMountType is not enabled"}},
		{"4.20_is_supported", localcluster.OCP420, detect.Supported, "", allEnabled, true,
			[]string{"Platform:                OpenShift " + localcluster.OCP420.Version}},
		{"4.22_without_procmounttype_is_supported_as_ga", localcluster.OCP422, detect.Supported, "",
			map[string]detect.GateState{uns: detect.GateEnabled, pss: detect.GateEnabled, proc: detect.GateAbsentGA}, true,
			[]string{"ProcMountType                       enabled (GA, not listed)"}},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			if err := c.Simulate(ctx, s.scenario); err != nil {
				t.Fatal(err)
			}
			r := detectWith(t, c.Config)
			if r.Verdict != s.verdict || !hasReason(r.Reasons, s.reason) {
				t.Errorf("verdict %s %+v, want %s with %q", r.Verdict, r.Reasons, s.verdict, s.reason)
			}
			if !r.OpenShift || r.OpenShiftVersion != s.scenario.Version || !strings.HasPrefix(r.KubernetesVersion, "v"+localcluster.KubernetesVersion) {
				t.Errorf("versions: openshift %t %q, kubernetes %q", r.OpenShift, r.OpenShiftVersion, r.KubernetesVersion)
			}
			for g, want := range s.gates {
				if r.FeatureGates[g] != want {
					t.Errorf("gate %s = %s, want %s", g, r.FeatureGates[g], want)
				}
			}
			if r.Nodes != (detect.NodeCounts{Total: 3, UserNamespaces: 3}) || r.DevWorkspace != (detect.DevWorkspaceSupport{Installed: true, HostUsersSupported: true}) {
				t.Errorf("nodes %+v, DevWorkspace %+v", r.Nodes, r.DevWorkspace)
			}
			if p := r.SCC.UserNamespaceLevelInSchema; p == nil || *p != s.sccKeeps {
				t.Errorf("SCC userNamespaceLevel in schema = %v, want %t", p, s.sccKeeps)
			}
			if len(r.Degraded) != 0 {
				t.Errorf("degraded: %+v", r.Degraded)
			}

			wantExit := 0
			if s.verdict != detect.Supported {
				wantExit = 1
			}
			out := runCLI(t, bin, "detect", "--kubeconfig", c.KubeconfigPath)
			out.expect(t, wantExit, s.tableLines...)
			js := runCLI(t, bin, "detect", "--kubeconfig", c.KubeconfigPath, "-o", "json")
			js.expect(t, wantExit)
			var fromCLI detect.Report
			if err := json.Unmarshal([]byte(js.stdout), &fromCLI); err != nil {
				t.Fatalf("-o json: %v\n%s", err, js.stdout)
			}
			if fromCLI.Verdict != r.Verdict || fromCLI.OpenShiftVersion != r.OpenShiftVersion || len(fromCLI.FeatureGates) != len(r.FeatureGates) {
				t.Errorf("-o json disagrees with the Detector:\n%s", js.stdout)
			}
		})
	}

	// Broken objects: each case starts from a healthy 4.20 and breaks one
	// thing through the real API server, which must accept the object.
	malformed := []struct {
		name   string
		breaks func(t *testing.T)
		reason string
		says   string
	}{
		{"clusterversion_missing", func(t *testing.T) {
			deleteObject(t, c.Client, &configv1.ClusterVersion{ObjectMeta: metav1.ObjectMeta{Name: "version"}})
		}, detect.ReasonClusterVersionMissing, `ClusterVersion "version" does not exist`},
		{"clusterversion_without_history_and_desired", func(t *testing.T) {
			updateClusterVersionStatus(t, c.Client, func(st *configv1.ClusterVersionStatus) {
				st.History, st.Desired = []configv1.UpdateHistory{}, configv1.Release{}
			})
		}, detect.ReasonClusterVersionUnknown, "no Completed entry in status.history and no status.desired.version"},
		{"without_completed_history_the_desired_version_is_used", func(t *testing.T) {
			updateClusterVersionStatus(t, c.Client, func(st *configv1.ClusterVersionStatus) {
				st.History[0].State = configv1.PartialUpdate
				st.Desired.Version = "latest"
			})
		}, detect.ReasonVersionUnparsable, `reports version "latest"`},
		{"garbage_version", func(t *testing.T) {
			updateClusterVersionStatus(t, c.Client, func(st *configv1.ClusterVersionStatus) {
				st.History[0].Version, st.Desired.Version = "four.twenty", "four.twenty"
			})
		}, detect.ReasonVersionUnparsable, `reports version "four.twenty"`},
		{"featuregate_missing", func(t *testing.T) {
			deleteObject(t, c.Client, &configv1.FeatureGate{ObjectMeta: metav1.ObjectMeta{Name: "cluster"}})
		}, detect.ReasonFeatureGateMissing, `FeatureGate "cluster" does not exist`},
		{"featuregate_without_entry_for_the_cluster_version", func(t *testing.T) {
			fg := &configv1.FeatureGate{}
			if err := c.Client.Get(ctx, client.ObjectKey{Name: "cluster"}, fg); err != nil {
				t.Fatal(err)
			}
			fg.Status.FeatureGates[0].Version = "4.20.0"
			if err := c.Client.Status().Update(ctx, fg); err != nil {
				t.Fatal(err)
			}
		}, detect.ReasonFeatureGateVersionMissing, `lists no gates for version ` + localcluster.OCP420.Version + ` (it lists "4.20.0")`},
	}
	for _, m := range malformed {
		t.Run("malformed/"+m.name, func(t *testing.T) {
			if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
				t.Fatal(err)
			}
			m.breaks(t)
			r := detectWith(t, c.Config)
			if r.Verdict != detect.Unsupported || !hasReason(r.Reasons, m.reason) {
				t.Errorf("verdict %s %+v, want Unsupported with %s", r.Verdict, r.Reasons, m.reason)
			}
			runCLI(t, bin, "detect", "--kubeconfig", c.KubeconfigPath).expect(t, 1, m.reason+": ", m.says)
		})
	}

	t.Run("no_user_namespace_nodes_is_supported_but_degraded", func(t *testing.T) {
		if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
			t.Fatal(err)
		}
		if err := c.SetNodes(ctx, 0, 2); err != nil {
			t.Fatal(err)
		}
		r := detectWith(t, c.Config)
		if r.Verdict != detect.Supported || !hasReason(r.Degraded, detect.ReasonNoUserNamespaceNodes) {
			t.Errorf("verdict %s, degraded %+v", r.Verdict, r.Degraded)
		}
		runCLI(t, bin, "detect", "--kubeconfig", c.KubeconfigPath).expect(t, 0,
			"Nodes:                   0 of 2 with user namespace support", "Degraded:\n  - NoUserNamespaceNodes: none of the 2 nodes")
	})

	t.Run("user_without_permissions_gets_exit_2_naming_the_permission", func(t *testing.T) {
		if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
			t.Fatal(err)
		}
		cfg, err := c.AddUser("nobody")
		if err != nil {
			t.Fatal(err)
		}
		d, err := detect.NewDetector(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Detect(ctx); !detect.IsPermission(err) {
			t.Fatalf("Detect as nobody: %v, want a permission error", err)
		}
		runCLI(t, bin, "detect", "--kubeconfig", writeKubeconfig(t, cfg)).expect(t, 2,
			`permission denied on https://`, `not allowed to get clusterversions.config.openshift.io "version"`,
			`grant verb "get" on resource "clusterversions" in API group config.openshift.io`, `User "nobody" cannot get resource`)
	})

	t.Run("user_who_may_not_list_nodes_is_told_so", func(t *testing.T) {
		cfg, err := c.AddUser("reads-config-only")
		if err != nil {
			t.Fatal(err)
		}
		grant(t, c.Client, "reads-config-only", []rbacv1.PolicyRule{
			{APIGroups: []string{"config.openshift.io"}, Resources: []string{"clusterversions", "featuregates"}, Verbs: []string{"get"}},
			{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, Verbs: []string{"get"},
				ResourceNames: []string{detect.DWOConfigCRDName}},
		})
		kubeconfig := writeKubeconfig(t, cfg)
		var out cliResult
		// RBAC reaches the authorizer's cache asynchronously.
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			out = runCLI(t, bin, "detect", "--kubeconfig", kubeconfig)
			if strings.Contains(out.stderr, "nodes") || time.Now().After(deadline) {
				break
			}
		}
		// The SCC CRD is not granted: it only refines the report.
		out.expect(t, 2, `not allowed to list nodes: grant verb "list" on resource "nodes" in API group "" (core)`)
	})

	// detect shows each CheCluster: container run and build with their
	// SCCs, Che's configuration and what of it contradicts nesting; and it
	// says what breaks when container run is on where it cannot work.
	t.Run("dev_spaces_is_shown", func(t *testing.T) {
		if err := c.Simulate(ctx, localcluster.OCP418); err != nil {
			t.Fatal(err)
		}
		if err := c.DevSpaces(ctx, localcluster.DevSpacesSettings{ContainerRun: true, ContainerBuild: true}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := c.RemoveDevSpaces(ctx); err != nil {
				t.Error(err)
			}
		}()
		runCLI(t, bin, "detect", "--kubeconfig", c.KubeconfigPath).expect(t, 1,
			"Dev Spaces:              CheCluster openshift-devspaces/devspaces",
			"  container run:         on, SCC container-run",
			"  container build:       on, SCC container-build",
			"  workspace config:      openshift-devspaces/devworkspace-config",
			"  - DevSpacesContainerRunUnsupported: CheCluster openshift-devspaces/devspaces has container run on",
			"OpenShift 4.18.20 does not support pod user namespaces",
			"set disableContainerRunCapabilities to true in the CheCluster")

		if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
			t.Fatal(err)
		}
		che := &unstructured.Unstructured{}
		che.SetGroupVersionKind(schema.GroupVersionKind{Group: "controller.devfile.io", Version: "v1alpha1", Kind: "DevWorkspaceOperatorConfig"})
		che.SetNamespace(localcluster.DevSpacesNamespace)
		che.SetName(localcluster.CheDWOConfigName)
		if err := c.Client.Patch(ctx, che, client.RawPatch(types.MergePatchType, []byte(`{"config":{"workspace":{"hostUsers":true}}}`))); err != nil {
			t.Fatal(err)
		}
		out := runCLI(t, bin, "detect", "--kubeconfig", c.KubeconfigPath)
		out.expect(t, 0, "  contradicts nesting:   config.workspace.hostUsers=true",
			"  - DevSpacesConfigContradicts: CheCluster openshift-devspaces/devspaces has container run on, but its DevWorkspaceOperatorConfig openshift-devspaces/devworkspace-config sets config.workspace.hostUsers=true")
		if strings.Contains(out.stdout, "DevSpacesContainerRunUnsupported") {
			t.Errorf("4.20 said to be unable to run Dev Spaces' containers:\n%s", out.stdout)
		}
	})

	t.Run("devworkspace_operator_without_hostusers_is_degraded", func(t *testing.T) {
		if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Client.Get(ctx, client.ObjectKey{Name: detect.DWOConfigCRDName}, crd); err != nil {
			t.Fatal(err)
		}
		for _, v := range crd.Spec.Versions {
			delete(v.Schema.OpenAPIV3Schema.Properties["config"].Properties["workspace"].Properties, "hostUsers")
		}
		if err := c.Client.Update(ctx, crd); err != nil {
			t.Fatal(err)
		}
		r := detectWith(t, c.Config)
		if r.Verdict != detect.Supported || !hasReason(r.Degraded, detect.ReasonDevWorkspaceOperatorTooOld) {
			t.Errorf("verdict %s, degraded %+v", r.Verdict, r.Degraded)
		}
		runCLI(t, bin, "detect", "--kubeconfig", c.KubeconfigPath).expect(t, 0,
			"DevWorkspace Operator:   installed, too old", "DevWorkspace Operator 0.37 or newer required")
	})
}

func TestDetectKubernetes(t *testing.T) {
	ctx := context.Background()
	skipShort(t)
	c := localcluster.StartForTest(t, localcluster.Options{})
	bin := buildCLI(t)
	if err := c.Simulate(ctx, localcluster.Kubernetes); err != nil {
		t.Fatal(err)
	}
	r := detectWith(t, c.Config)
	if r.Verdict != detect.Unsupported || r.OpenShift || !hasReason(r.Reasons, detect.ReasonNotOpenShift) ||
		!hasReason(r.Degraded, detect.ReasonDevWorkspaceOperatorMissing) || r.Nodes.UserNamespaces != 1 {
		t.Errorf("report %+v", r)
	}
	runCLI(t, bin, "detect", "--kubeconfig", c.KubeconfigPath).expect(t, 1,
		"Platform:                Kubernetes (not OpenShift)", "NotOpenShift: the config.openshift.io API group is not served",
		"DevWorkspaceOperatorMissing: DevWorkspace Operator not installed")

	// KUBECONFIG is used without --kubeconfig.
	out := runCLIEnv(t, bin, []string{"KUBECONFIG=" + c.KubeconfigPath}, "detect", "-o", "json")
	out.expect(t, 1, `"verdict": "Unsupported"`)
}

func TestDetectUnreachableCluster(t *testing.T) {
	bin := buildCLI(t)
	// Nothing listens on port 1.
	kubeconfig := writeKubeconfig(t, &rest.Config{Host: "https://127.0.0.1:1", TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
	d, err := detect.NewDetector(&rest.Config{Host: "https://127.0.0.1:1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Detect(context.Background()); err == nil || detect.IsPermission(err) {
		t.Errorf("Detect against nothing: %v", err)
	}
	runCLI(t, bin, "detect", "--kubeconfig", kubeconfig).expect(t, 2, "cannot read the cluster at https://127.0.0.1:1", "connection refused")
	runCLI(t, bin, "detect", "--kubeconfig", filepath.Join(t.TempDir(), "absent")).expect(t, 2, "load kubeconfig")
	runCLI(t, bin, "detect", "--kubeconfig", kubeconfig, "-o", "xml").expect(t, 2, `--output "xml": use table, json or yaml`)
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() || os.Getenv("NESTED_E2E_SKIP") != "" {
		t.Skip("e2e: needs a real control plane and a build of the CLI")
	}
}

func detectWith(t *testing.T, cfg *rest.Config) *detect.Report {
	t.Helper()
	d, err := detect.NewDetector(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.Detect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func hasReason(rs []detect.Reason, code string) bool {
	if code == "" {
		return len(rs) == 0
	}
	for _, r := range rs {
		if r.Code == code {
			return true
		}
	}
	return false
}

// The CLI is built once for all tests of the package.
var cli struct {
	once sync.Once
	path string
	err  error
	dir  string
}

func buildCLI(t *testing.T) string {
	t.Helper()
	skipShort(t)
	cli.once.Do(func() {
		cli.dir, cli.err = os.MkdirTemp("", "nested-enabler-e2e-")
		if cli.err != nil {
			return
		}
		cli.path = filepath.Join(cli.dir, "nested-enabler")
		cmd := exec.Command("go", "build", "-o", cli.path, "github.com/nested-workspaces/enabler/cmd/nested-enabler")
		if out, err := cmd.CombinedOutput(); err != nil {
			cli.err = errors.New("go build ./cmd/nested-enabler: " + err.Error() + "\n" + string(out))
		}
	})
	if cli.err != nil {
		t.Fatal(cli.err)
	}
	return cli.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cli.dir != "" {
		os.RemoveAll(cli.dir)
	}
	os.Exit(code)
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func runCLI(t *testing.T, bin string, args ...string) cliResult {
	t.Helper()
	return runCLIEnv(t, bin, nil, args...)
}

// runCLIEnv runs the binary with env added to an environment without
// KUBECONFIG, so that only what the test passes is used.
func runCLIEnv(t *testing.T, bin string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECONFIG=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run %s %v: %v", bin, args, err)
	}
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// expect checks the exit code and that stdout+stderr contain each of want.
func (r cliResult) expect(t *testing.T, code int, want ...string) {
	t.Helper()
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	if r.code != code {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	all := r.stdout + r.stderr
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", w, r.stdout, r.stderr)
		}
	}
}

func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData, InsecureSkipTLSVerify: cfg.Insecure}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "c"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func deleteObject(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Delete(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

func updateClusterVersionStatus(t *testing.T, c client.Client, change func(*configv1.ClusterVersionStatus)) {
	t.Helper()
	ctx := context.Background()
	cv := &configv1.ClusterVersion{}
	if err := c.Get(ctx, client.ObjectKey{Name: "version"}, cv); err != nil {
		t.Fatal(err)
	}
	change(&cv.Status)
	if err := c.Status().Update(ctx, cv); err != nil {
		t.Fatalf("the API server refused the broken ClusterVersion: %v", err)
	}
}

// grant binds a ClusterRole with rules to user.
func grant(t *testing.T, c client.Client, user string, rules []rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + user}, Rules: rules}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + user},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}
	for _, obj := range []client.Object{role, binding} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
}
