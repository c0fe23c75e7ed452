package localcluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A real node (kubelet + containerd + runc) changes what it runs on:
// network links, iptables chains, mounts, /var/lib/kubelet, cgroups. So a
// test package that uses one runs whole inside private mount, network and
// PID namespaces (RunIsolated): the control plane, the operator, DWO and the
// node all live there and die with it, and the host is checked afterwards.
const (
	isolatedEnv = "NESTED_REAL_NODE_ISOLATED"
	// Set by the host side for the isolated side.
	nodeBinsEnv     = "NESTED_REAL_NODE_BINS"
	nodeCgroupEnv   = "NESTED_REAL_NODE_CGROUP"
	nodeImagesEnv   = "NESTED_REAL_NODE_IMAGES"
	realNodeIP      = "10.99.0.1"
	realNodeName    = "realnode"
	minKernelMajor  = 6
	minKernelMinor  = 3
	realNodeDevices = "/run/nested-workspaces-devices"
)

// realNodeSkip says why this machine cannot run a real node; empty when it
// can (or RunIsolated was not used).
var realNodeSkip = "the test package did not call localcluster.RunIsolated from TestMain"

// RealNodePreflight says why this machine cannot run a real node with user
// namespace pods, or "" when it can. It asks only what the machine is (root,
// kernel, user namespaces); the tools a node uses (ip, iptables, the CNI
// plugins) are installed by PrepareRealNode (hack/build-node-bins.sh).
func RealNodePreflight() string {
	if os.Geteuid() != 0 {
		return "a real node needs root (containerd, kubelet, mounts)"
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return fmt.Sprintf("cannot read the kernel version: %v", err)
	}
	release := unix.ByteSliceToString(u.Release[:])
	major, minor := kernelVersion(release)
	if major < minKernelMajor || (major == minKernelMajor && minor < minKernelMinor) {
		return fmt.Sprintf("kernel %s is older than %d.%d: user namespace pods need idmapped mounts of tmpfs and overlayfs", release, minKernelMajor, minKernelMinor)
	}
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err != nil || strings.TrimSpace(string(b)) == "0" {
		return "user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)"
	}
	if err := exec.Command("unshare", "--user", "--map-root-user", "true").Run(); err != nil {
		return fmt.Sprintf("cannot create a user namespace here (unshare --user: %v)", err)
	}
	return ""
}

// kernelVersion reads "6.18.44-fc" as 6, 18.
func kernelVersion(release string) (major, minor int) {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return 0, 0
	}
	major, _ = strconv.Atoi(parts[0])
	digits := strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
	minor, _ = strconv.Atoi(digits)
	return major, minor
}

// RequiredEnv, set to 1 (CI sets it), makes the e2e that need something
// of the machine (root, user namespaces, a real node) required: a test that
// would skip for want of it fails instead (SkipForMachine), so that CI
// never passes on a harness that stopped working there.
const RequiredEnv = "NESTED_E2E_REQUIRED"

// SkipForMachine skips t because this machine lacks what it needs (the
// reason says what), or fails it under NESTED_E2E_REQUIRED=1.
func SkipForMachine(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(RequiredEnv) == "1" {
		t.Fatalf("required (%s=1) but cannot run here: %s", RequiredEnv, reason)
	}
	t.Skip(reason)
}

// RequireRealNode skips t where no real node can run, with the reason
// (fails it instead under NESTED_E2E_REQUIRED=1). It is for tests of
// a package whose TestMain is RunIsolated.
func RequireRealNode(t *testing.T) {
	t.Helper()
	requireRealNode(t, realNodeSkip)
}

// RequireRealNodeMachine is RequireRealNode for a test that runs a real
// node in another process (a command that calls RerunIsolated): it asks
// RealNodePreflight.
func RequireRealNodeMachine(t *testing.T) {
	t.Helper()
	requireRealNode(t, RealNodePreflight())
}

func requireRealNode(t *testing.T, whyNot string) {
	t.Helper()
	if testing.Short() {
		t.Skip("real node e2e skipped in -short mode")
	}
	if whyNot != "" {
		SkipForMachine(t, "SKIPPING REAL NODE E2E: "+whyNot)
	}
}

// RealNodeHost prepares what the isolated side cannot fetch (it has no
// network): the node's binaries and its images (OCI archives). It runs on
// the host side; cleanup, if not nil, runs there after the tests.
// PrepareRealNode is the one this project uses.
type RealNodeHost func() (bins string, images []string, cleanup func(), err error)

