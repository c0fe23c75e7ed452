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
		prepare func(t *testing.T, cfg Config)
		wantErr []string
	}{
		{name: "outside a user namespace it says the pod needs hostUsers false", uidMap: "0 0 4294967295\n",
			wantErr: []string{"not in a user namespace", "hostUsers: false"}},
		{name: "a UID the namespace does not map is refused", uidMap: "0 200000 1000\n",
			wantErr: []string{"plan subordinate UIDs for UID 1000", "ID 1000 is not mapped"}},
		{name: "a malformed subuid line is named and the file left alone", uidMap: "0 200000 65536\n",
			prepare: func(t *testing.T, cfg Config) {
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
				tc.prepare(t, cfg)
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
