package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RestartAPIServer stops kube-apiserver with SIGTERM, as a rollout or a
// crash would, keeps it down for downtime, and starts it again with the same
// flags, certificates and etcd: every client (controllers, the operator,
// the admission webhooks' callers) must reconnect on its own.
func (c *Cluster) RestartAPIServer(ctx context.Context, downtime time.Duration) error {
	u, err := url.Parse(c.Config.Host)
	if err != nil {
		return err
	}
	pid, args, err := findAPIServer(u.Port())
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop kube-apiserver: %w", err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		conn, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			return true, nil
		}
		conn.Close()
		return false, nil
	}); err != nil {
		return fmt.Errorf("kube-apiserver did not stop: %w", err)
	}
	time.Sleep(downtime) // the outage itself, not a wait for a condition
	p, err := startProcess(c.dir, args[0], args[1:]...)
	if err != nil {
		return err
	}
	c.processes = append(c.processes, p)
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := p.running(); err != nil {
			return false, err
		}
		return c.Client.Get(ctx, client.ObjectKey{Name: "default"}, &corev1.Namespace{}) == nil, nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver did not come back: %w", err)
	}
	return nil
}

// findAPIServer finds the kube-apiserver serving on port and its command line.
func findAPIServer(port string) (int, []string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, err
	}
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
		if filepath.Base(args[0]) != "kube-apiserver" {
			continue
		}
		for _, a := range args[1:] {
			if a == "--secure-port="+port {
				return pid, args, nil
			}
		}
	}
	return 0, nil, fmt.Errorf("no kube-apiserver serving on port %s", port)
}
