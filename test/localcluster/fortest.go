package localcluster

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	securityv1 "github.com/openshift/api/security/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/owned"
)

// StartForTest starts a cluster for one test and stops it when the test
// ends. Under -short, where no control plane runs, it skips the test.
func StartForTest(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the real local control plane (not run with -short)")
	}
	c, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// Eventually calls cond every 200 ms until it returns nil, and fails the
// test with cond's last error when timeout passes first.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not true after %s: %v", what, timeout, err)
}

// Shared is one cluster that the tests of a package share (see Main).
type Shared struct {
	cluster *Cluster
}

// Main runs a package's tests (from TestMain) with one cluster, started
// with opts and made to look like scenario, shared by them; under -short
// none is started and Require skips. It returns the exit code.
func (s *Shared) Main(m *testing.M, opts Options, scenario Scenario) int {
	if testing.Short() {
		return m.Run()
	}
	ctx := context.Background()
	c, err := Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	if err := c.Simulate(ctx, scenario); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s.cluster = c
	return m.Run()
}

// Require is the shared cluster, or skips the test when none runs (-short).
func (s *Shared) Require(t testing.TB) *Cluster {
	t.Helper()
	if s.cluster == nil {
		t.Skip("needs the real API server (not started with -short)")
	}
	return s.cluster
}

// CountingClient is an uncached client whose requests are counted.
func (c *Cluster) CountingClient(t testing.TB) (client.Client, *RequestCounter) {
	t.Helper()
	cfg, counter := Counting(c.Config)
	cl, err := client.New(cfg, client.Options{Scheme: c.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return cl, counter
}

// OwnedCachedClient reads SCCs and RBAC through a cache limited to the
// operator's managed-by label, as the operator's manager does, and writes
// directly.
func (c *Cluster) OwnedCachedClient(t testing.TB) client.Client {
	t.Helper()
	ours := labels.SelectorFromSet(owned.Labels())
	ca, err := cache.New(c.Config, cache.Options{Scheme: c.Scheme, ByObject: map[client.Object]cache.ByObject{
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
	cl, err := client.New(c.Config, client.Options{Scheme: c.Scheme, Cache: &client.CacheOptions{Reader: ca}})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// MayUse asks the API server's RBAC authorizer whether the service account
// may use the SCC for pods in namespace.
func (c *Cluster) MayUse(t testing.TB, sa rbacv1.Subject, namespace, sccName string) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + sa.Namespace + ":" + sa.Name,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + sa.Namespace, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: namespace, Verb: "use", Group: "security.openshift.io", Resource: "securitycontextconstraints", Name: sccName,
		},
	}}
	if err := c.Client.Create(context.Background(), sar); err != nil {
		t.Fatal(err)
	}
	return sar.Status.Allowed
}
