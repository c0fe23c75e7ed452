package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nested-workspaces/enabler/test/debpkg"
)

// podmanBenchPackages are the Debian packages the podman rows use: podman
// with runc and fuse-overlayfs, and what podns.sh builds the pod with
// (unshare, nsenter, setpriv, setcap, newuidmap).
var podmanBenchPackages = []string{"podman", "runc", "crun", "fuse-overlayfs", "uidmap", "util-linux", "libcap2-bin"}

// podHostBase is where podns.sh maps the pod's user namespace on the host.
const podHostBase = 200000

// benchPodman times a cold `podman run` of a local multi-layer image inside
// the pod-shaped user namespace the nested podman e2e builds
// (e2e/podman/podns.sh), for each storage driver.
func benchPodman(ctx context.Context, tmp string, r *report) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (podns.sh builds the pod with unshare and mounts)")
	}
	if err := debpkg.Install(podmanBenchPackages...); err != nil {
		return err
	}
	script, err := os.ReadFile("e2e/podman/podns.sh")
	if err != nil {
		return err
	}
	dir := filepath.Join(tmp, "pod")
	for _, d := range []string{"etc", "home", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	scriptPath := filepath.Join(tmp, "podns.sh")
	if err := os.WriteFile(scriptPath, script, 0o755); err != nil {
		return err
	}
	image := filepath.Join(tmp, "multi.tar")
	layers, size, err := writeMultiLayerImage(image)
	if err != nil {
		return fmt.Errorf("build the image: %w", err)
	}
	files := map[string]string{
		"passwd": "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin\nuser:x:1000:0:user user:" + filepath.Join(dir, "home") + ":/bin/bash\n",
		"subuid": "user:1:999\nuser:1001:64535\n",
		"subgid": "user:1:65535\n",
	}
	for name, content := range files {
		f := filepath.Join(dir, "etc", name)
		if err := os.WriteFile(f, []byte(content), 0o664); err != nil {
			return err
		}
		if err := os.Chown(f, podHostBase, podHostBase); err != nil {
			return err
		}
		// Group-writable past the umask, as the UDI makes them for the
		// arbitrary UID in group 0.
		if err := os.Chmod(f, 0o664); err != nil {
			return err
		}
	}
	for _, d := range []string{"", "etc"} {
		if err := os.Chown(filepath.Join(dir, d), podHostBase, podHostBase); err != nil {
			return err
		}
	}
	for _, d := range []string{"home", "run"} {
		if err := os.Chown(filepath.Join(dir, d), podHostBase+1000, podHostBase); err != nil {
			return err
		}
	}
	_ = os.Chmod(filepath.Join(dir, "run"), 0o700)

	rd, wr, err := os.Pipe()
	if err != nil {
		return err
	}
	var holdLog bytes.Buffer
	holder := exec.Command("bash", scriptPath, "up", dir)
	holder.Stdin, holder.Stdout, holder.Stderr = rd, &holdLog, &holdLog
	holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := holder.Start(); err != nil {
		return err
	}
	rd.Close()
	exited := make(chan error, 1)
	go func() { exited <- holder.Wait() }()
	defer func() {
		wr.Close()
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-holder.Process.Pid, syscall.SIGKILL)
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			break
		}
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("pod did not start: %v\n%s", err, holdLog.String())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod did not start within 30s\n%s", holdLog.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	initPID, err := onlyChild(holder.Process.Pid)
	if err != nil {
		return err
	}
	run := func(args ...string) (string, time.Duration, error) {
		full := append([]string{scriptPath, "exec", dir, strconv.Itoa(initPID), "1000", "0", "+setuid,+setgid", "", "--"}, args...)
		cmd := exec.CommandContext(ctx, "bash", full...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.WaitDelay = 10 * time.Second
		t := time.Now()
		err := cmd.Run()
		return out.String(), time.Since(t), err
	}
	if err := benchConfigureInPod(ctx, tmp, dir, run, r); err != nil {
		r.detail("udi-setup configure in the pod: %v", err)
	}
	home := filepath.Join(dir, "home")
	drivers := []struct{ name, driver, opt string }{
		{"native overlay", "overlay", ""},
		{"fuse-overlayfs", "overlay", "overlay.mount_program=/usr/bin/fuse-overlayfs"},
		{"vfs", "vfs", ""},
	}
	results := map[string]time.Duration{}
	for i, d := range drivers {
		root := filepath.Join(home, fmt.Sprintf("storage-%d", i))
		global := []string{"podman", "--root", root, "--runroot", filepath.Join(dir, "run", fmt.Sprintf("rr-%d", i)),
			"--storage-driver", d.driver, "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"}
		if d.opt != "" {
			global = append(global, "--storage-opt", d.opt)
		}
		out, load, err := run(append(global, "load", "-q", "-i", image)...)
		if err != nil {
			r.detail("podman %s: load failed: %v: %s", d.name, err, tail(out, 400))
			continue
		}
		info, _, _ := run(append(global, "info", "--format", "{{.Store.GraphDriverName}} {{.Store.GraphOptions}}")...)
		out, took, err := run(append(global, "run", "--rm", "--network", "none", "localhost/multi:latest", "true")...)
		if err != nil {
			r.detail("podman %s: run failed: %v: %s", d.name, err, tail(out, 400))
			continue
		}
		_, warm, _ := run(append(global, "run", "--rm", "--network", "none", "localhost/multi:latest", "true")...)
		results[d.name] = took
		r.detail("podman %s: image load %s, cold run %s, second run %s; podman info: %s", d.name, load.Round(time.Millisecond), took.Round(time.Millisecond), warm.Round(time.Millisecond), strings.Join(strings.Fields(info), " "))
		_, _, _ = run(append(global, "system", "reset", "-f")...)
		if out, err := exec.Command("bash", scriptPath, "stop-pause", dir, strconv.Itoa(initPID)).CombinedOutput(); err != nil {
			r.detail("podman %s: stop-pause: %v %s", d.name, err, out)
		}
	}
	if err := benchPodman5(ctx, tmp, dir, initPID, image, r); err != nil {
		r.note("Nested podman 5: not measured: %v", err)
		fmt.Fprintln(os.Stderr, "bench: podman 5:", err)
	}
	vfs, ok := results["vfs"]
	for _, d := range drivers {
		took, has := results[d.name]
		if !has {
			r.add("nested podman cold run, "+d.name, "failed (see details)", "-", "not measured")
			continue
		}
		ratio := "-"
		if ok {
			ratio = fmt.Sprintf("%.2f× vfs", float64(took)/float64(vfs))
		}
		r.add("nested podman cold run, "+d.name, fmt.Sprintf("%s (%s)", took.Round(time.Millisecond), ratio), "-", "")
	}
	r.note("Nested podman: pod-shaped user namespace from e2e/podman/podns.sh (65536 IDs from host 200000, uid 1000, SETUID/SETGID), runc, cgroupfs; image localhost/multi with %d layers (%d MiB uncompressed) loaded with podman load into a fresh store per driver; 'cold' is the first podman run after the load (containers' rootfs first mounted or, for vfs, copied), not including the load.", layers, size/mib)
	return nil
}

