package localcluster_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

// TestVersionsAgree checks that the places naming the Kubernetes release
// agree with hack/versions.sh, where the build scripts read it: the
// control plane's cache directory name (cluster.go) and the Kubernetes
// packages OpenShift's SCC admission plugin is compiled against
// (hack/openshift-admission/go.mod). A version bumped in one place only
// would build one release and run or judge pods with another.
func TestVersionsAgree(t *testing.T) {
	versions := scriptVersions(t, "../../hack/versions.sh")
	for _, row := range []struct{ name, script, code string }{
		{"Kubernetes", versions["K8S_VERSION"], localcluster.KubernetesVersion},
		{"etcd", versions["ETCD_VERSION"], localcluster.EtcdVersion},
	} {
		if row.script == "" {
			t.Errorf("hack/versions.sh sets no %s version", row.name)
			continue
		}
		if row.script != row.code {
			t.Errorf("%s: hack/versions.sh says %s, test/localcluster/cluster.go %s: change both", row.name, row.script, row.code)
		}
	}

	k8s := versions["K8S_VERSION"]
	gomod, err := os.ReadFile("../../hack/openshift-admission/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	// k8s.io/kubernetes is v1.X.Y; its staging modules are v0.X.Y.
	staging := "v0" + strings.TrimPrefix(k8s, "1")
	kubernetes := regexp.MustCompile(`(?m)^\s*k8s\.io/kubernetes (v\S+)`).FindAllStringSubmatch(string(gomod), -1)
	if len(kubernetes) == 0 {
		t.Fatal("hack/openshift-admission/go.mod requires no k8s.io/kubernetes")
	}
	for _, m := range kubernetes {
		if m[1] != "v"+k8s {
			t.Errorf("hack/openshift-admission/go.mod: k8s.io/kubernetes %s, hack/versions.sh %s", m[1], k8s)
		}
	}
	// What the build uses: a replace directive's version where there is
	// one, else the required one.
	effective := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(k8s\.io/[a-z-]+) (v0\.\d+\.\d+)\b`).FindAllStringSubmatch(string(gomod), -1) {
		effective[m[1]] = m[2]
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*(k8s\.io/[a-z-]+) => k8s\.io/[a-z-]+ (v0\.\d+\.\d+)\b`).FindAllStringSubmatch(string(gomod), -1) {
		effective[m[1]] = m[2]
	}
	if len(effective) == 0 {
		t.Fatal("hack/openshift-admission/go.mod names no Kubernetes staging module")
	}
	for mod, v := range effective {
		switch mod {
		case "k8s.io/utils", "k8s.io/klog", "k8s.io/kube-openapi", "k8s.io/gengo":
			continue // versioned on their own
		}
		if v != staging {
			t.Errorf("hack/openshift-admission/go.mod: %s %s, want %s (Kubernetes %s, hack/versions.sh)", mod, v, staging, k8s)
		}
	}
}

// scriptVersions reads NAME="${NAME:-VALUE}" assignments from a shell file.
func scriptVersions(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z0-9_]+)="\$\{([A-Z0-9_]+):-([^}"]+)\}"$`).FindAllStringSubmatch(string(b), -1) {
		if m[1] == m[2] {
			out[m[1]] = m[3]
		}
	}
	return out
}
