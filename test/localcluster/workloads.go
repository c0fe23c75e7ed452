package localcluster

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

//go:embed openshift/kwok-stages.yaml
var kwokStages []byte

// startWorkloads runs what turns Deployments into running pods:
// kube-controller-manager (Deployments, ReplicaSets, service accounts,
// garbage collection, namespace deletion, node lifecycle), kube-scheduler,
// and kwok playing the kubelet of the simulated nodes (unless realNodeOnly).
// Every controller acts with its own service account's credentials, as on a
// real cluster, so SCC admission judges pods as created by the replicaset
// controller.
func (c *Cluster) startWorkloads(ctx context.Context, assets string, realNodeOnly bool) error {
	kcm, err := startProcess(c.dir, filepath.Join(assets, "kube-controller-manager"),
		"--kubeconfig", c.KubeconfigPath,
		"--use-service-account-credentials=true",
		"--leader-elect=false",
		"--secure-port=0",
		"--controllers=*",
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
		"--node-monitor-grace-period=60s",
		// Raised, as OpenShift raises it: the upstream default of 20 QPS takes
		// minutes to write the status of thousands of Deployments (the
		// bench's), and a new workspace waits behind them.
		"--kube-api-qps=150", "--kube-api-burst=300",
	)
	if err != nil {
		return err
	}
	c.processes = append(c.processes, kcm)
	sched, err := startProcess(c.dir, filepath.Join(assets, "kube-scheduler"),
		"--kubeconfig", c.KubeconfigPath,
		"--leader-elect=false",
		"--secure-port=0",
	)
	if err != nil {
		return err
	}
	c.processes = append(c.processes, sched)
	if realNodeOnly {
		return c.waitForControllers(ctx)
	}
	stages := filepath.Join(c.dir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, kwokStages, 0o600); err != nil {
		return err
	}
	kwok, err := startProcess(c.dir, filepath.Join(assets, "kwok"),
		"--kubeconfig", c.KubeconfigPath,
		"--config", stages,
		"--manage-nodes-with-label-selector", NodeLabel+"=true",
		"--server-address", "",
		// Status values only: nothing here is ever dialled.
		"--node-ip", "127.0.10.1",
		"--cidr", "127.10.0.0/16",
	)
	if err != nil {
		return err
	}
	c.processes = append(c.processes, kwok)
	return c.waitForControllers(ctx)
}

// waitForControllers waits until kube-controller-manager works: it gives
// the default namespace its service account.
func (c *Cluster) waitForControllers(ctx context.Context) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, p := range c.processes {
			if err := p.running(); err != nil {
				return false, err
			}
		}
		err := c.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "default"}, &corev1.ServiceAccount{})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("kube-controller-manager did not start: %w", err)
	}
	return nil
}
