package udi

import (
	"encoding/binary"
	"slices"
	"testing"
)

// vfsCap builds a security.capability value.
func vfsCap(magic uint32, permLo, permHi uint32, rootID *uint32) []byte {
	size := 20
	if magic&0xFF000000 == 0x01000000 {
		size = 12
	}
	if rootID != nil {
		size = 24
	}
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b, magic)
	binary.LittleEndian.PutUint32(b[4:], permLo)
	if size >= 20 {
		binary.LittleEndian.PutUint32(b[12:], permHi)
	}
	if rootID != nil {
		binary.LittleEndian.PutUint32(b[20:], *rootID)
	}
	return b
}

func TestParseFileCaps(t *testing.T) {
	root := uint32(200000)
	tests := []struct {
		name    string
		in      []byte
		want    fileCaps
		wantErr bool
	}{
		{name: "setcap cap_setuid+ep in the host namespace (v2)", in: vfsCap(0x02000001, 1<<capSetUID, 0, nil),
			want: fileCaps{Permitted: 1 << capSetUID, Effective: true}},
		{name: "setcap inside a user namespace (v3 with root ID)", in: vfsCap(0x03000001, 1<<capSetGID, 0, &root),
			want: fileCaps{Permitted: 1 << capSetGID, Effective: true}},
		{name: "permitted without effective (+p)", in: vfsCap(0x02000000, 1<<capSetUID, 0, nil),
			want: fileCaps{Permitted: 1 << capSetUID}},
		{name: "capabilities above 31 are in the second word", in: vfsCap(0x02000001, 0, 1<<(40-32), nil),
			want: fileCaps{Permitted: 1 << 40, Effective: true}},
		{name: "v1", in: vfsCap(0x01000001, 1<<capSetUID, 0, nil), want: fileCaps{Permitted: 1 << capSetUID, Effective: true}},
		{name: "too short", in: []byte{1, 2}, wantErr: true},
		{name: "v2 cut short", in: vfsCap(0x02000001, 1, 0, nil)[:10], wantErr: true},
		{name: "unknown revision", in: vfsCap(0x07000001, 1, 0, nil), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFileCaps(tc.in)
			if tc.wantErr != (err != nil) {
				t.Fatalf("err = %v", err)
			}
			if err == nil && got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestProcStatusCaps(t *testing.T) {
	st := parseProcStatus("Name:\tbash\nNoNewPrivs:\t0\nCapEff:\t0000000000000000\nCapBnd:\t00000000000000c0\n")
	bnd, err := st.capSet("CapBnd")
	if err != nil {
		t.Fatal(err)
	}
	if !hasCap(bnd, capSetUID) || !hasCap(bnd, capSetGID) || hasCap(bnd, capDACOverride) {
		t.Errorf("CapBnd %x read wrong", bnd)
	}
	if _, err := st.capSet("CapAmb"); err == nil {
		t.Error("a missing line is not an error")
	}
	if _, err := parseProcStatus("CapBnd:\tzz\n").capSet("CapBnd"); err == nil {
		t.Error("a malformed mask is not an error")
	}
}

func TestProcSubmounts(t *testing.T) {
	tests := []struct {
		name      string
		mountinfo string
		want      []string
	}{
		{name: "procMount Unmasked: proc alone",
			mountinfo: "22 1 0:5 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"},
		{name: "binfmt_misc does not count",
			mountinfo: "22 1 0:5 / /proc rw - proc proc rw\n40 22 0:33 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw\n"},
		{name: "the default procMount masks and makes paths read-only",
			mountinfo: "22 1 0:5 / /proc rw - proc proc rw\n" +
				"23 22 0:5 /bus /proc/bus ro - proc proc rw\n" +
				"24 22 0:5 /sys /proc/sys ro - proc proc rw\n" +
				"25 22 0:6 /null /proc/kcore rw - devtmpfs udev rw\n" +
				"26 22 0:40 / /proc/acpi ro - tmpfs tmpfs ro\n",
			want: []string{"/proc/bus", "/proc/sys", "/proc/kcore", "/proc/acpi"}},
		{name: "escaped mount points are decoded",
			mountinfo: "22 1 0:5 / /proc rw - proc proc rw\n30 22 0:6 / /proc/odd\\040name rw - tmpfs t rw\n",
			want:      []string{"/proc/odd name"}},
		{name: "a path merely starting with /proc is not under it",
			mountinfo: "30 1 0:6 / /procedures rw - tmpfs t rw\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := procSubmounts(tc.mountinfo); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
