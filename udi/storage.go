package udi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// StorageCandidate is a storage driver setup podman could use, with the trial
// that shows whether it works here.
type StorageCandidate struct {
	Name         string // "native overlay", "fuse-overlayfs", "vfs"
	Driver       string // storage.conf driver
	MountProgram string // storage.conf mount_program, for fuse-overlayfs
	Try          func(ctx context.Context) error
}

// StorageChoice is the outcome of the trials: the winner and why each
// candidate before it lost.
type StorageChoice struct {
	Name         string
	Driver       string
	MountProgram string
	Rejected     []Rejection
}

// Rejection is a candidate that failed its trial.
type Rejection struct {
	Name   string
	Reason string
}

// ChooseStorage runs the trials in order and picks the first that passes.
func ChooseStorage(ctx context.Context, candidates []StorageCandidate) (StorageChoice, error) {
	var rejected []Rejection
	for _, c := range candidates {
		err := c.Try(ctx)
		if err == nil {
			return StorageChoice{Name: c.Name, Driver: c.Driver, MountProgram: c.MountProgram, Rejected: rejected}, nil
		}
		rejected = append(rejected, Rejection{Name: c.Name, Reason: err.Error()})
	}
	var why []string
	for _, r := range rejected {
		why = append(why, r.Name+": "+r.Reason)
	}
	return StorageChoice{Rejected: rejected}, fmt.Errorf("no storage driver works here (%s)", strings.Join(why, "; "))
}

// StorageCandidates are the setups worth trying, best first: native overlay
// (fast, kernel 5.13+ in a user namespace), fuse-overlayfs (needs /dev/fuse),
// vfs (always works, copies every layer).
func StorageCandidates(cfg Config) []StorageCandidate {
	fuse := lookPath("fuse-overlayfs", cfg.SearchPath)
	return []StorageCandidate{
		{Name: "native overlay", Driver: "overlay", Try: func(ctx context.Context) error {
			return tryOverlay(ctx, cfg, "")
		}},
		{Name: "fuse-overlayfs", Driver: "overlay", MountProgram: fuse, Try: func(ctx context.Context) error {
			if fuse == "" {
				return fmt.Errorf("fuse-overlayfs is not installed (not in PATH %s)", cfg.SearchPath)
			}
			if err := openDevice(cfg.DevFuse); err != nil {
				return err
			}
			return tryOverlay(ctx, cfg, fuse)
		}},
		{Name: "vfs", Driver: "vfs", Try: func(context.Context) error { return nil }},
	}
}

// openDevice checks that a device node the pod should have been given
// (io.kubernetes.cri-o.Devices) exists and opens read-write.
func openDevice(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s is missing: %w", path, err)
	}
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return fmt.Errorf("%s is not a character device", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%s cannot be opened read-write: %w", path, err)
	}
	return f.Close()
}

// probeTimeout bounds one trial; a hung fuse daemon must not hang the
// workspace's start.
const probeTimeout = 15 * time.Second

// tryOverlay mounts an overlay (with mountProgram, fuse-overlayfs, when it
// is set) in a scratch user and mount namespace, the way rootless podman
// will, on the filesystem of podman's graph root, and checks that writes and
// deletions land in the upper layer. The mount happens in a child process
// (this program re-executed), which owns the namespaces and takes them along
// when it exits.
func tryOverlay(ctx context.Context, cfg Config, mountProgram string) error {
	if len(cfg.ProbeCommand) == 0 {
		return errors.New("no probe command configured")
	}
	parent := cfg.graphRootParent()
	dir, err := prepareTrialDir(parent)
	if err != nil {
		return err
	}
	defer removeProbeDir(dir)

	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	args := append(cfg.ProbeCommand[1:len(cfg.ProbeCommand):len(cfg.ProbeCommand)], dir)
	if mountProgram != "" {
		args = append(args, mountProgram)
	}
	cmd := exec.CommandContext(ctx, cfg.ProbeCommand[0], args...)
	cmd.Env = append(os.Environ(), cfg.ProbeEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		if strings.Contains(err.Error(), "operation not permitted") && out.Len() == 0 {
			msg = "cannot create a user namespace: " + err.Error()
		}
		// The scratch directory's random name would make storage.conf's
		// comments, and so the file, differ at every start.
		return errors.New(strings.ReplaceAll(msg, dir, filepath.Join(parent, "<trial>")))
	}
	return nil
}

