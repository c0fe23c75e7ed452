// Package realnode_test runs the user's path on a real node: the workspace
// pod the DevWorkspace Operator renders, admitted by OpenShift's SCC
// admission, runs on a real kubelet with containerd and runc in a pod user
// namespace, and podman and podman-compose work inside it. The whole
// package runs in private mount, network and PID namespaces
// (localcluster.RunIsolated), and the host is checked afterwards.
package realnode_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

// Images of the real node, imported into containerd from archives.
const (
	// WorkspaceImage is udi/Containerfile built with podman on the
	// UDI-shaped base (hack/build-udi-node-image.sh): the image an admin
	// builds on the real UDI, unchanged.
	WorkspaceImage = "localhost/nested-workspaces/workspace:test"
	// fixturesEnv names the host directory holding what the tests copy
	// into a workspace (a busybox root filesystem, the Testcontainers
	// program), as a user would: the image under test carries none of it.
	fixturesEnv = "NESTED_REALNODE_FIXTURES"
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(localcluster.RunIsolated(m, prepareNode))
}

// prepareNode builds (cached) the node's binaries (kubelet, containerd,
// runc; trixie's crun), builds the workspace image from udi/Containerfile,
// and writes the pause image and the fixtures the tests copy into pods.
func prepareNode() (bins string, images []string, cleanup func(), err error) {
	root, err := repoRoot()
	if err != nil {
		return "", nil, nil, err
	}
	nodeBins, err := runScript(root, "hack/build-node-bins.sh")
	if err != nil {
		return "", nil, nil, err
	}
	crun, err := runScript(root, "hack/build-node-crun.sh")
	if err != nil {
		return "", nil, nil, err
	}
	dir, err := os.MkdirTemp("", "nested-realnode-images-")
	if err != nil {
		return "", nil, nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	bins = filepath.Join(dir, "bin")
	if err := localcluster.LinkNodeBinaries(bins, nodeBins, crun); err != nil {
		return "", nil, cleanup, err
	}
	workspace := filepath.Join(dir, "workspace.tar")
	if _, err := runScript(root, "hack/build-udi-node-image.sh", workspace, WorkspaceImage); err != nil {
		return "", nil, cleanup, err
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return "", nil, cleanup, fmt.Errorf("busybox-static (hack/build-node-bins.sh installs it): %w", err)
	}
	bbRootfs := filepath.Join(dir, "busybox.tar")
	if err := localcluster.WriteTarLayer(bbRootfs, localcluster.BusyboxRootfs(busybox, busyboxApplets)); err != nil {
		return "", nil, cleanup, err
	}
	probe := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "testcontainers-probe"), ".")
	probe.Dir = filepath.Join(root, "e2e", "realnode", "testcontainers")
	probe.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := probe.CombinedOutput(); err != nil {
		return "", nil, cleanup, fmt.Errorf("build the Testcontainers program: %v: %s", err, out)
	}
	pause := filepath.Join(dir, "pause.oci.tar")
	if err := localcluster.WriteOCIArchive(pause, localcluster.OCIImage{
		Name: localcluster.PauseImage, Layers: []string{bbRootfs}, Entrypoint: []string{"/bin/sleep", "2147483647"},
	}); err != nil {
		return "", nil, cleanup, err
	}
	// The isolated side (this binary again) finds the fixtures here.
	if err := os.Setenv(fixturesEnv, dir); err != nil {
		return "", nil, cleanup, err
	}
	return bins, []string{pause, workspace}, cleanup, nil
}

// busyboxApplets are the commands the tests run in busybox containers.
var busyboxApplets = []string{"sh", "id", "cat", "stat", "echo", "wget", "httpd", "sleep", "ls", "mkdir", "chown", "touch",
	"grep", "env", "hostname", "nc", "su", "cp", "rm", "true"}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// runScript runs a hack/ script, its progress on stderr, and returns the
// last line of its output.
func runScript(root, script string, args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join(root, script)}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w", script, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1], nil
}
