package detect_test

import (
	"slices"
	"strings"
	"testing"

	configv1 "github.com/openshift/api/config/v1"

	"github.com/nested-workspaces/enabler/detect"
)

func TestEvaluate(t *testing.T) {
	const (
		uns  = detect.GateUserNamespacesSupport
		pss  = detect.GateUserNamespacesPodSecurityStandards
		proc = detect.GateProcMountType
	)
	type want struct {
		verdict  detect.Verdict
		reasons  []string // codes
		degraded []string // codes
		// contains and omits are checked against the joined reason messages.
		contains, omits []string
		gates           map[string]detect.GateState
		version         string
		featureSet      string
	}
	cases := []struct {
		name   string
		inputs func(t *testing.T) detect.Inputs
		want   want
	}{
		{
			name: "4.18_is_unsupported_whatever_the_gates",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.18.20", configv1.CustomNoUpgrade, allGates, nil)
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonOpenShiftTooOld},
				contains: []string{"OpenShift 4.18.20", "upgrade to OpenShift 4.20"}, version: "4.18.20", featureSet: "CustomNoUpgrade"},
		},
		{
			name: "4.19_default_featureset_is_unsupported",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.19.3", configv1.Default, nil, allGates)
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonFeatureGatesNotEnabled},
				contains:   []string{"OpenShift 4.19.3 with featureSet Default: enable TechPreviewNoUpgrade or CustomNoUpgrade with UserNamespacesSupport, UserNamespacesPodSecurityStandards, ProcMountType"},
				gates:      map[string]detect.GateState{uns: detect.GateDisabled, pss: detect.GateDisabled, proc: detect.GateDisabled},
				featureSet: "Default"},
		},
		{
			name: "4.19_techpreview_is_supported",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.19.3", configv1.TechPreviewNoUpgrade, allGates, nil)
			},
			want: want{verdict: detect.Supported, featureSet: "TechPreviewNoUpgrade",
				gates: map[string]detect.GateState{uns: detect.GateEnabled, pss: detect.GateEnabled, proc: detect.GateEnabled}},
		},
		{
			name: "4.19_customnoupgrade_with_all_three_gates_is_supported",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.19.3", configv1.CustomNoUpgrade, allGates, nil)
			},
			want: want{verdict: detect.Supported},
		},
		{
			name: "4.19_customnoupgrade_without_procmounttype_names_exactly_that_gate",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.19.3", configv1.CustomNoUpgrade, []string{uns, pss}, []string{proc})
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonFeatureGatesNotEnabled},
				contains: []string{"featureSet CustomNoUpgrade", "feature gate ProcMountType is not enabled", "remove ProcMountType from spec.customNoUpgrade.disabled"},
				omits:    []string{uns, pss}},
		},
		{
			name: "4.19_customnoupgrade_with_gates_absent_names_both",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.19.3", configv1.CustomNoUpgrade, []string{proc}, nil)
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonFeatureGatesNotEnabled},
				contains: []string{"feature gates UserNamespacesSupport, UserNamespacesPodSecurityStandards are not enabled"},
				omits:    []string{"ProcMountType", "remove"},
				gates:    map[string]detect.GateState{uns: detect.GateAbsentUnknown, pss: detect.GateAbsentUnknown, proc: detect.GateEnabled}},
		},
		{
			name: "4.19_nightly_counts_as_4.19",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.19.0-0.nightly-2025-06-01-123456", configv1.Default, nil, allGates)
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonFeatureGatesNotEnabled},
				contains: []string{"enable TechPreviewNoUpgrade"}, version: "4.19.0-0.nightly-2025-06-01-123456"},
		},
		{
			name: "4.19_engineering_candidate_with_techpreview_is_supported",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.19.0-ec.3", configv1.TechPreviewNoUpgrade, allGates, nil)
			},
			want: want{verdict: detect.Supported},
		},
		{
			name: "4.20_default_is_supported",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.20.1", configv1.Default, allGates, nil)
			},
			want: want{verdict: detect.Supported, featureSet: "Default", version: "4.20.1"},
		},
		{
			name: "4.20_release_candidate_is_supported",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.20.0-rc.2", configv1.Default, allGates, nil)
			},
			want: want{verdict: detect.Supported},
		},
		{
			name: "4.21_default_is_supported",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.21.4", configv1.Default, allGates, nil)
			},
			want: want{verdict: detect.Supported},
		},
		{
			name: "4.20_customnoupgrade_disabling_a_gate_is_unsupported",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.20.1", configv1.CustomNoUpgrade, []string{uns, pss}, []string{proc})
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonFeatureGatesNotEnabled},
				contains: []string{"remove ProcMountType from spec.customNoUpgrade.disabled"}},
		},
		{
			name: "4.21_gate_absent_before_ga_is_not_enabled",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.21.0", configv1.Default, []string{uns, pss}, nil)
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonFeatureGatesNotEnabled},
				contains: []string{"feature gate ProcMountType is not enabled"},
				gates:    map[string]detect.GateState{proc: detect.GateAbsentUnknown}},
		},
		{
			name: "4.22_procmounttype_absent_is_supported_as_ga",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.22.0", configv1.Default, []string{uns, pss}, nil)
			},
			want: want{verdict: detect.Supported,
				gates: map[string]detect.GateState{uns: detect.GateEnabled, pss: detect.GateEnabled, proc: detect.GateAbsentGA}},
		},
		{
			name: "4.22_procmounttype_listed_disabled_never_counts_as_ga",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.22.0", configv1.CustomNoUpgrade, []string{uns, pss}, []string{proc})
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonFeatureGatesNotEnabled},
				gates: map[string]detect.GateState{proc: detect.GateDisabled}},
		},
		{
			name: "4.22_usernamespaces_gates_absent_are_not_yet_ga",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.22.0", configv1.Default, nil, nil)
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonFeatureGatesNotEnabled},
				contains: []string{"UserNamespacesSupport, UserNamespacesPodSecurityStandards are not enabled"}, omits: []string{proc},
				gates: map[string]detect.GateState{uns: detect.GateAbsentUnknown, pss: detect.GateAbsentUnknown, proc: detect.GateAbsentGA}},
		},
		{
			name: "4.23_all_gates_absent_are_ga",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "4.23.0", configv1.Default, nil, nil)
			},
			want: want{verdict: detect.Supported,
				gates: map[string]detect.GateState{uns: detect.GateAbsentGA, pss: detect.GateAbsentGA, proc: detect.GateAbsentGA}},
		},
		{
			name: "4.23_without_featuregate_is_supported_because_all_gates_are_ga",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.23.1", configv1.Default, nil, nil)
				in.FeatureGate = nil
				return in
			},
			want: want{verdict: detect.Supported, featureSet: ""},
		},
		{
			name: "5.0_counts_as_newer_than_every_4.x",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "5.0.0", configv1.Default, nil, nil)
			},
			want: want{verdict: detect.Supported},
		},
		{
			name: "plain_kubernetes_is_unsupported",
			inputs: func(t *testing.T) detect.Inputs {
				return detect.Inputs{KubernetesVersion: "v1.33.13", Nodes: nodes(1, 0), DevWorkspaceConfigCRD: dwoCRD(t, true)}
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonNotOpenShift},
				contains: []string{"not OpenShift", "OpenShift 4.20 or newer"}},
		},
		{
			name: "clusterversion_missing_is_unsupported",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.20.1", configv1.Default, allGates, nil)
				in.ClusterVersion = nil
				return in
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonClusterVersionMissing}, contains: []string{`ClusterVersion "version" does not exist`}},
		},
		{
			name: "clusterversion_without_history_and_desired_is_unsupported",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.20.1", configv1.Default, allGates, nil)
				in.ClusterVersion.Status = configv1.ClusterVersionStatus{}
				return in
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonClusterVersionUnknown}, contains: []string{"no Completed entry"}},
		},
		{
			name: "clusterversion_without_history_uses_desired",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.20.1", configv1.Default, allGates, nil)
				in.ClusterVersion.Status.History = nil
				return in
			},
			want: want{verdict: detect.Supported, version: "4.20.1"},
		},
		{
			name: "garbage_version_is_unsupported",
			inputs: func(t *testing.T) detect.Inputs {
				return healthy(t, "four-point-twenty", configv1.Default, allGates, nil)
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonVersionUnparsable},
				contains: []string{`"four-point-twenty"`}, version: "four-point-twenty"},
		},
		{
			name: "featuregate_missing_at_4.20_is_unsupported",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.20.1", configv1.Default, allGates, nil)
				in.FeatureGate = nil
				return in
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonFeatureGateMissing}, contains: []string{`FeatureGate "cluster" does not exist`}},
		},
		{
			name: "featuregate_without_entry_for_the_cluster_version_is_unsupported",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.19.3", configv1.TechPreviewNoUpgrade, allGates, nil)
				in.FeatureGate.Status.FeatureGates[0].Version = "4.19.2"
				return in
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonFeatureGateVersionMissing},
				contains: []string{"no gates for version 4.19.3", `"4.19.2"`}},
		},
		{
			name: "featuregate_with_empty_status_is_unsupported",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.20.1", configv1.Default, allGates, nil)
				in.FeatureGate.Status.FeatureGates = nil
				return in
			},
			want: want{verdict: detect.Unsupported, reasons: []string{detect.ReasonFeatureGateVersionMissing}, contains: []string{"it lists none"}},
		},
		{
			name: "zero_user_namespace_nodes_is_degraded_not_unsupported",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.20.1", configv1.Default, allGates, nil)
				in.Nodes = nodes(0, 2)
				return in
			},
			want: want{verdict: detect.Supported, degraded: []string{detect.ReasonNoUserNamespaceNodes}},
		},
		{
			name: "no_nodes_is_degraded",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.20.1", configv1.Default, allGates, nil)
				in.Nodes = nil
				return in
			},
			want: want{verdict: detect.Supported, degraded: []string{detect.ReasonNoUserNamespaceNodes}},
		},
		{
			name: "devworkspace_operator_missing_is_degraded",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.20.1", configv1.Default, allGates, nil)
				in.DevWorkspaceConfigCRD = nil
				return in
			},
			want: want{verdict: detect.Supported, degraded: []string{detect.ReasonDevWorkspaceOperatorMissing}},
		},
		{
			name: "devworkspace_operator_without_hostusers_is_degraded",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.20.1", configv1.Default, allGates, nil)
				in.DevWorkspaceConfigCRD = dwoCRD(t, false)
				return in
			},
			want: want{verdict: detect.Supported, degraded: []string{detect.ReasonDevWorkspaceOperatorTooOld}},
		},
		{
			name: "scc_crd_pruning_usernamespacelevel_is_degraded_when_supported",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.20.1", configv1.Default, allGates, nil)
				in.SCCCRD = sccCRD(t, false)
				return in
			},
			want: want{verdict: detect.Supported, degraded: []string{detect.ReasonSCCUserNamespaceLevelPruned}},
		},
		{
			name: "unreadable_scc_crd_is_not_a_finding",
			inputs: func(t *testing.T) detect.Inputs {
				in := healthy(t, "4.20.1", configv1.Default, allGates, nil)
				in.SCCCRD = nil
				return in
			},
			want: want{verdict: detect.Supported},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := detect.Evaluate(tc.inputs(t))
			if r.Verdict != tc.want.verdict {
				t.Errorf("verdict = %s, want %s; reasons %+v", r.Verdict, tc.want.verdict, r.Reasons)
			}
			if got := codes(r.Reasons); !slices.Equal(got, tc.want.reasons) {
				t.Errorf("reasons = %v, want %v: %+v", got, tc.want.reasons, r.Reasons)
			}
			if got := codes(r.Degraded); !slices.Equal(got, tc.want.degraded) {
				t.Errorf("degraded = %v, want %v: %+v", got, tc.want.degraded, r.Degraded)
			}
			msgs := messages(r.Reasons)
			for _, s := range tc.want.contains {
				if !strings.Contains(msgs, s) {
					t.Errorf("reasons %q do not contain %q", msgs, s)
				}
			}
			for _, s := range tc.want.omits {
				if strings.Contains(msgs, s) {
					t.Errorf("reasons %q contain %q", msgs, s)
				}
			}
			for g, s := range tc.want.gates {
				if r.FeatureGates[g] != s {
					t.Errorf("gate %s = %q, want %q", g, r.FeatureGates[g], s)
				}
			}
			if tc.want.version != "" && r.OpenShiftVersion != tc.want.version {
				t.Errorf("OpenShiftVersion = %q, want %q", r.OpenShiftVersion, tc.want.version)
			}
			if tc.want.featureSet != "" && r.FeatureSet != tc.want.featureSet {
				t.Errorf("FeatureSet = %q, want %q", r.FeatureSet, tc.want.featureSet)
			}
			for _, reason := range append(append([]detect.Reason{}, r.Reasons...), r.Degraded...) {
				if !validReasonCode(reason.Code) || reason.Message == "" {
					t.Errorf("reason %+v: code must be a condition reason and the message non-empty", reason)
				}
			}
		})
	}
}

