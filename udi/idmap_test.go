package udi

import (
	"fmt"
	"strings"
	"testing"

	"go.podman.io/storage/pkg/idtools"
)

func TestParseIDMap(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []idtools.IDMap
		wantErr string
	}{
		{name: "pod with hostUsers false maps 65536 IDs from a high host range",
			in:   "         0 1481179136      65536\n",
			want: []idtools.IDMap{{ContainerID: 0, HostID: 1481179136, Size: 65536}}},
		{name: "host namespace is the identity",
			in:   "         0          0 4294967295\n",
			want: []idtools.IDMap{{ContainerID: 0, HostID: 0, Size: 4294967295}}},
		{name: "podman container inside the pod has several lines",
			in: "         0       1000          1\n         1          1        999\n      1000       1001      64535\n",
			want: []idtools.IDMap{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 1, Size: 999},
				{ContainerID: 1000, HostID: 1001, Size: 64535}}},
		{name: "blank lines and tabs are tolerated", in: "\n0\t5\t10\n\n", want: []idtools.IDMap{{ContainerID: 0, HostID: 5, Size: 10}}},
		{name: "empty map is refused", in: "", wantErr: "no mappings"},
		{name: "two fields are refused", in: "0 1\n", wantErr: "want 3 fields"},
		{name: "four fields are refused", in: "0 1 2 3\n", wantErr: "want 3 fields"},
		{name: "negative numbers are refused", in: "0 -1 2\n", wantErr: "not three unsigned 32-bit numbers"},
		{name: "numbers over 32 bits are refused", in: "0 4294967296 1\n", wantErr: "not three unsigned 32-bit numbers"},
		{name: "text is refused", in: "zero one two\n", wantErr: "not three unsigned 32-bit numbers"},
		{name: "zero count is refused", in: "0 0 0\n", wantErr: "count is 0"},
		{name: "range running past 2^32 is refused", in: "4294967295 0 2\n", wantErr: "runs past 4294967295"},
		{name: "overlapping inside ranges are refused", in: "0 100 10\n5 200 10\n", wantErr: "overlap"},
		{name: "more lines than the kernel allows are refused", in: manyLines(maxIDMapLines + 1), wantErr: "more than 340 lines"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIDMap(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func manyLines(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d %d 1\n", i, 100000+i)
	}
	return b.String()
}

func TestIsIdentityMap(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"host namespace", "0 0 4294967295", true},
		{"pod namespace", "0 200000 65536", false},
		{"identity but shorter", "0 0 65536", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseIDMap(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := IsIdentityMap(m); got != tc.want {
				t.Errorf("IsIdentityMap(%q) = %v", tc.in, got)
			}
		})
	}
}

// FuzzParseIDMap: whatever the input, the parser does not panic, and what it
// accepts is a map the kernel could have written: non-empty, positive
// counts, within 32 bits, inside ranges disjoint, and it reads back the same
// after formatting.
func FuzzParseIDMap(f *testing.F) {
	for _, seed := range []string{
		"0 200000 65536\n", "0 0 4294967295\n", "0 1000 1\n1 1 999\n1000 1001 64535\n",
		"", "0 1", "0 -1 2", "4294967295 0 2", "0 100 10\n5 200 10\n", "\t0\t1\t2\n", "1 2 3 4",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseIDMap(in)
		if err != nil {
			return
		}
		if len(m) == 0 || len(m) > maxIDMapLines {
			t.Fatalf("accepted %d lines", len(m))
		}
		for _, e := range m {
			if e.Size <= 0 || e.ContainerID < 0 || e.HostID < 0 || e.ContainerID+e.Size > 1<<32 || e.HostID+e.Size > 1<<32 {
				t.Fatalf("accepted impossible line %+v from %q", e, in)
			}
		}
		var b strings.Builder
		for _, e := range m {
			fmt.Fprintf(&b, "%d %d %d\n", e.ContainerID, e.HostID, e.Size)
		}
		again, err := ParseIDMap(b.String())
		if err != nil || fmt.Sprint(again) != fmt.Sprint(m) {
			t.Fatalf("round trip of %q: %v, %v", in, again, err)
		}
		if isMapped(m[0].ContainerID, m) != true {
			t.Fatalf("first ID of %v not mapped", m)
		}
	})
}
