package operator

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	securityv1 "github.com/openshift/api/security/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/grants"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/goconst"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/workspaces"
)

// Observations to decide on.

func toggle(enabled bool, change ...func(*enablerv1alpha1.NestedContainers)) *enablerv1alpha1.NestedContainers {
	nc := &enablerv1alpha1.NestedContainers{}
	nc.Name, nc.Generation = enablerv1alpha1.ClusterName, 3
	nc.Spec = enablerv1alpha1.NestedContainersSpec{Enabled: enabled, SCC: enablerv1alpha1.SCCSettings{BuiltIn: enablerv1alpha1.BuiltInAuto}, RunAsUser: 1000}
	for _, c := range change {
		c(nc)
	}
	return nc
}

func configured(nc *enablerv1alpha1.NestedContainers) {
	nc.Status.Conditions = []metav1.Condition{{Type: enablerv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: enablerv1alpha1.ReasonConfigured}}
	nc.Status.SCC = enablerv1alpha1.SCCStatus{Name: "nested-container", BuiltIn: true}
}

func never(nc *enablerv1alpha1.NestedContainers) { nc.Spec.SCC.BuiltIn = enablerv1alpha1.BuiltInNever }

func supported(version string) *detect.Report {
	return &detect.Report{Verdict: detect.Supported, OpenShift: true, OpenShiftVersion: version}
}

func withDegraded(r *detect.Report, code, msg string) *detect.Report {
	r.Degraded = append(r.Degraded, detect.Reason{Code: code, Message: msg})
	return r
}

func unsupported(reasons ...detect.Reason) *detect.Report {
	return &detect.Report{Verdict: detect.Unsupported, OpenShift: true, Reasons: reasons}
}

func devSpaces(r *detect.Report, run bool) *detect.Report {
	r.DevSpaces = []detect.DevSpaces{{Namespace: "openshift-devspaces", Name: "devspaces", ContainerRun: run, ContainerRunSCC: "container-run",
		ContainerBuild: true, ContainerBuildSCC: "container-build"}}
	return r
}