// prepareTrialDir makes a scratch directory in parent with what
// RunOverlayProbe mounts: lower (holding "kept" and "deleted"), upper, work
// and merged.
func prepareTrialDir(parent string) (string, error) {
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", parent, err)
	}
	dir, err := os.MkdirTemp(parent, "udi-setup-probe-")
	if err != nil {
		return "", fmt.Errorf("create a scratch directory in %s: %w", parent, err)
	}
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			removeProbeDir(dir)
			return "", fmt.Errorf("prepare trial: %w", err)
		}
	}
	for _, name := range []string{"kept", "deleted"} {
		if err := os.WriteFile(filepath.Join(dir, "lower", name), []byte(name), 0o600); err != nil {
			removeProbeDir(dir)
			return "", fmt.Errorf("prepare trial: %w", err)
		}
	}
	return dir, nil
}

// removeProbeDir removes the trial's directory; overlay leaves its work
// directory without permissions, so open everything up first.
func removeProbeDir(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

// RunOverlayProbe is the child side of the overlay trial, run as root of a
// fresh user namespace in a fresh mount namespace (see tryOverlay). dir holds
// lower, upper, work and merged; with mountProgram the overlay is mounted by
// that FUSE program instead of the kernel.
func RunOverlayProbe(dir, mountProgram string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private in the scratch namespace: %w", err)
	}
	lower, upper := filepath.Join(dir, "lower"), filepath.Join(dir, "upper")
	work, merged := filepath.Join(dir, "work"), filepath.Join(dir, "merged")
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	if mountProgram == "" {
		// userxattr: in a user namespace overlay must keep its metadata in
		// user.* xattrs, as rootless podman mounts it.
		if err := mountTrialOverlay(merged, opts+",userxattr"); err != nil {
			return fmt.Errorf("mount overlay in a user namespace on %s: %w", filepath.Dir(dir), err)
		}
	} else {
		cmd := exec.Command(mountProgram, "-o", opts, merged)
		// The daemon it leaves behind must not hold our output open.
		errFile, err := os.CreateTemp(dir, "fuse-stderr-")
		if err != nil {
			return fmt.Errorf("prepare trial: %w", err)
		}
		defer errFile.Close()
		cmd.Stderr = errFile
		if err := cmd.Run(); err != nil {
			msg, _ := os.ReadFile(errFile.Name())
			return fmt.Errorf("%s: %w: %s", mountProgram, err, strings.TrimSpace(string(msg)))
		}
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	if err := os.WriteFile(filepath.Join(merged, "added"), []byte("added"), 0o600); err != nil {
		return fmt.Errorf("write through the overlay: %w", err)
	}
	if err := os.Remove(filepath.Join(merged, "deleted")); err != nil {
		return fmt.Errorf("delete a lower file through the overlay (whiteout): %w", err)
	}
	if got, err := os.ReadFile(filepath.Join(merged, "kept")); err != nil || string(got) != "kept" {
		return fmt.Errorf("read a lower file through the overlay: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(merged, "deleted")); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("a deleted lower file is still visible in the overlay (%v)", err)
	}
	if err := unix.Unmount(merged, 0); err != nil {
		return fmt.Errorf("unmount the overlay: %w", err)
	}
	if _, err := os.Stat(filepath.Join(upper, "added")); err != nil {
		return fmt.Errorf("a file written through the overlay is not in the upper layer: %w", err)
	}
	return nil
}

// mountTrialOverlay mounts the trial's kernel overlay as volatile. Without
// it, unmounting an overlay syncs the whole filesystem under it — the
// user's home, often a volume that a starting workspace has just filled
// with unwritten data — which the trial does not need: with 100 MiB not yet
// written back there, a first start took ~70 ms instead of ~10 (make bench).
// A kernel that mounts overlay in a user namespace (5.11+) knows volatile
// (5.10+); should it refuse the option as invalid, the mount is tried
// without it, so that a rejection gives the kernel's reason for the mount
// podman will make.
func mountTrialOverlay(merged, opts string) error {
	err := unix.Mount("overlay", merged, "overlay", 0, opts+",volatile")
	if errors.Is(err, unix.EINVAL) {
		err = unix.Mount("overlay", merged, "overlay", 0, opts)
	}
	return err
}

// lookPath finds an executable in a PATH-style list, as exec.LookPath does
// with $PATH.
func lookPath(name, searchPath string) string {
	for _, dir := range filepath.SplitList(searchPath) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}
