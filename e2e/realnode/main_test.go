// Package realnode_test runs the user's path on a real node: the workspace
// pod the DevWorkspace Operator renders, admitted by OpenShift's SCC
// admission, runs on a real kubelet with containerd and runc in a pod user
// namespace, and podman and podman-compose work inside it. The whole
// package runs in private mount, network and PID namespaces
// (localcluster.RunIsolated), and the host is checked afterwards.
package realnode_test

import (
	"flag"
	"os"
	"testing"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

// The workspace image and the busybox archive in it (see
// localcluster.PrepareRealNode).
const (
	WorkspaceImage = localcluster.WorkspaceImage
	busyboxArchive = localcluster.BusyboxArchive
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(localcluster.RunIsolated(m, localcluster.PrepareRealNode))
}