// builtIn is OpenShift's nested-container as a release's cluster holds it.
func builtIn(t *testing.T, file string) *securityv1.SecurityContextConstraints {
	t.Helper()
	s, err := localcluster.ReleaseSCC(file, scc.BuiltInSCCName, true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func withWorkspaces(o Observation, snap workspaces.Snapshot) Observation {
	o.Workspaces = snap
	return o
}

// want is what a row expects: a condition as "Status/Reason", "" to not
// care, "-" for not set.
type want struct {
	action    Action
	supported string
	ready     string
	degraded  string
	sccName   string // what status.scc names; "" does not care, "-" none
	said      []string
	retry     bool
	requeue   time.Duration
}

type row struct {
	name    string
	obs     Observation
	applied Applied
	want    want
}

func conditionString(c *metav1.Condition) string {
	if c == nil {
		return "-"
	}
	return string(c.Status) + "/" + c.Reason
}

// Every reason and every transition, decided and judged without a cluster:
// observation -> plan -> (what applying did) -> conditions, status.scc and
// requeue.
func rows(t *testing.T) []row {
	broken, fixed := builtIn(t, localcluster.NestedContainerAs4200), builtIn(t, localcluster.NestedContainer)
	loosened := fixed.DeepCopy()
	loosened.SELinuxContext = securityv1.SELinuxContextStrategyOptions{Type: securityv1.SELinuxStrategyRunAsAny}
	noGrantsFor := func(ns string) Applied {
		return Applied{GrantsRan: true, DWOConfigRan: true, Grants: grants.Outcome{Blocked: []string{ns}}}
	}
	ok := Applied{GrantsRan: true, DWOConfigRan: true}
	refused := workspaces.Snapshot{Counts: workspaces.Counts{Total: 1, Failing: 1}, RefusedByOurConfiguration: 1,
		Failing: []workspaces.Failure{{Namespace: "alice", Name: "ws", Message: "unable to validate against any security context constraint", RefusedBySCC: true, OurConfiguration: true}}}
	theirs := workspaces.Snapshot{Counts: workspaces.Counts{Total: 1, Failing: 1},
		Failing: []workspaces.Failure{{Namespace: "mallory", Name: "ws", Message: "capability may not be added: NET_ADMIN", RefusedBySCC: true}}}
	many := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("tenant-%03d", i))
		}
		return out
	}
	return []row{
		// Configure, and which SCC.
		{"configured_under_the_fixed_builtin", Observation{Toggle: toggle(true), Report: supported("4.20.9"), BuiltIn: fixed}, ok,
			want{action: Configure, supported: "True/ClusterSupported", ready: "True/Configured", degraded: "False/AsExpected", sccName: "nested-container",
				said: []string{"OpenShift's built-in SCC nested-container"}}},
		{"builtin_without_uid_range_is_passed_over_for_ours", Observation{Toggle: toggle(true), Report: supported("4.20.1"), BuiltIn: broken}, ok,
			want{action: Configure, ready: "True/Configured", sccName: "nested-podman",
				said: []string{"SCC nested-podman (managed by this operator)", "passed over", "runAsUser", "OCPBUGS-98555", "builtIn Never"}}},
		{"builtin_never_uses_ours", Observation{Toggle: toggle(true, never), Report: supported("4.22.0"), BuiltIn: fixed}, ok,
			want{action: Configure, ready: "True/Configured", sccName: "nested-podman"}},
		{"a_loosened_builtin_is_never_pinned", Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: loosened}, ok,
			want{action: Configure, ready: "True/Configured", sccName: "nested-podman", said: []string{"allows more than this operator would pin", "seLinuxContext"}}},
		{"dev_spaces_container_run_needs_chown_so_ours", Observation{Toggle: toggle(true), Report: devSpaces(supported("4.22.0"), true), BuiltIn: fixed}, ok,
			want{action: Configure, ready: "True/Configured", sccName: "nested-podman", said: []string{"passed over", "allowedCapabilities", "adds CHOWN", "its workspaces keep this pin"}}},
		{"dev_spaces_container_run_off_is_nested_too", Observation{Toggle: toggle(true), Report: devSpaces(supported("4.22.0"), false), BuiltIn: fixed}, ok,
			want{action: Configure, ready: "True/Configured", sccName: "nested-container", said: []string{"this operator makes its workspaces nested-capable too"}}},
		// Remove.
		{"disabled", Observation{Toggle: toggle(false), Report: supported("4.22.0"), BuiltIn: fixed}, Applied{},
			want{action: Remove, ready: "False/Disabled", degraded: "False/AsExpected", sccName: "-", said: []string{"spec.enabled is false"}}},
		{"disabled_with_dev_spaces_container_run", Observation{Toggle: toggle(false), Report: devSpaces(supported("4.22.0"), true)}, Applied{},
			want{action: Remove, ready: "False/Disabled", said: []string{"makes its own workspaces nested under SCC container-run"}}},
		{"unsupported_cluster", Observation{Toggle: toggle(true), Report: unsupported(detect.Reason{Code: detect.ReasonOpenShiftTooOld, Message: "OpenShift 4.18.20 is older than 4.19"})}, Applied{},
			want{action: Remove, supported: "False/ClusterUnsupported", ready: "False/ClusterUnsupported", said: []string{"4.18.20"}}},
		{"unsupported_for_good_tears_down_even_when_configured", Observation{Toggle: toggle(true, configured), Report: unsupported(detect.Reason{Code: detect.ReasonFeatureGatesNotEnabled, Message: "gates off"})}, Applied{},
			want{action: Remove, ready: "False/ClusterUnsupported"}},
		{"dwo_missing_writes_nothing_and_rechecks", Observation{Toggle: toggle(true), Report: withDegraded(supported("4.22.0"), detect.ReasonDevWorkspaceOperatorMissing, "install the DevWorkspace Operator")}, Applied{},
			want{action: Remove, ready: "False/DevWorkspaceMissing", requeue: blockedRecheck}},
		{"dwo_too_old", Observation{Toggle: toggle(true), Report: withDegraded(supported("4.22.0"), detect.ReasonDevWorkspaceOperatorTooOld, "0.37 or newer")}, Applied{},
			want{action: Remove, ready: "False/DevWorkspaceTooOld", requeue: blockedRecheck}},
		{"disable_stops_at_a_failed_step", Observation{Toggle: toggle(false), Report: supported("4.22.0")}, Applied{Removal: errors.New("remove our fields: conflict")},
			want{action: Remove, ready: "False/CleanupFailed", degraded: "True/CleanupFailed", retry: true, said: []string{"spec.enabled is false", "remove our fields"}}},
		// Hold.
		{"mid_upgrade_keeps_the_last_good", Observation{Toggle: toggle(true, configured), Report: unsupported(detect.Reason{Code: detect.ReasonFeatureGateVersionMissing, Message: "no entry for 4.21.0"})}, Applied{},
			want{action: Hold, supported: "Unknown/DetectionInconclusive", ready: "True/KeptLastGoodConfiguration", degraded: "True/DetectionInconclusive", sccName: "nested-container", requeue: holdRecheck}},
		{"inconclusive_never_configures_anew", Observation{Toggle: toggle(true), Report: unsupported(detect.Reason{Code: detect.ReasonFeatureGateVersionMissing, Message: "no entry"})}, Applied{},
			want{action: Remove, ready: "False/ClusterUnsupported"}},
		// Detection failed, deletion.
		{"detection_failed", Observation{Toggle: toggle(true), DetectErr: errors.New("forbidden: list nodes")}, Applied{},
			want{action: Unknown, supported: "Unknown/DetectionFailed", ready: "False/DetectionFailed", degraded: "-", retry: true, said: []string{"list nodes"}}},
		{"deleted_and_cleaned_up", Observation{Toggle: toggle(true, deleting)}, Applied{},
			want{action: Finalize, supported: "-", ready: "-", degraded: "-"}},
		{"deleted_but_cleanup_failed", Observation{Toggle: toggle(true, deleting)}, Applied{Removal: errors.New("delete our grants: forbidden")},
			want{action: Finalize, ready: "False/CleanupFailed", degraded: "True/CleanupFailed", retry: true, said: []string{"deleted once cleanup completes"}}},
		// What applying met.
		{"an_admins_scc_of_our_name", Observation{Toggle: toggle(true, never), Report: supported("4.22.0")}, Applied{SCC: &scc.ForeignSCCError{Name: "nested-podman"}},
			want{action: Configure, ready: "False/SCCNotOwned", sccName: "-", requeue: blockedRecheck, said: []string{"left untouched"}}},
		{"user_namespace_level_pruned", Observation{Toggle: toggle(true), Report: supported("4.19.3")}, Applied{SCC: fmt.Errorf("create SCC nested-podman: %w", scc.ErrUserNamespaceLevelPruned)},
			want{action: Configure, ready: "False/UserNamespaceLevelPruned", degraded: "True/UserNamespaceLevelPruned"}},
		{"a_write_fails", Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed}, Applied{GrantsRan: true, Grants: grants.Outcome{Err: errors.New("create ClusterRole: 409")}},
			want{action: Configure, ready: "False/ApplyFailed", retry: true, said: []string{"409", "retrying"}}},
		{"another_manager_owns_a_dwoc_field", Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed},
			Applied{GrantsRan: true, DWOConfigRan: true, DWOConfig: dwoconfig.Outcome{Conflict: errors.New("conflict with admin")}},
			want{action: Configure, ready: "False/DWOConfigConflict", requeue: blockedRecheck, said: []string{"withdrew all of its fields"}}},
		{"dwoc_not_served", Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed},
			Applied{GrantsRan: true, DWOConfigRan: true, DWOConfig: dwoconfig.Outcome{NotServed: true}},
			want{action: Configure, ready: "False/DevWorkspaceMissing", requeue: blockedRecheck}},
		{"a_tenants_binding_blocks_its_namespace_only", Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed}, noGrantsFor("mallory"),
			want{action: Configure, ready: "True/Configured", degraded: "True/GrantBlocked", requeue: blockedRecheck, said: []string{"mallory/nested-workspaces-use-scc-nested-container"}}},
		{"a_thousand_blocked_namespaces_are_named_five", Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed},
			Applied{GrantsRan: true, DWOConfigRan: true, Grants: grants.Outcome{Blocked: many(1000)}},
			want{action: Configure, degraded: "True/GrantBlocked", requeue: blockedRecheck, said: []string{"tenant-004/", "and 995 more"}}},
		{"a_grant_that_fails_in_one_namespace", Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed},
			Applied{GrantsRan: true, DWOConfigRan: true, Grants: grants.Outcome{Failed: []grants.NamespaceError{{Namespace: "bob", Err: errors.New("etcdserver: timeout")}}}},
			want{action: Configure, ready: "True/Configured", degraded: "True/GrantFailed", retry: true, said: []string{"bob", "etcdserver: timeout"}}},
		{"an_external_config_overrides_ours", Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed},
			Applied{GrantsRan: true, DWOConfigRan: true, DWOConfig: dwoconfig.Outcome{Overrides: []dwoconfig.Override{{Namespace: "team", Name: "cfg", Field: "hostUsers", Value: "true"}}}},
			want{action: Configure, ready: "True/Configured", degraded: "True/ExternalConfigOverrides", said: []string{`team/cfg sets config.workspace.hostUsers="true"`}}},
		{"release_of_the_old_scc_fails", Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed}, Applied{GrantsRan: true, DWOConfigRan: true, Release: errors.New("delete SCC: 500")},
			want{action: Configure, ready: "False/ApplyFailed", retry: true}},
		// Outcomes seen on the workspaces.
		{"pinned_workspaces_refused_by_scc_admission", withWorkspaces(Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed}, refused), ok,
			want{action: Configure, ready: "True/Configured", degraded: "True/WorkspacesRefusedBySCC", said: []string{"alice/ws", "the pin or its grants are at fault"}}},
		{"a_workspace_refused_for_what_it_asks_itself_degrades_nothing", withWorkspaces(Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed}, theirs), ok,
			want{action: Configure, ready: "True/Configured", degraded: "False/AsExpected"}},
		// Detection's own findings, and the fence.
		{"detection_degraded_passes_through", Observation{Toggle: toggle(true), Report: withDegraded(supported("4.22.0"), detect.ReasonDevSpacesContainerRunUnsupported, "CheCluster x/y"), BuiltIn: fixed}, ok,
			want{action: Configure, degraded: "True/DevSpacesContainerRunUnsupported"}},
		{"no_fence", Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed, Fence: &FenceCheck{Detail: "a dry run of a privileged SCC was admitted"}}, ok,
			want{action: Configure, ready: "True/Configured", degraded: "True/FenceMissing", said: []string{"oc apply -k manifests/policy"}}},
		{"fenced", Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed, Fence: &FenceCheck{Fenced: true}}, ok,
			want{action: Configure, degraded: "False/AsExpected"}},
	}
}