// benchConfigureInPod runs `udi-setup configure` as a process inside the
// pod, end to end (its own /proc/self, /etc and home), as the entrypoint
// does: at first starts (the image's /etc files, no configuration in the
// home: the storage trials run), the same with 100 MiB that the workspace
// has just written and the kernel not yet written back on the home's
// filesystem (what a start that clones a repository or restores a cache
// leaves), and at later starts on the same home (nothing changed, so the
// trials are skipped); next to the UDI entrypoint's shell subuid step run
// the same way.
func benchConfigureInPod(ctx context.Context, tmp, dir string, run func(...string) (string, time.Duration, error), r *report) error {
	bin := filepath.Join(tmp, "udi-setup-pod")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/udi-setup")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/udi-setup: %v\n%s", err, out)
	}
	const runs = 15
	// As the UDI's image has them before its entrypoint runs: the subuid
	// line its Containerfile writes at build time.
	script := fmt.Sprintf(`TIMEFORMAT=%%3R
image_etc() { echo 'user:10000:65536' >/etc/subuid; echo 'user:10000:65536' >/etc/subgid; rm -f "$HOME/.config/containers/storage.conf" "$HOME/.config/containers/containers.conf"; }
echo first
for i in $(seq %[1]d); do image_etc; { time %[2]s configure >/dev/null; } 2>&1; done
echo unwritten
for i in $(seq %[1]d); do image_etc; head -c 100M /dev/urandom >"$HOME/unwritten"; { time %[2]s configure >/dev/null; } 2>&1; rm -f "$HOME/unwritten"; done
echo later
for i in $(seq %[1]d); do { time %[2]s configure >/dev/null; } 2>&1; done
echo shell
for i in $(seq %[1]d); do { time bash -c 'echo "user:$((UID+1)):$((65536-UID-1))" > "$HOME/subuid.sh"; echo "user:$((UID+1)):$((65536-UID-1))" > "$HOME/subgid.sh"'; } 2>&1; done`,
		runs, bin)
	out, _, err := run("bash", "-c", script)
	if err != nil {
		return fmt.Errorf("%v: %s", err, tail(out, 400))
	}
	times := sectionTimes(out)
	for _, s := range []string{"first", "unwritten", "later", "shell"} {
		if len(times[s]) != runs {
			return fmt.Errorf("got %d timings for %s, want %d:\n%s", len(times[s]), s, runs, tail(out, 400))
		}
	}
	for _, row := range []struct{ section, what string }{
		{"first", "udi-setup configure as a process in the pod, first start (storage trials run), median"},
		{"unwritten", "the same with 100 MiB not yet written back on the home's filesystem, median"},
		{"later", "udi-setup configure as a process in the pod, later starts (same home, trials skipped), median"},
	} {
		m := median(times[row.section])
		r.add(row.what, fmt.Sprintf("%.1f ms (%d runs; slowest %.1f ms)", ms(m), runs, ms(slices.Max(times[row.section]))), "< 10 ms", verdict(m < 10*time.Millisecond))
	}
	r.add("UDI entrypoint's shell subuid/subgid step in the pod (bash -c), median", fmt.Sprintf("%.1f ms (%d runs)", ms(median(times["shell"])), runs), "-", "reference")
	r.note("udi-setup configure in the pod: the CLI as the entrypoint runs it, inside the pod-shaped namespace (podns.sh), timed by bash's time with millisecond resolution. A first start begins from the image's /etc/subuid and /etc/subgid (user:10000:65536, as the UDI's Containerfile writes them) and a home without podman configuration, so it rewrites both files and runs the storage trials (native overlay works on this host's filesystem: one trial). 'Not yet written back': 100 MiB from /dev/urandom written into the home just before configure, as a workspace start that clones or restores leaves it; unmounting a non-volatile overlay would sync all of it. A later start keeps the home, so storage.conf says the trials were decided for the same kernel, filesystem, /dev/fuse and user namespace.")
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

