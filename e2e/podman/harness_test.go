// Package podman_test runs rootless podman, configured by udi-setup, inside a
// user namespace shaped like a workspace pod with hostUsers: false: 65536
// IDs from a high host range, UID 1000 inside, SETUID and SETGID as the only
// capabilities, device nodes for /dev/fuse and /dev/net/tun. The pod is built
// by podns.sh from Debian's own podman, runc, uidmap, fuse-overlayfs and
// podman-compose; nothing outside private mount namespaces changes.
//
// The working workspace is proven in the real pod on a real node
// (e2e/realnode). This package keeps what the product never renders and a
// real kubelet would run only from hand-written pod specs and images: a
// nested pod without SETUID/SETGID, with a masked /proc, with a setuid-root
// newuidmap, and /etc/subuid contents from the UDI's formula and build —
// each to prove that the doctor names the problem and podman fails the way
// it says. It also runs where a real node cannot (kernels older than 6.3).
package podman_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nested-workspaces/enabler/test/debpkg"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

// Debian packages the pod is built from: this package installs them
// itself (debpkg.Install).
var debianPackages = []string{
	"podman", "uidmap", "fuse-overlayfs", "runc", "crun", "podman-compose",
	"busybox-static", "libcap2-bin", "util-linux",
	// The pod's user fetches a published port with it (TestPodmanAsRoot).
	"wget",
}

// hostBase is where podns.sh maps the pod's IDs from.
const hostBase = 200000

// suite is what every test shares: built once per test binary.
type suite struct {
	udiSetup string // statically built udi-setup
	script   string // podns.sh, copied where the pod's root can read it
	image    string // busybox rootfs tarball
	dir      string // traversable by the pod's users
}

var (
	suiteOnce sync.Once
	suiteVal  suite
	suiteErr  error
)

// setup skips the e2e where it cannot run and otherwise prepares the shared
// parts: Debian packages, the udi-setup binary, the busybox image.
func setup(t *testing.T) suite {
	t.Helper()
	if testing.Short() {
		t.Skip("nested podman e2e skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		localcluster.SkipForMachine(t, "SKIPPING NESTED PODMAN E2E: it must run as root (it builds a pod-shaped user namespace with unshare, mknod and setcap); run go test as root")
	}
	if err := exec.Command("unshare", "--user", "--map-root-user", "true").Run(); err != nil {
		localcluster.SkipForMachine(t, fmt.Sprintf("SKIPPING NESTED PODMAN E2E: user namespaces are not available here (unshare --user: %v); check /proc/sys/user/max_user_namespaces", err))
	}
	suiteOnce.Do(func() { suiteVal, suiteErr = prepare() })
	if suiteErr != nil {
		t.Fatal(suiteErr)
	}
	return suiteVal
}

func prepare() (suite, error) {
	if err := debpkg.Install(debianPackages...); err != nil {
		return suite{}, err
	}
	dir, err := os.MkdirTemp("", "udi-e2e-shared-")
	if err != nil {
		return suite{}, err
	}
	// The pod's users must reach the binary and the image.
	if err := os.Chmod(dir, 0o755); err != nil {
		return suite{}, err
	}
	s := suite{dir: dir, udiSetup: filepath.Join(dir, "udi-setup"), image: filepath.Join(dir, "busybox.tar"), script: filepath.Join(dir, "podns.sh")}
	script, err := os.ReadFile("podns.sh")
	if err != nil {
		return suite{}, err
	}
	if err := os.WriteFile(s.script, script, 0o755); err != nil {
		return suite{}, err
	}
	build := exec.Command("go", "build", "-trimpath", "-o", s.udiSetup, "github.com/nested-workspaces/enabler/cmd/udi-setup")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return suite{}, fmt.Errorf("build udi-setup statically: %v\n%s", err, out)
	}
	if err := writeBusyboxImage(s.image); err != nil {
		return suite{}, fmt.Errorf("build the busybox image: %w", err)
	}
	return s, nil
}

// writeBusyboxImage writes localcluster.BusyboxRootfs with every applet.
func writeBusyboxImage(path string) error {
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("busybox-static: %w", err)
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	return localcluster.WriteTarLayer(path, localcluster.BusyboxRootfs(bin, strings.Fields(string(list))))
}

// podSpec is what a test pod starts with: the image's /etc files as a
// workspace would find them, and the user the pod runs as.
type podSpec struct {
	UID, GID int
	Passwd   string
	SubUID   string
	SubGID   string
	MaskProc bool // without procMount: Unmasked
	// Hide are files the pod's image lacks (each is covered by /dev/null,
	// which is not executable).
	Hide []string
}

// pod is a running pod-shaped namespace.
type pod struct {
	t      *testing.T
	s      suite
	dir    string
	spec   podSpec
	holder *exec.Cmd
	hold   *os.File // closing it ends the pod
	exited chan error
	log    *bytes.Buffer
	init   int // host PID of the pod's init
}

// basePasswd is the UDI's /etc/passwd: its build user is 10001, not the
// 1000 the nested-podman SCC runs workspaces as.
const basePasswd = "root:x:0:0:root:/root:/bin/bash\n" +
	"nobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin\n" +
	"user:x:10001:0::/home/user:/bin/bash\n"

