package detect_test

import (
	"testing"

	configv1 "github.com/openshift/api/config/v1"

	"github.com/nested-workspaces/enabler/detect"
)

func TestGateStates(t *testing.T) {
	const (
		uns  = detect.GateUserNamespacesSupport
		pss  = detect.GateUserNamespacesPodSecurityStandards
		proc = detect.GateProcMountType
	)
	E, D, GA, U := detect.GateEnabled, detect.GateDisabled, detect.GateAbsentGA, detect.GateAbsentUnknown
	cases := []struct {
		name               string
		version            string
		entry              *configv1.FeatureGateDetails
		uns, pss, procWant detect.GateState
	}{
		{"listed_gates_keep_their_state", "4.19.3", details([]string{uns}, []string{pss, proc}), E, D, D},
		{"no_entry_before_ga_is_unknown", "4.20.1", nil, U, U, U},
		{"no_entry_at_4.22_makes_procmounttype_ga", "4.22.0", nil, U, U, GA},
		{"no_entry_at_4.23_makes_all_ga", "4.23.0", nil, GA, GA, GA},
		{"disabled_wins_over_ga", "4.23.0", details(nil, []string{proc}), GA, GA, D},
		{"disabled_wins_over_enabled", "4.20.1", details([]string{proc, uns, pss}, []string{proc}), E, E, D},
		{"nightly_of_4.22_is_4.22", "4.22.0-0.nightly-2026-01-01-000000", details([]string{uns, pss}, nil), E, E, GA},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := detect.ParseVersion(tc.version)
			if err != nil {
				t.Fatal(err)
			}
			got := detect.GateStates(tc.entry, v)
			want := map[string]detect.GateState{uns: tc.uns, pss: tc.pss, proc: tc.procWant}
			if len(got) != len(want) {
				t.Errorf("GateStates = %v, want exactly %v", got, want)
			}
			for g, s := range want {
				if got[g] != s {
					t.Errorf("%s = %s, want %s", g, got[g], s)
				}
			}
		})
	}
}

func TestFeatureGateEntry(t *testing.T) {
	fg := &configv1.FeatureGate{Status: configv1.FeatureGateStatus{FeatureGates: []configv1.FeatureGateDetails{
		{Version: "4.20.0"}, {Version: "4.19.2"}, {Version: "4.19.3"},
	}}}
	if e := detect.FeatureGateEntry(fg, "4.19.3"); e == nil || e.Version != "4.19.3" {
		t.Errorf("entry for 4.19.3 = %+v", e)
	}
	if e := detect.FeatureGateEntry(fg, "4.19"); e != nil {
		t.Errorf("entry for 4.19 = %+v, want none: versions match exactly", e)
	}
	if e := detect.FeatureGateEntry(nil, "4.19.3"); e != nil {
		t.Errorf("entry of a missing FeatureGate = %+v", e)
	}
}

func details(enabled, disabled []string) *configv1.FeatureGateDetails {
	return &configv1.FeatureGateDetails{Version: "any", Enabled: attrs(enabled), Disabled: attrs(disabled)}
}
