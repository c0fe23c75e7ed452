package manifests_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	olmcrds "github.com/operator-framework/api/crds"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

// fieldManager is who the test's applies are recorded as.
const fieldManager = "manifests-test"

// Every example and manifest this project ships is accepted by a real API
// server with strict field validation (kubectl's default, and what the
// console's forms use): the kustomize install, the sample, the CSV's
// alm-examples and initialization-resource, every object of the OLM bundle,
// and the OLM examples. A field the schema does not have fails here, naming
// it, rather than at an admin's `oc apply`.
func TestEveryShippedManifestAppliesStrictly(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the real local control plane")
	}
	kubectl := kubectlPath(t)
	monitoringCRDs := monitoringCRDs(t)
	c := localcluster.StartForTest(t, localcluster.Options{OpenShift: true,
		CRDs: append(monitoringCRDs, olmcrds.ClusterServiceVersion(), olmcrds.CatalogSource(), olmcrds.Subscription(), olmcrds.OperatorGroup())})
	ctx := context.Background()
	strict, err := client.New(c.Config, client.Options{Scheme: c.Scheme, FieldValidation: metav1.FieldValidationStrict})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("kustomize_default", func(t *testing.T) {
		out, err := exec.Command(kubectl, "kustomize", "default").Output()
		if err != nil {
			t.Fatalf("kubectl kustomize default: %v", err)
		}
		createAll(t, strict, documents(t, "default", out))
	})
	t.Run("samples", func(t *testing.T) {
		out, err := exec.Command(kubectl, "kustomize", "samples").Output()
		if err != nil {
			t.Fatalf("kubectl kustomize samples: %v", err)
		}
		createAll(t, strict, documents(t, "samples", out))
	})
	csv := loadBundle(t).CSV
	t.Run("alm_examples", func(t *testing.T) {
		var examples []map[string]any
		if err := json.Unmarshal([]byte(csv.Annotations["alm-examples"]), &examples); err != nil {
			t.Fatal(err)
		}
		for _, e := range examples {
			applyDryRun(t, strict, &unstructured.Unstructured{Object: e}, "")
		}
	})
	t.Run("initialization_resource", func(t *testing.T) {
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal([]byte(csv.Annotations["operatorframework.io/initialization-resource"]), &u.Object); err != nil {
			t.Fatal(err)
		}
		applyDryRun(t, strict, u, "")
	})
	t.Run("suggested_namespace_template", func(t *testing.T) {
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal([]byte(csv.Annotations["operatorframework.io/suggested-namespace-template"]), &u.Object); err != nil {
			t.Fatal(err)
		}
		applyDryRun(t, strict, u, "")
	})
	t.Run("bundle_objects", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join(bundleDir, "manifests", "*.yaml"))
		if err != nil || len(files) < 3 {
			t.Fatalf("bundle manifests %v (%v)", files, err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range documents(t, f, data) {
				// OLM installs namespaced bundle objects into the operator's
				// namespace; the CSV itself goes there too.
				applyDryRun(t, strict, u, "nested-workspaces-enabler")
			}
		}
	})
	t.Run("olm_examples", func(t *testing.T) {
		for _, ns := range []string{"openshift-marketplace"} {
			createAll(t, strict, documents(t, ns, []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: "+ns+"}\n")))
		}
		for _, f := range []string{"olm/catalogsource.yaml", "olm/subscription.yaml"} {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range documents(t, f, data) {
				applyDryRun(t, strict, u, "")
			}
		}
	})
	// The check has teeth: the sample as it was before spec.scc.name left
	// the API is refused, naming the field.
	t.Run("a_removed_field_is_refused", func(t *testing.T) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte("apiVersion: enabler.nested-workspaces.io/v1alpha1\nkind: NestedContainers\nmetadata: {name: cluster}\nspec: {enabled: true, scc: {name: nested-podman, builtIn: Auto}}\n"), &u.Object); err != nil {
			t.Fatal(err)
		}
		// As `oc apply` sends it: a create, decoded strictly before anything
		// else (so that the existing object does not matter).
		err := strict.Create(ctx, u, client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), `unknown field "spec.scc.name"`) {
			t.Errorf("applying spec.scc.name: %v, want a strict decoding error naming it", err)
		}
	})
	// -o wide shows Degraded, its reason and pending restarts; the default
	// view keeps to the four columns.
	t.Run("printer_columns", func(t *testing.T) {
		wide, err := exec.Command(kubectl, "--kubeconfig", c.KubeconfigPath, "get", "nestedcontainers", "-o", "wide").CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl get -o wide: %v\n%s", err, wide)
		}
		plain, err := exec.Command(kubectl, "--kubeconfig", c.KubeconfigPath, "get", "nestedcontainers").CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl get: %v\n%s", err, plain)
		}
		header := func(out []byte) string {
			return strings.Join(strings.Fields(strings.SplitN(string(out), "\n", 2)[0]), " ")
		}
		if got, want := header(wide), "NAME ENABLED READY SCC OPENSHIFT AGE DEGRADED REASON PENDING RESTART"; got != want {
			t.Errorf("-o wide header %q, want %q", got, want)
		}
		if got, want := header(plain), "NAME ENABLED READY SCC OPENSHIFT AGE"; got != want {
			t.Errorf("header %q, want %q", got, want)
		}
	})
}

