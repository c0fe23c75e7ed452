package localcluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Images of the real node, imported into containerd from archives that
// PrepareRealNode writes: there is no registry.
const (
	// WorkspaceImage is udi/Containerfile built with podman on the
	// UDI-shaped base (hack/build-udi-node-image.sh): the image an admin
	// builds on the real UDI, unchanged.
	WorkspaceImage = "localhost/nested-workspaces/workspace:test"
	// FixturesEnv names the host directory holding what a user copies into
	// a workspace (busybox.tar, a busybox root filesystem for `podman
	// import`): the image under test carries none of it. PrepareRealNode
	// sets it; the run in private namespaces inherits it.
	FixturesEnv = "NESTED_REALNODE_FIXTURES"
	// BusyboxFixture is the busybox root filesystem's name in that
	// directory.
	BusyboxFixture = "busybox.tar"
)

// BusyboxApplets are the commands the busybox image offers (what the e2e
// and the demo run in nested containers).
var BusyboxApplets = []string{"sh", "id", "cat", "stat", "echo", "wget", "httpd", "sleep", "ls", "mkdir", "chown", "touch",
	"grep", "env", "hostname", "nc", "su", "cp", "rm", "true"}

// PrepareRealNode is the host side of a real node (a RealNodeHost for
// RunIsolated): it builds, cached, the node's binaries
// (hack/build-node-bins.sh: kubelet, containerd, runc) and trixie's crun
// (hack/build-node-crun.sh) and, at the same time (one mostly compiles, the
// other mostly downloads and runs podman build), the workspace image
// (hack/build-udi-node-image.sh); then it writes the pause image and the
// fixtures directory (FixturesEnv). It runs in the checkout (it finds it
// with `go env GOMOD`); the scripts' progress goes to stderr.
func PrepareRealNode() (bins string, images []string, cleanup func(), err error) {
	root, err := RepoRoot()
	if err != nil {
		return "", nil, nil, err
	}
	dir, err := os.MkdirTemp("", "nested-realnode-images-")
	if err != nil {
		return "", nil, nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	workspace := filepath.Join(dir, "workspace.tar")
	var imageErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, imageErr = RunScript(root, "hack/build-udi-node-image.sh", workspace, WorkspaceImage)
	}()
	nodeBins, err := RunScript(root, "hack/build-node-bins.sh")
	var crun string
	if err == nil {
		crun, err = RunScript(root, "hack/build-node-crun.sh")
	}
	wg.Wait()
	if err = errors.Join(err, imageErr); err != nil {
		return "", nil, cleanup, err
	}
	bins = filepath.Join(dir, "bin")
	if err := LinkNodeBinaries(bins, nodeBins, crun); err != nil {
		return "", nil, cleanup, err
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return "", nil, cleanup, fmt.Errorf("busybox-static (hack/build-node-bins.sh installs it): %w", err)
	}
	bbRootfs := filepath.Join(dir, BusyboxFixture)
	if err := WriteTarLayer(bbRootfs, BusyboxRootfs(busybox, BusyboxApplets)); err != nil {
		return "", nil, cleanup, err
	}
	pause := filepath.Join(dir, "pause.oci.tar")
	if err := WriteOCIArchive(pause, OCIImage{
		Name: PauseImage, Layers: []string{bbRootfs}, Entrypoint: []string{"/bin/sleep", "2147483647"},
	}); err != nil {
		return "", nil, cleanup, err
	}
	// The isolated side (this program again) finds the fixtures here.
	if err := os.Setenv(FixturesEnv, dir); err != nil {
		return "", nil, cleanup, err
	}
	return bins, []string{pause, workspace}, cleanup, nil
}

// RealNodePrepared tells whether PrepareRealNode will find the node's
// binaries, crun and the workspace image's base built (and so take about a
// minute, the workspace image's podman build, not many).
func RealNodePrepared() bool {
	root, err := RepoRoot()
	if err != nil {
		return false
	}
	bins, err := RunScript(root, "hack/build-node-bins.sh", "--print-dir")
	if err != nil {
		return false
	}
	for _, b := range RealNodeBinaries {
		if _, err := os.Stat(filepath.Join(bins, b)); err != nil {
			return false
		}
	}
	crun, err := RunScript(root, "hack/build-node-crun.sh", "--print-dir")
	if err != nil {
		return false
	}
	if _, err := os.Stat(filepath.Join(crun, RealNodeCrun)); err != nil {
		return false
	}
	base, err := RunScript(root, "hack/build-udi-base.sh", "--print-path")
	if err != nil {
		return false
	}
	_, err = os.Stat(base)
	return err == nil
}

// RepoRoot is the checkout this runs in, from `go env GOMOD`.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the nested-workspaces checkout (go env GOMOD is empty): run this from it")
	}
	return filepath.Dir(gomod), nil
}

// RunScript runs a hack/ script of the checkout at root, its progress on
// stderr, and returns the last line of its output (the scripts print what
// they built there).
func RunScript(root, script string, args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join(root, script)}, args...)...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w", script, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[len(lines)-1], nil
}
