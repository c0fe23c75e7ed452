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

// Images of the real node, imported into containerd from OCI archives that
// PrepareRealNode writes: there is no registry.
const (
	// WorkspaceImage is the workspace image: Debian's podman and
	// podman-compose shaped as udi/Containerfile shapes the Universal
	// Developer Image, with this tree's udi-setup.
	WorkspaceImage = "localhost/nested-workspaces/workspace:test"
	// BusyboxArchive is where the workspace image holds a busybox root
	// filesystem for `podman import`.
	BusyboxArchive = "/opt/nested-workspaces/busybox.tar"
)

// BusyboxApplets are the commands the workspace's busybox image offers
// (what the e2e and the demo run in nested containers).
var BusyboxApplets = []string{"sh", "id", "cat", "stat", "echo", "wget", "httpd", "sleep", "ls", "mkdir", "chown", "touch",
	"grep", "env", "hostname", "nc", "su", "cp", "rm"}

// PrepareRealNode is the host side of a real node (a RealNodeHost for
// RunIsolated): it builds, cached, the node's binaries
// (hack/build-node-bins.sh) and the workspace image's root filesystem
// (hack/build-workspace-image.sh) — both at once: one mostly compiles, the
// other mostly downloads — then writes the OCI archives of the pause image
// and the workspace image with this tree's udi-setup. It runs in the
// checkout (it finds it with `go env GOMOD`); the scripts' progress goes to
// stderr.
func PrepareRealNode() (bins string, images []string, cleanup func(), err error) {
	root, err := RepoRoot()
	if err != nil {
		return "", nil, nil, err
	}
	var rootfs string
	var rootfsErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rootfs, rootfsErr = RunScript(root, "hack/build-workspace-image.sh")
	}()
	bins, err = RunScript(root, "hack/build-node-bins.sh")
	wg.Wait()
	if err = errors.Join(err, rootfsErr); err != nil {
		return "", nil, nil, err
	}
	dir, err := os.MkdirTemp("", "nested-realnode-images-")
	if err != nil {
		return "", nil, nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	if images, err = writeRealNodeImages(root, dir, rootfs); err != nil {
		return "", nil, cleanup, err
	}
	return bins, images, cleanup, nil
}

// writeRealNodeImages writes into dir the pause image (busybox sleeping)
// and the workspace image: rootfs (a tarball from
// hack/build-workspace-image.sh) with a layer holding this tree's
// udi-setup and a busybox image for podman import.
func writeRealNodeImages(root, dir, rootfs string) ([]string, error) {
	udiSetup := filepath.Join(dir, "udi-setup")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", udiSetup, "./cmd/udi-setup")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build udi-setup: %v: %s", err, out)
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("busybox-static (hack/build-node-bins.sh installs it): %w", err)
	}
	bbRootfs := filepath.Join(dir, "busybox-rootfs.tar")
	if err := WriteTarLayer(bbRootfs, BusyboxRootfs(busybox, BusyboxApplets)); err != nil {
		return nil, err
	}
	bbTar, err := os.ReadFile(bbRootfs)
	if err != nil {
		return nil, err
	}
	setup, err := os.ReadFile(udiSetup)
	if err != nil {
		return nil, err
	}
	top := filepath.Join(dir, "workspace-top.tar")
	if err := WriteTarLayer(top, []TarLayer{
		{Name: "usr/local/bin/udi-setup", Mode: 0o755, Data: setup},
		// As udi/Containerfile installs it: podman for root (see udi.RootDelegate).
		{Name: "usr/local/bin/podman", Link: "udi-setup"},
		{Name: "opt/nested-workspaces", Mode: 0o755, Dir: true},
		{Name: strings.TrimPrefix(BusyboxArchive, "/"), Mode: 0o644, Data: bbTar},
	}); err != nil {
		return nil, err
	}
	workspace := filepath.Join(dir, "workspace.oci.tar")
	if err := WriteOCIArchive(workspace, OCIImage{
		Name: WorkspaceImage, Layers: []string{rootfs, top},
		Entrypoint: []string{"/usr/bin/catatonit", "--", "/usr/local/bin/udi-entrypoint"},
		Cmd:        []string{"tail", "-f", "/dev/null"},
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/home/user"},
		User:       "1000", WorkingDir: "/projects",
	}); err != nil {
		return nil, err
	}
	pause := filepath.Join(dir, "pause.oci.tar")
	if err := WriteOCIArchive(pause, OCIImage{
		Name: PauseImage, Layers: []string{bbRootfs}, Entrypoint: []string{"/bin/sleep", "2147483647"},
	}); err != nil {
		return nil, err
	}
	return []string{pause, workspace}, nil
}

// RealNodePrepared tells whether PrepareRealNode will find the node's
// binaries and the workspace image's root filesystem built (and so take
// seconds, not minutes).
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
	rootfs, err := RunScript(root, "hack/build-workspace-image.sh", "--print-path")
	if err != nil {
		return false
	}
	_, err = os.Stat(rootfs)
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
