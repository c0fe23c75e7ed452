package demo_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

// runDemo builds the demo command and runs it as `make demo` does, in the
// checkout, returning its output (standard output and error). A process
// runs the DevWorkspace controller once, so each run is its own process.
func runDemo(t *testing.T, args ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the real control plane and DevWorkspace controller")
	}
	root, err := localcluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "nested-workspaces-demo")
	build := exec.Command("go", "build", "-o", bin, "./cmd/nested-workspaces-demo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the demo: %v\n%s", err, out)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = root, &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("nested-workspaces-demo %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// The demo is what a newcomer runs first; it must show the workspace pod
// admitted by OpenShift's SCC admission and running, before and after the
// toggle, on the real local control plane — and, where it shows the
// simulated nodes only, say why and how to see the real one.
func TestDemoShowsANestedWorkspace(t *testing.T) {
	out := runDemo(t, "--simulated-only")
	for _, want := range []string{
		"Showing the simulated nodes only: --simulated-only was given.",
		"`make demo` also runs the workspace on a real node",
		"Verdict:",
		"Supported",
		"SecurityContextConstraints nested-container (OpenShift's own, used as is)",
		"userNamespaceLevel:                RequirePodLevel",
		"with the toggle off: DevWorkspace Running",
		"admitted under SCC (openshift.io/scc): restricted-v2",
		"with the toggle on: DevWorkspace Running",
		"admitted under SCC (openshift.io/scc): nested-container",
		"runs as UID:                       1000\n",
		"type=container_engine_t",
		"hostUsers:                         false",
		"annotation io.kubernetes.cri-o.Devices: /dev/fuse,/dev/net/tun",
		"annotation openshift.io/required-scc: nested-container",
		"procMount: Unmasked",
		"- SETUID",
		"- SETGID",
		"reason: Configured",
		"Stopping the local control plane",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

// Where a real node can run, `make demo` runs the workspace on it and types
// in the nested workspace pod what a user would, showing the output.
func TestDemoRunsPodmanInTheNestedWorkspace(t *testing.T) {
	localcluster.RequireRealNodeMachine(t)
	out := runDemo(t)
	t.Logf("demo output:\n%s", out)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  node: +realnode$`),
		regexp.MustCompile(`Nodes: +1 of 1 with user namespace support`),
		regexp.MustCompile(`(?m)^== In the workspace's terminal \(pod workspace\S+ on node realnode`),
		// The pod's own user namespace, then the container's, nested in it.
		regexp.MustCompile(`(?m)^  uid=1000\S* gid=0`),
		regexp.MustCompile(`(?m)^ +0 +[1-9]\d* +65536$`),
		regexp.MustCompile(`(?m)^  \$ podman run --rm localhost/busybox sh -c 'id; cat /proc/self/uid_map'\n  uid=0\(root\) gid=0\(root\)`),
		regexp.MustCompile(`(?m)^ +0 +1000 +1$`),
		regexp.MustCompile(`(?m)^  \$ podman build -t localhost/hello \.$`),
		regexp.MustCompile(`(?m)^  built inside a workspace\n  owned by 65534:65534$`),
		// podman-compose 1.3 prefixes each line with its service: "[client] | ".
		regexp.MustCompile(`(?m)^  \$ podman-compose up --exit-code-from client$(\n  .*)*\[client\]\S* \|\S* hello from web$`),
		// Docker's compose v2 against the workspace's Docker-compatible API.
		regexp.MustCompile(`(?m)^  \$ docker compose up --exit-code-from client$(\n  .*)*hello from web`),
		regexp.MustCompile(`Done: in the workspace pod admitted under SCC nested-container as UID 1000, on a real node`),
		regexp.MustCompile(`(?m)^\[real node\] host left as before`),
	} {
		if !want.MatchString(out) {
			t.Errorf("demo output does not match %s", want)
		}
	}
}