func codes(rs []detect.Reason) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

func messages(rs []detect.Reason) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Message)
	}
	return strings.Join(out, "\n")
}

// validReasonCode follows metav1.Condition's reason pattern.
func validReasonCode(s string) bool {
	if s == "" || !('A' <= s[0] && s[0] <= 'Z' || 'a' <= s[0] && s[0] <= 'z') {
		return false
	}
	for _, r := range s {
		if !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func TestCountNodes(t *testing.T) {
	in := nodes(2, 1)
	// A node whose only user-namespace-capable handler is not the default
	// one does not count; neither do nodes that report nothing.
	extra := nodes(0, 1)[0]
	extra.Status.RuntimeHandlers = append(extra.Status.RuntimeHandlers, nodes(1, 0)[0].Status.RuntimeHandlers[0])
	extra.Status.RuntimeHandlers[1].Name = "crun"
	in = append(in, extra)
	bare := nodes(1, 0)[0]
	bare.Status.RuntimeHandlers[0].Features = nil
	in = append(in, bare)
	nilFlag := nodes(1, 0)[0]
	nilFlag.Status.RuntimeHandlers[0].Features.UserNamespaces = nil
	in = append(in, nilFlag)
	got := detect.CountNodes(in)
	if got != (detect.NodeCounts{Total: 6, UserNamespaces: 2}) {
		t.Errorf("CountNodes = %+v, want 6 total, 2 with user namespaces", got)
	}
}

func TestDevWorkspaceFromCRD(t *testing.T) {
	cases := []struct {
		name string
		crd  func(t *testing.T) *detect.DevWorkspaceSupport
		want detect.DevWorkspaceSupport
	}{
		{"crd_absent_is_not_installed", func(t *testing.T) *detect.DevWorkspaceSupport {
			s := detect.DevWorkspaceFromCRD(nil)
			return &s
		}, detect.DevWorkspaceSupport{}},
		{"dwo_0.43_crd_supports_hostusers", func(t *testing.T) *detect.DevWorkspaceSupport {
			s := detect.DevWorkspaceFromCRD(dwoCRD(t, true))
			return &s
		}, detect.DevWorkspaceSupport{Installed: true, HostUsersSupported: true}},
		{"crd_without_hostusers_is_too_old", func(t *testing.T) *detect.DevWorkspaceSupport {
			s := detect.DevWorkspaceFromCRD(dwoCRD(t, false))
			return &s
		}, detect.DevWorkspaceSupport{Installed: true}},
		{"crd_without_schema_is_too_old", func(t *testing.T) *detect.DevWorkspaceSupport {
			crd := dwoCRD(t, true)
			for i := range crd.Spec.Versions {
				crd.Spec.Versions[i].Schema = nil
			}
			s := detect.DevWorkspaceFromCRD(crd)
			return &s
		}, detect.DevWorkspaceSupport{Installed: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := *tc.crd(t); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSCCFromCRD(t *testing.T) {
	if got := detect.SCCFromCRD(nil); got.UserNamespaceLevelInSchema != nil {
		t.Errorf("absent CRD: got %v, want unknown", *got.UserNamespaceLevelInSchema)
	}
	for _, has := range []bool{true, false} {
		got := detect.SCCFromCRD(sccCRD(t, has)).UserNamespaceLevelInSchema
		if got == nil || *got != has {
			t.Errorf("userNamespaceLevel in schema %t: got %v", has, got)
		}
	}
}

func TestOpenShiftMinor(t *testing.T) {
	cases := []struct {
		name string
		r    *detect.Report
		want int
	}{
		{"nil_report", nil, 0},
		{"kubernetes", &detect.Report{OpenShiftVersion: "4.20.1"}, 0},
		{"openshift_4.20", &detect.Report{OpenShift: true, OpenShiftVersion: "4.20.1"}, 20},
		{"nightly_4.22", &detect.Report{OpenShift: true, OpenShiftVersion: "4.22.0-0.nightly-2026-01-01-000000"}, 22},
		{"unknown_version", &detect.Report{OpenShift: true}, 0},
		{"garbage_version", &detect.Report{OpenShift: true, OpenShiftVersion: "x"}, 0},
		{"openshift_3", &detect.Report{OpenShift: true, OpenShiftVersion: "3.11.0"}, 0},
		{"later_major", &detect.Report{OpenShift: true, OpenShiftVersion: "5.1.0"}, int(^uint(0) >> 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.OpenShiftMinor(); got != tc.want {
				t.Errorf("OpenShiftMinor = %d, want %d", got, tc.want)
			}
		})
	}
}
