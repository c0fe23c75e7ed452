package debpkg

import (
	"os/exec"
	"slices"
	"testing"
)

func TestMissing(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("not a Debian system (no dpkg-query)")
	}
	for _, tc := range []struct {
		name string
		pkgs []string
		want []string
	}{
		{"an essential package is installed", []string{"bash"}, nil},
		{"an unknown package is missing", []string{"nested-workspaces-no-such-package"}, []string{"nested-workspaces-no-such-package"}},
		{"only the missing ones, in order", []string{"nested-workspaces-no-a", "bash", "nested-workspaces-no-b"}, []string{"nested-workspaces-no-a", "nested-workspaces-no-b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Missing(tc.pkgs...); !slices.Equal(got, tc.want) {
				t.Errorf("Missing(%q) = %q, want %q", tc.pkgs, got, tc.want)
			}
		})
	}
}

func TestInstallOfNothingMissingDoesNothing(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("not a Debian system (no dpkg-query)")
	}
	// Installed already: no lock, no apt, no root needed.
	if err := Install("bash", "coreutils"); err != nil {
		t.Fatal(err)
	}
}
