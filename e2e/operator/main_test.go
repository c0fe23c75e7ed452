// Package operator_test proves the operator against a real kube-apiserver
// and the real DevWorkspace controller running in the same process.
package operator_test

import (
	"context"
	"flag"

	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/localcluster/dwo"
)

// env is shared by the tests of this package: one control plane, one DWO.
var env struct {
	cluster  *localcluster.Cluster
	dwo      *dwo.Controller
	requests *localcluster.RequestCounter
	// stopOperator stops the operator and waits for it (once; TestMain
	// calls it too).
	stopOperator func()
	// writes are the operator's log lines about its writes.
	writes writeLines
}

// writeLines keeps the "wrote" log lines (one per write the operator made).
type writeLines struct {
	mu    sync.Mutex
	lines []string
}

func (w *writeLines) add(prefix, args string) {
	if !strings.Contains(args, `"msg"="wrote"`) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, args)
}

// since returns the lines logged after the first n, and the count now.
func (w *writeLines) since(n int) ([]string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines[min(n, len(w.lines)):]...), len(w.lines)
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testing.Short() || os.Getenv("NESTED_E2E_SKIP") != "" {
		fmt.Println("skipping operator e2e: -short")
		return m.Run()
	}
	// The operator's and DWO's logs go to the test output only when asked;
	// otherwise the operator's write lines are kept for the tests.
	if os.Getenv("NESTED_E2E_LOGS") != "" {
		ctrl.SetLogger(zap.New(zap.UseDevMode(true)))
	} else {
		ctrl.SetLogger(funcr.New(env.writes.add, funcr.Options{}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{OpenShift: true, DevWorkspace: true, NestedContainers: true, Workloads: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Stop()
	env.cluster = c
	if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The DevWorkspace controller acts as its own service account with the
	// ClusterRole it ships: it may mint a Role only for what it holds.
	dwoConfig, err := c.InstallDWOIdentity(ctx, operator.DefaultDWONamespace, dwo.ServiceAccountName)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	d, err := dwo.Start(ctx, c.Config, dwo.Options{Namespace: operator.DefaultDWONamespace, ControllerConfig: dwoConfig})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer d.Stop()
	env.dwo = d
	// The operator runs as its own service account, bound to the ClusterRole
	// it ships with: the e2e proves that least-privilege RBAC is enough.
	saConfig, err := c.InstallOperatorIdentity(ctx, operatorNamespace)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg, counter := localcluster.Counting(saConfig)
	env.requests = counter
	mgr, err := operator.NewManager(operator.Options{Config: cfg, MetricsAddr: "0", ProbeAddr: "0"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mgrCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	var once sync.Once
	env.stopOperator = func() {
		once.Do(func() {
			stop()
			if err := <-done; err != nil {
				fmt.Fprintln(os.Stderr, "operator:", err)
			}
		})
	}
	code := m.Run()
	env.stopOperator()
	return code
}