// RunIsolated is TestMain for a package that uses a real node: on the host
// it prepares the node (prepare) and runs the test binary again in private
// namespaces (RerunIsolated); there it runs the tests. Where a real node
// cannot run, the tests run on the host and skip themselves
// (RequireRealNode).
func RunIsolated(m *testing.M, prepare RealNodeHost) int {
	if !Isolated() {
		if testing.Short() {
			return m.Run()
		}
		if reason := RealNodePreflight(); reason != "" {
			realNodeSkip = reason
			return m.Run()
		}
		return RerunIsolated(prepare)
	}
	if err := EnterIsolation(); err != nil {
		fmt.Fprintln(os.Stderr, "real node:", err)
		return 1
	}
	return m.Run()
}

// Isolated tells whether this process is the one RerunIsolated started in
// private namespaces.
func Isolated() bool { return os.Getenv(isolatedEnv) != "" }

// EnterIsolation sets up, in the process RerunIsolated started, what a real
// node needs from its private namespaces (loopback and the node's address,
// fresh /run, /var/lib and /var/log, device nodes); StartRealNode works
// after it.
func EnterIsolation() error {
	if !Isolated() {
		return fmt.Errorf("not in the private namespaces of localcluster.RerunIsolated")
	}
	if err := setUpIsolated(); err != nil {
		return fmt.Errorf("set up the private namespaces: %w", err)
	}
	realNodeSkip = ""
	return nil
}

// RerunIsolated runs this program again, with its arguments, inside private
// mount, network and PID namespaces, with a real node prepared by prepare
// (which runs here, on the host: it may use the network), and returns its
// exit code; the program calls EnterIsolation there (RunIsolated does).
// Everything the node changes (mounts, links, iptables chains, netns files)
// dies with those namespaces; afterwards the node's cgroups are removed and
// the host is checked to be as before, else the code is 1.
func RerunIsolated(prepare RealNodeHost) int {
	say := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "[real node] "+format+"\n", args...) }
	bins, images, cleanup, err := prepare()
	if cleanup != nil {
		defer cleanup()
	}
	if err != nil {
		say("preparing the node failed: %v", err)
		return 1
	}
	// Unique on the machine: two runs (two CI clean roots, each its own
	// PID namespace) may have the same PID.
	cgroup := fmt.Sprintf("nested-workspaces-realnode-%d-%d", os.Getpid(), time.Now().UnixNano())
	hierarchies, err := makeCgroupRoot(cgroup)
	if err != nil {
		say("%v", err)
		return 1
	}
	before := hostState()
	args := append([]string{"--mount", "--net", "--pid", "--fork", "--mount-proc", "--propagation", "private", "--kill-child", "--"}, os.Args...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), isolatedEnv+"=1", nodeBinsEnv+"="+bins, nodeCgroupEnv+"=/"+cgroup,
		nodeImagesEnv+"="+strings.Join(images, string(os.PathListSeparator)))
	code := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			say("run again in private namespaces: %v", err)
			return 1
		}
		code = exit.ExitCode()
	}
	if err := removeCgroupRoot(hierarchies, cgroup); err != nil {
		say("%v", err)
		code = 1
	}
	after := hostState()
	if diff := diffHostState(before, after); diff != "" {
		say("the host is not as before:\n%s", diff)
		return 1
	}
	say("host left as before: iptables rules, network links, netns files, mounts, kubelet and CNI directories, cgroups")
	return code
}

// makeCgroupRoot creates the kubelet's cgroup root in every cgroup v1
// hierarchy and in the v2 one (the kubelet requires it to exist).
func makeCgroupRoot(name string) ([]string, error) {
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read /sys/fs/cgroup: %w", err)
	}
	var made []string
	candidates := []string{"/sys/fs/cgroup"}
	for _, e := range entries {
		candidates = append(candidates, filepath.Join("/sys/fs/cgroup", e.Name()))
	}
	for _, h := range candidates {
		if _, err := os.Stat(filepath.Join(h, "cgroup.procs")); err != nil {
			continue
		}
		if err := os.Mkdir(filepath.Join(h, name), 0o755); err != nil {
			return made, fmt.Errorf("create the kubelet's cgroup root: %w", err)
		}
		made = append(made, h)
	}
	return made, nil
}

