package v1alpha1

import (
	"slices"
	"strings"
	"testing"
)

func TestNormalizedCapabilities(t *testing.T) {
	tests := []struct {
		name string
		caps []string
		want []string
	}{
		{"empty_means_the_default", nil, []string{"SETUID", "SETGID"}},
		{"canonical_names_are_kept", []string{"SETUID", "SETGID"}, []string{"SETUID", "SETGID"}},
		{"cap_prefix_is_stripped", []string{"CAP_SETUID", "CAP_SETGID"}, []string{"SETUID", "SETGID"}},
		{"case_does_not_matter", []string{"cap_setuid", "Setgid", "cHoWn"}, []string{"SETUID", "SETGID", "CHOWN"}},
		{"spellings_of_one_capability_are_deduplicated", []string{"SETUID", "CAP_setuid", "setuid", "SETGID"}, []string{"SETUID", "SETGID"}},
		{"order_is_canonical_not_as_written", []string{"CHOWN", "SETGID", "SETUID"}, []string{"SETUID", "SETGID", "CHOWN"}},
		{"chown_alone_is_kept", []string{"CAP_CHOWN"}, []string{"CHOWN"}},
		{"names_outside_the_allow_list_are_dropped", []string{"SETUID", "NET_ADMIN", "CAP_SYS_ADMIN", "ALL"}, []string{"SETUID"}},
		{"only_disallowed_names_fall_back_to_the_default", []string{"SYS_ADMIN"}, []string{"SETUID", "SETGID"}},
		{"surrounding_space_is_ignored", []string{" SETUID ", "SETGID\n"}, []string{"SETUID", "SETGID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := &NestedContainers{Spec: NestedContainersSpec{Capabilities: tt.caps}}
			if got := nc.NormalizedCapabilities(); !slices.Equal(got, tt.want) {
				t.Errorf("NormalizedCapabilities(%q) = %q, want %q", tt.caps, got, tt.want)
			}
		})
	}
}

func TestNormalizedDevices(t *testing.T) {
	tests := []struct {
		name    string
		devices []string
		want    string
	}{
		{"empty_means_both_devices", nil, "/dev/fuse,/dev/net/tun"},
		{"both_devices", []string{"/dev/fuse", "/dev/net/tun"}, "/dev/fuse,/dev/net/tun"},
		{"order_is_canonical", []string{"/dev/net/tun", "/dev/fuse"}, "/dev/fuse,/dev/net/tun"},
		{"fuse_only", []string{"/dev/fuse"}, "/dev/fuse"},
		{"tun_only", []string{"/dev/net/tun"}, "/dev/net/tun"},
		{"duplicates_are_removed", []string{"/dev/fuse", "/dev/fuse"}, "/dev/fuse"},
		{"devices_outside_the_allow_list_are_dropped", []string{"/dev/kvm", "/dev/fuse"}, "/dev/fuse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := &NestedContainers{Spec: NestedContainersSpec{Devices: tt.devices}}
			if got := strings.Join(nc.NormalizedDevices(), ","); got != tt.want {
				t.Errorf("NormalizedDevices(%q) = %q, want %q", tt.devices, got, tt.want)
			}
		})
	}
}

// The normalizers return fresh slices: callers may append to them without
// changing the defaults anyone else sees.
func TestDefaultsAreNotShared(t *testing.T) {
	a := NormalizeCapabilities(nil)
	a[0] = "CHANGED"
	if got := NormalizeCapabilities(nil); got[0] != CapabilitySetUID {
		t.Errorf("default capabilities changed through a returned slice: %q", got)
	}
}

// Whatever an object holds, the normalized capabilities are a non-empty,
// duplicate-free subset of the allow-list in canonical order, and
// normalizing twice changes nothing.
func FuzzNormalizeCapabilities(f *testing.F) {
	f.Add("SETUID", "cap_setgid", "chown")
	f.Add("CAP_CAP_SETUID", "", "NET_ADMIN")
	f.Add("*", "ALL", " setuid ")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		got := NormalizeCapabilities([]string{a, b, c})
		if len(got) == 0 {
			t.Fatal("empty result")
		}
		last := -1
		for _, name := range got {
			i := slices.Index(allowedCapabilities(), name)
			if i <= last {
				t.Fatalf("%q: %q outside the allow-list, duplicated or out of order", got, name)
			}
			last = i
		}
		if again := NormalizeCapabilities(got); !slices.Equal(again, got) {
			t.Fatalf("not idempotent: %q -> %q", got, again)
		}
	})
}
