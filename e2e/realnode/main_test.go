// Package realnode_test runs the user's path on a real node: the workspace
// pod the DevWorkspace Operator renders, admitted by OpenShift's SCC
// admission, runs on a real kubelet with containerd and runc in a pod user
// namespace, and podman and podman-compose work inside it. The whole
// package runs in private mount, network and PID namespaces
// (localcluster.RunIsolated), and the host is checked afterwards.
package realnode_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

// The real node's images and fixtures (see localcluster.PrepareRealNode).
const (
	WorkspaceImage = localcluster.WorkspaceImage
	fixturesEnv    = localcluster.FixturesEnv
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(localcluster.RunIsolated(m, prepareNode))
}

// prepareNode is localcluster.PrepareRealNode plus the Testcontainers
// program (e2e/realnode/testcontainers, a module of its own) in the
// fixtures the tests copy into a workspace.
func prepareNode() (bins string, images []string, cleanup func(), err error) {
	bins, images, cleanup, err = localcluster.PrepareRealNode()
	if err != nil {
		return "", nil, cleanup, err
	}
	root, err := localcluster.RepoRoot()
	if err != nil {
		return "", nil, cleanup, err
	}
	probe := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(os.Getenv(fixturesEnv), "testcontainers-probe"), ".")
	probe.Dir = filepath.Join(root, "e2e", "realnode", "testcontainers")
	probe.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := probe.CombinedOutput(); err != nil {
		return "", nil, cleanup, fmt.Errorf("build the Testcontainers program: %v: %s", err, out)
	}
	return bins, images, cleanup, nil
}
