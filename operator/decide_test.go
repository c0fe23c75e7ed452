package operator

import (
	"slices"
	"strings"
	"testing"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
)

func TestDecide(t *testing.T) {
	supported := &detect.Report{Verdict: detect.Supported}
	unsupported := &detect.Report{Verdict: detect.Unsupported, Reasons: []detect.Reason{{Code: detect.ReasonOpenShiftTooOld, Message: "OpenShift 4.18.20 is older than 4.19"}}}
	midUpgrade := &detect.Report{Verdict: detect.Unsupported, Reasons: []detect.Reason{{Code: detect.ReasonFeatureGateVersionMissing, Message: "FeatureGate has no entry for 4.21.0"}}}
	noDWO := &detect.Report{Verdict: detect.Supported, Degraded: []detect.Reason{{Code: detect.ReasonDevWorkspaceOperatorMissing, Message: "install the DevWorkspace Operator"}}}
	oldDWO := &detect.Report{Verdict: detect.Supported, Degraded: []detect.Reason{{Code: detect.ReasonDevWorkspaceOperatorTooOld, Message: "DevWorkspace Operator 0.37 or newer required"}}}
	nc := func(enabled bool, caps ...string) *enablerv1alpha1.NestedContainers {
		n := &enablerv1alpha1.NestedContainers{}
		n.Spec.Enabled = enabled
		n.Spec.Capabilities = caps
		return n
	}
	for _, tc := range []struct {
		name       string
		nc         *enablerv1alpha1.NestedContainers
		report     *detect.Report
		builtIn    string
		configured bool
		wantNested bool
		wantSCC    string
		wantCreate bool
		wantReason string
		wantWhy    string
	}{
		{"toggle_off_is_not_nested", nc(false), supported, "", true, false, "nested-podman", true, enablerv1alpha1.ReasonDisabled, "spec.enabled is false"},
		{"unsupported_cluster_is_not_nested_and_says_why", nc(true), unsupported, "", false, false, "nested-podman", true, enablerv1alpha1.ReasonClusterUnsupported, "4.18.20"},
		{"unsupported_for_good_tears_down_even_when_configured", nc(true), unsupported, "", true, false, "nested-podman", true, enablerv1alpha1.ReasonClusterUnsupported, "4.18.20"},
		{"inconclusive_detection_never_configures_anew", nc(true), midUpgrade, "", false, false, "nested-podman", true, enablerv1alpha1.ReasonClusterUnsupported, "4.21.0"},
		{"missing_dwo_writes_nothing", nc(true), noDWO, "", false, false, "nested-podman", true, enablerv1alpha1.ReasonDevWorkspaceMissing, "install the DevWorkspace Operator"},
		{"old_dwo_writes_nothing", nc(true), oldDWO, "", false, false, "nested-podman", true, enablerv1alpha1.ReasonDevWorkspaceTooOld, "0.37"},
		{"enabled_and_supported_is_nested_under_our_scc", nc(true), supported, "", false, true, "nested-podman", true, "", ""},
		{"builtin_scc_is_used_when_offered", nc(true), supported, "nested-container", false, true, "nested-container", false, "", ""},
		{"chown_needs_our_scc_even_when_builtin_exists", nc(true, "SETUID", "SETGID", "CAP_chown"), supported, "nested-container", false, true, "nested-podman", true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := decide(tc.nc, tc.report, tc.builtIn, tc.configured)
			if p.Hold {
				t.Errorf("plan holds: %+v", p)
			}
			if p.Nested != tc.wantNested || p.SCCName != tc.wantSCC || p.CreateSCC != tc.wantCreate || p.WhyNotReason != tc.wantReason {
				t.Errorf("plan = %+v", p)
			}
			if !strings.Contains(p.WhyNot, tc.wantWhy) {
				t.Errorf("WhyNot %q lacks %q", p.WhyNot, tc.wantWhy)
			}
			if p.Settings.SCCName != p.SCCName {
				t.Errorf("pods pinned to %q but plan uses %q", p.Settings.SCCName, p.SCCName)
			}
			if !slices.Contains(p.Settings.Capabilities, "SETUID") || !slices.Contains(p.Settings.Capabilities, "SETGID") {
				t.Errorf("capabilities = %v", p.Settings.Capabilities)
			}
			if strings.Join(p.Settings.Devices, ",") != "/dev/fuse,/dev/net/tun" {
				t.Errorf("devices = %v", p.Settings.Devices)
			}
		})
	}
}

