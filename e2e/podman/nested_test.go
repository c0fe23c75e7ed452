package podman_test

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if suiteVal.dir != "" {
		os.RemoveAll(suiteVal.dir)
	}
	os.Exit(code)
}

// The workspace's life — the entrypoint's udi-setup configure, doctor,
// podman run, build and a compose project whose services talk by name —
// runs in the real workspace pod on a real node: e2e/realnode TestUserPath.
// This package keeps the broken pods the product never renders (see
// TestDoctorNamesTheProblem).

// rootfulMkdirDenied is podman 4.x as root without CAP_SYS_ADMIN: it makes
// its rootful storage directory and cannot. Which directory it names depends
// on the image: /var/lib/containers/storage where the image has
// /var/lib/containers, /var/lib/containers where it has not (Debian's podman
// package makes none; the pod-shaped namespace shows the host's /var/lib, so
// a machine where some podman ran as root before has it).
var rootfulMkdirDenied = regexp.MustCompile(`Error: creating runtime static files directory: mkdir /var/lib/containers(/storage)?: permission denied`)

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
		// wantPodmanRe instead, where podman's message depends on the
		// image's files
		wantPodmanRe *regexp.Regexp
		needsImage   bool // the failure only shows when a container starts
		network      bool // ... on podman's default network
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
		{
			// What the unpatched product gave: configure wrote root's
			// ranges, the doctor said all was well, podman failed.
			name:         "root before configure",
			spec:         podSpec{UID: 0, GID: 0, Passwd: basePasswd},
			wantFails:    []string{"podman as root"},
			wantDoctor:   `podman 4.x runs rootful as UID 0 and cannot mount`,
			wantPodmanRe: rootfulMkdirDenied,
		},
		{
			name:         "root without udi-setup installed as podman",
			spec:         podSpec{UID: 0, GID: 0, Passwd: basePasswd},
			configure:    true,
			wantFails:    []string{"podman as root"},
			wantDoctor:   `podman-root is set up, but the first podman in PATH is "/usr/bin/podman", not udi-setup, so root still gets podman as root`,
			wantPodmanRe: rootfulMkdirDenied,
		},
		{
			name:       "no slirp4netns or pasta in the image",
			spec:       podSpec{UID: 1000, GID: 0, Passwd: basePasswd, SubUID: "", SubGID: "", Hide: []string{"/usr/bin/slirp4netns"}},
			configure:  true,
			wantFails:  []string{"network"},
			wantDoctor: "neither slirp4netns nor pasta is installed: rootless containers get only --network none",
			wantPodman: `could not find slirp4netns, the network namespace can't be configured`,
			needsImage: true,
			network:    true,
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
				if tc.network {
					args = []string{"podman", "run", "--rm", "localhost/busybox", "true"}
				}
			}
			pr := p.runWith(tc.exec, args...)
			if pr.code == 0 {
				t.Errorf("podman worked although the doctor said it cannot")
			}
			if tc.wantPodman != "" && !strings.Contains(pr.out, tc.wantPodman) {
				t.Errorf("podman does not say %q", tc.wantPodman)
			}
			if tc.wantPodmanRe != nil && !tc.wantPodmanRe.MatchString(pr.out) {
				t.Errorf("podman does not say %s", tc.wantPodmanRe)
			}
		})
	}
}

// TestPodmanAsRoot runs the workspace as UID 0 of the pod's namespace, as an
// SCC whose range starts at 0 gives it, with SETUID and SETGID only: after
// configure, podman (udi-setup installed ahead of it) runs containers, files
// are chowned across the range, services find each other by name and a
// published port answers at localhost.
func TestPodmanAsRoot(t *testing.T) {
	s := setup(t)
	p := startPod(t, s, podSpec{UID: 0, GID: 0, Passwd: basePasswd})
	asRoot := execOpts{pathPrefix: p.path("shim")}
	mustRoot := func(args ...string) string {
		t.Helper()
		r := p.runWith(asRoot, args...)
		if r.code != 0 {
			t.Fatalf("%q: exit %d", args, r.code)
		}
		return r.out
	}
	if out := mustRoot("id", "-u"); strings.TrimSpace(out) != "0" {
		t.Fatalf("the workspace runs as UID %q, want 0", out)
	}
	mustRoot(s.udiSetup, "configure")
	out := mustRoot(s.udiSetup, "doctor")
	for _, want := range []string{
		"OK    podman as root  " + p.path("shim/podman") + " runs podman as podman-root (UID 65535, GID 0",
		"OK    subuid          podman-root:1:65534: 65534 IDs",
		"OK    subgid          podman-root:1:65535: 65535 IDs",
		"podman can run nested containers here",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor does not say %q", want)
		}
	}
	// Idempotent: a second start changes nothing.
	if out := mustRoot(s.udiSetup, "configure", "-v"); strings.Count(out, ": unchanged") < 4 || strings.Contains(out, "created") || strings.Contains(out, "replaced") {
		t.Errorf("configure again wrote something:\n%s", indent(out))
	}

	mustRoot("podman", "import", s.image, "localhost/busybox")
	if got := mustRoot("podman", "info", "--format", "{{.Host.Security.Rootless}} {{.Store.GraphRoot}}"); !strings.HasPrefix(got, "true "+p.path("home/.podman-root/")) {
		t.Errorf("podman info: %q, want rootless with its storage under the delegate's home", got)
	}
	// Container root and nobody, and a file chowned to each: the delegate's
	// 65535 IDs hold both.
	got := mustRoot("podman", "run", "--rm", "--network", "none", "localhost/busybox", "sh", "-c",
		"touch /a /b && chown 0:0 /a && chown 65534:65534 /b && id -u && stat -c %u:%g /a /b")
	if want := "0\n0:0\n65534:65534\n"; !strings.HasSuffix(got, want) {
		t.Errorf("in the container: %q, want %q", got, want)
	}

	// A network where services find each other by name, and a published
	// port reached from the workspace, root's own shell without the shim.
	mustRoot("podman", "network", "create", "app")
	mustRoot("podman", "run", "-d", "--name", "web", "--network", "app", "-p", "18080:8080", "localhost/busybox", "httpd", "-f", "-p", "8080", "-h", "/etc")
	var byName, published result
	for range 50 {
		byName = p.runWith(asRoot, "podman", "run", "--rm", "--network", "app", "localhost/busybox", "wget", "-q", "-O-", "http://web:8080/hostname")
		published = p.run("wget", "-q", "-O-", "http://127.0.0.1:18080/hostname")
		if byName.code == 0 && published.code == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if byName.code != 0 {
		t.Errorf("service by name: exit %d: %s", byName.code, byName.out)
	}
	if published.code != 0 {
		t.Errorf("published port at localhost: exit %d: %s", published.code, published.out)
	}
	mustRoot("podman", "rm", "-f", "-t", "0", "web")
}
