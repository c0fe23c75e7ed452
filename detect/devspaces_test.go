package detect

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func checluster(devEnvironments map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"devEnvironments": devEnvironments}}}
	u.SetNamespace("openshift-devspaces")
	u.SetName("devspaces")
	return u
}

func cheConfig(workspace map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"config": map[string]any{"workspace": workspace}}}
	u.SetNamespace("openshift-devspaces")
	u.SetName(CheWorkspaceConfigName)
	return u
}

// che-operator's defaults: run off, build on, SCCs container-run and
// container-build; the SCC names follow the CheCluster when set.
func TestDevSpacesFrom(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		env                  map[string]any
		wantRun, wantBuild   bool
		wantRunSCC, buildSCC string
	}{
		{"defaults", map[string]any{}, false, true, "container-run", "container-build"},
		{"run_on", map[string]any{"disableContainerRunCapabilities": false}, true, true, "container-run", "container-build"},
		{"build_off", map[string]any{"disableContainerBuildCapabilities": true}, false, false, "container-run", "container-build"},
		{"own_scc_names", map[string]any{
			"disableContainerRunCapabilities": false,
			"containerRunConfiguration":       map[string]any{"openShiftSecurityContextConstraint": "my-run"},
			"containerBuildConfiguration":     map[string]any{"openShiftSecurityContextConstraint": "my-build"},
		}, true, true, "my-run", "my-build"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := DevSpacesFrom(checluster(tc.env), nil)
			if d.ContainerRun != tc.wantRun || d.ContainerBuild != tc.wantBuild || d.ContainerRunSCC != tc.wantRunSCC || d.ContainerBuildSCC != tc.buildSCC {
				t.Errorf("got %+v", d)
			}
			if d.Key() != "openshift-devspaces/devspaces" || d.WorkspaceConfig != "" {
				t.Errorf("key %q, config %q", d.Key(), d.WorkspaceConfig)
			}
		})
	}
}

// What che-operator writes for container run or build contradicts nothing;
// each field that takes away what nested containers need is named.
func TestNestedContradictions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		workspace map[string]any
		want      []string // fields
	}{
		{"empty", map[string]any{}, nil},
		{"che_container_build", map[string]any{"containerSecurityContext": map[string]any{
			"allowPrivilegeEscalation": true, "capabilities": map[string]any{"add": []any{"SETGID", "SETUID"}}}}, nil},
		{"che_container_run", map[string]any{"hostUsers": false, "containerSecurityContext": map[string]any{
			"allowPrivilegeEscalation": true, "procMount": "Unmasked", "capabilities": map[string]any{"add": []any{"SETGID", "SETUID", "CHOWN"}}}}, nil},
		{"host_users", map[string]any{"hostUsers": true}, []string{"hostUsers"}},
		{"proc_mount_default", map[string]any{"containerSecurityContext": map[string]any{"procMount": "Default"}}, []string{"containerSecurityContext.procMount"}},
		{"no_privilege_escalation", map[string]any{"containerSecurityContext": map[string]any{"allowPrivilegeEscalation": false}},
			[]string{"containerSecurityContext.allowPrivilegeEscalation"}},
		{"privileged", map[string]any{"containerSecurityContext": map[string]any{"privileged": true}}, []string{"containerSecurityContext.privileged"}},
		{"capabilities_without_setgid", map[string]any{"containerSecurityContext": map[string]any{"capabilities": map[string]any{"add": []any{"CAP_SETUID", "CHOWN"}}}},
			[]string{"containerSecurityContext.capabilities.add"}},
		{"two_at_once", map[string]any{"hostUsers": true, "containerSecurityContext": map[string]any{"procMount": "Default"}},
			[]string{"hostUsers", "containerSecurityContext.procMount"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NestedContradictions(cheConfig(tc.workspace))
			var fields []string
			for _, f := range got {
				fields = append(fields, f.Field)
				if f.Why == "" || f.Value == "" {
					t.Errorf("%s: no value or reason: %+v", f.Field, f)
				}
			}
			if strings.Join(fields, ",") != strings.Join(tc.want, ",") {
				t.Errorf("contradictions %v, want %v", fields, tc.want)
			}
		})
	}
}

// Container run on where pods get no user namespace, or contradicted by
// Che's own configuration, is degraded; container run off never is.
func TestAddDevSpaces(t *testing.T) {
	run := DevSpacesFrom(checluster(map[string]any{"disableContainerRunCapabilities": false}), nil)
	off := DevSpacesFrom(checluster(map[string]any{}), cheConfig(map[string]any{"hostUsers": true}))
	contradicted := DevSpacesFrom(checluster(map[string]any{"disableContainerRunCapabilities": false}), cheConfig(map[string]any{"hostUsers": true}))
	supported := func() *Report {
		return &Report{Verdict: Supported, Nodes: NodeCounts{Total: 3, UserNamespaces: 3}}
	}
	tooOld := func() *Report {
		return &Report{Verdict: Unsupported, Reasons: []Reason{{ReasonOpenShiftTooOld, "OpenShift 4.18.20 does not support pod user namespaces"}}}
	}
	noUserNSNodes := func() *Report { return &Report{Verdict: Supported, Nodes: NodeCounts{Total: 3}} }
	for _, tc := range []struct {
		name     string
		report   *Report
		che      DevSpaces
		wantCode string
		wantSaid []string
	}{
		{"run_on_supported", supported(), run, "", nil},
		{"run_on_too_old", tooOld(), run, ReasonDevSpacesContainerRunUnsupported,
			[]string{"openshift-devspaces/devspaces", "4.18.20", "disableContainerRunCapabilities to true"}},
		{"run_on_no_user_namespace_nodes", noUserNSNodes(), run, ReasonDevSpacesContainerRunUnsupported,
			[]string{"openshift-devspaces/devspaces", "no node's container runtime supports user namespaces"}},
		{"run_off_too_old", tooOld(), off, "", nil},
		{"run_off_contradicted_is_only_shown", supported(), off, "", nil},
		{"run_on_contradicted", supported(), contradicted, ReasonDevSpacesConfigContradicts,
			[]string{"openshift-devspaces/devspaces", "openshift-devspaces/devworkspace-config", "config.workspace.hostUsers=true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.report
			before := len(r.Degraded)
			r.AddDevSpaces([]DevSpaces{tc.che})
			r.AddDevSpaces([]DevSpaces{tc.che}) // again: replaces, does not add
			added := r.Degraded[before:]
			if tc.wantCode == "" {
				if len(added) > 0 {
					t.Fatalf("degraded: %+v", added)
				}
				return
			}
			if len(added) != 1 || added[0].Code != tc.wantCode {
				t.Fatalf("degraded %+v, want one %s", added, tc.wantCode)
			}
			for _, s := range tc.wantSaid {
				if !strings.Contains(added[0].Message, s) {
					t.Errorf("message %q lacks %q", added[0].Message, s)
				}
			}
			if len(r.DevSpaces) != 1 {
				t.Errorf("DevSpaces = %+v", r.DevSpaces)
			}
		})
	}
}
