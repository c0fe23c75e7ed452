package udi

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nested-workspaces/enabler/test/debpkg"
)

func TestChooseStorage(t *testing.T) {
	works := func(context.Context) error { return nil }
	fails := func(msg string) func(context.Context) error {
		return func(context.Context) error { return errors.New(msg) }
	}
	tests := []struct {
		name         string
		candidates   []StorageCandidate
		wantName     string
		wantRejected []Rejection
		wantErr      string
	}{
		{name: "the first candidate that works wins and later ones are not tried",
			candidates: []StorageCandidate{{Name: "native overlay", Driver: "overlay", Try: works},
				{Name: "vfs", Driver: "vfs", Try: fails("must not be tried")}},
			wantName: "native overlay"},
		{name: "each rejected candidate keeps its reason",
			candidates: []StorageCandidate{{Name: "native overlay", Try: fails("mount overlay: operation not permitted")},
				{Name: "fuse-overlayfs", Try: fails("/dev/fuse is missing")}, {Name: "vfs", Driver: "vfs", Try: works}},
			wantName: "vfs",
			wantRejected: []Rejection{{"native overlay", "mount overlay: operation not permitted"},
				{"fuse-overlayfs", "/dev/fuse is missing"}}},
		{name: "nothing working is an error naming every reason",
			candidates: []StorageCandidate{{Name: "a", Try: fails("no a")}, {Name: "b", Try: fails("no b")}},
			wantErr:    "no storage driver works here (a: no a; b: no b)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ChooseStorage(context.Background(), tc.candidates)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tc.wantName || len(got.Rejected) != len(tc.wantRejected) {
				t.Fatalf("got %+v", got)
			}
			for i := range got.Rejected {
				if got.Rejected[i] != tc.wantRejected[i] {
					t.Errorf("rejection %d = %+v, want %+v", i, got.Rejected[i], tc.wantRejected[i])
				}
			}
		})
	}
}

func userNamespacesWork(t *testing.T) {
	t.Helper()
	if err := exec.Command("unshare", "--user", "--map-root-user", "true").Run(); err != nil {
		t.Skipf("SKIPPING: user namespaces are not available here (unshare --user: %v)", err)
	}
}

// TestStorageTrials runs the real trials: the test binary re-executes itself
// into a scratch user and mount namespace and mounts an overlay there.
func TestStorageTrials(t *testing.T) {
	userNamespacesWork(t)
	// The fuse-overlayfs trials need it installed: a full run as root
	// installs it (debpkg), as every harness installs what it uses.
	if !testing.Short() && os.Geteuid() == 0 {
		if err := debpkg.Install("fuse-overlayfs"); err != nil {
			t.Fatal(err)
		}
	}
	fuse := lookPath("fuse-overlayfs", os.Getenv("PATH"))
	tests := []struct {
		name    string
		cfg     func(Config) Config
		trial   int // index in StorageCandidates
		wantErr string
		// needsFuse: fuse-overlayfs must be installed (see above)
		needsFuse bool
	}{
		{name: "native overlay mounts in a user namespace on the graph root's filesystem", trial: 0},
		{name: "without a probe command there is no native trial", trial: 0,
			cfg: func(c Config) Config { c.ProbeCommand = nil; return c }, wantErr: "no probe command"},
		{name: "fuse-overlayfs is rejected when it is not installed", trial: 1,
			cfg: func(c Config) Config { c.SearchPath = t.TempDir(); return c }, wantErr: "fuse-overlayfs is not installed"},
		{name: "fuse-overlayfs is rejected without /dev/fuse", trial: 1, needsFuse: true,
			cfg: func(c Config) Config { c.DevFuse = "/nonexistent/fuse"; return c }, wantErr: "/nonexistent/fuse is missing"},
		{name: "fuse-overlayfs mounts in a user namespace", trial: 1, needsFuse: true},
		{name: "a mount program that fails is rejected with its message", trial: -1, wantErr: "/bin/false: exit status 1"},
		{name: "vfs always works", trial: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needsFuse && fuse == "" {
				t.Skip("fuse-overlayfs is not installed (apt-get install fuse-overlayfs; a full run as root installs it)")
			}
			data := t.TempDir()
			cfg := probeConfig(Config{DataHome: data, SearchPath: os.Getenv("PATH"), DevFuse: "/dev/fuse"})
			if tc.cfg != nil {
				cfg = tc.cfg(cfg)
			}
			var err error
			if tc.trial < 0 {
				err = tryOverlay(context.Background(), cfg, "/bin/false")
			} else {
				err = StorageCandidates(cfg)[tc.trial].Try(context.Background())
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			left, _ := filepath.Glob(filepath.Join(data, "containers", "udi-setup-probe-*"))
			if len(left) != 0 {
				t.Errorf("the trial left %v behind", left)
			}
		})
	}
}

