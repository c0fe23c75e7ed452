package udi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.podman.io/storage/pkg/idtools"
	"golang.org/x/sys/unix"
)

// confMarker starts every file udi-setup writes; a file without it is the
// user's own and is left alone.
const confMarker = "# Written by udi-setup configure."

// ConfigureReport says what Configure found, decided and wrote.
type ConfigureReport struct {
	User           PasswdEntry
	Passwd         WriteMethod
	UIDMap, GIDMap []idtools.IDMap
	SubUIDs        []SubIDRange
	SubGIDs        []SubIDRange
	SubUIDFile     WriteMethod
	SubGIDFile     WriteMethod
	Storage        StorageChoice
	// StorageTrialsSkipped: storage.conf was decided at an earlier start
	// under the same conditions, so the trials were not run again.
	StorageTrialsSkipped bool
	StorageConf          WriteMethod
	Runtime              string // "" for podman's default
	RuntimeWhy           string
	ContainersConf       WriteMethod
	// RootDelegate is set when the user is root without CAP_SYS_ADMIN:
	// podman runs as this delegate, and the storage and engine settings are
	// the delegate's (in its Configure report).
	RootDelegate *DelegateReport
	Notes        []string
}

// keptForeign is the WriteMethod of a configuration file that exists without
// our marker.
const keptForeign WriteMethod = "kept (not written by udi-setup)"

// Configure prepares the running user for rootless podman: passwd entry,
// subordinate IDs from the namespace's maps, storage driver by trial, and
// the engine settings a pod needs. Running it again with nothing changed
// writes nothing.
func Configure(ctx context.Context, cfg Config) (ConfigureReport, error) {
	w := newFileWriter()
	var r ConfigureReport
	var err error
	if r.UIDMap, r.GIDMap, err = readNamespaceMaps(cfg); err != nil {
		return r, err
	}
	// Plan before writing anything, so that a namespace we cannot serve
	// leaves every file as it was.
	if !isMapped(cfg.UID, r.UIDMap) {
		return r, fmt.Errorf("UID %d is outside this pod's user namespace (uid_map %s): a namespace-range SCC (restricted-v2) gives UIDs like 1000680000, "+
			"which a pod user namespace of 65536 IDs cannot hold, so podman cannot map it; run the workspace as a UID below 65536 — "+
			"the nested SCC does (NestedContainers sets runAsUser, 1000 by default)", cfg.UID, FormatIDMap(r.UIDMap))
	}
	if asRoot, err := needsRootDelegate(cfg); err != nil {
		return r, err
	} else if asRoot {
		return r, configureRootDelegate(ctx, cfg, w, &r)
	}
	files, err := planSubIDFiles(cfg, &r, "", cfg.UID, cfg.GID)
	if err != nil {
		return r, err
	}
	if r.User, r.Passwd, err = EnsurePasswd(cfg, w); err != nil {
		return r, err
	}
	if err := files.write(cfg, w, &r, r.User.Name, cfg.UID); err != nil {
		return r, err
	}
	if err := os.MkdirAll(cfg.containersConfigDir(), 0o700); err != nil {
		return r, fmt.Errorf("create %s: %w", cfg.containersConfigDir(), err)
	}
	if err := configureStorage(ctx, cfg, w, &r); err != nil {
		return r, err
	}
	if err := configureEngine(cfg, w, &r); err != nil {
		return r, err
	}
	return r, nil
}

func readNamespaceMaps(cfg Config) (uids, gids []idtools.IDMap, err error) {
	if uids, err = ReadIDMap(cfg.UIDMapPath); err != nil {
		return nil, nil, err
	}
	if gids, err = ReadIDMap(cfg.GIDMapPath); err != nil {
		return nil, nil, err
	}
	if IsIdentityMap(uids) {
		return nil, nil, fmt.Errorf("not in a user namespace (%s is %q): subordinate IDs can only be derived from a pod's own map; "+
			"the workspace pod needs hostUsers: false, which the operator sets when nested containers are enabled", cfg.UIDMapPath, FormatIDMap(uids))
	}
	return uids, gids, nil
}

// subIDFiles are the subuid and subgid files as read, before the planned
// ranges are written into them.
type subIDFiles struct{ subuid, subgid *SubIDFile }

// planSubIDFiles plans the subordinate IDs of the user uid/gid (name, or
// "" for the workspace's own user) within this namespace into r, and reads
// the files they go into; it writes nothing.
func planSubIDFiles(cfg Config, r *ConfigureReport, name string, uid, gid int) (subIDFiles, error) {
	who := func(kind string, id int) string {
		if name == "" {
			return fmt.Sprintf("%s %d", kind, id)
		}
		return fmt.Sprintf("%s (%s %d)", name, kind, id)
	}
	var f subIDFiles
	var err error
	if r.SubUIDs, err = PlanSubIDs(r.UIDMap, uid); err != nil {
		return f, fmt.Errorf("plan subordinate UIDs for %s: %w", who("UID", uid), err)
	}
	if r.SubGIDs, err = PlanSubIDs(r.GIDMap, gid); err != nil {
		return f, fmt.Errorf("plan subordinate GIDs for %s: %w", who("GID", gid), err)
	}
	if f.subuid, err = readSubIDFile(cfg.SubUIDPath); err != nil {
		return f, err
	}
	if f.subgid, err = readSubIDFile(cfg.SubGIDPath); err != nil {
		return f, err
	}
	return f, nil
}

