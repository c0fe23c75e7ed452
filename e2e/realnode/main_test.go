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

// Images of the real node, imported into containerd from OCI archives.
const (
	WorkspaceImage = "localhost/nested-workspaces/workspace:test"
	// busyboxArchive is where the workspace image holds a busybox root
	// filesystem for podman import: there is no registry.
	busyboxArchive = "/opt/nested-workspaces/busybox.tar"
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(localcluster.RunIsolated(m, prepareNode))
}

// prepareNode builds (cached) the node's binaries and the workspace image's
// Debian root filesystem, and writes the images with this tree's udi-setup.
func prepareNode() (bins string, images []string, cleanup func(), err error) {
	root, err := repoRoot()
	if err != nil {
		return "", nil, nil, err
	}
	if bins, err = runScript(root, "hack/build-node-bins.sh"); err != nil {
		return "", nil, nil, err
	}
	rootfs, err := runScript(root, "hack/build-workspace-image.sh")
	if err != nil {
		return "", nil, nil, err
	}
	dir, err := os.MkdirTemp("", "nested-realnode-images-")
	if err != nil {
		return "", nil, nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	udiSetup := filepath.Join(dir, "udi-setup")
	build := exec.Command("go", "build", "-trimpath", "-o", udiSetup, "./cmd/udi-setup")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", nil, cleanup, fmt.Errorf("build udi-setup: %v: %s", err, out)
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return "", nil, cleanup, fmt.Errorf("busybox-static (hack/build-node-bins.sh installs it): %w", err)
	}
	bbRootfs := filepath.Join(dir, "busybox-rootfs.tar")
	if err := localcluster.WriteTarLayer(bbRootfs, localcluster.BusyboxRootfs(busybox, busyboxApplets)); err != nil {
		return "", nil, cleanup, err
	}
	bbTar, err := os.ReadFile(bbRootfs)
	if err != nil {
		return "", nil, cleanup, err
	}
	setup, err := os.ReadFile(udiSetup)
	if err != nil {
		return "", nil, cleanup, err
	}
	top := filepath.Join(dir, "workspace-top.tar")
	if err := localcluster.WriteTarLayer(top, []localcluster.TarLayer{
		{Name: "usr/local/bin/udi-setup", Mode: 0o755, Data: setup},
		// As udi/Containerfile installs it: podman for root (see udi.RootDelegate).
		{Name: "usr/local/bin/podman", Link: "udi-setup"},
		{Name: "opt/nested-workspaces", Mode: 0o755, Dir: true},
		{Name: strings.TrimPrefix(busyboxArchive, "/"), Mode: 0o644, Data: bbTar},
	}); err != nil {
		return "", nil, cleanup, err
	}
	workspace := filepath.Join(dir, "workspace.oci.tar")
	if err := localcluster.WriteOCIArchive(workspace, localcluster.OCIImage{
		Name: WorkspaceImage, Layers: []string{rootfs, top},
		Entrypoint: []string{"/usr/bin/catatonit", "--", "/usr/local/bin/udi-entrypoint"},
		Cmd:        []string{"tail", "-f", "/dev/null"},
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/home/user"},
		User:       "1000", WorkingDir: "/projects",
	}); err != nil {
		return "", nil, cleanup, err
	}
	pause := filepath.Join(dir, "pause.oci.tar")
	if err := localcluster.WriteOCIArchive(pause, localcluster.OCIImage{
		Name: localcluster.PauseImage, Layers: []string{bbRootfs}, Entrypoint: []string{"/bin/sleep", "2147483647"},
	}); err != nil {
		return "", nil, cleanup, err
	}
	return bins, []string{pause, workspace}, cleanup, nil
}

// busyboxApplets are the commands the tests run in busybox containers.
var busyboxApplets = []string{"sh", "id", "cat", "stat", "echo", "wget", "httpd", "sleep", "ls", "mkdir", "chown", "touch",
	"grep", "env", "hostname", "nc", "su", "cp", "rm"}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// runScript runs a hack/ script, its progress on stderr, and returns the
// last line of its output.
func runScript(root, script string) (string, error) {
	cmd := exec.Command("bash", filepath.Join(root, script))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w", script, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1], nil
}
