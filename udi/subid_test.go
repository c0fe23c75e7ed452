package udi

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.podman.io/storage/pkg/idtools"
)

func mustMap(t testing.TB, s string) []idtools.IDMap {
	t.Helper()
	m, err := ParseIDMap(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPlanSubIDs(t *testing.T) {
	tests := []struct {
		name    string
		m       string
		own     int
		want    []SubIDRange
		wantErr string
	}{
		{name: "UID 1000 in a 65536 pod gets everything but 0 and 1000",
			m: "0 200000 65536", own: 1000, want: []SubIDRange{{1, 999}, {1001, 64535}}},
		{name: "GID 0, as in an OpenShift pod, gets 1 to 65535",
			m: "0 200000 65536", own: 0, want: []SubIDRange{{1, 65535}}},
		{name: "UID 1 leaves no range below it",
			m: "0 200000 65536", own: 1, want: []SubIDRange{{2, 65534}}},
		{name: "the highest UID 65535 gets 1 to 65534",
			m: "0 200000 65536", own: 65535, want: []SubIDRange{{1, 65534}}},
		{name: "a map in pieces that meet inside is one span",
			m: "0 1000 1\n1 1 999\n1000 1001 64535", own: 0, want: []SubIDRange{{1, 65534}}},
		{name: "a larger pod namespace is used whole",
			m: "0 1000000 131072", own: 1000, want: []SubIDRange{{1, 999}, {1001, 130071}}},
		{name: "a map with a hole keeps the hole",
			m: "0 100000 100\n200 300000 100", own: 50, want: []SubIDRange{{1, 49}, {51, 49}, {200, 100}}},
		{name: "an unmapped own ID is refused", m: "0 200000 65536", own: 70000, wantErr: "not mapped"},
		{name: "a namespace of one ID leaves nothing", m: "0 1000 1", own: 0, wantErr: "none is left"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PlanSubIDs(mustMap(t, tc.m), tc.own)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidatePlan(t *testing.T) {
	m := "0 200000 65536"
	tests := []struct {
		name    string
		rs      []SubIDRange
		wantErr string
	}{
		{name: "the planned ranges pass", rs: []SubIDRange{{1, 999}, {1001, 64535}}},
		{name: "a range past the map is rejected", rs: []SubIDRange{{1001, 65535}}, wantErr: "exceeds the namespace's map (0 200000 65536): ID 65536 is not mapped"},
		{name: "a range over the own ID is rejected", rs: []SubIDRange{{1, 65535}}, wantErr: "includes the user's own ID 1000"},
		{name: "overlapping ranges are rejected", rs: []SubIDRange{{1, 500}, {400, 500}}, wantErr: "overlap"},
		{name: "an empty range is rejected", rs: []SubIDRange{{65536, 0}}, wantErr: "empty"},
		{name: "a range in a hole of the map is rejected", rs: []SubIDRange{{150, 10}}, wantErr: "ID 150 is not mapped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mm := m
			if strings.Contains(tc.name, "hole") {
				mm = "0 100000 100\n200 300000 100"
			}
			err := ValidatePlan(tc.rs, mustMap(t, mm), 1000)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseSubIDFile(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		user    string
		uid     int
		want    []SubIDRange
		wantErr string
	}{
		{name: "entries are found by name", in: "user:10000:65536\nother:1:2\n", user: "user", uid: 1000, want: []SubIDRange{{10000, 65536}}},
		{name: "entries are found by numeric UID", in: "1000:1:999\nuser:1001:64535\n", user: "user", uid: 1000, want: []SubIDRange{{1, 999}, {1001, 64535}}},
		{name: "comments and blank lines are skipped", in: "# managed\n\n  \nuser:1:2\n", user: "user", uid: 1000, want: []SubIDRange{{1, 2}}},
		{name: "a file without a final newline is read", in: "user:1:2", user: "user", uid: 1000, want: []SubIDRange{{1, 2}}},
		{name: "a negative count is read so the doctor can name it", in: "user:70001:-4465\n", user: "user", uid: 70000, want: []SubIDRange{{70001, -4465}}},
		{name: "a user without entries has none", in: "other:1:2\n", user: "user", uid: 1000},
		{name: "two fields are refused", in: "user:1\n", wantErr: "line 1"},
		{name: "an empty owner is refused", in: ":1:2\n", wantErr: "want owner:start:count"},
		{name: "a negative start is refused", in: "ok:1:2\nuser:-1:2\n", wantErr: "line 2"},
		{name: "text is refused", in: "user:a:b\n", wantErr: "start is not a number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseSubIDFile(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.RangesFor(tc.user, tc.uid); !slices.Equal(got, tc.want) {
				t.Errorf("RangesFor = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSubIDFileWithRanges(t *testing.T) {
	plan := []SubIDRange{{1, 999}, {1001, 64535}}
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "the UDI's static line is replaced in place, others kept",
			in:   "# subordinate IDs\nuser:10000:65536\nbuilder:300000:65536\n",
			want: "# subordinate IDs\nuser:1:999\nuser:1001:64535\nbuilder:300000:65536\n"},
		{name: "lines by numeric UID are replaced too",
			in:   "1000:5:5\nother:1:1\nuser:7:7\n",
			want: "user:1:999\nuser:1001:64535\nother:1:1\n"},
		{name: "a missing user is appended", in: "other:1:1\n", want: "other:1:1\nuser:1:999\nuser:1001:64535\n"},
		{name: "an empty file gets the user's lines", in: "", want: "user:1:999\nuser:1001:64535\n"},
		{name: "already planned content renders identically",
			in: "user:1:999\nuser:1001:64535\n", want: "user:1:999\nuser:1001:64535\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseSubIDFile(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.WithRanges("user", 1000, plan).String(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// FuzzParseSubIDFile: the parser does not panic; what it accepts renders
// back to something it reads the same; replacing one user's ranges changes
// exactly that user's ranges and no one else's.
func FuzzParseSubIDFile(f *testing.F) {
	for _, seed := range []string{
		"user:10000:65536\n", "# c\nuser:1:999\nuser:1001:64535\nother:300000:65536\n", "1000:1:2", "",
		"user:70001:-4465\n", "a:b:c\n", "::\n", "user:1\n", "\n\n#x\n", "user:4294967295:1\n",
	} {
		f.Add(seed, "user", 1000)
	}
	f.Fuzz(func(t *testing.T, in, user string, uid int) {
		p, err := ParseSubIDFile(in)
		if err != nil {
			return
		}
		again, err := ParseSubIDFile(p.String())
		if err != nil {
			t.Fatalf("rendered %q from %q does not parse: %v", p.String(), in, err)
		}
		if again.String() != p.String() {
			t.Fatalf("render is not stable: %q then %q", p.String(), again.String())
		}
		if user == "" || strings.ContainsAny(user, ":\n#") || strings.TrimSpace(user) != user {
			return
		}
		plan := []SubIDRange{{1, 999}, {1001, 64535}}
		replaced := p.WithRanges(user, uid, plan)
		reparsed, err := ParseSubIDFile(replaced.String())
		if err != nil {
			t.Fatalf("replaced file does not parse: %v\n%s", err, replaced)
		}
		if got := reparsed.RangesFor(user, uid); !slices.Equal(got, plan) {
			t.Fatalf("after replacing, %s has %v, want %v\n%s", user, got, plan, replaced)
		}
		// Nobody else's lines change.
		other, otherUID := "someone-else", uid+1
		if other == user || user == strconv.Itoa(otherUID) {
			return
		}
		if before, after := p.RangesFor(other, otherUID), reparsed.RangesFor(other, otherUID); !slices.Equal(before, after) {
			t.Fatalf("another user's ranges changed: %v -> %v", before, after)
		}
	})
}