func deleting(nc *enablerv1alpha1.NestedContainers) {
	nc.DeletionTimestamp = ptr.To(metav1.Now())
	nc.Finalizers = []string{Finalizer}
}

func TestDecideAndJudge(t *testing.T) {
	for _, r := range rows(t) {
		t.Run(r.name, func(t *testing.T) {
			p := decide(r.obs)
			if p.Action != r.want.action {
				t.Fatalf("action = %d, want %d (plan %+v)", p.Action, r.want.action, p)
			}
			v := judge(r.obs, p, r.applied)
			for _, c := range []struct {
				name, want string
				got        *metav1.Condition
			}{{"Supported", r.want.supported, v.Supported}, {"Ready", r.want.ready, v.Ready}, {"Degraded", r.want.degraded, v.Degraded}} {
				if c.want != "" && conditionString(c.got) != c.want {
					t.Errorf("%s = %s, want %s (%v)", c.name, conditionString(c.got), c.want, c.got)
				}
			}
			if want := strings.TrimPrefix(r.want.sccName, "-"); r.want.sccName != "" && v.SCC.Name != want {
				t.Errorf("status.scc = %+v, want %q", v.SCC, want)
			}
			all := ""
			for _, c := range []*metav1.Condition{v.Supported, v.Ready, v.Degraded} {
				if c != nil {
					all += c.Message + "\n"
					if len(c.Message) > maxMessage+len("…") {
						t.Errorf("%s message is %d bytes", c.Type, len(c.Message))
					}
				}
			}
			all += v.SCC.BuiltInPassedOver
			for _, s := range r.want.said {
				if !strings.Contains(all, s) {
					t.Errorf("messages do not say %q:\n%s", s, all)
				}
			}
			if (v.Retry != nil) != r.want.retry {
				t.Errorf("retry = %v, want %t", v.Retry, r.want.retry)
			}
			if v.RequeueAfter != r.want.requeue {
				t.Errorf("requeue after %s, want %s", v.RequeueAfter, r.want.requeue)
			}
		})
	}
}

