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

// RestartControlPlane kills kube-apiserver and etcd (SIGKILL, as a crash or
// a node losing power would), keeps them down for downtime, and starts
// them again with the same flags, certificates and data: every client
// (controllers, the operator, the admission webhooks' callers) must
// reconnect on its own.
func (c *Cluster) RestartControlPlane(ctx context.Context, downtime time.Duration) error {
	u, err := url.Parse(c.Config.Host)
	if err != nil {
		return err
	}
	apiPID, apiArgs, err := findProcess("kube-apiserver", "--secure-port="+u.Port())
	if err != nil {
		return err
	}
	etcdURL := flagValue(apiArgs, "--etcd-servers")
	etcdPID, etcdArgs, err := findProcess("etcd", "--listen-client-urls="+etcdURL)
	if err != nil {
		return err
	}
	eu, err := url.Parse(etcdURL)
	if err != nil {
		return err
	}
	for _, down := range []struct {
		pid  int
		addr string
	}{{apiPID, u.Host}, {etcdPID, eu.Host}} {
		if err := syscall.Kill(down.pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("stop pid %d: %w", down.pid, err)
		}
		if err := waitGone(ctx, down.pid); err != nil {
			return err
		}
		if err := waitListening(ctx, down.addr, false); err != nil {
			return err
		}
	}
	time.Sleep(downtime) // the outage itself, not a wait for a condition
	etcd, err := startProcess(c.dir, etcdArgs[0], etcdArgs[1:]...)
	if err != nil {
		return err
	}
	c.processes = append(c.processes, etcd)
	if err := waitListening(ctx, eu.Host, true); err != nil {
		if perr := etcd.running(); perr != nil {
			return perr
		}
		return fmt.Errorf("%w; etcd's log ends with:\n%s", err, tail(etcd.logPath, 2000))
	}
	api, err := startProcess(c.dir, apiArgs[0], apiArgs[1:]...)
	if err != nil {
		return err
	}
	// Stopped before etcd when the cluster stops (stopAll goes backwards).
	c.processes = append(c.processes, api)
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := api.running(); err != nil {
			return false, err
		}
		return c.Client.Get(ctx, client.ObjectKey{Name: "default"}, &corev1.Namespace{}) == nil, nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver did not come back: %w", err)
	}
	return nil
}

// waitGone waits until the process has exited (gone, or a zombie its
// parent has not reaped yet): only then are all its ports free.
func waitGone(ctx context.Context, pid int) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true, nil
		}
		// pid (comm) state ...: the state follows the last ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		return len(fields) > 0 && fields[0] == "Z", nil
	})
	if err != nil {
		return fmt.Errorf("pid %d did not exit: %w", pid, err)
	}
	return nil
}

// waitListening waits until addr accepts connections (up) or refuses them.
func waitListening(ctx context.Context, addr string, up bool) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
		}
		return (err == nil) == up, nil
	})
	if err != nil {
		return fmt.Errorf("%s still %s: %w", addr, map[bool]string{true: "down", false: "up"}[up], err)
	}
	return nil
}

func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// findProcess finds the process of binary whose command line has arg, and
// returns its pid and command line.
func findProcess(binary, arg string) (int, []string, error) {
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
		if filepath.Base(args[0]) != binary {
			continue
		}
		for _, a := range args[1:] {
			if a == arg {
				return pid, args, nil
			}
		}
	}
	return 0, nil, fmt.Errorf("no %s running with %s", binary, arg)
}