func onlyChild(parent int) (int, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", parent, parent))
		if err == nil {
			if f := strings.Fields(string(data)); len(f) == 1 {
				return strconv.Atoi(f[0])
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no single child of %d: %q %v", parent, data, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeMultiLayerImage writes a docker-archive with a busybox base layer and
// four layers of files on top (a toolchain-like spread of small files and
// a few large ones).
func writeMultiLayerImage(path string) (layers int, size int64, err error) {
	bin, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return 0, 0, fmt.Errorf("busybox-static: %w", err)
	}
	now := time.Now()
	var layerTars [][]byte
	// Base layer.
	{
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "tmp", "root", "usr", "usr/share"} {
			_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: now})
		}
		passwd := "root:x:0:0:root:/root:/bin/sh\n"
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644, Size: int64(len(passwd)), ModTime: now})
		_, _ = tw.Write([]byte(passwd))
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin)), ModTime: now})
		_, _ = tw.Write(bin)
		for _, a := range []string{"sh", "true", "ls", "cat"} {
			_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: now})
		}
		if err := tw.Close(); err != nil {
			return 0, 0, err
		}
		layerTars = append(layerTars, buf.Bytes())
	}
	// Four layers: 1500 small files (4 KiB) and one 16 MiB file each.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	small := bytes.Repeat([]byte("s"), 4096)
	for l := 1; l <= 4; l++ {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		base := fmt.Sprintf("usr/share/layer%d", l)
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: base + "/", Mode: 0o755, ModTime: now})
		for d := 0; d < 15; d++ {
			_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("%s/d%d/", base, d), Mode: 0o755, ModTime: now})
			for f := 0; f < 100; f++ {
				_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("%s/d%d/f%d", base, d, f), Mode: 0o644, Size: int64(len(small)), ModTime: now})
				_, _ = tw.Write(small)
			}
		}
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: base + "/big.bin", Mode: 0o644, Size: int64(len(big)), ModTime: now})
		_, _ = tw.Write(big)
		if err := tw.Close(); err != nil {
			return 0, 0, err
		}
		layerTars = append(layerTars, buf.Bytes())
	}
	var diffIDs, names []string
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: now}); err != nil {
			return err
		}
		_, err := io.Copy(tw, bytes.NewReader(data))
		return err
	}
	for i, lt := range layerTars {
		sum := sha256.Sum256(lt)
		diffIDs = append(diffIDs, "sha256:"+hex.EncodeToString(sum[:]))
		name := fmt.Sprintf("layer%d.tar", i)
		names = append(names, name)
		size += int64(len(lt))
		if err := add(name, lt); err != nil {
			return 0, 0, err
		}
	}
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": now.UTC().Format(time.RFC3339),
		"config": map[string]any{"Cmd": []string{"/bin/sh"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	csum := sha256.Sum256(config)
	configName := hex.EncodeToString(csum[:]) + ".json"
	if err := add(configName, config); err != nil {
		return 0, 0, err
	}
	manifest, _ := json.Marshal([]map[string]any{{"Config": configName, "RepoTags": []string{"localhost/multi:latest"}, "Layers": names}})
	if err := add("manifest.json", manifest); err != nil {
		return 0, 0, err
	}
	if err := tw.Close(); err != nil {
		return 0, 0, err
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return 0, 0, err
	}
	return len(layerTars), size, os.Chmod(path, 0o644)
}

// sectionTimes reads the output of bash's time builtin with TIMEFORMAT=%3R
// (seconds, one a line) under section names (any word that is not a
// number), as the scripts above print them.
func sectionTimes(out string) map[string][]time.Duration {
	times := map[string][]time.Duration{}
	section := ""
	for _, f := range strings.Fields(out) {
		sec, err := strconv.ParseFloat(f, 64)
		if err != nil {
			section = f
			continue
		}
		times[section] = append(times[section], time.Duration(sec*float64(time.Second)))
	}
	return times
}