// A reason added without a row fails here: every reason the API defines
// is what some row of TestDecideAndJudge expects.
func TestEveryReasonHasARow(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range rows(t) {
		for _, c := range []string{r.want.supported, r.want.ready, r.want.degraded} {
			if _, reason, ok := strings.Cut(c, "/"); ok {
				seen[reason] = true
			}
		}
	}
	for name, value := range reasonConstants(t, "../api/v1alpha1/nestedcontainers_types.go") {
		if !seen[value] {
			t.Errorf("no row of TestDecideAndJudge expects %s (%q)", name, value)
		}
	}
}

// reasonConstants maps the Reason* string constants of a Go file to their
// values.
func reasonConstants(t *testing.T, path string) map[string]string {
	t.Helper()
	out, err := goconst.Strings(path, "Reason")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Mid-upgrade the FeatureGate may not list the new version yet: a cluster
// that was configured keeps its configuration rather than tearing it down.
func TestHoldOnlyForReasonsThatPass(t *testing.T) {
	for _, tc := range []struct {
		name       string
		reasons    []detect.Reason
		configured bool
		wantHold   bool
	}{
		{"feature_gate_without_the_new_version", []detect.Reason{{Code: detect.ReasonFeatureGateVersionMissing}}, true, true},
		{"cluster_version_unreadable", []detect.Reason{{Code: detect.ReasonClusterVersionMissing}}, true, true},
		{"not_configured_before_holds_nothing", []detect.Reason{{Code: detect.ReasonFeatureGateVersionMissing}}, false, false},
		{"gates_turned_off_is_a_fact", []detect.Reason{{Code: detect.ReasonFeatureGatesNotEnabled}}, true, false},
		{"one_fact_among_passing_reasons_is_a_fact", []detect.Reason{{Code: detect.ReasonFeatureGateVersionMissing}, {Code: detect.ReasonOpenShiftTooOld}}, true, false},
		// Right after an API server restart its CRD-served groups are
		// missing from discovery for a moment.
		{"openshift_group_gone_after_a_restart", []detect.Reason{{Code: detect.ReasonNotOpenShift}}, true, true},
		{"not_openshift_never_configured_holds_nothing", []detect.Reason{{Code: detect.ReasonNotOpenShift}}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := toggle(true)
			if tc.configured {
				configured(nc)
			}
			p := decide(Observation{Toggle: nc, Report: unsupported(tc.reasons...)})
			if (p.Action == Hold) != tc.wantHold {
				t.Errorf("plan = %+v, want hold %t", p, tc.wantHold)
			}
		})
	}
}