// removeCgroupRoot removes the cgroup root and everything the kubelet and
// runc made under it, deepest first. The PID namespace is gone, so no
// process is left in them.
func removeCgroupRoot(hierarchies []string, name string) error {
	var errs []string
	for _, h := range hierarchies {
		root := filepath.Join(h, name)
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err.Error())
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cgroups left behind: %s", strings.Join(errs, "; "))
	}
	return nil
}

// hostState is what a node could leave behind on the host.
func hostState() map[string]string {
	run := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return fmt.Sprintf("(%s failed: %v)", name, err)
		}
		return string(out)
	}
	linkNames := func() string {
		var names []string
		for _, l := range strings.Split(run("ip", "-o", "link", "show"), "\n") {
			if f := strings.Fields(l); len(f) > 1 {
				names = append(names, strings.TrimSuffix(f[1], ":"))
			}
		}
		return strings.Join(names, " ")
	}
	exists := func(paths ...string) string {
		var b strings.Builder
		for _, p := range paths {
			_, err := os.Lstat(p)
			fmt.Fprintf(&b, "%s:%t ", p, err == nil)
		}
		return b.String()
	}
	netns, _ := os.ReadDir("/run/netns")
	var ns []string
	for _, e := range netns {
		ns = append(ns, e.Name())
	}
	mounts, _ := os.ReadFile("/proc/1/mountinfo")
	state := map[string]string{
		"network links":          linkNames(),
		"netns files":            strings.Join(ns, " "),
		"kubelet and CNI paths":  exists("/var/lib/kubelet", "/var/lib/cni", "/var/log/pods", "/var/log/containers", "/etc/cni/net.d", "/run/containerd"),
		"mounts (host's init)":   strconv.Itoa(bytes.Count(mounts, []byte("\n"))),
		"iptables rules (count)": strconv.Itoa(strings.Count(run("iptables-save"), "\n-A ")),
	}
	return state
}

func diffHostState(before, after map[string]string) string {
	var b strings.Builder
	keys := make([]string, 0, len(before))
	for k := range before {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if before[k] != after[k] {
			fmt.Fprintf(&b, "  %s: before %q, after %q\n", k, before[k], after[k])
		}
	}
	return b.String()
}

// setUpIsolated runs first inside the private namespaces: loopback and the
// node's IP, fresh /run, /var/lib and /var/log (so nothing the node writes
// there reaches the host), and device nodes for /dev/fuse and /dev/net/tun
// that every user may open, as CRI-O makes them for a pod.
func setUpIsolated() error {
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", realNodeIP + "/32", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	for _, dir := range []string{"/run", "/var/lib", "/var/log"} {
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
			return fmt.Errorf("mount a tmpfs on %s: %w", dir, err)
		}
	}
	if err := dropHybridCgroup2(); err != nil {
		return err
	}
	for _, dir := range []string{"/run/netns", "/var/lib/kubelet/device-plugins", "/var/log/pods", "/var/log/containers", "/var/lib/cni", realNodeDevices} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	for _, d := range []struct {
		path         string
		major, minor uint32
	}{{"/dev/fuse", 10, 229}, {"/dev/net/tun", 10, 200}} {
		node := filepath.Join(realNodeDevices, filepath.Base(d.path))
		if err := unix.Mknod(node, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("mknod %s: %w", node, err)
		}
		if err := os.Chmod(node, 0o666); err != nil { // past the umask
			return err
		}
		if err := unix.Mount(node, d.path, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s over %s: %w", node, d.path, err)
		}
	}
	return nil
}

// dropHybridCgroup2 makes the node's cgroups plain v1 where the machine runs
// cgroup v1 in "hybrid" mode (this kind of VM: the v1 hierarchies, plus a
// cgroup2 mount at /sys/fs/cgroup/unified that holds the hugetlb
// controller). crun, the runtime OpenShift nodes run pods with, refuses that
// ("cgroups in hybrid mode not supported, drop all controllers from
// cgroupv2"); without the cgroup2 mount it sees legacy v1, which it supports.
// Only the node's private mount namespace loses the mount; OpenShift nodes
// (4.19+) are cgroup v2 only, which this machine cannot give.
func dropHybridCgroup2() error {
	const unified = "/sys/fs/cgroup/unified"
	var root, u unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &root) != nil || root.Type != unix.TMPFS_MAGIC {
		return nil
	}
	if unix.Statfs(unified, &u) != nil || u.Type != unix.CGROUP2_SUPER_MAGIC {
		return nil
	}
	if err := unix.Unmount(unified, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount %s in the node's mount namespace (crun refuses hybrid cgroups): %w", unified, err)
	}
	return nil
}
