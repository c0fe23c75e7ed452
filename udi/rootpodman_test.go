package udi

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rootPod is testPod with the workspace running as UID 0 and the given
// effective capabilities.
func rootPod(t *testing.T, capEff string) Config {
	t.Helper()
	cfg := testPod(t, "0 200000 65536\n")
	cfg.UID, cfg.GID = 0, 0
	if err := os.WriteFile(cfg.StatusPath, []byte("Name:\tudi-setup\nNoNewPrivs:\t0\nCapEff:\t"+capEff+"\nCapBnd:\t00000000000000c0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Self = filepath.Join(t.TempDir(), "udi-setup")
	if err := os.WriteFile(cfg.Self, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return cfg
}

const (
	capsSetIDs   = "00000000000000c0" // SETUID, SETGID: the nested SCC's
	capsSysAdmin = "00000000002000c0" // and SYS_ADMIN: a privileged pod's
)

func TestPlanRootDelegate(t *testing.T) {
	tests := []struct {
		uidMap  string
		gid     int
		wantUID int
		wantErr string
	}{
		{uidMap: "0 200000 65536", gid: 0, wantUID: 65535},
		{uidMap: "0 200000 65536", gid: 5, wantUID: 65535},
		{uidMap: "0 200000 1000\n1000 300000 2000", wantUID: 2999},
		{uidMap: "0 200000 2", wantErr: "leaves no UID for podman to run as instead of root"},
	}
	for _, tc := range tests {
		t.Run(tc.uidMap, func(t *testing.T) {
			m, err := ParseIDMap(tc.uidMap)
			if err != nil {
				t.Fatal(err)
			}
			d, err := planRootDelegate(Config{GID: tc.gid, Home: "/home/user"}, m)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			want := RootDelegate{Name: "podman-root", UID: tc.wantUID, GID: tc.gid, Home: "/home/user/.podman-root"}
			if err != nil || d != want {
				t.Errorf("got %+v, %v; want %+v", d, err, want)
			}
		})
	}
}

// TestConfigureAsRootRefusesBeforeWriting: where podman for root cannot be
// set up, configure says why and leaves every file as it was.
func TestConfigureAsRootRefusesBeforeWriting(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, cfg Config)
		wantErr string
	}{
		{
			name: "the delegate's UID belongs to someone else",
			prepare: func(t *testing.T, cfg Config) {
				appendTestFile(t, cfg.PasswdPath, "builder:x:65535:0::/home/builder:/bin/sh\n")
			},
			wantErr: `UID 65535, which podman for root runs as, is "builder" in`,
		},
		{
			name: "root's home is closed to its group",
			prepare: func(t *testing.T, cfg Config) {
				if err := os.Chmod(cfg.Home, 0o700); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "cannot enter root's home",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := rootPod(t, capsSetIDs)
			tc.prepare(t, cfg)
			before := map[string]string{}
			for _, p := range []string{cfg.PasswdPath, cfg.SubUIDPath, cfg.SubGIDPath} {
				before[p] = readTestFile(t, p)
			}
			_, err := Configure(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			for p, want := range before {
				if got := readTestFile(t, p); got != want {
					t.Errorf("%s changed:\n%s", p, got)
				}
			}
			if _, err := os.Stat(filepath.Join(cfg.Home, ".podman-root")); err == nil {
				t.Error("the delegate's home was created")
			}
		})
	}
}

func TestDelegateEnv(t *testing.T) {
	got := DelegateEnv([]string{"PATH=/usr/bin", "HOME=/root", "USER=root", "XDG_RUNTIME_DIR=/run/user/0", "XDG_CONFIG_HOME=/root/.config", "TMPDIR=/tmp/x"},
		RootDelegate{Name: "podman-root", UID: 65535, Home: "/root/.podman-root"})
	want := []string{"PATH=/usr/bin", "TMPDIR=/tmp/x", "HOME=/root/.podman-root", "USER=podman-root", "LOGNAME=podman-root"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestPlanPodman(t *testing.T) {
	const delegateLine = "podman-root:x:65535:0:podman-root user:/home/user/.podman-root:/bin/sh\n"
	tests := []struct {
		name         string
		uid          int
		capEff       string
		passwd       string
		shimFirst    bool // udi-setup installed as podman ahead of the real one
		wantDelegate bool
		wantErr      string
	}{
		{name: "a user runs the real podman", uid: 1000, capEff: capsSetIDs, shimFirst: true},
		{name: "root with CAP_SYS_ADMIN runs it rootful", uid: 0, capEff: capsSysAdmin, shimFirst: true},
		{name: "root without CAP_SYS_ADMIN runs it as the delegate", uid: 0, capEff: capsSetIDs, passwd: delegateLine, shimFirst: true, wantDelegate: true},
		{name: "root without a delegate is told to configure", uid: 0, capEff: capsSetIDs, wantErr: "podman for root (user podman-root) is not set up: run udi-setup configure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := rootPod(t, tc.capEff)
			cfg.UID = tc.uid
			appendTestFile(t, cfg.PasswdPath, tc.passwd)
			shim, real := t.TempDir(), t.TempDir()
			if err := os.Symlink(cfg.Self, filepath.Join(shim, "podman")); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(real, "podman"), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			cfg.SearchPath = shim + ":" + real
			plan, err := PlanPodman(cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if plan.Path != filepath.Join(real, "podman") {
				t.Errorf("runs %s, want the real podman, not udi-setup itself", plan.Path)
			}
			if got := plan.Delegate != nil; got != tc.wantDelegate {
				t.Fatalf("delegate %+v, want one: %v", plan.Delegate, tc.wantDelegate)
			}
			// The home is the one configure wrote in passwd, whatever HOME
			// the shell that runs podman has.
			if tc.wantDelegate && (plan.Delegate.UID != 65535 || plan.Delegate.Home != "/home/user/.podman-root") {
				t.Errorf("delegate %+v", plan.Delegate)
			}
		})
	}
	t.Run("only udi-setup installed as podman", func(t *testing.T) {
		cfg := rootPod(t, capsSetIDs)
		shim := t.TempDir()
		if err := os.Symlink(cfg.Self, filepath.Join(shim, "podman")); err != nil {
			t.Fatal(err)
		}
		cfg.SearchPath = shim
		if _, err := PlanPodman(cfg); err == nil || !strings.Contains(err.Error(), "podman is not installed") {
			t.Errorf("err %v", err)
		}
	})
}

// TestDoctorAsRootWithoutDelegate: before configure, root's doctor fails
// podman as root and does not judge root's own subordinate IDs or storage,
// which podman would never use.
func TestDoctorAsRootWithoutDelegate(t *testing.T) {
	cfg := rootPod(t, capsSetIDs)
	r := Doctor(cfg)
	if r.OK {
		t.Error("doctor says podman works")
	}
	var names []string
	for _, c := range r.Checks {
		names = append(names, c.Name)
	}
	if names[0] != "podman as root" || r.Checks[0].Status != StatusFail || !strings.Contains(r.Checks[0].Detail, "is not set up") {
		t.Errorf("first check %+v", r.Checks[0])
	}
	for _, n := range []string{"passwd", "subuid", "subgid", "storage"} {
		if slices.Contains(names, n) {
			t.Errorf("checks %q include root's own %s", names, n)
		}
	}
}

func appendTestFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

// TestConfigureAsRootKeepsTheDelegatesHome: a later start with another HOME
// (a shell, an image change) keeps the delegate's home, and so its images,
// where passwd says it is.
func TestConfigureAsRootKeepsTheDelegatesHome(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("runs configure as the delegate (UID 65535): needs root")
	}
	cfg := rootPod(t, capsSetIDs)
	// The delegate must reach the program and its home: t.TempDir's parent
	// is closed to others.
	open, err := os.MkdirTemp("", "udi-delegate-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(open) })
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.Self = filepath.Join(open, "udi-setup")
	if err := os.WriteFile(cfg.Self, []byte("#!/bin/sh\necho \"note: configured in $HOME\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	earlier := filepath.Join(open, "old-home", ".podman-root")
	if err := os.MkdirAll(earlier, 0o777); err != nil {
		t.Fatal(err)
	}
	appendTestFile(t, cfg.PasswdPath, "podman-root:x:65535:0:podman-root user:"+earlier+":/bin/sh\n")
	r, err := Configure(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.RootDelegate == nil || r.RootDelegate.Home != earlier {
		t.Fatalf("delegate %+v, want its home kept at %s", r.RootDelegate, earlier)
	}
	if !slices.Contains(r.Notes, "configured in "+earlier) {
		t.Errorf("configure ran as the delegate with notes %q, want HOME %s", r.Notes, earlier)
	}
	if got := readTestFile(t, cfg.SubUIDPath); !strings.Contains(got, "podman-root:1:65534\n") {
		t.Errorf("subuid:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(cfg.Home, ".podman-root")); err == nil {
		t.Error("a second delegate home was made under the new HOME")
	}
}

// TestFindPodmanBehindTheUDIsLink: the UDI keeps podman at
// /usr/bin/podman.orig, reached through ~/.local/bin/podman; once that link
// is udi-setup (for root) the real podman is still found.
func TestFindPodmanBehindTheUDIsLink(t *testing.T) {
	dir := t.TempDir()
	self := filepath.Join(dir, "udi-setup")
	orig := filepath.Join(dir, "usr-bin", "podman.orig")
	for _, f := range []string{self, orig, filepath.Join(dir, "plain", "podman")} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	localBin := filepath.Join(dir, "local-bin")
	if err := os.MkdirAll(localBin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(localBin, "podman")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"udi_link_to_self_then_podman_orig", localBin + ":" + filepath.Join(dir, "usr-bin"), orig},
		{"a_podman_in_path_wins", localBin + ":" + filepath.Join(dir, "plain"), filepath.Join(dir, "plain", "podman")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindPodman(tc.path, self, orig)
			if err != nil || got != tc.want {
				t.Errorf("FindPodman = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := FindPodman(localBin, self, filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "podman is not installed") {
		t.Errorf("without any podman: %v", err)
	}
}

// TestLinkPodmanToSelf: configure points the UDI's ~/.local/bin/podman at
// udi-setup for root only where kubedock_setup linked it to podman.orig;
// kubedock's wrapper (the user's choice) and anything else stay.
func TestLinkPodmanToSelf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target string // "" for a regular file
		want   PodmanLink
		after  string
	}{
		{"link_to_podman_orig_is_repointed", "podman.orig", podmanLinkRepointed, "udi-setup"},
		{"kubedocks_wrapper_is_left_alone", "podman.wrapper", podmanLinkKubedock, "podman.wrapper"},
		{"a_real_podman_is_left_alone", "", podmanLinkNotALink, ""},
		{"already_udi_setup", "udi-setup", podmanLinkIsSelf, "udi-setup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			usrBin, localBin := filepath.Join(dir, "usr-bin"), filepath.Join(dir, "local-bin")
			for _, d := range []string{usrBin, localBin} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range []string{"podman.orig", "podman.wrapper", "udi-setup"} {
				if err := os.WriteFile(filepath.Join(usrBin, f), []byte("#!/bin/sh\n"+f+"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			link := filepath.Join(localBin, "podman")
			if tc.target == "" {
				if err := os.WriteFile(link, []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			} else if err := os.Symlink(filepath.Join(usrBin, tc.target), link); err != nil {
				t.Fatal(err)
			}
			cfg := Config{SearchPath: localBin + ":" + usrBin, Self: filepath.Join(usrBin, "udi-setup"),
				OriginalPodman: filepath.Join(usrBin, "podman.orig"), PodmanWrapper: filepath.Join(usrBin, "podman.wrapper")}
			got, path, err := linkPodmanToSelf(cfg)
			if err != nil || got != tc.want || path != link {
				t.Fatalf("linkPodmanToSelf = %q, %q, %v; want %q at %s", got, path, err, tc.want, link)
			}
			target, _ := os.Readlink(link)
			if filepath.Base(target) != tc.after && !(tc.after == "" && target == "") {
				t.Errorf("%s -> %q, want %q", link, target, tc.after)
			}
		})
	}
}