// write puts r's planned ranges for the user name (UID uid) into both
// files, recording in r what was written.
func (f subIDFiles) write(cfg Config, w fileWriter, r *ConfigureReport, name string, uid int) error {
	var err error
	if r.SubUIDFile, err = writeSubIDs(cfg.SubUIDPath, f.subuid.WithRanges(name, uid, r.SubUIDs), w); err != nil {
		return err
	}
	r.SubGIDFile, err = writeSubIDs(cfg.SubGIDPath, f.subgid.WithRanges(name, uid, r.SubGIDs), w)
	return err
}

// readSubIDFile reads a subuid or subgid file; a missing one is empty.
func readSubIDFile(path string) (*SubIDFile, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f, err := ParseSubIDFile(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w; podman refuses the whole file while that line is there: fix or delete it", path, err)
	}
	return f, nil
}

// writeSubIDs writes the file with the user's planned ranges in it.
func writeSubIDs(path string, f *SubIDFile, w fileWriter) (WriteMethod, error) {
	how, err := w.write(path, []byte(f.String()), 0o644)
	if err != nil {
		return "", fmt.Errorf("write subordinate IDs to %s: %w", path, err)
	}
	return how, nil
}

func configureStorage(ctx context.Context, cfg Config, w fileWriter, r *ConfigureReport) error {
	path := cfg.StorageConfPath()
	current, err := os.ReadFile(path)
	if err == nil && !strings.HasPrefix(string(current), confMarker) {
		r.StorageConf = keptForeign // the user's own
		return nil
	}
	conditions := storageConditions(cfg, r.UIDMap)
	stores := AdditionalImageStores(cfg.SystemStorageConf)
	stored, haveStored := parseStoredDecision(string(current))
	if haveStored && stored.DecidedFor == conditions {
		// A later start with nothing changed: the trials would decide the
		// same. The file is rendered again all the same, in case the image's
		// additional image stores changed; otherwise nothing is written.
		how, err := w.write(path, []byte(renderStorageConf(stored.Choice, conditions, stores)), 0o644)
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		r.Storage, r.StorageTrialsSkipped, r.StorageConf = stored.Choice, true, how
		return nil
	}
	choice, err := ChooseStorage(ctx, StorageCandidates(cfg))
	if err != nil {
		return err
	}
	r.Storage = choice
	how, err := w.write(path, []byte(renderStorageConf(choice, conditions, stores)), 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	r.StorageConf = how
	switch {
	case haveStored:
		if note := switchNote(cfg, stored.Choice, choice); note != "" {
			r.Notes = append(r.Notes, fmt.Sprintf("conditions changed since storage was chosen (was: %s; now: %s): %s", stored.DecidedFor, conditions, note))
		}
	default:
		if note := storageSwitchNote(cfg, choice.Driver); note != "" {
			r.Notes = append(r.Notes, note)
		}
	}
	return nil
}

// foreign reports whether path exists and was not written by us.
func foreign(path string) bool {
	data, err := os.ReadFile(path)
	return err == nil && !strings.HasPrefix(string(data), confMarker)
}

// renderStorageConf is the user's storage.conf for the chosen storage. A
// user's storage.conf replaces the image's /etc/containers/storage.conf
// whole, so the image's additional image stores (the UDI's /var/lib/shared,
// read-only images every user sees) are carried over; they hold overlay
// layers, so only for the overlay driver.
func renderStorageConf(c StorageChoice, conditions string, stores []string) string {
	var b strings.Builder
	b.WriteString(confMarker + " It brings this file up to date at every start;\n")
	b.WriteString("# delete the first line to keep your own version.\n")
	b.WriteString(decidedForPrefix + conditions + "\n")
	b.WriteString("# Storage driver chosen by trial, best first:\n")
	for _, rej := range c.Rejected {
		fmt.Fprintf(&b, "#   %s: rejected: %s\n", rej.Name, oneLine(rej.Reason))
	}
	fmt.Fprintf(&b, "#   %s: works\n", c.Name)
	fmt.Fprintf(&b, "[storage]\ndriver = %q\n", c.Driver)
	if c.Driver == "overlay" && len(stores) > 0 {
		quoted := make([]string, len(stores))
		for i, st := range stores {
			quoted[i] = fmt.Sprintf("%q", st)
		}
		b.WriteString("\n[storage.options]\n# The image's additional image stores (its /etc/containers/storage.conf).\n")
		fmt.Fprintf(&b, "additionalimagestores = [%s]\n", strings.Join(quoted, ", "))
	}
	if c.MountProgram != "" {
		fmt.Fprintf(&b, "\n[storage.options.overlay]\nmount_program = %q\n", c.MountProgram)
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// storageSwitchNote warns when images already stored under another driver
// will stay with it: podman keeps using the driver recorded in its database.
func storageSwitchNote(cfg Config, driver string) string {
	root := filepath.Join(cfg.graphRootParent(), "storage")
	for _, other := range []string{"overlay", "vfs"} {
		if other == driver {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, other+"-images")); err == nil {
			if _, err := os.Stat(filepath.Join(root, driver+"-images")); err != nil {
				return fmt.Sprintf("%s holds images stored with %s; podman keeps using %s until you run 'podman system reset'", root, other, other)
			}
		}
	}
	return ""
}

// configureEngine writes containers.conf: a pod has neither a systemd user
// session nor journald, and on a node without cgroup v2 crun cannot run.
func configureEngine(cfg Config, w fileWriter, r *ConfigureReport) error {
	r.Runtime, r.RuntimeWhy = chooseRuntime(cfg)
	path := cfg.ContainersConfPath()
	if foreign(path) {
		r.ContainersConf = keptForeign
		return nil
	}
	var b strings.Builder
	b.WriteString(confMarker + " It brings this file up to date at every start;\n")
	b.WriteString("# delete the first line to keep your own version.\n")
	b.WriteString("[engine]\n")
	b.WriteString("# A pod has no systemd user session to delegate cgroups from.\n")
	b.WriteString("cgroup_manager = \"cgroupfs\"\n")
	b.WriteString("# A pod has no journald.\n")
	b.WriteString("events_logger = \"file\"\n")
	if r.Runtime != "" {
		fmt.Fprintf(&b, "# %s\nruntime = %q\n", r.RuntimeWhy, r.Runtime)
	}
	how, err := w.write(path, []byte(b.String()), 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	r.ContainersConf = how
	return nil
}

func chooseRuntime(cfg Config) (name, why string) {
	switch cfg.Runtime {
	case "":
		return "", "podman's default runtime"
	case "auto":
	default:
		return cfg.Runtime, "runtime chosen with --runtime"
	}
	var st unix.Statfs_t
	if err := unix.Statfs(cfg.CgroupRoot, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "", fmt.Sprintf("%s is cgroup v2: podman's default runtime works", cfg.CgroupRoot)
	}
	if lookPath("runc", cfg.SearchPath) != "" {
		return "runc", fmt.Sprintf("%s is not cgroup v2 and crun refuses hybrid cgroups: runc", cfg.CgroupRoot)
	}
	return "", fmt.Sprintf("%s is not cgroup v2 but runc is not installed: podman's default runtime", cfg.CgroupRoot)
}

// String is the report udi-setup configure -v prints.
func (r ConfigureReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "user namespace: uid_map %s; gid_map %s\n", FormatIDMap(r.UIDMap), FormatIDMap(r.GIDMap))
	fmt.Fprintf(&b, "passwd: %s (UID %d, GID %d): %s\n", r.User.Name, r.User.UID, r.User.GID, r.Passwd)
	if d := r.RootDelegate; d != nil {
		fmt.Fprintf(&b, "podman for root: runs as %s (UID %d, GID %d, home %s; passwd %s): root without CAP_SYS_ADMIN can neither mount (rootful) nor map UID 0 into a namespace of its own (rootless)\n",
			d.Name, d.UID, d.GID, d.Home, d.Passwd)
		fmt.Fprintf(&b, "subuid: %s: %s\n", FormatRanges(d.Name, r.SubUIDs), r.SubUIDFile)
		fmt.Fprintf(&b, "subgid: %s: %s\n", FormatRanges(d.Name, r.SubGIDs), r.SubGIDFile)
		for _, line := range strings.Split(d.Configure, "\n") {
			fmt.Fprintf(&b, "%s: %s\n", d.Name, line)
		}
		if d.PodmanLinkPath != "" {
			fmt.Fprintf(&b, "podman for root: first podman in PATH %s: %s\n", d.PodmanLinkPath, d.PodmanLink)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "subuid: %s: %s\n", FormatRanges(r.User.Name, r.SubUIDs), r.SubUIDFile)
	fmt.Fprintf(&b, "subgid: %s: %s\n", FormatRanges(r.User.Name, r.SubGIDs), r.SubGIDFile)
	if r.StorageConf == keptForeign {
		fmt.Fprintf(&b, "storage: storage.conf %s\n", r.StorageConf)
	} else {
		if r.StorageTrialsSkipped {
			b.WriteString("storage: trials not run again: same kernel, filesystem, /dev/fuse and user namespace as when chosen\n")
		}
		for _, rej := range r.Storage.Rejected {
			fmt.Fprintf(&b, "storage: %s rejected: %s\n", rej.Name, oneLine(rej.Reason))
		}
		fmt.Fprintf(&b, "storage: %s (driver %s): storage.conf %s\n", r.Storage.Name, r.Storage.Driver, r.StorageConf)
	}
	rt := r.Runtime
	if rt == "" {
		rt = "default"
	}
	fmt.Fprintf(&b, "runtime: %s (%s): containers.conf %s\n", rt, r.RuntimeWhy, r.ContainersConf)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}
