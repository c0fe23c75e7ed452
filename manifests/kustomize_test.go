package manifests_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

// kubectl apply -k manifests/default must render the whole install: the
// CRD, the namespace, the service account, the least-privilege RBAC and the
// Deployment.
func TestKustomizeDefaultRendersTheInstall(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = localcluster.DefaultAssetsDir()
	}
	kubectl := filepath.Join(assets, "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		if testing.Short() {
			t.Skip("kubectl not built (make bins)")
		}
		t.Fatalf("kubectl not found in %s: run make bins", assets)
	}
	out, err := exec.Command(kubectl, "kustomize", "default").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize default: %v\n%s", err, out)
	}
	var got []string
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("rendered YAML does not parse: %v", err)
		}
		got = append(got, obj.Kind+"/"+obj.Metadata.Name)
	}
	sort.Strings(got)
	want := []string{
		"ClusterRole/nested-workspaces-enabler",
		"ClusterRole/nested-workspaces-enabler-metrics-reader",
		"ClusterRoleBinding/nested-workspaces-enabler",
		"ClusterRoleBinding/nested-workspaces-enabler-metrics-reader-prometheus",
		"CustomResourceDefinition/nestedcontainers.enabler.nested-workspaces.io",
		"Deployment/nested-workspaces-enabler",
		"Namespace/nested-workspaces-enabler",
		"PrometheusRule/nested-workspaces-enabler",
		"Role/nested-workspaces-enabler-leader-election",
		"Role/nested-workspaces-enabler-prometheus",
		"RoleBinding/nested-workspaces-enabler-leader-election",
		"RoleBinding/nested-workspaces-enabler-prometheus",
		"Service/nested-workspaces-enabler-metrics",
		"ServiceAccount/nested-workspaces-enabler",
		"ServiceMonitor/nested-workspaces-enabler",
		"ValidatingAdmissionPolicy/nested-workspaces-enabler-dwoc-fence",
		"ValidatingAdmissionPolicy/nested-workspaces-enabler-rbac-fence",
		"ValidatingAdmissionPolicy/nested-workspaces-enabler-scc-fence",
		"ValidatingAdmissionPolicy/nested-workspaces-enabler-self-fence",
		"ValidatingAdmissionPolicyBinding/nested-workspaces-enabler-dwoc-fence",
		"ValidatingAdmissionPolicyBinding/nested-workspaces-enabler-rbac-fence",
		"ValidatingAdmissionPolicyBinding/nested-workspaces-enabler-scc-fence",
		"ValidatingAdmissionPolicyBinding/nested-workspaces-enabler-self-fence",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("kustomize default renders\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
