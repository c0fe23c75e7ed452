package udi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The Docker-compatible API.
//
// Docker tools (the docker CLI, docker compose, Testcontainers, the devcontainer
// CLI) talk to a Docker API socket. Podman serves one (`podman system
// service`), so every nested workspace gets it, on first use: the image's
// entrypoint starts `udi-setup docker-api` in the background after
// configure, which binds the socket and waits. When a client connects, the
// waiter starts `podman system service` with the socket handed over by
// systemd's socket activation protocol (LISTEN_FDS), and podman answers that
// client and the ones after it. After DockerAPIIdle without requests podman
// exits and the waiter waits again. So a workspace that never uses Docker
// tools pays no podman process (tens of MiB) for it, one that does pays the
// service's start once per burst (`make bench`: the first response), and
// the workspace's start waits for none of it: configure stays as fast as it
// was.

// DockerAPIIdle is how long podman's API service stays up without requests.
const DockerAPIIdle = 60 * time.Second

// dockerAPIPidFile, beside the socket, names the waiter.
const dockerAPIPidFile = "udi-setup-docker-api.pid"

// DockerAPILog, beside the socket, is what the last API service printed.
const DockerAPILog = "udi-setup-docker-api.log"

// DockerAPICommand is the waiter's subcommand: `udi-setup docker-api`.
const DockerAPICommand = "docker-api"

// PodmanRuntimeDir is where the user's podman keeps its runtime files:
// XDG_RUNTIME_DIR, or TMPDIR/podman-run-UID (a pod has no XDG_RUNTIME_DIR).
func (c Config) PodmanRuntimeDir() string {
	if c.RuntimeDir != "" {
		return c.RuntimeDir
	}
	tmp := c.TmpDir
	if tmp == "" {
		tmp = "/tmp"
	}
	return filepath.Join(tmp, "podman-run-"+strconv.Itoa(c.UID))
}

// DockerSocketPath is the Docker-compatible API's socket, where podman puts
// its own: RUNTIME_DIR/podman/podman.sock.
func (c Config) DockerSocketPath() string {
	return filepath.Join(c.PodmanRuntimeDir(), "podman", "podman.sock")
}

// DockerHost is the DOCKER_HOST value for the socket.
func (c Config) DockerHost() string { return "unix://" + c.DockerSocketPath() }

// ListenDockerAPI binds the API socket for the waiter (this process),
// unless a waiter already serves it: then it returns no listener and says
// which. Outside a user namespace there is no nested podman to serve.
func ListenDockerAPI(cfg Config) (*net.UnixListener, string, error) {
	if _, _, err := readNamespaceMaps(cfg); err != nil {
		return nil, "", err
	}
	sock := cfg.DockerSocketPath()
	dir := filepath.Dir(sock)
	pidFile := filepath.Join(dir, dockerAPIPidFile)
	if pid, ok := runningWaiter(pidFile); ok && pid != os.Getpid() {
		if _, err := os.Stat(sock); err == nil {
			return nil, fmt.Sprintf("%s is served already (waiter PID %d)", cfg.DockerHost(), pid), nil
		}
		_ = syscall.Kill(pid, syscall.SIGTERM) // its socket is gone: serve afresh
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("create %s for the Docker API socket: %w", dir, err)
	}
	if err := os.Remove(sock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("remove the stale Docker API socket %s: %w", sock, err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s for the Docker API: %w", sock, err)
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		l.Close()
		return nil, "", err
	}
	return l, "", nil
}

// runningWaiter reads the pid file and tells whether that process is a
// udi-setup docker-api waiter.
func runningWaiter(pidFile string) (int, bool) {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0, false
	}
	argv := strings.Split(string(cmdline), "\x00")
	return pid, len(argv) > 1 && argv[1] == DockerAPICommand
}

// ServeDockerAPI is the waiter: each time a client is waiting on the
// listening socket (fd), it runs start (podman's API service, which takes
// the socket over) until that exits, then waits again. A service that fails
// at once is reported to the waiting client as an HTTP 503 naming the log,
// rather than leaving it hanging. While the service runs, health (when not
// nil) runs the containers' healthchecks (see RunHealthchecks).
func ServeDockerAPI(ctx context.Context, fd int, logPath string, start func(log *os.File) *exec.Cmd, health func(context.Context)) error {
	for ctx.Err() == nil {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, 1000); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("wait on the Docker API socket: %w", err)
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			continue
		}
		log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		began := time.Now()
		cmd := start(log)
		if err = cmd.Start(); err == nil {
			hctx, stop := context.WithCancel(ctx)
			if health != nil {
				go health(hctx)
			}
			err = cmd.Wait()
			stop()
		}
		log.Close()
		if err != nil && time.Since(began) < 5*time.Second {
			refuse(fd, fmt.Sprintf("podman system service failed (%v): see %s", err, logPath))
			time.Sleep(time.Second)
		}
	}
	return nil
}

