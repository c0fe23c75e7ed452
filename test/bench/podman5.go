package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// benchPodman5 measures podman 5 (the UDI's) in the same pod-shaped
// namespace: the UDI-shaped Debian trixie root filesystem
// (hack/build-udi-base.sh: podman 5.4, crun 1.21, pasta) is unpacked inside
// the pod as its root, and every command runs with that as its root
// (pivot_root in a mount namespace of its own) as UID 1000 with SETUID and
// SETGID only. Rows: the cold run per storage driver, and
// the Docker-compatible API's first response (udi-setup's waiter starting
// podman system service) against a warm one.
func benchPodman5(ctx context.Context, tmp, dir string, initPID int, image string, r *report) error {
	out, err := exec.CommandContext(ctx, "bash", "hack/build-udi-base.sh").Output()
	if err != nil {
		return fmt.Errorf("hack/build-udi-base.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	base := lines[len(lines)-1]
	root := filepath.Join(dir, "udi")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	if err := os.Chown(root, podHostBase, podHostBase); err != nil {
		return err
	}
	// As the pod's root, in the pod's namespaces.
	asPodRoot := func(stdin io.Reader, script string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--target", strconv.Itoa(initPID), "--user", "--mount", "--pid", "--",
			"sh", "-c", script, "sh"}, args...)...)
		cmd.Stdin = stdin
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	tarball, err := os.Open(base)
	if err != nil {
		return err
	}
	defer tarball.Close()
	// Unpacked by the pod's root, so that owners are the pod's and file
	// capabilities (newuidmap's) are written for its namespace.
	start := time.Now()
	if out, err := asPodRoot(tarball, `tar -xf - -C "$1" --xattrs --xattrs-include=security.capability --numeric-owner --exclude="./dev/*"`, root); err != nil {
		return fmt.Errorf("unpack the UDI-shaped base in the pod: %v: %s", err, tail(out, 400))
	}
	unpacked := time.Since(start)
	udiSetup := filepath.Join(tmp, "udi-setup-pod")
	setup := `set -e
r=$1
for d in proc dev sys; do mount --rbind /$d "$r/$d"; done
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
echo 'bench:x:1000:0:bench:/home/bench:/bin/bash' >>"$r/etc/passwd"
printf 'bench:1:999\nbench:1001:64535\n' >"$r/etc/subuid"
printf 'bench:1:65535\n' >"$r/etc/subgid"
mkdir -p "$r/home/bench" "$r/tmp/run-1000"
chown 1000:0 "$r/home/bench" "$r/tmp/run-1000"
chmod 0700 "$r/tmp/run-1000"
cat "$2" >"$r/usr/local/bin/udi-setup"; chmod 0755 "$r/usr/local/bin/udi-setup"
cat "$3" >"$r/home/bench/multi.tar"; chown 1000:0 "$r/home/bench/multi.tar"`
	if err := os.Chmod(udiSetup, 0o755); err != nil {
		return err
	}
	if out, err := asPodRoot(nil, setup, root, udiSetup, image); err != nil {
		return fmt.Errorf("set the root up: %v: %s", err, tail(out, 400))
	}
	asUser := func(args ...string) (string, time.Duration, error) {
		// pivot_root, not chroot: the kernel refuses a new user namespace
		// (podman's) to a chrooted process.
		full := append([]string{"--target", strconv.Itoa(initPID), "--user", "--mount", "--pid", "--",
			"unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount --rbind "$0" "$0" && cd "$0" && mkdir -p .oldroot && pivot_root . .oldroot && cd / && exec "$@"`, root,
			"setpriv", "--reuid", "1000", "--regid", "0", "--clear-groups",
			"--inh-caps=-all,+setuid,+setgid", "--bounding-set=-all,+setuid,+setgid",
			"env", "-i", "HOME=/home/bench", "USER=bench", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
			"TMPDIR=/tmp", "XDG_RUNTIME_DIR=/tmp/run-1000", "LANG=C.UTF-8",
			// This machine's cgroups are v1: podman 5 warns on every command.
			"PODMAN_IGNORE_CGROUPSV1_WARNING=1"}, args...)
		cmd := exec.CommandContext(ctx, "nsenter", full...)
		var b strings.Builder
		cmd.Stdout, cmd.Stderr = &b, &b
		cmd.WaitDelay = 10 * time.Second
		t := time.Now()
		err := cmd.Run()
		return b.String(), time.Since(t), err
	}
	version, _, err := asUser("podman.orig", "--version")
	if err != nil {
		return fmt.Errorf("podman 5 in the pod: %v: %s", err, tail(version, 400))
	}
	version = strings.TrimSpace(version)
	drivers := []struct{ name, driver, opt string }{
		{"native overlay", "overlay", ""},
		{"fuse-overlayfs", "overlay", "overlay.mount_program=/usr/bin/fuse-overlayfs"},
		{"vfs", "vfs", ""},
	}
	results := map[string]time.Duration{}
	runtime := ""
	for i, d := range drivers {
		global := []string{"podman.orig", "--root", fmt.Sprintf("/home/bench/storage-%d", i), "--runroot", fmt.Sprintf("/tmp/rr-%d", i),
			"--storage-driver", d.driver, "--cgroup-manager", "cgroupfs", "--events-backend", "file"}
		if d.opt != "" {
			global = append(global, "--storage-opt", d.opt)
		}
		out, load, err := asUser(append(global, "load", "-q", "-i", "/home/bench/multi.tar")...)
		if err != nil {
			r.detail("podman 5 %s: load failed: %v: %s", d.name, err, tail(out, 400))
			continue
		}
		info, _, _ := asUser(append(global, "info", "--format", "{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}} {{.Store.GraphOptions}}")...)
		runtime = strings.Fields(info + " ?")[0]
		out, took, err := asUser(append(global, "run", "--rm", "--network", "none", "localhost/multi:latest", "true")...)
		if err != nil {
			r.detail("podman 5 %s: run failed: %v: %s", d.name, err, tail(out, 400))
			continue
		}
		_, warm, _ := asUser(append(global, "run", "--rm", "--network", "none", "localhost/multi:latest", "true")...)
		results[d.name] = took
		r.detail("podman 5 %s: image load %s, cold run %s, second run %s; podman info: %s", d.name, load.Round(time.Millisecond), took.Round(time.Millisecond), warm.Round(time.Millisecond), strings.Join(strings.Fields(info), " "))
		_, _, _ = asUser(append(global, "system", "reset", "-f")...)
		_, _ = asPodRoot(nil, `kill -KILL "$(cat "$1/tmp/run-1000/libpod/tmp/pause.pid" 2>/dev/null)" 2>/dev/null || true`, root)
	}
	vfs, haveVFS := results["vfs"]
	for _, d := range drivers {
		took, has := results[d.name]
		if !has {
			r.add("nested podman 5 cold run, "+d.name, "failed (see details)", "-", "not measured")
			continue
		}
		ratio := "-"
		if haveVFS {
			ratio = fmt.Sprintf("%.2f× vfs", float64(took)/float64(vfs))
		}
		r.add("nested podman 5 cold run, "+d.name, fmt.Sprintf("%s (%s)", took.Round(time.Millisecond), ratio), "-", "")
	}

	// The Docker-compatible API as the image's entrypoint starts it:
	// configure, then the waiter in the background; the first request starts
	// podman's service.
	if out, _, err := asUser("sh", "-c", "udi-setup configure -runtime default && { udi-setup docker-api </dev/null >/dev/null 2>&1 & }"); err != nil {
		return fmt.Errorf("udi-setup configure and docker-api in the UDI root: %v: %s", err, tail(out, 400))
	}
	script := `TIMEFORMAT=%3R; export DOCKER_HOST=unix:///tmp/run-1000/podman/podman.sock
for i in $(seq 100); do [ -S /tmp/run-1000/podman/podman.sock ] && break; sleep 0.05; done
for i in 1 2 3; do
  echo first; { time docker version --format '{{.Server.Version}}' >/dev/null; } 2>&1
  echo warm; { time docker version --format '{{.Server.Version}}' >/dev/null; } 2>&1
  # Until the service has gone idle again (60 s), or stopped here.
  pkill -f '[p]odman system service'; sleep 1
done`
	apiOut, _, err := asUser("bash", "-c", script)
	if err != nil {
		return fmt.Errorf("the Docker API in the pod: %v: %s", err, tail(apiOut, 400))
	}
	times := sectionTimes(apiOut)
	if len(times["first"]) != 3 || len(times["warm"]) != 3 {
		return fmt.Errorf("the Docker API timings: %s", tail(apiOut, 400))
	}
	first, warm := median(times["first"]), median(times["warm"])
	r.add("Docker API first response in the pod (docker version: the waiter starts podman 5's API service), median of 3",
		fmt.Sprintf("%.0f ms (a warm one: %.0f ms; so the service's start is ~%.0f ms)", ms(first), ms(warm), ms(first-warm)), "-", "")
	r.note("Nested podman 5: %s from the UDI-shaped Debian trixie root filesystem (hack/build-udi-base.sh), unpacked in the pod-shaped namespace by its root (%s) and run there (pivot_root into it) as UID 1000 with SETUID and SETGID only, OCI runtime %s (podman's default; the pod sees cgroup v2 without controllers, which podns.sh mounts), cgroupfs; the same image and storage flags as the podman 4.3 rows. The Docker API rows run udi-setup configure and udi-setup docker-api there, as the image's entrypoint does, and time the docker CLI's `docker version` (its own start included) against the waiter's socket: first with no service running (the waiter starts `podman system service`), then again; the service is stopped between rounds.",
		version, unpacked.Round(time.Second), runtime)
	return nil
}
