package detect_test

import (
	"testing"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nested-workspaces/enabler/detect"
)

func TestParseVersion(t *testing.T) {
	cases := []struct {
		name       string
		in         string
		majorMinor string
		wantErr    bool
	}{
		{"release", "4.19.3", "4.19", false},
		{"nightly_counts_as_its_minor", "4.20.0-0.nightly-2025-06-01-123456", "4.20", false},
		{"release_candidate", "4.19.0-rc.2", "4.19", false},
		{"engineering_candidate", "4.19.0-ec.3", "4.19", false},
		{"okd_scos", "4.20.0-okd-scos.4", "4.20", false},
		{"build_metadata", "4.21.1+abc123", "4.21", false},
		{"leading_v", "v4.22.0", "4.22", false},
		{"major_minor_only", "4.23", "4.23", false},
		{"surrounding_space", " 4.20.1 ", "4.20", false},
		{"empty", "", "", true},
		{"garbage", "banana", "", true},
		{"trailing_dot", "4.19.", "", true},
		{"overflowing_number", "4.99999999999999999999999.0", "", true},
		{"leading_zero_prerelease", "4.19.0-01", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := detect.ParseVersion(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseVersion(%q) error = %v, want error %t", tc.in, err, tc.wantErr)
			}
			if err == nil && v.MajorMinor() != tc.majorMinor {
				t.Errorf("ParseVersion(%q) = %s, want %s", tc.in, v.MajorMinor(), tc.majorMinor)
			}
		})
	}
}

func TestVersionAtLeast(t *testing.T) {
	v := func(s string) detect.Version {
		t.Helper()
		p, err := detect.ParseVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name         string
		v            string
		major, minor uint64
		want         bool
	}{
		{"same_minor", "4.19.3", 4, 19, true},
		{"prerelease_counts_as_its_minor", "4.19.0-rc.2", 4, 19, true},
		{"older_minor", "4.18.20", 4, 19, false},
		{"newer_minor", "4.22.0", 4, 20, true},
		{"newer_major", "5.0.0", 4, 23, true},
		{"older_major", "3.11.0", 4, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := v(tc.v).AtLeast(tc.major, tc.minor); got != tc.want {
				t.Errorf("%s.AtLeast(%d, %d) = %t, want %t", tc.v, tc.major, tc.minor, got, tc.want)
			}
		})
	}
}

func TestCurrentVersion(t *testing.T) {
	at := func(h int) *metav1.Time {
		tm := metav1.NewTime(time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC))
		return &tm
	}
	entry := func(state configv1.UpdateState, version string, done *metav1.Time) configv1.UpdateHistory {
		return configv1.UpdateHistory{State: state, Version: version, CompletionTime: done}
	}
	cases := []struct {
		name   string
		cv     *configv1.ClusterVersion
		want   string
		wantOK bool
	}{
		{"nil_clusterversion", nil, "", false},
		{"newest_first_history_picks_the_first_completed", &configv1.ClusterVersion{Status: configv1.ClusterVersionStatus{
			History: []configv1.UpdateHistory{entry(configv1.CompletedUpdate, "4.20.1", at(5)), entry(configv1.CompletedUpdate, "4.19.3", at(2))}}}, "4.20.1", true},
		{"update_in_progress_keeps_the_completed_version", &configv1.ClusterVersion{Status: configv1.ClusterVersionStatus{
			Desired: configv1.Release{Version: "4.20.1"},
			History: []configv1.UpdateHistory{entry(configv1.PartialUpdate, "4.20.1", nil), entry(configv1.CompletedUpdate, "4.19.3", at(2))}}}, "4.19.3", true},
		{"out_of_order_history_picks_the_latest_completion", &configv1.ClusterVersion{Status: configv1.ClusterVersionStatus{
			History: []configv1.UpdateHistory{entry(configv1.CompletedUpdate, "4.19.3", at(2)), entry(configv1.CompletedUpdate, "4.20.1", at(5))}}}, "4.20.1", true},
		{"without_completion_times_the_list_order_wins", &configv1.ClusterVersion{Status: configv1.ClusterVersionStatus{
			History: []configv1.UpdateHistory{entry(configv1.CompletedUpdate, "4.20.1", nil), entry(configv1.CompletedUpdate, "4.19.3", at(2))}}}, "4.20.1", true},
		{"completed_entry_without_version_is_skipped", &configv1.ClusterVersion{Status: configv1.ClusterVersionStatus{
			History: []configv1.UpdateHistory{entry(configv1.CompletedUpdate, "", at(9)), entry(configv1.CompletedUpdate, "4.19.3", at(2))}}}, "4.19.3", true},
		{"no_completed_entry_falls_back_to_desired", &configv1.ClusterVersion{Status: configv1.ClusterVersionStatus{
			Desired: configv1.Release{Version: "4.20.0"},
			History: []configv1.UpdateHistory{entry(configv1.PartialUpdate, "4.20.0", nil)}}}, "4.20.0", true},
		{"neither_history_nor_desired", &configv1.ClusterVersion{}, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := detect.CurrentVersion(tc.cv)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("CurrentVersion = %q, %t; want %q, %t", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
