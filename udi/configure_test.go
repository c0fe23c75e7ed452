package udi

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testPod lays out a pod's files under a temporary directory, as the UDI has
// them before its entrypoint runs.
func testPod(t *testing.T, uidMap string) Config {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o664); err != nil {
			t.Fatal(err)
		}
		return p
	}
	home := filepath.Join(dir, "home", "user")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	return Config{
		UIDMapPath:    write("proc/uid_map", uidMap),
		GIDMapPath:    write("proc/gid_map", uidMap),
		StatusPath:    write("proc/status", "Name:\tudi-setup\nNoNewPrivs:\t0\nCapBnd:\t00000000000000c0\n"),
		MountInfoPath: write("proc/mountinfo", "22 1 0:21 / /proc rw,relatime - proc proc rw\n"),
		CgroupRoot:    dir,
		PasswdPath:    write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nuser:x:10001:0::/home/user:/bin/bash\n"),
		SubUIDPath:    write("etc/subuid", "user:10000:65536\n"),
		SubGIDPath:    write("etc/subgid", "user:10000:65536\n"),
		DevFuse:       filepath.Join(dir, "dev", "fuse"),
		DevTun:        filepath.Join(dir, "dev", "net", "tun"),
		UID:           1000, GID: 0, UserName: "user", Home: home, Shell: "/bin/bash",
		ConfigHome: filepath.Join(home, ".config"),
		DataHome:   filepath.Join(home, ".local", "share"),
		SearchPath: filepath.Join(dir, "bin"),
		Runtime:    "auto",
	}
}