// refuse answers the clients waiting now with 503: each request is read
// first, so that the client's write does not meet a closed connection.
func refuse(fd int, why string) {
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, 0); err != nil || n == 0 {
			return
		}
		nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
		if err != nil {
			return
		}
		// FileConn works on a duplicate; the os.File owns nfd and closes it
		// (closing nfd by number would leave its finalizer to close
		// whatever file holds that number later).
		nf := os.NewFile(uintptr(nfd), "client")
		c, err := net.FileConn(nf)
		nf.Close()
		if err != nil {
			continue
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 0, 4096)
		for !strings.Contains(string(buf), "\r\n\r\n") && len(buf) < cap(buf) {
			n, err := c.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err != nil {
				break
			}
		}
		body := "udi-setup: " + why + "\n"
		fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		c.Close()
	}
}

// ListenFDsEnv is environ with systemd's socket activation variables for one
// socket passed to pid as fd 3.
func ListenFDsEnv(environ []string, pid int) []string {
	out := make([]string, 0, len(environ)+2)
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); k != "LISTEN_FDS" && k != "LISTEN_PID" && k != "LISTEN_FDNAMES" {
			out = append(out, kv)
		}
	}
	return append(out, "LISTEN_FDS=1", "LISTEN_PID="+strconv.Itoa(pid))
}

// checkDockerAPI is the doctor's check of the Docker-compatible API: the
// socket is there, the waiter that starts podman's service on it runs, and
// DOCKER_HOST (when set) names it. It does not connect: that would start
// the service, and with it podman's user namespace, as a side effect of
// asking.
func checkDockerAPI(cfg Config, dockerHost string) Check {
	const name = "docker API"
	sock := cfg.DockerSocketPath()
	fix := "run udi-setup docker-api & (the image's entrypoint does), which serves podman's Docker API on " + sock
	if _, err := os.Stat(sock); err != nil {
		return warn(name, fmt.Sprintf("no socket at %s: docker, docker compose and Testcontainers find no Docker API", sock), fix)
	}
	pid, running := runningWaiter(filepath.Join(filepath.Dir(sock), dockerAPIPidFile))
	if !running {
		return warn(name, fmt.Sprintf("%s is there but no udi-setup waiter holds it: clients will wait or be refused", sock), fix)
	}
	if dockerHost != "" && dockerHost != cfg.DockerHost() {
		return warn(name, fmt.Sprintf("%s is served (waiter PID %d), but DOCKER_HOST is %s", cfg.DockerHost(), pid, dockerHost),
			"unset DOCKER_HOST, or set it to "+cfg.DockerHost()+" (shells get it from /etc/profile.d/udi-docker-host.sh)")
	}
	how := "DOCKER_HOST is not set in this process: shells get it from /etc/profile.d/udi-docker-host.sh"
	if dockerHost != "" {
		how = "DOCKER_HOST names it"
	}
	return ok(name, fmt.Sprintf("%s: podman's API service starts on first use (waiter PID %d; its last log: %s); %s",
		cfg.DockerHost(), pid, filepath.Join(filepath.Dir(sock), DockerAPILog), how))
}

// Healthchecks.
//
// Podman schedules a container's healthcheck with a systemd timer, and a pod
// has no systemd: without one, a healthcheck never runs, the container stays
// "starting", and docker compose's depends_on: condition: service_healthy
// (or up --wait) waits forever. Docker's daemon runs healthchecks itself; so
// does the waiter, while the API service runs (when Docker tools are in use):
// every HealthPoll it lists the running containers that have a healthcheck
// and runs each whose interval has passed, with podman's own `podman
// healthcheck run`. It uses the podman command, not the API, so that the
// service still goes idle when the tools stop asking.

// HealthPoll is how often the waiter looks for healthchecks that are due.
const HealthPoll = 2 * time.Second

// defaultHealthInterval is Docker's interval for a healthcheck that names none.
const defaultHealthInterval = 30 * time.Second

// Podman runs podman commands for RunHealthchecks and returns their output.
type Podman func(ctx context.Context, args ...string) ([]byte, error)

// RunHealthchecks runs due healthchecks, looking every poll (HealthPoll in
// the waiter), until ctx ends.
func RunHealthchecks(ctx context.Context, podman Podman, poll time.Duration) {
	last := map[string]time.Time{}
	interval := map[string]time.Duration{}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		out, err := podman(ctx, "ps", "--filter", "health=starting", "--filter", "health=healthy", "--filter", "health=unhealthy", "--format", "{{.ID}}")
		if err != nil {
			continue
		}
		seen := map[string]bool{}
		for _, id := range strings.Fields(string(out)) {
			seen[id] = true
			every, known := interval[id]
			if !known {
				every = defaultHealthInterval
				if v, err := podman(ctx, "inspect", "--format", "{{.Config.Healthcheck.Interval}}", id); err == nil {
					if d, err := time.ParseDuration(strings.TrimSpace(string(v))); err == nil && d > 0 {
						every = d
					} else if n, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64); err == nil && n > 0 {
						every = time.Duration(n)
					}
				}
				interval[id] = every
			}
			if time.Since(last[id]) < every {
				continue
			}
			last[id] = time.Now()
			_, _ = podman(ctx, "healthcheck", "run", id) // exit 1 when unhealthy: podman records it
		}
		for id := range interval {
			if !seen[id] {
				delete(interval, id)
				delete(last, id)
			}
		}
	}
}
