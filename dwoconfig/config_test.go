package dwoconfig

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/nested-workspaces/enabler/owned"
)

var settings = WorkspaceSettings{SCCName: "nested-podman", RunAsUser: 1000, Capabilities: []string{"SETUID", "SETGID"}, Devices: []string{"/dev/fuse", "/dev/net/tun"}}

func TestDesiredDWOConfigCarriesExactlyOurFields(t *testing.T) {
	u := Desired("openshift-operators", settings)
	ws, _, _ := unstructured.NestedMap(u.Object, "config", "workspace")
	if len(ws) != 4 {
		t.Errorf("config.workspace has %d fields, want hostUsers, podSecurityContext, containerSecurityContext, podAnnotations: %v", len(ws), ws)
	}
	if uid, _, _ := unstructured.NestedInt64(u.Object, "config", "workspace", "podSecurityContext", "runAsUser"); uid != 1000 {
		t.Errorf("podSecurityContext.runAsUser = %d, want 1000: an SCC whose range starts at 0 would give UID 0", uid)
	}
	psc, _, _ := unstructured.NestedMap(u.Object, "config", "workspace", "podSecurityContext")
	if len(psc) != 1 {
		t.Errorf("podSecurityContext carries more than runAsUser: %v", psc)
	}
	for path, want := range map[string]any{
		"hostUsers": false,
	} {
		if got := ws[path]; got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	ann, _, _ := unstructured.NestedStringMap(u.Object, "config", "workspace", "podAnnotations")
	if ann[DevicesAnnotation] != "/dev/fuse,/dev/net/tun" || ann[RequiredSCCAnnotation] != "nested-podman" {
		t.Errorf("podAnnotations = %v", ann)
	}
	if u.GetName() != Name || u.GetNamespace() != "openshift-operators" {
		t.Errorf("object %s/%s", u.GetNamespace(), u.GetName())
	}
}

func TestDWOConfigInStep(t *testing.T) {
	desired := Desired("ns", settings)
	ours := func(u *unstructured.Unstructured) *unstructured.Unstructured {
		u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: owned.FieldManager, Operation: metav1.ManagedFieldsOperationApply}})
		return u
	}
	with := func(change func(*WorkspaceSettings)) *unstructured.Unstructured {
		s := settings
		change(&s)
		return Desired("ns", s)
	}
	reordered := with(func(s *WorkspaceSettings) { s.Capabilities = []string{"SETGID", "SETUID"} })
	otherSCC := with(func(s *WorkspaceSettings) { s.SCCName = "other" })
	otherUID := with(func(s *WorkspaceSettings) { s.RunAsUser = 2000 })
	for _, tc := range []struct {
		name    string
		current *unstructured.Unstructured
		want    bool
	}{
		{"absent_object_is_not_in_step", nil, false},
		{"same_values_not_owned_by_us_are_not_in_step", Desired("ns", settings), false},
		{"same_values_owned_by_us_are_in_step", ours(Desired("ns", settings)), true},
		{"capability_order_does_not_matter", ours(reordered), true},
		{"another_scc_annotation_is_drift", ours(otherSCC), false},
		{"another_run_as_user_is_drift", ours(otherUID), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := inStep(tc.current, desired); got != tc.want {
				t.Errorf("inStep = %t, want %t", got, tc.want)
			}
		})
	}
}

func TestFindOverrides(t *testing.T) {
	desired := Desired("openshift-operators", settings)
	che := unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "devworkspace-config", "namespace": "eclipse-che"},
		"config": map[string]any{"workspace": map[string]any{
			"hostUsers":      true,
			"podAnnotations": map[string]any{RequiredSCCAnnotation: "restricted-v2"},
		}},
	}}
	agreeing := unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "agrees", "namespace": "team"},
		"config":   map[string]any{"workspace": map[string]any{"hostUsers": false}},
	}}
	// Dev Spaces' container run adds CHOWN to ours: more, not less.
	devSpacesRun := unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "devworkspace-config", "namespace": "openshift-devspaces"},
		"config": map[string]any{"workspace": map[string]any{"hostUsers": false, "containerSecurityContext": map[string]any{
			"capabilities": map[string]any{"add": []any{"SETGID", "SETUID", "CHOWN"}}}}},
	}}
	fewer := unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "fewer", "namespace": "team"},
		"config": map[string]any{"workspace": map[string]any{"containerSecurityContext": map[string]any{
			"capabilities": map[string]any{"add": []any{"SETUID"}}}}},
	}}
	global := *desired.DeepCopy()
	global.Object["config"].(map[string]any)["workspace"].(map[string]any)["hostUsers"] = true
	got := FindOverrides([]unstructured.Unstructured{che, agreeing, devSpacesRun, fewer, global}, "openshift-operators", desired)
	want := []string{
		`eclipse-che/devworkspace-config sets config.workspace.hostUsers="true"`,
		`eclipse-che/devworkspace-config sets config.workspace.podAnnotations.openshift.io/required-scc="restricted-v2"`,
		`team/fewer sets config.workspace.containerSecurityContext.capabilities.add="[SETUID]"`,
	}
	if len(got) != len(want) {
		t.Fatalf("overrides = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("override %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// Namespace editors may create DevWorkspaceOperatorConfigs: a value of
// theirs is cut and quoted, whatever its size and characters.
func TestOverrideValuesAreBounded(t *testing.T) {
	desired := Desired("openshift-operators", settings)
	for _, tc := range []struct{ name, value string }{
		{"a_40_kB_value", strings.Repeat("x", 40000)},
		{"a_value_that_mimics_the_operator", "x\"; Degraded=False: nothing degraded\nReady=True"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tenant := unstructured.Unstructured{Object: map[string]any{
				"metadata": map[string]any{"name": "mine", "namespace": "tenant"},
				"config":   map[string]any{"workspace": map[string]any{"podAnnotations": map[string]any{RequiredSCCAnnotation: tc.value}}},
			}}
			got := FindOverrides([]unstructured.Unstructured{tenant}, "openshift-operators", desired)
			if len(got) != 1 {
				t.Fatalf("overrides = %v", got)
			}
			s := got[0].String()
			if len(s) > 160 || strings.ContainsAny(s, "\n") || strings.Count(s, `"`)-strings.Count(s, `\"`) != 2 {
				t.Errorf("override is not cut and quoted: %d bytes: %s", len(s), s)
			}
		})
	}
}
