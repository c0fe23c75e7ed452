package udi

import (
	"strings"
	"testing"
)

func TestCheckSubIDs(t *testing.T) {
	pod := "0 200000 65536"
	tests := []struct {
		name       string
		uid, own   int
		ranges     []SubIDRange
		wantStatus Status
		wantMsg    []string
	}{
		{name: "the planned ranges are fine", uid: 1000, own: 1000, ranges: []SubIDRange{{1, 999}, {1001, 64535}},
			wantStatus: StatusOK, wantMsg: []string{"65534 IDs, all mapped"}},
		{name: "no entry fails and says what configure writes", uid: 1000, own: 1000,
			wantStatus: StatusFail, wantMsg: []string{"no entry for user (or 1000) in /etc/subuid", "it writes user:1:999, user:1001:64535"}},
		{name: "the UDI formula for UID 1000 works but leaves nobody unmapped", uid: 1000, own: 1000, ranges: []SubIDRange{{1001, 64535}},
			wantStatus: StatusWarn, wantMsg: []string{"only 64535 subordinate UIDs", "potentially insufficient UIDs or GIDs", "leaves 1..999 unused"}},
		{name: "the UDI formula for UID 65535 is empty and past the map", uid: 65535, own: 65535, ranges: []SubIDRange{{65536, 0}},
			wantStatus: StatusFail, wantMsg: []string{"is the UDI entrypoint's formula user:UID+1:65535-UID, which for UID 65535 gives 0 IDs",
				`newuidmap: uid range [1-1) -> [65536-65536) not allowed`}},
		{name: "the UDI formula for a UID above the map has a negative count", uid: 70000, own: 70000, ranges: []SubIDRange{{70001, -4465}},
			wantStatus: StatusFail, wantMsg: []string{"which for UID 70000 gives -4465 IDs"}},
		{name: "a range past the map from UID+1 is named as the UDI formula", uid: 1000, own: 1000, ranges: []SubIDRange{{1001, 65535}},
			wantStatus: StatusFail, wantMsg: []string{"(the UDI entrypoint's user:UID+1:... formula) runs to UID 66535", "newuidmap: write to uid_map failed: Operation not permitted"}},
		{name: "the UDI image's static line reaches past the map", uid: 1000, own: 1000, ranges: []SubIDRange{{10000, 65536}},
			wantStatus: StatusFail, wantMsg: []string{"user:10000:65536 reaches UID 65536, which this namespace does not map"}},
		{name: "a range over the user's own UID fails with podman's message", uid: 1000, own: 1000, ranges: []SubIDRange{{1, 65535}},
			wantStatus: StatusFail, wantMsg: []string{"includes your own UID 1000", `podman refuses it with: invalid configuration: the specified mapping 1:65535 in "/etc/subuid" includes the user UID`}},
		{name: "a range including the pod's root warns", uid: 1000, own: 1000, ranges: []SubIDRange{{0, 1000}, {1001, 64535}},
			wantStatus: StatusWarn, wantMsg: []string{"includes UID 0, the pod's root"}},
		{name: "overlapping ranges fail", uid: 1000, own: 1000, ranges: []SubIDRange{{1, 999}, {500, 400}, {1001, 64535}},
			wantStatus: StatusFail, wantMsg: []string{"user:1:999 and user:500:400 overlap"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustMap(t, pod)
			plan, _ := PlanSubIDs(m, tc.own)
			findings := CheckSubIDs(SubIDCheck{File: "/etc/subuid", Kind: "UID", User: "user", UID: tc.uid, Own: tc.own,
				Ranges: tc.ranges, Map: m, Plan: plan})
			got := summarize("subuid", FormatRanges("user", tc.ranges), findings)
			if got.Status != tc.wantStatus {
				t.Errorf("status %s, want %s: %s", got.Status, tc.wantStatus, got.Detail)
			}
			line := got.Detail + " fix: " + got.Fix
			for _, want := range tc.wantMsg {
				if !strings.Contains(line, want) {
					t.Errorf("missing %q in\n%s", want, line)
				}
			}
		})
	}
}

func TestCheckSubIDsForGroups(t *testing.T) {
	m := mustMap(t, "0 200000 65536")
	plan, _ := PlanSubIDs(m, 0)
	findings := CheckSubIDs(SubIDCheck{File: "/etc/subgid", Kind: "GID", User: "user", UID: 1000, Own: 0,
		Ranges: []SubIDRange{{0, 65536}}, Map: m, Plan: plan})
	got := summarize("subgid", "", findings)
	for _, want := range []string{"includes your own GID 0", "includes the user GID", "it writes user:1:65535"} {
		if !strings.Contains(got.Detail+got.Fix, want) {
			t.Errorf("missing %q in %s / %s", want, got.Detail, got.Fix)
		}
	}
}