func kubectlPath(t *testing.T) string {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = localcluster.DefaultAssetsDir()
	}
	kubectl := filepath.Join(assets, "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("kubectl not found in %s: run make bins", assets)
	}
	return kubectl
}

// monitoringCRDs are prometheus-operator's CRDs, generated from its
// monitoring API types (hack/build-monitoring-crds.sh, cached).
func monitoringCRDs(t *testing.T) []*apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	out, err := exec.Command("bash", "../hack/build-monitoring-crds.sh").Output()
	if err != nil {
		t.Fatalf("hack/build-monitoring-crds.sh: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := lines[len(lines)-1]
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, name := range []string{"servicemonitors", "prometheusrules"} {
		data, err := os.ReadFile(filepath.Join(dir, "monitoring.coreos.com_"+name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			t.Fatal(err)
		}
		crds = append(crds, crd)
	}
	return crds
}

// documents splits multi-document YAML into objects.
func documents(t *testing.T, source string, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
	return objs
}

// createAll creates objs with strict field validation, CRDs and namespaces
// first, waiting for each CRD to be served.
func createAll(t *testing.T, c client.Client, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	rank := func(u *unstructured.Unstructured) int {
		switch u.GetKind() {
		case "CustomResourceDefinition":
			return 0
		case "Namespace":
			return 1
		}
		return 2
	}
	for r := 0; r <= 2; r++ {
		for _, u := range objs {
			if rank(u) != r {
				continue
			}
			if err := c.Create(ctx, u.DeepCopy()); err != nil {
				t.Errorf("create %s %s: %v", u.GetKind(), u.GetName(), err)
				continue
			}
			if u.GetKind() == "CustomResourceDefinition" {
				waitEstablished(t, c, u.GetName())
			}
		}
	}
}

// applyDryRun applies u server-side without persisting it (it may exist
// already): apply requests are always strict.
func applyDryRun(t *testing.T, c client.Client, u *unstructured.Unstructured, namespace string) {
	t.Helper()
	u = u.DeepCopy()
	if u.GetNamespace() == "" && namespace != "" && isNamespaced(u) {
		u.SetNamespace(namespace)
	}
	u.SetManagedFields(nil)
	if err := c.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldManager), client.ForceOwnership, client.DryRunAll); err != nil {
		t.Errorf("apply %s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

func isNamespaced(u *unstructured.Unstructured) bool {
	switch u.GetKind() {
	case "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace", "NestedContainers":
		return false
	}
	return true
}

func waitEstablished(t *testing.T, c client.Client, name string) {
	t.Helper()
	localcluster.Eventually(t, 30*time.Second, "CRD "+name+" established", func() error {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: name}, crd); err != nil {
			return err
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("not established")
	})
}
