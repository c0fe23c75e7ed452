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
	unsupported := &detect.Report{Verdict: detect.Unsupported, Reasons: []detect.Reason{{Code: "OpenShiftTooOld", Message: "OpenShift 4.18.20 is older than 4.19"}}}
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
		wantNested bool
		wantSCC    string
		wantCreate bool
		wantReason string
		wantWhy    string
	}{
		{"toggle_off_is_not_nested", nc(false), supported, "", false, "nested-podman", true, enablerv1alpha1.ReasonDisabled, "spec.enabled is false"},
		{"unsupported_cluster_is_not_nested_and_says_why", nc(true), unsupported, "", false, "nested-podman", true, enablerv1alpha1.ReasonClusterUnsupported, "4.18.20"},
		{"enabled_and_supported_is_nested_under_our_scc", nc(true), supported, "", true, "nested-podman", true, "", ""},
		{"builtin_scc_is_used_when_offered", nc(true), supported, "nested-container", true, "nested-container", false, "", ""},
		{"chown_needs_our_scc_even_when_builtin_exists", nc(true, "SETUID", "SETGID", "CAP_chown"), supported, "nested-container", true, "nested-podman", true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := decide(tc.nc, tc.report, tc.builtIn)
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
