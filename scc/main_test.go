package scc_test

import (
	"flag"
	"os"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

// shared is a real kube-apiserver serving the OpenShift SCC CRD, shaped as
// OpenShift 4.20 unless a test says otherwise; none under -short.
var (
	shared  localcluster.Shared
	cluster *localcluster.Cluster
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(shared.Main(m, localcluster.Options{OpenShift: true}, localcluster.OCP420))
}

func requireCluster(t *testing.T) *localcluster.Cluster {
	t.Helper()
	cluster = shared.Require(t)
	return cluster
}

func countingClient(t *testing.T) (client.Client, *localcluster.RequestCounter) {
	t.Helper()
	return cluster.CountingClient(t)
}

func ourCachedClient(t *testing.T) client.Client {
	t.Helper()
	return cluster.OwnedCachedClient(t)
}
