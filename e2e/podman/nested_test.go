package podman_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if suiteVal.dir != "" {
		os.RemoveAll(suiteVal.dir)
	}
	os.Exit(code)
}

// TestNestedPodman is the workspace's life: the image's entrypoint runs
// udi-setup configure, then the user runs containers and a compose project.
func TestNestedPodman(t *testing.T) {
	s := setup(t)
	p := startPod(t, s, podSpec{
		UID: 1000, GID: 0,
		Passwd: basePasswd,
		// What the UDI ships, plus lines of other users that must survive.
		SubUID: "# subordinate UIDs\nuser:10000:65536\nbuilder:300000:65536\n",
		SubGID: "user:10000:65536\nbuilder:300000:65536\n",
	})

	// The runtime is runc as in DESIGN.md's recipe for this machine.
	configure := []string{s.udiSetup, "configure", "-v", "-runtime", "runc"}
	first := p.mustRun(configure...)

	t.Run("configure adds the passwd entry an arbitrary UID needs", func(t *testing.T) {
		passwd := readFile(t, p.path("etc/passwd"))
		want := basePasswd + "user:x:1000:0:user user:" + p.path("home") + ":/bin/bash\n"
		if passwd != want {
			t.Errorf("passwd =\n%s\nwant\n%s", passwd, want)
		}
	})
	t.Run("configure maps every pod ID but root and the user's own, keeping other lines", func(t *testing.T) {
		if got, want := readFile(t, p.path("etc/subuid")), "# subordinate UIDs\nuser:1:999\nuser:1001:64535\nbuilder:300000:65536\n"; got != want {
			t.Errorf("subuid =\n%s\nwant\n%s", got, want)
		}
		// The process's GID is 0, as in an OpenShift pod: every other GID.
		if got, want := readFile(t, p.path("etc/subgid")), "user:1:65535\nbuilder:300000:65536\n"; got != want {
			t.Errorf("subgid =\n%s\nwant\n%s", got, want)
		}
	})
	storageConf := readFile(t, p.path("home/.config/containers/storage.conf"))
	t.Logf("storage.conf:\n%s\ncontainers.conf:\n%s", indent(storageConf), indent(readFile(t, p.path("home/.config/containers/containers.conf"))))
	driver := regexp.MustCompile(`(?m)^driver = "(\w+)"`).FindStringSubmatch(storageConf)
	t.Run("configure writes storage.conf for the driver that passed its trial", func(t *testing.T) {
		if driver == nil {
			t.Fatalf("no driver in storage.conf:\n%s", storageConf)
		}
		if !strings.Contains(storageConf, ": works\n") || !strings.Contains(first, "storage: ") {
			t.Errorf("storage.conf or the report does not say which candidate won and why:\n%s\n%s", storageConf, first)
		}
		if !strings.Contains(readFile(t, p.path("home/.config/containers/containers.conf")), `runtime = "runc"`) {
			t.Error("containers.conf does not select runc")
		}
	})
	t.Run("configure again writes nothing", func(t *testing.T) {
		files := []string{"etc/passwd", "etc/subuid", "etc/subgid", "home/.config/containers/storage.conf", "home/.config/containers/containers.conf"}
		before := map[string]string{}
		for _, f := range files {
			before[f] = fileIdentity(t, p.path(f))
		}
		second := p.mustRun(configure...)
		for _, f := range files {
			if after := fileIdentity(t, p.path(f)); after != before[f] {
				t.Errorf("%s changed: %s -> %s", f, before[f], after)
			}
		}
		if n := strings.Count(second, " unchanged\n"); n != 5 {
			t.Errorf("want 5 files reported unchanged, got %d:\n%s", n, second)
		}
		if quiet := p.mustRun(s.udiSetup, "configure", "-runtime", "runc"); quiet != "" {
			t.Errorf("configure without -v printed %q; it must be quiet on success", quiet)
		}
	})

	t.Run("doctor finds nothing to fix", func(t *testing.T) {
		r := p.run(s.udiSetup, "doctor")
		if r.code != 0 || strings.Contains(r.out, "FAIL") {
			t.Fatalf("doctor exit %d:\n%s", r.code, r.out)
		}
		for _, name := range []string{"user namespace", "capabilities", "no_new_privs", "newuidmap", "newgidmap", "passwd", "/dev/fuse", "/dev/net/tun", "/proc", "subuid", "subgid", "storage"} {
			if !regexp.MustCompile(`(?m)^OK +` + regexp.QuoteMeta(name) + ` `).MatchString(r.out) {
				t.Errorf("no OK line for %s", name)
			}
		}
		js := p.mustRun(s.udiSetup, "doctor", "-o", "json")
		if !strings.Contains(js, `"ok": true`) {
			t.Errorf("doctor -o json does not say ok:\n%s", js)
		}
	})

	// Importing needs every ID the image's files use: home/nobody is 65534.
	p.mustRun("podman", "import", s.image, "localhost/busybox")

	t.Run("podman uses the configured storage driver", func(t *testing.T) {
		got := strings.TrimSpace(p.mustRun("podman", "info", "--format", "{{.Store.GraphDriverName}} {{.Host.OCIRuntime.Name}}"))
		if got != driver[1]+" runc" {
			t.Errorf("podman info = %q, want %q", got, driver[1]+" runc")
		}
	})

	t.Run("a container runs as root mapped onto both subordinate ranges", func(t *testing.T) {
		out := p.mustRun("podman", "run", "--rm", "--network", "none", "localhost/busybox",
			"sh", "-c", "id; cat /proc/self/uid_map; stat -c 'nobody-home %u:%g' /home/nobody")
		if !strings.Contains(out, "uid=0(root) gid=0(root)") {
			t.Errorf("id inside the container is not root:\n%s", out)
		}
		got := mapLines(out)
		want := []string{"0 1000 1", "1 1 999", "1000 1001 64535"}
		if !slices.Equal(got, want) {
			t.Errorf("uid_map inside the container = %q, want %q", got, want)
		}
		if !strings.Contains(out, "nobody-home 65534:65534") {
			t.Errorf("a file owned by nobody lost its owner:\n%s", out)
		}
	})

	t.Run("podman-compose runs a two-service project", func(t *testing.T) {
		proj := p.path("home/proj")
		compose := `services:
  alpha:
    image: localhost/busybox
    command: ["sh", "-c", "echo alpha-ran-as-uid-$$(id -u)"]
  beta:
    image: localhost/busybox
    command: ["sh", "-c", "echo beta-saw-$$(cat /etc/hostname)"]
`
		if err := os.MkdirAll(proj, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proj, "compose.yaml"), []byte(compose), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(proj, hostBase+1000, hostBase); err != nil {
			t.Fatal(err)
		}
		up := p.run("sh", "-c", "cd proj && podman-compose up")
		down := p.run("sh", "-c", "cd proj && podman-compose down")
		if up.code != 0 {
			t.Fatalf("podman-compose up: exit %d", up.code)
		}
		if !strings.Contains(up.out, "alpha-ran-as-uid-0") {
			t.Errorf("no output from service alpha")
		}
		if !regexp.MustCompile(`beta-saw-\w+`).MatchString(up.out) {
			t.Errorf("no output from service beta")
		}
		if down.code != 0 {
			t.Errorf("podman-compose down: exit %d", down.code)
		}
		if ps := p.mustRun("podman", "ps", "-a", "--format", "{{.Names}}"); strings.TrimSpace(ps) != "" {
			t.Errorf("containers left after down: %s", ps)
		}
	})
}