func startPod(t *testing.T, s suite, spec podSpec) *pod {
	t.Helper()
	dir, err := os.MkdirTemp("", "udi-e2e-pod-")
	if err != nil {
		t.Fatal(err)
	}
	p := &pod{t: t, s: s, dir: dir, spec: spec, log: &bytes.Buffer{}}
	t.Cleanup(p.stop)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(dir, 0o755))
	for _, d := range []string{"etc", "home", "run", "shim"} {
		must(os.Mkdir(filepath.Join(dir, d), 0o755))
	}
	// udi-setup installed as podman, as udi/Containerfile installs it in
	// /usr/local/bin; a test puts it first in PATH with pathPrefix.
	must(os.Symlink(s.udiSetup, filepath.Join(dir, "shim", "podman")))
	hostUID, hostGID := hostBase+spec.UID, hostBase+spec.GID
	// As in the UDI: /etc/passwd, /etc/subuid, /etc/subgid belong to root
	// and group 0 may write them; /etc itself is not writable.
	for name, content := range map[string]string{"passwd": spec.Passwd, "subuid": spec.SubUID, "subgid": spec.SubGID} {
		f := filepath.Join(dir, "etc", name)
		must(os.WriteFile(f, []byte(content), 0o664))
		must(os.Chown(f, hostBase, hostBase))
		must(os.Chmod(f, 0o664))
	}
	// The pod's root owns the pod's directory, as a pod's root owns its
	// container's files.
	must(os.Chown(dir, hostBase, hostBase))
	must(os.Chown(filepath.Join(dir, "etc"), hostBase, hostBase))
	for _, d := range []string{"home", "run"} {
		must(os.Chown(filepath.Join(dir, d), hostUID, hostGID))
	}
	must(os.Chmod(filepath.Join(dir, "run"), 0o700))
	if len(spec.Hide) > 0 {
		must(os.WriteFile(filepath.Join(dir, "hide"), []byte(strings.Join(spec.Hide, "\n")+"\n"), 0o644))
	}
	if spec.MaskProc {
		must(os.WriteFile(filepath.Join(dir, "mask-proc"), nil, 0o644))
	}

	// The holder lives while this pipe is open: if the test process dies,
	// the kernel closes it and the pod, with everything in it, goes too.
	r, w, err := os.Pipe()
	must(err)
	p.hold = w
	p.holder = exec.Command("bash", s.script, "up", dir)
	p.holder.Stdin = r
	p.holder.Stdout, p.holder.Stderr = p.log, p.log
	p.holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(p.holder.Start())
	r.Close()
	p.exited = make(chan error, 1)
	go func() { p.exited <- p.holder.Wait() }()
	deadline := time.After(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			break
		}
		select {
		case err := <-p.exited:
			p.holder = nil
			t.Fatalf("the pod did not start: %v\n%s", err, p.log)
		case <-deadline:
			t.Fatalf("the pod did not start within 30s\n%s", p.log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	// unshare --fork made the pod's init a child of the holder.
	p.init = childOf(t, p.holder.Process.Pid)
	return p
}

// childOf finds the only child of a process.
func childOf(t *testing.T, parent int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", parent, parent))
	if err != nil {
		t.Fatalf("find the pod's init: %v", err)
	}
	f := strings.Fields(string(data))
	if len(f) != 1 {
		t.Fatalf("the holder %d has children %q, want one", parent, f)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// result is one command's outcome in the pod.
type result struct {
	out  string // stdout and stderr, interleaved
	code int
}

// execOpts says how a command runs: by default as the pod's user with
// SETUID and SETGID, like the workspace container.
type execOpts struct {
	caps       *string // nil: SETUID and SETGID
	pathPrefix string
}

func (p *pod) run(args ...string) result {
	return p.runWith(execOpts{}, args...)
}

func (p *pod) runWith(o execOpts, args ...string) result {
	p.t.Helper()
	uid, gid, caps := p.spec.UID, p.spec.GID, "+setuid,+setgid"
	if o.caps != nil {
		caps = *o.caps
	}
	full := append([]string{p.s.script, "exec", p.dir, strconv.Itoa(p.init), strconv.Itoa(uid), strconv.Itoa(gid), caps, o.pathPrefix, "--"}, args...)
	cmd := exec.Command("bash", full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err := cmd.Run()
	r := result{out: out.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		p.t.Fatalf("run %q in the pod: %v\n%s", args, err, r.out)
	}
	p.t.Logf("$ %s  (exit %d, %s)\n%s", strings.Join(args, " "), r.code, time.Since(start).Round(time.Millisecond), indent(r.out))
	return r
}

// mustRun runs a command that has to succeed.
func (p *pod) mustRun(args ...string) string {
	p.t.Helper()
	r := p.run(args...)
	if r.code != 0 {
		p.t.Fatalf("%q failed with exit %d:\n%s", args, r.code, r.out)
	}
	return r.out
}

func (p *pod) path(rel string) string { return filepath.Join(p.dir, rel) }

// stop ends the pod: podman's pause process first, then the pod's init,
// which takes every other process of the pod with it.
func (p *pod) stop() {
	defer os.RemoveAll(p.dir)
	if p.holder == nil {
		return
	}
	if out, err := exec.Command("bash", p.s.script, "stop-pause", p.dir, strconv.Itoa(p.init)).CombinedOutput(); err != nil {
		p.t.Logf("stop podman's pause process: %v\n%s", err, out)
	}
	p.hold.Close()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.t.Logf("the pod did not end within 10s; killing its holder")
		_ = syscall.Kill(-p.holder.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

func strp(s string) *string { return &s }