// The plan's workspace settings: what DWO is configured with, whatever SCC
// is chosen; CHOWN only for Dev Spaces' own configuration to add.
func TestPlanSettings(t *testing.T) {
	fixed := builtIn(t, localcluster.NestedContainer)
	sas := map[string][]rbacv1.Subject{"alice": {{Kind: rbacv1.ServiceAccountKind, Namespace: "alice", Name: "ws-sa"}}}
	for _, tc := range []struct {
		name     string
		obs      Observation
		wantSCC  string
		wantCaps []string
	}{
		{"builtin", Observation{Toggle: toggle(true), Report: supported("4.22.0"), BuiltIn: fixed}, "nested-container", []string{"SETUID", "SETGID"}},
		{"ours_for_dev_spaces_allows_chown", Observation{Toggle: toggle(true), Report: devSpaces(supported("4.22.0"), true), BuiltIn: fixed}, "nested-podman", []string{"SETUID", "SETGID", "CHOWN"}},
		{"chown_asked_needs_ours", Observation{Toggle: toggle(true, func(nc *enablerv1alpha1.NestedContainers) {
			nc.Spec.Capabilities = []string{"SETUID", "SETGID", "cap_chown"}
		}), Report: supported("4.22.0"), BuiltIn: fixed}, "nested-podman", []string{"SETUID", "SETGID", "CHOWN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.obs.Workspaces.ServiceAccounts = sas
			p := decide(tc.obs)
			if p.SCC.Name != tc.wantSCC || p.Settings.SCCName != tc.wantSCC || !slices.Equal(p.SCC.Capabilities, tc.wantCaps) {
				t.Errorf("plan SCC %+v, settings pin %q; want %s with %v", p.SCC, p.Settings.SCCName, tc.wantSCC, tc.wantCaps)
			}
			if slices.Contains(p.Settings.Capabilities, "CHOWN") != slices.Contains(tc.obs.Toggle.NormalizedCapabilities(), "CHOWN") {
				t.Errorf("workspace capabilities %v: CHOWN only when spec.capabilities asks", p.Settings.Capabilities)
			}
			if p.Settings.RunAsUser != 1000 || strings.Join(p.Settings.Devices, ",") != "/dev/fuse,/dev/net/tun" || len(p.Grants["alice"]) != 1 {
				t.Errorf("settings %+v, grants %v", p.Settings, p.Grants)
			}
		})
	}
}