func TestConfigure(t *testing.T) {
	cfg := testPod(t, "0 200000 65536\n")
	r, err := Configure(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run:\n%s", r)

	t.Run("it adds the passwd entry, subordinate IDs and configuration", func(t *testing.T) {
		if got := readTestFile(t, cfg.PasswdPath); !strings.HasSuffix(got, "user:x:1000:0:user user:"+cfg.Home+":/bin/bash\n") {
			t.Errorf("passwd:\n%s", got)
		}
		if got := readTestFile(t, cfg.SubUIDPath); got != "user:1:999\nuser:1001:64535\n" {
			t.Errorf("subuid:\n%s", got)
		}
		if got := readTestFile(t, cfg.SubGIDPath); got != "user:1:65535\n" {
			t.Errorf("subgid:\n%s", got)
		}
		conf := readTestFile(t, cfg.StorageConfPath())
		for _, want := range []string{"native overlay: rejected: no probe command configured", "fuse-overlayfs: rejected: fuse-overlayfs is not installed", "vfs: works", `driver = "vfs"`} {
			if !strings.Contains(conf, want) {
				t.Errorf("storage.conf lacks %q:\n%s", want, conf)
			}
		}
		engine := readTestFile(t, cfg.ContainersConfPath())
		if !strings.Contains(engine, `cgroup_manager = "cgroupfs"`) || strings.Contains(engine, "runtime =") {
			t.Errorf("containers.conf:\n%s", engine)
		}
	})
	t.Run("a second run writes nothing", func(t *testing.T) {
		again, err := Configure(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		for what, how := range map[string]WriteMethod{"passwd": again.Passwd, "subuid": again.SubUIDFile, "subgid": again.SubGIDFile,
			"storage.conf": again.StorageConf, "containers.conf": again.ContainersConf} {
			if how != Unchanged {
				t.Errorf("%s: %s", what, how)
			}
		}
	})
}

func TestConfigureRefuses(t *testing.T) {
	tests := []struct {
		name    string
		uidMap  string
		prepare func(t *testing.T, cfg *Config)
		wantErr []string
	}{
		{name: "outside a user namespace it says the pod needs hostUsers false", uidMap: "0 0 4294967295\n",
			wantErr: []string{"not in a user namespace", "hostUsers: false"}},
		{name: "a UID the namespace does not map is refused", uidMap: "0 200000 1000\n",
			wantErr: []string{"UID 1000 is outside this pod's user namespace (uid_map 0 200000 1000)", "run the workspace as a UID below 65536"}},
		{name: "a namespace-range UID (1000680000) is refused naming the fix", uidMap: "0 200000 65536\n",
			prepare: func(t *testing.T, cfg *Config) { cfg.UID = 1000680000 },
			wantErr: []string{"UID 1000680000 is outside this pod's user namespace", "restricted-v2", "runAsUser, 1000 by default"}},
		{name: "a malformed subuid line is named and the file left alone", uidMap: "0 200000 65536\n",
			prepare: func(t *testing.T, cfg *Config) {
				if err := os.WriteFile(cfg.SubUIDPath, []byte("user:10000:65536\nbroken line\n"), 0o664); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: []string{"line 2 \"broken line\"", "fix or delete it"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testPod(t, tc.uidMap)
			if tc.prepare != nil {
				tc.prepare(t, &cfg)
			}
			before := readTestFile(t, cfg.SubUIDPath)
			_, err := Configure(context.Background(), cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if after := readTestFile(t, cfg.SubUIDPath); after != before {
				t.Errorf("subuid changed although configure failed: %q", after)
			}
			if passwd := readTestFile(t, cfg.PasswdPath); strings.Contains(passwd, ":1000:") {
				t.Errorf("passwd changed although configure failed:\n%s", passwd)
			}
		})
	}
}

func TestConfigureKeepsTheUsersOwnStorageConf(t *testing.T) {
	cfg := testPod(t, "0 200000 65536\n")
	own := "[storage]\ndriver = \"overlay\"\n[storage.options.overlay]\nmount_program = \"/usr/bin/fuse-overlayfs\"\n"
	if err := os.MkdirAll(filepath.Dir(cfg.StorageConfPath()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.StorageConfPath(), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Configure(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.StorageConf != keptForeign || readTestFile(t, cfg.StorageConfPath()) != own {
		t.Errorf("storage.conf %s:\n%s", r.StorageConf, readTestFile(t, cfg.StorageConfPath()))
	}
}

func TestConfigureChoosesNativeOverlayByTrial(t *testing.T) {
	userNamespacesWork(t)
	cfg := probeConfig(testPod(t, "0 200000 65536\n"))
	r, err := Configure(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Storage.Name != "native overlay" || len(r.Storage.Rejected) != 0 {
		t.Errorf("storage %+v", r.Storage)
	}
	if conf := readTestFile(t, cfg.StorageConfPath()); !strings.Contains(conf, "#   native overlay: works\n[storage]\ndriver = \"overlay\"\n") {
		t.Errorf("storage.conf:\n%s", conf)
	}
}

func TestChooseRuntime(t *testing.T) {
	withRunc := t.TempDir()
	if err := os.WriteFile(filepath.Join(withRunc, "runc"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		runtime string
		cgroup  string
		path    string
		want    string
		wantWhy string
	}{
		{name: "an explicit runtime is used", runtime: "runc", cgroup: t.TempDir(), want: "runc", wantWhy: "--runtime"},
		{name: "empty leaves podman's default", runtime: "", cgroup: t.TempDir(), want: ""},
		{name: "auto picks runc where /sys/fs/cgroup is not cgroup v2", runtime: "auto", cgroup: t.TempDir(), path: withRunc,
			want: "runc", wantWhy: "crun refuses hybrid cgroups"},
		{name: "auto without runc leaves the default", runtime: "auto", cgroup: t.TempDir(), want: "", wantWhy: "runc is not installed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, why := chooseRuntime(Config{Runtime: tc.runtime, CgroupRoot: tc.cgroup, SearchPath: tc.path})
			if got != tc.want || !strings.Contains(why, tc.wantWhy) {
				t.Errorf("got %q (%s), want %q (%s)", got, why, tc.want, tc.wantWhy)
			}
		})
	}
}

// A persistent home keeps storage.conf across starts. Configure runs the
// storage trials again only when what decides them changed, and then says
// what becomes of the images already stored; a storage.conf the user wrote
// stays theirs.
func TestConfigureOnAPersistentHome(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the storage trials create user namespaces: run as root")
	}
	// The trial passes with a mount program and fails without one: native
	// overlay never works here, fuse-overlayfs does where it is installed
	// and /dev/fuse opens.
	onlyFuse := []string{"/bin/sh", "-c", `test $# -ge 2`, "probe"}
	allWork := []string{"/bin/sh", "-c", "true", "probe"}
	withFuse := func(t *testing.T, c *Config) {
		if err := os.MkdirAll(c.SearchPath, 0o755); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(c.SearchPath, "fuse-overlayfs"), "#!/bin/sh\n")
		if err := os.Chmod(filepath.Join(c.SearchPath, "fuse-overlayfs"), 0o755); err != nil {
			t.Fatal(err)
		}
		c.DevFuse = "/dev/null" // a character device that opens read-write
	}
	withoutFuse := func(t *testing.T, c *Config) { c.DevFuse = filepath.Join(t.TempDir(), "no-fuse") }
	storeImages := func(driver string) func(t *testing.T, c *Config) {
		return func(t *testing.T, c *Config) {
			if err := os.MkdirAll(filepath.Join(c.DataHome, "containers", "storage", driver+"-images"), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name           string
		probe          []string
		first, later   []func(t *testing.T, c *Config)
		laterProbe     []string
		wantFirst      string
		wantLater      string
		wantSkipped    bool
		wantNote       []string
		userWritesConf bool
	}{
		{name: "nothing changed: the trials are not run again", probe: onlyFuse, first: nil, later: nil,
			wantFirst: "vfs", wantLater: "vfs", wantSkipped: true},
		{name: "/dev/fuse appeared: fuse-overlayfs, and the vfs images stay with vfs until a reset", probe: onlyFuse,
			first: []func(*testing.T, *Config){withoutFuse}, later: []func(*testing.T, *Config){storeImages("vfs"), withFuse},
			wantFirst: "vfs", wantLater: "fuse-overlayfs",
			wantNote: []string{"conditions changed since storage was chosen", "no /dev/fuse", "/dev/fuse usable",
				"from vfs to fuse-overlayfs", "images stored with the vfs driver", "podman system reset"}},
		{name: "/dev/fuse vanished: vfs, and the overlay images stay with overlay until a reset", probe: onlyFuse,
			first: []func(*testing.T, *Config){withFuse}, later: []func(*testing.T, *Config){storeImages("overlay"), withoutFuse},
			wantFirst: "fuse-overlayfs", wantLater: "vfs",
			wantNote: []string{"from fuse-overlayfs to vfs", "images stored with the overlay driver", "podman save"}},
		{name: "a restart in another host range changes nothing: the trials are not run again", probe: onlyFuse,
			later: []func(*testing.T, *Config){func(t *testing.T, c *Config) {
				writeTestFile(t, c.UIDMapPath, "0 300000 65536\n")
				writeTestFile(t, c.GIDMapPath, "0 300000 65536\n")
			}},
			wantFirst: "vfs", wantLater: "vfs", wantSkipped: true},
		{name: "native overlay no longer works (the home moved to another filesystem): fuse-overlayfs on the same images", probe: allWork, laterProbe: onlyFuse,
			first: []func(*testing.T, *Config){withFuse},
			later: []func(*testing.T, *Config){func(t *testing.T, c *Config) {
				shm, err := os.MkdirTemp("/dev/shm", "udi-home-")
				if err != nil {
					t.Skipf("no tmpfs at /dev/shm to move the home to: %v", err)
				}
				t.Cleanup(func() { os.RemoveAll(shm) })
				c.DataHome = shm
			}, storeImages("overlay")},
			wantFirst: "native overlay", wantLater: "fuse-overlayfs",
			wantNote: []string{"graph root filesystem 0x1021994", "from native overlay to fuse-overlayfs", "stay (same driver, overlay)", "mounted with fuse-overlayfs"}},
		{name: "a storage.conf the user wrote stays theirs when conditions change", probe: onlyFuse, userWritesConf: true,
			later: []func(*testing.T, *Config){withFuse}, wantFirst: "vfs", wantLater: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testPod(t, "0 200000 65536\n")
			cfg.ProbeCommand = tc.probe
			for _, f := range tc.first {
				f(t, &cfg)
			}
			first, err := Configure(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if first.Storage.Name != tc.wantFirst || first.StorageTrialsSkipped {
				t.Fatalf("first start chose %q (skipped %t), want %q", first.Storage.Name, first.StorageTrialsSkipped, tc.wantFirst)
			}
			userConf := "[storage]\ndriver = \"vfs\"\n# mine\n"
			if tc.userWritesConf {
				writeTestFile(t, cfg.StorageConfPath(), userConf)
			}
			for _, f := range tc.later {
				f(t, &cfg)
			}
			if tc.laterProbe != nil {
				cfg.ProbeCommand = tc.laterProbe
			}
			later, err := Configure(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("later start:\n%s", later)
			if tc.userWritesConf {
				if got := readTestFile(t, cfg.StorageConfPath()); got != userConf || later.StorageConf != keptForeign {
					t.Errorf("the user's storage.conf was not kept (%s):\n%s", later.StorageConf, got)
				}
				return
			}
			if later.Storage.Name != tc.wantLater || later.StorageTrialsSkipped != tc.wantSkipped {
				t.Errorf("later start chose %q (trials skipped %t), want %q (skipped %t)", later.Storage.Name, later.StorageTrialsSkipped, tc.wantLater, tc.wantSkipped)
			}
			if tc.wantSkipped && later.StorageConf != Unchanged {
				t.Errorf("storage.conf %s, want unchanged", later.StorageConf)
			}
			notes := strings.Join(later.Notes, "\n")
			for _, w := range tc.wantNote {
				if !strings.Contains(notes, w) {
					t.Errorf("notes lack %q:\n%s", w, notes)
				}
			}
			if len(tc.wantNote) == 0 && notes != "" {
				t.Errorf("unexpected notes: %s", notes)
			}
			if conf := readTestFile(t, cfg.StorageConfPath()); !strings.Contains(conf, "\n"+decidedForPrefix) {
				t.Errorf("storage.conf does not say what it was decided for:\n%s", conf)
			}
		})
	}
}
