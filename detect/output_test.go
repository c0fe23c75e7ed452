package detect_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	configv1 "github.com/openshift/api/config/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/nested-workspaces/enabler/detect"
)

func TestWriteTable(t *testing.T) {
	cases := []struct {
		name   string
		inputs func(t *testing.T) detect.Inputs
		want   []string
	}{
		{"supported_4.19_techpreview_lists_every_gate", func(t *testing.T) detect.Inputs {
			return healthy(t, "4.19.3", configv1.TechPreviewNoUpgrade, allGates, nil)
		}, []string{
			"Verdict:                 Supported",
			"Platform:                OpenShift 4.19.3",
			"Kubernetes:              v1.33.13",
			"Feature set:             TechPreviewNoUpgrade",
			"Feature gates:           UserNamespacesSupport               enabled",
			"                         UserNamespacesPodSecurityStandards  enabled",
			"                         ProcMountType                       enabled",
			"Nodes:                   3 of 3 with user namespace support",
			"DevWorkspace Operator:   installed, supports config.workspace.hostUsers",
		}},
		{"unsupported_lists_every_reason", func(t *testing.T) detect.Inputs {
			in := healthy(t, "4.19.3", configv1.Default, nil, allGates)
			in.DevWorkspaceConfigCRD = nil
			return in
		}, []string{
			"Verdict:                 Unsupported",
			"ProcMountType                       disabled",
			"Unsupported because:\n  - FeatureGatesNotEnabled: OpenShift 4.19.3 with featureSet Default: enable TechPreviewNoUpgrade",
			"Degraded:\n  - DevWorkspaceOperatorMissing: DevWorkspace Operator not installed",
		}},
		{"ga_gate_says_so", func(t *testing.T) detect.Inputs {
			return healthy(t, "4.22.0", configv1.Default, allGates[:2], nil)
		}, []string{"ProcMountType                       enabled (GA, not listed)"}},
		{"kubernetes_has_no_openshift_lines", func(t *testing.T) detect.Inputs {
			return detect.Inputs{KubernetesVersion: "v1.33.13"}
		}, []string{"Platform:                Kubernetes (not OpenShift)", "  - NotOpenShift: "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := detect.WriteTable(&buf, detect.Evaluate(tc.inputs(t))); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("table lacks %q:\n%s", w, buf.String())
				}
			}
		})
	}
}

// Each CheCluster is shown with container run and build, their SCCs, Che's
// configuration and what of it contradicts nested containers.
func TestWriteTableShowsDevSpaces(t *testing.T) {
	r := detect.Evaluate(healthy(t, "4.20.2", configv1.Default, allGates, nil))
	var buf bytes.Buffer
	if err := detect.WriteTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Dev Spaces:              not installed (no CheCluster)") {
		t.Errorf("table without Dev Spaces does not say so:\n%s", buf.String())
	}
	r.AddDevSpaces([]detect.DevSpaces{{Namespace: "openshift-devspaces", Name: "devspaces", ContainerRun: true, ContainerRunSCC: "container-run",
		ContainerBuildSCC: "container-build", WorkspaceConfig: "openshift-devspaces/devworkspace-config",
		Contradictions: []detect.ConfigField{{Field: "hostUsers", Value: "true", Why: "keeps the pods in the node's user namespace"}}}})
	buf.Reset()
	if err := detect.WriteTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"Dev Spaces:              CheCluster openshift-devspaces/devspaces",
		"  container run:         on, SCC container-run",
		"  container build:       off",
		"  workspace config:      openshift-devspaces/devworkspace-config",
		"  contradicts nesting:   config.workspace.hostUsers=true",
		"  - DevSpacesConfigContradicts: CheCluster openshift-devspaces/devspaces has container run on",
	} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("table lacks %q:\n%s", w, buf.String())
		}
	}
}

func TestWriteJSONRoundTrips(t *testing.T) {
	in := healthy(t, "4.22.0", configv1.Default, allGates[:2], nil)
	in.Nodes = nodes(0, 1)
	want := detect.Evaluate(in)
	var buf bytes.Buffer
	if err := detect.WriteJSON(&buf, want); err != nil {
		t.Fatal(err)
	}
	var got detect.Report
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, buf.String())
	}
	if got.Verdict != detect.Supported || got.FeatureGates[detect.GateProcMountType] != detect.GateAbsentGA ||
		got.Nodes != want.Nodes || len(got.Degraded) != 1 || got.SCC.UserNamespaceLevelInSchema == nil {
		t.Errorf("round trip lost data:\n%s", buf.String())
	}
	for _, key := range []string{`"verdict": "Supported"`, `"openshiftVersion": "4.22.0"`, `"ProcMountType": "AbsentGA"`, `"userNamespaces": 0`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("JSON lacks %s:\n%s", key, buf.String())
		}
	}
}

func TestPermissionError(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "config.openshift.io", Resource: "clusterversions"}, "version", errors.New("nope"))
	err := fmt.Errorf("detect: %w", &detect.PermissionError{Verb: "get", Group: "config.openshift.io", Resource: "clusterversions", Name: "version", Err: forbidden})
	if !detect.IsPermission(err) || !apierrors.IsForbidden(err) {
		t.Errorf("wrapped PermissionError not recognised: %v", err)
	}
	for _, s := range []string{`not allowed to get clusterversions.config.openshift.io "version"`, `grant verb "get" on resource "clusterversions" in API group config.openshift.io`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q lacks %q", err, s)
		}
	}
	core := &detect.PermissionError{Verb: "list", Resource: "nodes", Err: forbidden}
	if !strings.Contains(core.Error(), `in API group "" (core)`) {
		t.Errorf("core group not named: %s", core)
	}
	if detect.IsPermission(errors.New("connection refused")) {
		t.Error("plain error taken for a permission error")
	}
}
