package scc_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	securityv1 "github.com/openshift/api/security/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

// cluster is a real kube-apiserver serving the OpenShift SCC CRD, shaped as
// OpenShift 4.20 unless a test says otherwise; nil under -short.
var cluster *localcluster.Cluster

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testing.Short() {
		return m.Run()
	}
	ctx := context.Background()
	c, err := localcluster.Start(ctx, localcluster.Options{OpenShift: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cluster = c
	return m.Run()
}

func requireCluster(t *testing.T) *localcluster.Cluster {
	t.Helper()
	if cluster == nil {
		t.Skip("needs the real API server (not started with -short)")
	}
	return cluster
}

// countingClient is an uncached client whose requests are counted.
func countingClient(t *testing.T) (client.Client, *localcluster.RequestCounter) {
	t.Helper()
	cfg, counter := localcluster.Counting(cluster.Config)
	c, err := client.New(cfg, client.Options{Scheme: cluster.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c, counter
}

// ourCachedClient reads SCCs and RBAC through a cache limited to our
// managed-by label, as the operator's manager does, and writes directly.
func ourCachedClient(t *testing.T) client.Client {
	t.Helper()
	ours := labels.SelectorFromSet(scc.ManagedLabels())
	ca, err := cache.New(cluster.Config, cache.Options{Scheme: cluster.Scheme, ByObject: map[client.Object]cache.ByObject{
		&securityv1.SecurityContextConstraints{}: {Label: ours},
		&rbacv1.ClusterRole{}:                    {Label: ours},
		&rbacv1.ClusterRoleBinding{}:             {Label: ours},
		&rbacv1.RoleBinding{}:                    {Label: ours},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = ca.Start(ctx) }()
	if !ca.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	c, err := client.New(cluster.Config, client.Options{Scheme: cluster.Scheme, Cache: &client.CacheOptions{Reader: ca}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
