package manifests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// The committed deepcopy code, CRD and ClusterRole must be what
// hack/generate.sh makes from the code now; otherwise the API server
// validates against a schema the Go types no longer describe, or the
// operator runs with permissions its code no longer states.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs controller-gen (compiled through the Go module proxy the first time)")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command")
	}
	out := t.TempDir()
	cmd := exec.Command("bash", filepath.Join("..", "hack", "generate.sh"))
	cmd.Env = append(os.Environ(), "OUT_DIR="+out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/generate.sh: %v\n%s", err, msg)
	}

	compare := func(generated, committed string) {
		t.Helper()
		want, err := os.ReadFile(generated)
		if err != nil {
			t.Fatalf("generator output: %v", err)
		}
		got, err := os.ReadFile(committed)
		if err != nil {
			t.Errorf("%s: %v; run `make manifests` and commit the result", committed, err)
			return
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `make manifests` and commit the result", committed)
		}
	}
	compare(filepath.Join(out, "object", "zz_generated.deepcopy.go"), filepath.Join("..", "api", "v1alpha1", "zz_generated.deepcopy.go"))

	crds, err := filepath.Glob(filepath.Join(out, "crd", "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("generator wrote no CRD (%v)", err)
	}
	for _, generated := range crds {
		compare(generated, filepath.Join("crd", filepath.Base(generated)))
	}
	// The operator's ClusterRole, from the RBAC markers in operator/ and
	// detect/: the e2e runs the operator under exactly this role.
	compare(filepath.Join(out, "rbac", "role.yaml"), filepath.Join("rbac", "role.yaml"))
}

// The embedded CRD is the one the rest of the project installs; check the
// properties other code relies on survive generation.
func TestNestedContainersCRD(t *testing.T) {
	crd, err := NestedContainersCRD()
	if err != nil {
		t.Fatal(err)
	}
	if crd.Name != "nestedcontainers.enabler.nested-workspaces.io" || crd.Spec.Scope != apiextensionsv1.ClusterScoped {
		t.Errorf("CRD %s scope %s, want nestedcontainers.enabler.nested-workspaces.io, Cluster", crd.Name, crd.Spec.Scope)
	}
	if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != "v1alpha1" || crd.Spec.Versions[0].Subresources == nil || crd.Spec.Versions[0].Subresources.Status == nil {
		t.Fatalf("want one version v1alpha1 with a status subresource, got %+v", crd.Spec.Versions)
	}
	var cols []string
	for _, c := range crd.Spec.Versions[0].AdditionalPrinterColumns {
		cols = append(cols, c.Name)
	}
	if got, want := cols, []string{"Enabled", "Ready", "SCC", "OpenShift", "Age", "Degraded", "Reason", "Pending Restart"}; !slices.Equal(got, want) {
		t.Errorf("printer columns %q, want %q", got, want)
	}
	again, err := NestedContainersCRD()
	if err != nil {
		t.Fatal(err)
	}
	again.Name = "changed"
	if crd.Name == "changed" {
		t.Error("NestedContainersCRD returns shared objects")
	}
}
