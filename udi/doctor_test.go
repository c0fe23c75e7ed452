package udi

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.podman.io/storage/pkg/idtools"
	"golang.org/x/sys/unix"
)

// healthyPod is a configured pod whose every prerequisite holds: the
// namespace's files, configure's output, newuidmap and newgidmap with file
// capabilities, /dev/null standing in for the devices.
func healthyPod(t *testing.T) Config {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: sets file capabilities (security.capability) on stand-ins for newuidmap")
	}
	cfg := testPod(t, "0 200000 65536\n")
	cfg.DevFuse, cfg.DevTun = "/dev/null", "/dev/null"
	if _, err := Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.SearchPath, 0o755); err != nil {
		t.Fatal(err)
	}
	fakeTool(t, cfg, "newuidmap", vfsCap(0x02000001, 1<<capSetUID, 0, nil), 0o755)
	fakeTool(t, cfg, "newgidmap", vfsCap(0x02000001, 1<<capSetGID, 0, nil), 0o755)
	fakeTool(t, cfg, "slirp4netns", nil, 0o755)
	// netavark and aardvark-dns live in podman's helper directory.
	helpers := filepath.Join(filepath.Dir(cfg.SearchPath), "libexec-podman")
	cfg.HelperDirs = []string{helpers}
	if err := os.MkdirAll(helpers, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"netavark", "aardvark-dns", "iptables"} {
		writeTestFile(t, filepath.Join(helpers, tool), "#!/bin/sh\n")
		if err := os.Chmod(filepath.Join(helpers, tool), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// fakeTool puts an executable in the search path, with file capabilities
// when caps is set.
func fakeTool(t *testing.T, cfg Config, name string, caps []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(cfg.SearchPath, name)
	os.Remove(p)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	if caps != nil {
		if err := unix.Setxattr(p, "security.capability", caps, 0); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDoctor(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(t *testing.T, cfg *Config)
		check  string
		want   Status
		say    []string
		// alsoAffects: checks that follow from the broken one
		alsoAffects []string
	}{
		{name: "a configured pod is healthy", check: "storage", want: StatusOK, say: []string{"driver vfs; chosen by trial by udi-setup configure"}},
		{name: "the host namespace is not a user namespace", check: "user namespace", want: StatusFail,
			break_: func(t *testing.T, c *Config) { writeTestFile(t, c.UIDMapPath, "0 0 4294967295\n") },
			say:    []string{`identity map "0 0 4294967295"`, "hostUsers: false"}, alsoAffects: []string{"subuid"}},
		{name: "a small namespace warns", check: "user namespace", want: StatusWarn,
			break_: func(t *testing.T, c *Config) { writeTestFile(t, c.UIDMapPath, "0 200000 4096\n") },
			say:    []string{"maps only 4096 IDs"}, alsoAffects: []string{"subuid"}},
		{name: "a bounding set without SETUID and SETGID fails", check: "capabilities", want: StatusFail,
			break_: func(t *testing.T, c *Config) {
				writeTestFile(t, c.StatusPath, "NoNewPrivs:\t0\nCapBnd:\t0000000000000000\n")
			},
			say: []string{"SETUID, SETGID not in the bounding set", "capabilities.add: [SETUID, SETGID]"}, alsoAffects: []string{"newuidmap", "newgidmap"}},
		{name: "file capabilities outside the bounding set cannot be executed", check: "newuidmap", want: StatusFail,
			break_: func(t *testing.T, c *Config) {
				writeTestFile(t, c.StatusPath, "NoNewPrivs:\t0\nCapBnd:\t0000000000000040\n")
			},
			say: []string{"has cap_setuid+ep but SETUID is not in the bounding set", "operation not permitted"}, alsoAffects: []string{"capabilities"}},
		{name: "no_new_privs fails", check: "no_new_privs", want: StatusFail,
			break_: func(t *testing.T, c *Config) {
				writeTestFile(t, c.StatusPath, "NoNewPrivs:\t1\nCapBnd:\t00000000000000c0\n")
			},
			say: []string{"allowPrivilegeEscalation: true"}},
		{name: "setuid root without DAC_OVERRIDE names newuidmap's error and the setcap fix", check: "newuidmap", want: StatusFail,
			break_: func(t *testing.T, c *Config) { fakeTool(t, *c, "newuidmap", nil, os.ModeSetuid|0o755) },
			say: []string{`it will fail with "newuidmap: open of uid_map failed: Permission denied"`,
				"setcap cap_setuid+ep " + "SEARCH/newuidmap"}},
		{name: "setuid root with DAC_OVERRIDE works", check: "newgidmap", want: StatusOK,
			break_: func(t *testing.T, c *Config) {
				fakeTool(t, *c, "newgidmap", nil, os.ModeSetuid|0o755)
				writeTestFile(t, c.StatusPath, "NoNewPrivs:\t0\nCapBnd:\t00000000000000c2\n")
			},
			say: []string{"is setuid root (works while DAC_OVERRIDE is in the bounding set"}},
		{name: "neither capabilities nor setuid fails", check: "newuidmap", want: StatusFail,
			break_: func(t *testing.T, c *Config) { fakeTool(t, *c, "newuidmap", nil, 0o755) },
			say:    []string{"has neither file capability cap_setuid+ep nor the setuid bit"}},
		{name: "a missing newgidmap fails", check: "newgidmap", want: StatusFail,
			break_: func(t *testing.T, c *Config) { os.Remove(filepath.Join(c.SearchPath, "newgidmap")) },
			say:    []string{"not found in PATH", "setcap cap_setgid+ep /usr/bin/newgidmap"}},
		{name: "no passwd entry fails", check: "passwd", want: StatusFail,
			break_: func(t *testing.T, c *Config) { writeTestFile(t, c.PasswdPath, "root:x:0:0::/root:/bin/bash\n") },
			say:    []string{"no entry for UID 1000", "udi-setup configure"}, alsoAffects: []string{"subuid", "subgid"}},
		{name: "a passwd group other than the process's fails as newuidmap would", check: "passwd", want: StatusFail,
			break_: func(t *testing.T, c *Config) {
				writeTestFile(t, c.PasswdPath, "user:x:1000:1000::/home/user:/bin/bash\n")
			},
			say: []string{"has group 1000", "process runs with GID 0", "Target process ... is owned by a different user"}},
		{name: "no /dev/fuse only warns", check: "/nonexistent/fuse", want: StatusWarn,
			break_: func(t *testing.T, c *Config) { c.DevFuse = "/nonexistent/fuse" },
			say:    []string{"is missing", "io.kubernetes.cri-o.Devices"}},
		{name: "rootless networking tools present", check: "network", want: StatusOK,
			say: []string{"slirp4netns reaches out", "aardvark-dns: compose services reach each other by name"}},
		{name: "no slirp4netns or pasta fails", check: "network", want: StatusFail,
			break_: func(t *testing.T, c *Config) { os.Remove(filepath.Join(c.SearchPath, "slirp4netns")) },
			say:    []string{"neither slirp4netns nor pasta is installed", "only --network none", "install slirp4netns"}},
		{name: "no aardvark-dns warns: compose services have no names", check: "network", want: StatusWarn,
			break_: func(t *testing.T, c *Config) { os.Remove(filepath.Join(c.HelperDirs[0], "aardvark-dns")) },
			say:    []string{"cannot reach each other by name", "install aardvark-dns"}},
		{name: "no iptables warns: published ports fail", check: "network", want: StatusWarn,
			break_: func(t *testing.T, c *Config) { os.Remove(filepath.Join(c.HelperDirs[0], "iptables")) },
			say:    []string{"publishing a port", "netavark: No such file or directory", "unable to execute nft", "install nftables"}},
		{name: "nft without iptables is enough (podman 5's netavark)", check: "network", want: StatusOK,
			break_: func(t *testing.T, c *Config) {
				os.Remove(filepath.Join(c.HelperDirs[0], "iptables"))
				writeTestFile(t, filepath.Join(c.HelperDirs[0], "nft"), "#!/bin/sh\n")
				if err := os.Chmod(filepath.Join(c.HelperDirs[0], "nft"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			say: []string{"compose services reach each other by name"}},
		{name: "no netavark warns: CNI fallback", check: "network", want: StatusWarn,
			break_: func(t *testing.T, c *Config) { os.Remove(filepath.Join(c.HelperDirs[0], "netavark")) },
			say:    []string{"falls back to CNI", "install netavark and aardvark-dns"}},
		{name: "no /dev/net/tun fails", check: "/nonexistent/tun", want: StatusFail,
			break_: func(t *testing.T, c *Config) { c.DevTun = "/nonexistent/tun" },
			say:    []string{"only --network none works"}},
		{name: "a masked /proc fails", check: "/proc", want: StatusFail,
			break_: func(t *testing.T, c *Config) {
				writeTestFile(t, c.MountInfoPath, "22 1 0:5 / /proc rw - proc proc rw\n23 22 0:5 /sys /proc/sys ro - proc proc rw\n")
			},
			say: []string{"1 mount(s) under /proc (/proc/sys)", "procMount: Unmasked", "read-only /proc/sys"}},
		{name: "the UDI image's subuid line fails", check: "subuid", want: StatusFail,
			break_: func(t *testing.T, c *Config) { writeTestFile(t, c.SubUIDPath, "user:10000:65536\n") },
			say:    []string{"user:10000:65536 reaches UID 65536", "it writes user:1:999, user:1001:64535"}},
		{name: "a malformed subgid line fails like podman", check: "subgid", want: StatusFail,
			break_: func(t *testing.T, c *Config) { writeTestFile(t, c.SubGIDPath, "user:1:65535\njunk\n") },
			say:    []string{`line 2 "junk"`, "podman refuses the whole file"}},
		{name: "podman's own parser disagreeing warns", check: "subuid", want: StatusWarn,
			break_: func(t *testing.T, c *Config) {
				c.PodmanSubIDs = func(string) ([]idtools.IDMap, []idtools.IDMap, error) {
					return []idtools.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}, []idtools.IDMap{{ContainerID: 0, HostID: 1, Size: 65535}}, nil
				}
			},
			say: []string{"podman's own parser reads [100000:65536] for user, not [1:999 1001:64535]"}},
		{name: "podman's own parser agreeing adds nothing", check: "subgid", want: StatusOK,
			break_: func(t *testing.T, c *Config) {
				c.PodmanSubIDs = func(string) ([]idtools.IDMap, []idtools.IDMap, error) {
					return []idtools.IDMap{{ContainerID: 0, HostID: 1, Size: 999}, {ContainerID: 999, HostID: 1001, Size: 64535}},
						[]idtools.IDMap{{ContainerID: 0, HostID: 1, Size: 65535}}, nil
				}
			},
			say: []string{"65535 IDs, all mapped"}},
		{name: "podman's own parser failing fails", check: "subuid", want: StatusFail,
			break_: func(t *testing.T, c *Config) {
				c.PodmanSubIDs = func(string) ([]idtools.IDMap, []idtools.IDMap, error) {
					return nil, nil, errors.New("cannot parse subuid/gid information")
				}
			},
			say: []string{"podman's own parser (containers/storage) fails: cannot parse"}, alsoAffects: []string{"subgid"}},
		{name: "a mount program that is gone fails", check: "storage", want: StatusFail,
			break_: func(t *testing.T, c *Config) {
				writeTestFile(t, c.StorageConfPath(), "[storage]\ndriver = \"overlay\"\n[storage.options.overlay]\nmount_program = \"/nonexistent/fuse-overlayfs\"\n")
			},
			say: []string{"mount_program /nonexistent/fuse-overlayfs, which is not an executable file"}},
		{name: "no storage.conf warns", check: "storage", want: StatusWarn,
			break_: func(t *testing.T, c *Config) { os.Remove(c.StorageConfPath()) },
			say:    []string{"podman picks a driver itself"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := healthyPod(t)
			if tc.break_ != nil {
				tc.break_(t, &cfg)
			}
			r := Doctor(cfg)
			var got *Check
			for i := range r.Checks {
				if r.Checks[i].Name == tc.check {
					got = &r.Checks[i]
				}
			}
			if got == nil {
				t.Fatalf("no check %q in %+v", tc.check, r.Checks)
			}
			if got.Status != tc.want {
				t.Errorf("%s: %s, want %s: %s", tc.check, got.Status, tc.want, got.Detail)
			}
			text := strings.ReplaceAll(got.Detail+" fix: "+got.Fix, cfg.SearchPath, "SEARCH")
			for _, want := range tc.say {
				if !strings.Contains(text, want) {
					t.Errorf("%s does not say %q:\n%s", tc.check, want, text)
				}
			}
			// Only the broken check changes; a FAIL anywhere makes the verdict false.
			failed := false
			for _, c := range r.Checks {
				failed = failed || c.Status == StatusFail
				if c.Name != tc.check && c.Status != StatusOK && !slices.Contains(tc.alsoAffects, c.Name) {
					t.Errorf("unrelated check %s is %s: %s", c.Name, c.Status, c.Detail)
				}
			}
			if r.OK == failed {
				t.Errorf("OK = %v with a FAIL: %v", r.OK, failed)
			}
		})
	}
}

func TestDoctorText(t *testing.T) {
	r := DoctorReport{Checks: []Check{
		{Name: "user namespace", Status: StatusOK, Detail: "uid_map 0 200000 65536", Fix: "never shown for OK"},
		{Name: "capabilities", Status: StatusFail, Detail: "SETUID missing", Fix: "add SETUID"},
	}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "OK    user namespace  uid_map 0 200000 65536\n" +
		"FAIL  capabilities    SETUID missing — fix: add SETUID\n" +
		"podman cannot run nested containers here until the FAIL lines are fixed\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
