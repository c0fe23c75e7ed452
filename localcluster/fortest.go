package localcluster

import (
	"context"
	"testing"
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