func TestRenderStorageConf(t *testing.T) {
	tests := []struct {
		name   string
		choice StorageChoice
		stores []string
		want   string
	}{
		{name: "fuse-overlayfs names its mount program and why native lost",
			choice: StorageChoice{Name: "fuse-overlayfs", Driver: "overlay", MountProgram: "/usr/bin/fuse-overlayfs",
				Rejected: []Rejection{{"native overlay", "mount overlay in a user namespace on /home/user/.local/share/containers:\noperation not permitted"}}},
			want: confMarker + ` It brings this file up to date at every start;
# delete the first line to keep your own version.
# Decided for: CONDITIONS
# Storage driver chosen by trial, best first:
#   native overlay: rejected: mount overlay in a user namespace on /home/user/.local/share/containers: operation not permitted
#   fuse-overlayfs: works
[storage]
driver = "overlay"

[storage.options.overlay]
mount_program = "/usr/bin/fuse-overlayfs"
`},
		{name: "the image's additional image stores are kept for overlay",
			choice: StorageChoice{Name: "native overlay", Driver: "overlay"}, stores: []string{"/var/lib/shared"},
			want: confMarker + ` It brings this file up to date at every start;
# delete the first line to keep your own version.
# Decided for: CONDITIONS
# Storage driver chosen by trial, best first:
#   native overlay: works
[storage]
driver = "overlay"

[storage.options]
# The image's additional image stores (its /etc/containers/storage.conf).
additionalimagestores = ["/var/lib/shared"]
`},
		{name: "vfs cannot read overlay stores",
			choice: StorageChoice{Name: "vfs", Driver: "vfs"}, stores: []string{"/var/lib/shared"},
			want: confMarker + ` It brings this file up to date at every start;
# delete the first line to keep your own version.
# Decided for: CONDITIONS
# Storage driver chosen by trial, best first:
#   vfs: works
[storage]
driver = "vfs"
`},
		{name: "native overlay has no mount program",
			choice: StorageChoice{Name: "native overlay", Driver: "overlay"},
			want: confMarker + ` It brings this file up to date at every start;
# delete the first line to keep your own version.
# Decided for: CONDITIONS
# Storage driver chosen by trial, best first:
#   native overlay: works
[storage]
driver = "overlay"
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := renderStorageConf(tc.choice, "CONDITIONS", tc.stores); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestNativeOverlayTrialDoesNotSyncTheHome: unmounting a kernel overlay
// syncs the whole filesystem under it (the user's home), unless the overlay
// is volatile; the trial needs no durability, so its overlay is volatile,
// which the kernel marks with work/work/incompat/volatile.
func TestNativeOverlayTrialDoesNotSyncTheHome(t *testing.T) {
	userNamespacesWork(t)
	dir, err := prepareTrialDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeProbeDir(dir) })
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--mount", os.Args[0], dir)
	cmd.Env = append(os.Environ(), envOverlayProbe+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the native overlay trial failed: %v: %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "work", "work", "incompat", "volatile")); err != nil {
		t.Errorf("the trial's overlay was not volatile, so its unmount synced the filesystem under it: %v", err)
	}
}

// TestAdditionalImageStores reads the list as UBI's storage.conf writes it
// after the UDI's sed (multi-line, trailing comma), and keeps only stores
// that exist.
func TestAdditionalImageStores(t *testing.T) {
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, conf string
		want       []string
	}{
		{"udi", "[storage.options]\nadditionalimagestores = [\n\"" + shared + "\",\n]\n", []string{shared}},
		{"missing_store_dropped", "additionalimagestores = [\"" + shared + "\", \"/nonexistent/store\"]\n", []string{shared}},
		{"commented_out", "#additionalimagestores = [\"" + shared + "\"]\n", nil},
		{"empty", "[storage.options]\nadditionalimagestores = [\n]\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".conf")
			if err := os.WriteFile(p, []byte(tc.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := AdditionalImageStores(p); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got := AdditionalImageStores(filepath.Join(dir, "none.conf")); got != nil {
		t.Errorf("no file: %q", got)
	}
}
