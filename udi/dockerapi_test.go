package udi

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPIService is podman's API service as the waiter runs it: it takes the
// socket from LISTEN_FDS/LISTEN_PID (as podman does, through go-systemd's
// activation) and answers /version until idle; mode "fail" exits at once.
func fakeAPIService(mode string) int {
	if mode == "fail" {
		fmt.Fprintln(os.Stderr, "Error: storage is broken")
		return 125
	}
	if os.Getenv("LISTEN_FDS") != "1" || os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		fmt.Fprintf(os.Stderr, "no socket activation: LISTEN_FDS=%q LISTEN_PID=%q, pid %d\n", os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_PID"), os.Getpid())
		return 1
	}
	l, err := net.FileListener(os.NewFile(3, "socket"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"Version":"5.4.2","ApiVersion":"1.41","Pid":%d}`, os.Getpid())
	})}
	go func() { time.Sleep(300 * time.Millisecond); _ = srv.Close() }() // "idle"
	_ = srv.Serve(l)
	return 0
}

// TestDockerAPIOnFirstUse: nothing runs until a client connects; the
// service started then answers with the socket handed over; after it goes
// idle the next client starts it again; a service that cannot start is
// answered with 503 naming its log instead of leaving the client waiting.
func TestDockerAPIOnFirstUse(t *testing.T) {
	for _, tc := range []struct {
		mode     string
		wantBody string
		wantCode int
	}{
		{"serve", `"Version":"5.4.2"`, http.StatusOK},
		{"fail", "podman system service failed", http.StatusServiceUnavailable},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "udi-api-") // short: socket paths are limited to 108 bytes
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			sock := filepath.Join(dir, "podman.sock")
			l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			f, err := l.File()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ctx, cancel := context.WithCancel(context.Background())
			starts := 0
			done := make(chan error, 1)
			logPath := filepath.Join(dir, DockerAPILog)
			go func() {
				done <- ServeDockerAPI(ctx, int(f.Fd()), logPath, func(log *os.File) *exec.Cmd {
					starts++
					// What udi-setup docker-api-exec does before exec: the
					// variables for its own PID (here the shell's, which execs).
					cmd := exec.Command("/bin/sh", "-c", `LISTEN_FDS=1 LISTEN_PID=$$ exec "$0"`, os.Args[0])
					cmd.Env = append(os.Environ(), envFakeAPIService+"="+tc.mode)
					cmd.ExtraFiles = []*os.File{f}
					cmd.Stdout, cmd.Stderr = log, log
					return cmd
				}, nil)
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Error(err)
				}
			}()
			time.Sleep(100 * time.Millisecond)
			if starts != 0 {
				t.Fatalf("the service started %d times before any client", starts)
			}
			for round := 1; round <= 2; round++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				body, err := pingDockerAPI(ctx, sock)
				cancel()
				if tc.wantCode == http.StatusOK && (err != nil || !strings.Contains(body, tc.wantBody)) {
					t.Fatalf("round %d: %q, %v", round, body, err)
				}
				if tc.wantCode != http.StatusOK && (err == nil || !strings.Contains(err.Error(), tc.wantBody) || !strings.Contains(err.Error(), logPath)) {
					t.Fatalf("round %d: want a 503 naming %s, got %q, %v", round, logPath, body, err)
				}
				time.Sleep(1500 * time.Millisecond) // past the fake's idle time and the waiter's back-off
			}
			if tc.mode == "serve" && starts != 2 {
				t.Errorf("the service started %d times for two bursts, want 2", starts)
			}
		})
	}
}

// pingDockerAPI asks the socket for the API version, as a Docker client's
// first request does.
func pingDockerAPI(ctx context.Context, sock string) (string, error) {
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://d/version", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, oneLine(string(body)))
	}
	return string(body), nil
}

func TestListenFDsEnv(t *testing.T) {
	got := ListenFDsEnv([]string{"HOME=/h", "LISTEN_FDS=4", "LISTEN_PID=1", "LISTEN_FDNAMES=x", "PATH=/bin"}, 42)
	want := []string{"HOME=/h", "PATH=/bin", "LISTEN_FDS=1", "LISTEN_PID=42"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDockerSocketPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"xdg_runtime_dir", Config{UID: 1000, RuntimeDir: "/run/user/1000", TmpDir: "/tmp"}, "/run/user/1000/podman/podman.sock"},
		{"a_pod_has_none", Config{UID: 1000, TmpDir: "/tmp"}, "/tmp/podman-run-1000/podman/podman.sock"},
		{"root", Config{UID: 0, TmpDir: "/var/tmp"}, "/var/tmp/podman-run-0/podman/podman.sock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.DockerSocketPath(); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestRunHealthchecks: without systemd nothing runs a container's
// healthcheck; the waiter runs each one that is due, at its own interval,
// and forgets containers that are gone.
func TestRunHealthchecks(t *testing.T) {
	var mu sync.Mutex
	runs := map[string]int{}
	containers := "fast\nslow\n"
	podman := func(_ context.Context, args ...string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		switch args[0] {
		case "ps":
			return []byte(containers), nil
		case "inspect":
			if args[len(args)-1] == "fast" {
				return []byte("300ms\n"), nil
			}
			return []byte("1h0m0s\n"), nil
		case "healthcheck":
			runs[args[2]]++
			return nil, nil
		}
		return nil, fmt.Errorf("unexpected podman %v", args)
	}
	const poll = 400 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 3*poll+poll/2)
	defer cancel()
	RunHealthchecks(ctx, podman, poll)
	mu.Lock()
	defer mu.Unlock()
	if runs["fast"] != 3 {
		t.Errorf("a 300ms healthcheck ran %d times in 3 polls of 400ms, want 3", runs["fast"])
	}
	if runs["slow"] != 1 {
		t.Errorf("a 1h healthcheck ran %d times, want once (at first sight)", runs["slow"])
	}
}

// TestCheckDockerAPI: the doctor says what is missing without connecting
// (connecting would start podman's service as a side effect).
func TestCheckDockerAPI(t *testing.T) {
	waiter := exec.Command(os.Args[0], DockerAPICommand) // a stand-in (envFakeWaiter)
	waiter.Env = append(os.Environ(), envFakeWaiter+"=1")
	if err := waiter.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = waiter.Process.Kill(); _ = waiter.Wait() })
	for _, tc := range []struct {
		name       string
		socket     bool
		pid        int
		dockerHost string
		want       Status
		say        string
	}{
		{"no_socket", false, 0, "", StatusWarn, "find no Docker API"},
		{"socket_without_waiter", true, os.Getpid(), "", StatusWarn, "no udi-setup waiter holds it"},
		{"served", true, waiter.Process.Pid, "", StatusOK, "starts on first use"},
		{"docker_host_elsewhere", true, waiter.Process.Pid, "tcp://127.0.0.1:2475", StatusWarn, "DOCKER_HOST is tcp://127.0.0.1:2475"},
		{"docker_host_names_it", true, waiter.Process.Pid, "self", StatusOK, "DOCKER_HOST names it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{UID: 1000, RuntimeDir: t.TempDir()}
			sock := cfg.DockerSocketPath()
			if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
				t.Fatal(err)
			}
			if tc.socket {
				if err := os.WriteFile(sock, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.pid != 0 {
				if err := os.WriteFile(filepath.Join(filepath.Dir(sock), dockerAPIPidFile), []byte(strconv.Itoa(tc.pid)+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			host := tc.dockerHost
			if host == "self" {
				host = cfg.DockerHost()
			}
			c := checkDockerAPI(cfg, host)
			if c.Status != tc.want || !strings.Contains(c.Detail, tc.say) {
				t.Errorf("%s %s, want %s saying %q", c.Status, c.Detail, tc.want, tc.say)
			}
		})
	}
}

// TestListenDockerAPI: the waiter binds the socket and names itself in the
// pid file; a second waiter leaves a running one alone; one whose waiter is
// gone binds afresh; outside a user namespace nothing is served.
func TestListenDockerAPI(t *testing.T) {
	dir, err := os.MkdirTemp("", "udi-api-") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	maps := func(content string) string {
		p := filepath.Join(dir, "uid_map")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := Config{UID: 1000, RuntimeDir: dir, UIDMapPath: maps("0 200000 65536\n")}
	cfg.GIDMapPath = cfg.UIDMapPath
	pidFile := filepath.Join(dir, "podman", dockerAPIPidFile)

	l, served, err := ListenDockerAPI(cfg)
	if err != nil || l == nil || served != "" {
		t.Fatalf("first waiter: %v, %q, %v", l, served, err)
	}
	if data, _ := os.ReadFile(pidFile); strings.TrimSpace(string(data)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file %q, want this process", data)
	}
	if fi, err := os.Stat(cfg.DockerSocketPath()); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("no socket at %s: %v", cfg.DockerSocketPath(), err)
	}
	l.Close()

	waiter := exec.Command(os.Args[0], DockerAPICommand) // a stand-in (envFakeWaiter)
	waiter.Env = append(os.Environ(), envFakeWaiter+"=1")
	if err := waiter.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = waiter.Process.Kill(); _ = waiter.Wait() })
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(waiter.Process.Pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.DockerSocketPath(), nil, 0o600); err != nil { // as if it were bound
		t.Fatal(err)
	}
	l, served, err = ListenDockerAPI(cfg)
	if err != nil || l != nil || !strings.Contains(served, fmt.Sprintf("served already (waiter PID %d)", waiter.Process.Pid)) {
		t.Errorf("with a waiter running: %v, %q, %v", l, served, err)
	}

	_ = waiter.Process.Kill()
	_ = waiter.Wait()
	l, served, err = ListenDockerAPI(cfg)
	if err != nil || l == nil {
		t.Errorf("after the waiter went: %v, %q, %v", l, served, err)
	} else {
		l.Close()
	}

	cfg.UIDMapPath = maps("0 0 4294967295\n")
	cfg.GIDMapPath = cfg.UIDMapPath
	if _, _, err := ListenDockerAPI(cfg); err == nil || !strings.Contains(err.Error(), "not in a user namespace") {
		t.Errorf("outside a user namespace: %v", err)
	}
}
