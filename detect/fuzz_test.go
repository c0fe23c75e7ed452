package detect_test

import (
	"encoding/json"
	"strings"
	"testing"

	configv1 "github.com/openshift/api/config/v1"

	"github.com/nested-workspaces/enabler/detect"
)

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"4.19.3", "4.20.0-0.nightly-2025-06-01-123456", "4.19.0-rc.2", "4.19.0-ec.3",
		"v4.22", "4.23.0+meta", "", "banana", "4..1", "4.19.-1", "99999999999999999999.1.1", "4.19.3-", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := detect.ParseVersion(s)
		if err != nil {
			return
		}
		if !v.AtLeast(v.Major, v.Minor) {
			t.Errorf("%q: a version is not at least its own major.minor", s)
		}
		if v.Minor > 0 && v.AtLeast(v.Major, v.Minor+1) {
			t.Errorf("%q: AtLeast(next minor) is true", s)
		}
		if again, err := detect.ParseVersion(v.MajorMinor()); err != nil || again.Major != v.Major || again.Minor != v.Minor {
			t.Errorf("%q: MajorMinor %q does not parse back: %v", s, v.MajorMinor(), err)
		}
		// The rules must not panic on any version a ClusterVersion may carry.
		_ = detect.Evaluate(detect.Inputs{OpenShift: true, ClusterVersion: clusterVersion(s)})
	})
}

// FuzzGateStates feeds FeatureGate objects, as JSON, and a cluster version
// through the gate rules and the whole evaluation.
func FuzzGateStates(f *testing.F) {
	seed := func(fg *configv1.FeatureGate, version string) {
		data, err := json.Marshal(fg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, version)
	}
	seed(featureGate("4.19.3", configv1.TechPreviewNoUpgrade, detect.RequiredGates(), nil), "4.19.3")
	seed(featureGate("4.19.3", configv1.CustomNoUpgrade, detect.RequiredGates()[:2], detect.RequiredGates()[2:]), "4.19.3")
	seed(featureGate("4.22.0", configv1.Default, detect.RequiredGates()[:2], nil), "4.22.0")
	seed(featureGate("4.20.1", configv1.Default, nil, nil), "4.23.0")
	f.Add([]byte(`{"spec":{"featureSet":"Bogus"},"status":{"featureGates":[{"version":"4.19.3","enabled":[{"name":""}],"disabled":null}]}}`), "4.19.3")
	f.Add([]byte(`{"status":{"featureGates":[]}}`), "")
	f.Add([]byte(`null`), "garbage")

	f.Fuzz(func(t *testing.T, data []byte, version string) {
		var fg *configv1.FeatureGate
		if err := json.Unmarshal(data, &fg); err != nil {
			return
		}
		v, _ := detect.ParseVersion(version) // a zero Version is valid input too
		entry := detect.FeatureGateEntry(fg, version)
		states := detect.GateStates(entry, v)
		for _, g := range detect.RequiredGates() {
			if _, ok := states[g]; !ok {
				t.Errorf("gate %s has no state", g)
			}
		}
		if entry != nil {
			for _, d := range entry.Disabled {
				if s, ok := states[string(d.Name)]; ok && s.Enabled() {
					t.Errorf("gate %s listed as disabled counts as enabled", d.Name)
				}
			}
		}
		r := detect.Evaluate(detect.Inputs{OpenShift: true, ClusterVersion: clusterVersion(version), FeatureGate: fg})
		if (r.Verdict == detect.Supported) != (len(r.Reasons) == 0) {
			t.Errorf("verdict %s with reasons %+v", r.Verdict, r.Reasons)
		}
		if r.Verdict == detect.Supported {
			for g, s := range r.FeatureGates {
				if !s.Enabled() {
					t.Errorf("supported with gate %s %s", g, s)
				}
			}
		}
		for _, reason := range r.Reasons {
			if strings.TrimSpace(reason.Message) == "" {
				t.Errorf("reason %s without message", reason.Code)
			}
		}
	})
}