// mapLines extracts "inside outside count" lines from command output.
func mapLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && regexp.MustCompile(`^\d+$`).MatchString(f[0]+f[1]+f[2]) {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return lines
}

// TestDoctorNamesTheProblem breaks one prerequisite at a time and checks
// that the doctor names it with its specific message — and that podman
// really fails the way the doctor says it will.
func TestDoctorNamesTheProblem(t *testing.T) {
	s := setup(t)
	udiPasswd := func(uid int) string {
		return basePasswd + "user:x:" + strconv.Itoa(uid) + ":0:user user:/home/user:/bin/bash\n"
	}
	tests := []struct {
		name string
		spec podSpec
		// configure first, so that only the broken part fails
		configure bool
		runtime   string // -runtime for configure
		// setuidMappers: newuidmap/newgidmap setuid root, as a stock image
		// ships them, first in PATH
		setuidMappers bool
		exec          execOpts
		wantFails     []string // names of the FAIL lines, exactly
		wantDoctor    string   // in the doctor's output
		wantPodman    string   // in podman's output, "" when podman's message is not quoted
		needsImage    bool     // the failure only shows when a container starts
	}{
		{
			name: "UDI formula for UID 65535 leaves nothing",
			spec: podSpec{UID: 65535, GID: 0, Passwd: udiPasswd(65535),
				// START=UID+1, COUNT=65536-START, as the UDI entrypoint computes.
				SubUID: "user:65536:0\n", SubGID: "user:65536:0\n"},
			wantFails:  []string{"subuid", "subgid"},
			wantDoctor: `user:65536:0 is the UDI entrypoint's formula user:UID+1:65535-UID, which for UID 65535 gives 0 IDs starting past the namespace's last UID 65535`,
			wantPodman: "newuidmap: uid range [1-1) -> [65536-65536) not allowed",
		},
		{
			name: "range overlapping the user's own UID",
			spec: podSpec{UID: 1000, GID: 0, Passwd: udiPasswd(1000),
				SubUID: "user:1:65535\n", SubGID: "user:1:65535\n"},
			wantFails:  []string{"subuid"},
			wantDoctor: `user:1:65535 includes your own UID 1000: podman refuses it with: invalid configuration: the specified mapping 1:65535 in "/etc/subuid" includes the user UID`,
			wantPodman: `the specified mapping 1:65535 in "/etc/subuid" includes the user UID`,
		},
		{
			name: "range past the namespace's map",
			spec: podSpec{UID: 1000, GID: 0, Passwd: udiPasswd(1000),
				// The line the UDI's Dockerfile writes at build time.
				SubUID: "user:10000:65536\n", SubGID: "user:1:65535\n"},
			wantFails:  []string{"subuid"},
			wantDoctor: `user:10000:65536 reaches UID 65536, which this namespace does not map (it maps 0 200000 65536, last 65535)`,
			wantPodman: "newuidmap: write to uid_map failed: Operation not permitted",
		},
		{
			name:       "bounding set without SETUID and SETGID",
			spec:       podSpec{UID: 1000, GID: 0, Passwd: basePasswd, SubUID: "", SubGID: ""},
			configure:  true,
			exec:       execOpts{caps: strp("")},
			wantFails:  []string{"capabilities", "newuidmap", "newgidmap"},
			wantDoctor: "SETUID, SETGID not in the bounding set (CapBnd 0000000000000000)",
			wantPodman: "fork/exec /usr/bin/newuidmap: operation not permitted",
		},
		{
			name:          "setuid-root newuidmap without DAC_OVERRIDE",
			spec:          podSpec{UID: 1000, GID: 0, Passwd: basePasswd, SubUID: "", SubGID: ""},
			configure:     true,
			setuidMappers: true,
			wantFails:     []string{"newuidmap", "newgidmap"},
			wantDoctor:    `is setuid root without file capabilities, and DAC_OVERRIDE is not in the bounding set: it will fail with "newuidmap: open of uid_map failed: Permission denied"`,
			wantPodman:    "newuidmap: open of uid_map failed: Permission denied",
		},
		{
			name:       "masked /proc",
			spec:       podSpec{UID: 1000, GID: 0, Passwd: basePasswd, SubUID: "", SubGID: "", MaskProc: true},
			configure:  true,
			runtime:    "runc",
			wantFails:  []string{"/proc"},
			wantDoctor: `the kernel refuses nested containers their own /proc mount (runc says: error mounting "proc" to rootfs at "/proc": ... operation not permitted), and crun stops earlier at the read-only /proc/sys`,
			wantPodman: `error mounting "proc" to rootfs at "/proc"`,
			needsImage: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := startPod(t, s, tc.spec)
			if tc.setuidMappers {
				tc.exec.pathPrefix = p.path("bin/setuid")
			}
			if tc.configure {
				args := []string{s.udiSetup, "configure"}
				if tc.runtime != "" {
					args = append(args, "-runtime", tc.runtime)
				}
				p.mustRun(args...)
			}
			r := p.runWith(tc.exec, s.udiSetup, "doctor")
			if r.code != 1 {
				t.Errorf("doctor exit %d, want 1", r.code)
			}
			var fails []string
			for _, m := range regexp.MustCompile(`(?m)^FAIL  (.+?)  `).FindAllStringSubmatch(r.out, -1) {
				fails = append(fails, m[1])
			}
			if !slices.Equal(fails, tc.wantFails) {
				t.Errorf("FAIL lines %q, want %q", fails, tc.wantFails)
			}
			if !strings.Contains(r.out, tc.wantDoctor) {
				t.Errorf("doctor does not say %q", tc.wantDoctor)
			}

			// What podman itself says.
			args := []string{"podman", "unshare", "cat", "/proc/self/uid_map"}
			if tc.needsImage {
				if r := p.runWith(tc.exec, "podman", "import", s.image, "localhost/busybox"); r.code != 0 {
					t.Fatalf("podman import: exit %d", r.code)
				}
				args = []string{"podman", "run", "--rm", "--network", "none", "localhost/busybox", "true"}
			}
			pr := p.runWith(tc.exec, args...)
			if pr.code == 0 {
				t.Errorf("podman worked although the doctor said it cannot")
			}
			if tc.wantPodman != "" && !strings.Contains(pr.out, tc.wantPodman) {
				t.Errorf("podman does not say %q", tc.wantPodman)
			}
		})
	}
}
