package udi

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.podman.io/storage/pkg/idtools"
	"golang.org/x/sys/unix"
)

// decidedForPrefix starts the line of storage.conf that records what the
// storage trials saw. When everything it names is the same at the next
// start (a persistent home), the trials are not run again: their result
// would be the same, and they are what makes configure slow.
const decidedForPrefix = "# Decided for: "

// storageConditions is what decides which storage driver works: the
// kernel, the filesystem under podman's graph root, /dev/fuse and
// fuse-overlayfs, and the user namespace.
//
// The user namespace counts by its shape (which IDs, how many), not by
// where on the host it starts: the kubelet gives a restarted pod another
// host range, and that changes nothing for storage.
func storageConditions(cfg Config, uidMap []idtools.IDMap) string {
	var u unix.Utsname
	kernel := "unknown"
	if err := unix.Uname(&u); err == nil {
		kernel = unix.ByteSliceToString(u.Release[:])
	}
	fs := "unknown"
	for dir := cfg.graphRootParent(); ; dir = filepath.Dir(dir) {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err == nil {
			fs = fmt.Sprintf("0x%x", uint64(st.Type))
			break
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	fuse := "no /dev/fuse"
	if openDevice(cfg.DevFuse) == nil {
		fuse = "/dev/fuse usable"
	}
	prog := lookPath("fuse-overlayfs", cfg.SearchPath)
	if prog == "" {
		prog = "none"
	}
	shape := make([]string, 0, len(uidMap))
	for _, m := range uidMap {
		shape = append(shape, fmt.Sprintf("%d+%d", m.ContainerID, m.Size))
	}
	return fmt.Sprintf("kernel %s; graph root filesystem %s; %s; fuse-overlayfs %s; user namespace IDs %s",
		kernel, fs, fuse, prog, strings.Join(shape, ","))
}

// storedDecision is what storage.conf says was decided, and for what.
type storedDecision struct {
	Choice     StorageChoice
	DecidedFor string
}

var (
	worksLine    = regexp.MustCompile(`(?m)^#   (.+): works$`)
	rejectedLine = regexp.MustCompile(`(?m)^#   (.+?): rejected: (.*)$`)
	driverLine   = regexp.MustCompile(`(?m)^driver = "([^"]*)"$`)
	programLine  = regexp.MustCompile(`(?m)^mount_program = "([^"]*)"$`)
)

// parseStoredDecision reads the content of a storage.conf udi-setup wrote;
// ok is false when it does not say what it was decided for (written by an
// older udi-setup).
func parseStoredDecision(s string) (d storedDecision, ok bool) {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, decidedForPrefix) {
			d.DecidedFor = strings.TrimPrefix(l, decidedForPrefix)
		}
	}
	works, driver := worksLine.FindStringSubmatch(s), driverLine.FindStringSubmatch(s)
	if d.DecidedFor == "" || works == nil || driver == nil {
		return d, false
	}
	d.Choice = StorageChoice{Name: works[1], Driver: driver[1]}
	if m := programLine.FindStringSubmatch(s); m != nil {
		d.Choice.MountProgram = m[1]
	}
	for _, m := range rejectedLine.FindAllStringSubmatch(s, -1) {
		d.Choice.Rejected = append(d.Choice.Rejected, Rejection{Name: m[1], Reason: m[2]})
	}
	return d, true
}

// switchNote says what becomes of the images already stored when the
// storage setup changes from before to after, or "" when there are none.
func switchNote(cfg Config, before, after StorageChoice) string {
	if before.Name == after.Name {
		return ""
	}
	root := filepath.Join(cfg.graphRootParent(), "storage")
	if _, err := os.Stat(filepath.Join(root, before.Driver+"-images")); err != nil {
		return fmt.Sprintf("storage switches from %s to %s; no images were stored yet", before.Name, after.Name)
	}
	if before.Driver != after.Driver {
		return fmt.Sprintf("storage switches from %s to %s, but %s holds images stored with the %s driver and podman keeps using it until "+
			"'podman system reset' (which deletes them; 'podman save' what you need first)", before.Name, after.Name, root, before.Driver)
	}
	return fmt.Sprintf("storage switches from %s to %s; the images in %s stay (same driver, %s) and are mounted with %s from now on; "+
		"if podman cannot use one, remove it and pull or build it again", before.Name, after.Name, root, after.Driver, after.Name)
}

var (
	tomlComment   = regexp.MustCompile(`(?m)#.*$`)
	imageStores   = regexp.MustCompile(`(?s)additionalimagestores\s*=\s*\[([^\]]*)\]`)
	tomlBasicText = regexp.MustCompile(`"([^"]*)"`)
)

// AdditionalImageStores reads additionalimagestores from the image's
// storage.conf (path), keeping the directories that exist. The UDI lists
// /var/lib/shared there.
func AdditionalImageStores(path string) []string {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	m := imageStores.FindStringSubmatch(tomlComment.ReplaceAllString(string(data), ""))
	if m == nil {
		return nil
	}
	var stores []string
	for _, q := range tomlBasicText.FindAllStringSubmatch(m[1], -1) {
		if fi, err := os.Stat(q[1]); err == nil && fi.IsDir() {
			stores = append(stores, q[1])
		}
	}
	return stores
}