// Mid-upgrade the FeatureGate may not list the new version yet: a cluster
// that was configured keeps its configuration rather than tearing it down.
func TestDecideHoldsTheLastGoodConfiguration(t *testing.T) {
	nc := &enablerv1alpha1.NestedContainers{}
	nc.Spec.Enabled = true
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
			p := decide(nc, &detect.Report{Verdict: detect.Unsupported, Reasons: tc.reasons}, "", tc.configured)
			if p.Hold != tc.wantHold || p.Nested {
				t.Errorf("plan = %+v, want Hold=%t and not Nested", p, tc.wantHold)
			}
			if p.Hold && !strings.Contains(p.HoldWhy, "keeping the configuration") {
				t.Errorf("HoldWhy = %q", p.HoldWhy)
			}
		})
	}
}

// Who shapes Dev Spaces' workspaces, for each CheCluster setting and the
// toggle: with container run on, Che's workspaces keep our pin and add
// CHOWN, so the SCC must be ours, allowing CHOWN, even where OpenShift's
// nested-container is offered (the DevWorkspaceOperatorConfig still adds
// only what spec.capabilities says); with it off, our toggle nests them
// like any other workspace, under the built-in SCC where there is one.
func TestDecideWithDevSpaces(t *testing.T) {
	che := func(run, build bool) []detect.DevSpaces {
		return []detect.DevSpaces{{Namespace: "openshift-devspaces", Name: "devspaces", ContainerRun: run, ContainerRunSCC: "container-run",
			ContainerBuild: build, ContainerBuildSCC: "container-build"}}
	}
	for _, tc := range []struct {
		name      string
		enabled   bool
		che       []detect.DevSpaces
		wantSCC   string
		wantChown bool
		wantSaid  string // in Note (enabled) or WhyNot (disabled)
	}{
		{"run_on_toggle_on_our_scc_allows_chown", true, che(true, true), "nested-podman", true, "container run is on in CheCluster openshift-devspaces/devspaces: its workspaces keep this pin and add CHOWN"},
		{"run_off_toggle_on_builtin_scc_nests_che_too", true, che(false, true), "nested-container", false, "container run is off in CheCluster openshift-devspaces/devspaces: this operator makes its workspaces nested-capable too"},
		{"run_off_build_off_toggle_on", true, che(false, false), "nested-container", false, "this operator makes its workspaces nested-capable too"},
		{"run_on_toggle_off_says_dev_spaces_nests_its_own", false, che(true, false), "nested-podman", true, "Dev Spaces' container run (CheCluster openshift-devspaces/devspaces) makes its own workspaces nested under SCC container-run"},
		{"no_dev_spaces_builtin", true, nil, "nested-container", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &enablerv1alpha1.NestedContainers{}
			n.Spec.Enabled = tc.enabled
			p := decide(n, &detect.Report{Verdict: detect.Supported, DevSpaces: tc.che}, "nested-container", false)
			if p.Nested != tc.enabled || p.SCCName != tc.wantSCC || p.CreateSCC != (tc.wantSCC == "nested-podman") {
				t.Fatalf("plan = %+v, want nested=%t under %s", p, tc.enabled, tc.wantSCC)
			}
			if slices.Contains(p.SCCCapabilities, "CHOWN") != tc.wantChown || slices.Contains(p.Settings.Capabilities, "CHOWN") {
				t.Errorf("SCC capabilities %v (want CHOWN: %t), workspace capabilities %v (want no CHOWN)", p.SCCCapabilities, tc.wantChown, p.Settings.Capabilities)
			}
			said := p.Note
			if !tc.enabled {
				said = p.WhyNot
			}
			if tc.wantSaid == "" && said != "" && tc.enabled {
				t.Errorf("Note without Dev Spaces: %q", said)
			}
			if !strings.Contains(said, tc.wantSaid) {
				t.Errorf("status says %q, want it to say %q", said, tc.wantSaid)
			}
		})
	}
}
