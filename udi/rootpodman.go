package udi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"go.podman.io/storage/pkg/idtools"
)

// Podman for root.
//
// A workspace that runs as UID 0 of its pod's user namespace (an SCC whose
// UID range starts at 0 gives that) holds only SETUID and SETGID. Podman
// cannot work for it either way:
//   - rootful, podman mounts overlays, /proc and network namespaces, which
//     needs CAP_SYS_ADMIN; podman 4.x takes UID 0 for rootful whatever its
//     capabilities, and fails (Error: creating runtime static files
//     directory: mkdir /var/lib/containers/storage: permission denied, or a
//     mount's "operation not permitted");
//   - rootless, podman maps the user's own UID to 0 of a namespace of its
//     own, and since Linux 5.12 mapping UID 0 of the parent namespace needs
//     CAP_SETFCAP (newuidmap: write to uid_map failed: Operation not
//     permitted).
//
// So podman for root runs as a delegate: the namespace's highest UID (65535
// in a pod's 65536 IDs), with root's group, as an ordinary rootless user. It
// gets subordinate IDs 1..65534, its own home under root's and its own
// storage; root's `podman` is udi-setup (installed as /usr/local/bin/podman,
// ahead of the real one), which switches to the delegate and runs the real
// podman. Files root owns appear as nobody in nested containers (no child
// namespace can map UID 0 without CAP_SETFCAP); files of root's group stay
// the delegate's too, as for any arbitrary UID on OpenShift.

// RootDelegateName is the passwd name of the user podman runs as for root.
const RootDelegateName = "podman-root"

// rootDelegateHomeDir is the delegate's home, under root's.
const rootDelegateHomeDir = ".podman-root"

// capSysAdmin is CAP_SYS_ADMIN's bit.
const capSysAdmin = 21

// RootDelegate is the user podman runs as when the workspace runs as root
// without CAP_SYS_ADMIN.
type RootDelegate struct {
	Name     string
	UID, GID int
	Home     string
}

// needsRootDelegate reports whether the process is root without
// CAP_SYS_ADMIN in its effective set, for which podman cannot work as root.
func needsRootDelegate(cfg Config) (bool, error) {
	if cfg.UID != 0 {
		return false, nil
	}
	st, err := readProcStatus(cfg.StatusPath)
	if err != nil {
		return false, err
	}
	eff, err := st.capSet("CapEff")
	if err != nil {
		return false, fmt.Errorf("%s: %w", cfg.StatusPath, err)
	}
	return !hasCap(eff, capSysAdmin), nil
}

// planRootDelegate picks the delegate for root in a namespace with uidMap:
// its highest UID, root's group, a home under root's.
func planRootDelegate(cfg Config, uidMap []idtools.IDMap) (RootDelegate, error) {
	uid := lastMappedID(uidMap)
	if uid <= 0 || mapSize(uidMap) < 3 {
		return RootDelegate{}, fmt.Errorf("uid_map %s leaves no UID for podman to run as instead of root; the pod needs hostUsers: false, which maps 65536", FormatIDMap(uidMap))
	}
	return RootDelegate{Name: RootDelegateName, UID: uid, GID: cfg.GID, Home: filepath.Join(cfg.Home, rootDelegateHomeDir)}, nil
}

// LookupRootDelegate finds the delegate configure added for root: the entry
// named RootDelegateName in the passwd file, with the home configure wrote
// there (so a shell with another HOME still finds the delegate's storage).
func LookupRootDelegate(cfg Config) (RootDelegate, bool, error) {
	data, err := os.ReadFile(cfg.PasswdPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return RootDelegate{}, false, fmt.Errorf("read %s: %w", cfg.PasswdPath, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, _, _ := strings.Cut(line, ":"); name != RootDelegateName {
			continue
		}
		var uid, gid int
		f := strings.Split(line, ":")
		if len(f) < 7 {
			break
		}
		if _, err := fmt.Sscan(f[2], &uid); err != nil {
			break
		}
		if _, err := fmt.Sscan(f[3], &gid); err != nil {
			break
		}
		return RootDelegate{Name: RootDelegateName, UID: uid, GID: gid, Home: f[5]}, true, nil
	}
	return RootDelegate{}, false, nil
}

// DelegateEnv is environ with the user switched to the delegate: its HOME,
// USER and LOGNAME, and without root's runtime and XDG directories (podman
// then uses $TMPDIR/podman-run-UID, fresh in every container).
func DelegateEnv(environ []string, d RootDelegate) []string {
	drop := map[string]bool{"HOME": true, "USER": true, "LOGNAME": true, "USER_NAME": true,
		"XDG_RUNTIME_DIR": true, "XDG_CONFIG_HOME": true, "XDG_DATA_HOME": true}
	out := make([]string, 0, len(environ)+3)
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, "HOME="+d.Home, "USER="+d.Name, "LOGNAME="+d.Name)
}

// runAsDelegate runs command as the delegate, with its environment, and
// returns what it printed.
func runAsDelegate(ctx context.Context, d RootDelegate, command []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = DelegateEnv(os.Environ(), d)
	cmd.Dir = d.Home
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(d.UID), Gid: uint32(d.GID), Groups: []uint32{}}}
	err := cmd.Run()
	return out.Bytes(), err
}

// checkDelegateHomeReachable makes sure the delegate can get to its home,
// which lies in root's: it needs search permission on root's home, through
// root's group or everyone's.
func checkDelegateHomeReachable(d RootDelegate) error {
	parent := filepath.Dir(d.Home)
	fi, err := os.Stat(parent)
	if err != nil {
		return fmt.Errorf("root's home: %w", err)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	perm := fi.Mode().Perm()
	if perm&0o001 != 0 || (st != nil && int(st.Gid) == d.GID && perm&0o010 != 0) {
		return nil
	}
	return fmt.Errorf("podman for root runs as %s (UID %d, GID %d), which cannot enter root's home %s (mode %s): "+
		"give root's group search permission (chmod g+x %s; the UDI's home is group-writable already) or set HOME to such a directory",
		d.Name, d.UID, d.GID, parent, perm, parent)
}

// configureRootDelegate is Configure for root without CAP_SYS_ADMIN: the
// delegate's passwd entry and subordinate IDs, its home, and then the
// delegate's own storage and engine configuration, by running configure as
// the delegate.
func configureRootDelegate(ctx context.Context, cfg Config, w fileWriter, r *ConfigureReport) error {
	d, err := planRootDelegate(cfg, r.UIDMap)
	if err != nil {
		return err
	}
	files, err := planSubIDFiles(cfg, r, d.Name, d.UID, d.GID)
	if err != nil {
		return err
	}
	if e, found, err := LookupPasswd(cfg.PasswdPath, d.UID); err != nil {
		return err
	} else if found && e.Name != d.Name {
		return fmt.Errorf("UID %d, which podman for root runs as, is %q in %s: remove that entry from the image, or run the workspace as a UID other than 0", d.UID, e.Name, cfg.PasswdPath)
	} else if found {
		d.Home = e.Home // set up at an earlier start: keep its storage where it is
	}
	if err := checkDelegateHomeReachable(d); err != nil {
		return err
	}
	if cfg.Self == "" {
		return errors.New("no udi-setup executable configured to run configure as the delegate")
	}
	if r.User, r.Passwd, err = EnsurePasswd(cfg, w); err != nil {
		return err
	}
	dcfg := cfg
	dcfg.UID, dcfg.GID, dcfg.UserName, dcfg.Home, dcfg.Shell = d.UID, d.GID, d.Name, d.Home, "/bin/sh"
	_, how, err := EnsurePasswd(dcfg, w)
	if err != nil {
		return err
	}
	r.RootDelegate = &DelegateReport{RootDelegate: d, Passwd: how}
	if err := files.write(cfg, w, r, d.Name, d.UID); err != nil {
		return err
	}
	// Root's group may write here, the delegate among it; root keeps the
	// directory, which it could not give away without CAP_CHOWN.
	if err := os.Mkdir(d.Home, 0o770); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create the home of %s: %w", d.Name, err)
	}
	if err := os.Chmod(d.Home, 0o770); err != nil { // past the umask
		return fmt.Errorf("open the home of %s to root's group: %w", d.Name, err)
	}
	runtime := cfg.Runtime
	if runtime == "" {
		runtime = "default"
	}
	out, err := runAsDelegate(ctx, d, []string{cfg.Self, "configure", "-v", "-runtime", runtime})
	r.RootDelegate.Configure = strings.TrimSpace(string(out))
	if err != nil {
		return fmt.Errorf("configure podman for root as %s (UID %d): %w: %s", d.Name, d.UID, err, r.RootDelegate.Configure)
	}
	for _, line := range strings.Split(r.RootDelegate.Configure, "\n") {
		if n, ok := strings.CutPrefix(line, "note: "); ok {
			r.Notes = append(r.Notes, n)
		}
	}
	link, path, err := linkPodmanToSelf(cfg)
	if err != nil {
		return err
	}
	r.RootDelegate.PodmanLink, r.RootDelegate.PodmanLinkPath = link, path
	return nil
}

// DelegateReport is what configure did for podman as root.
type DelegateReport struct {
	RootDelegate
	Passwd WriteMethod
	// Configure is the delegate's own configure report.
	Configure string
	// PodmanLink is what became of the first podman in PATH (the UDI's
	// ~/.local/bin/podman), at PodmanLinkPath.
	PodmanLink     PodmanLink
	PodmanLinkPath string
}

// FindPodman is the real podman: the first podman in searchPath that is not
// self (udi-setup installed as podman), else original, where the UDI keeps
// podman since it ships kubedock (/usr/bin/podman.orig, behind
// ~/.local/bin/podman, which may be linked to udi-setup for root).
func FindPodman(searchPath, self, original string) (string, error) {
	selfInfo, selfErr := os.Stat(self)
	for _, dir := range filepath.SplitList(searchPath) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, "podman")
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			continue
		}
		if selfErr == nil && os.SameFile(fi, selfInfo) {
			continue
		}
		return p, nil
	}
	if original != "" {
		if fi, err := os.Stat(original); err == nil && !fi.IsDir() && fi.Mode().Perm()&0o111 != 0 {
			return original, nil
		}
	}
	return "", fmt.Errorf("podman is not installed: no podman in PATH %s other than udi-setup itself, and no %s", searchPath, original)
}

// PodmanLink is what configure did with the first podman in PATH for root.
type PodmanLink string

// Podman links for root, as configure finds them.
const (
	podmanLinkIsSelf    PodmanLink = "already udi-setup"
	podmanLinkKubedock  PodmanLink = "kubedock's wrapper (KUBEDOCK_ENABLED=true): left alone"
	podmanLinkNotALink  PodmanLink = "not a link to the UDI's podman.orig: left alone"
	podmanLinkRepointed PodmanLink = "linked to udi-setup instead of podman.orig"
)

// linkPodmanToSelf makes the UDI's ~/.local/bin/podman, which kubedock_setup
// links to podman.orig at every start and which comes first in the UDI's
// PATH, run udi-setup instead, so that root reaches podman through the
// delegate. It changes only a link to podman.orig: kubedock's wrapper (the
// user turned kubedock on) and anything else are left as they are.
func linkPodmanToSelf(cfg Config) (PodmanLink, string, error) {
	first := lookPath("podman", cfg.SearchPath)
	if first == "" || cfg.Self == "" {
		return podmanLinkNotALink, first, nil
	}
	if same(first, cfg.Self) {
		return podmanLinkIsSelf, first, nil
	}
	target, err := os.Readlink(first)
	if err != nil {
		return podmanLinkNotALink, first, nil
	}
	switch {
	case filepath.Base(target) == "podman.wrapper" || (cfg.PodmanWrapper != "" && same(first, cfg.PodmanWrapper)):
		return podmanLinkKubedock, first, nil
	case filepath.Base(target) == "podman.orig" || (cfg.OriginalPodman != "" && same(first, cfg.OriginalPodman)):
	default:
		return podmanLinkNotALink, first, nil
	}
	tmp := first + ".udi-setup"
	_ = os.Remove(tmp)
	if err := os.Symlink(cfg.Self, tmp); err != nil {
		return "", first, fmt.Errorf("link %s to udi-setup for root: %w", first, err)
	}
	if err := os.Rename(tmp, first); err != nil {
		_ = os.Remove(tmp)
		return "", first, fmt.Errorf("link %s to udi-setup for root: %w", first, err)
	}
	return podmanLinkRepointed, first, nil
}

// same reports whether two paths name the same file.
func same(a, b string) bool {
	ai, aerr := os.Stat(a)
	bi, berr := os.Stat(b)
	return aerr == nil && berr == nil && os.SameFile(ai, bi)
}

// PodmanExec is how to run podman for the calling user: the real podman's
// path and, for root without CAP_SYS_ADMIN, the delegate to switch to first
// (nil otherwise).
type PodmanExec struct {
	Path     string
	Delegate *RootDelegate
}

// PlanPodman says how `podman` runs for cfg's user.
func PlanPodman(cfg Config) (PodmanExec, error) {
	path, err := FindPodman(cfg.SearchPath, cfg.Self, cfg.OriginalPodman)
	if err != nil {
		return PodmanExec{}, err
	}
	need, err := needsRootDelegate(cfg)
	if err != nil || !need {
		return PodmanExec{Path: path}, err
	}
	d, found, err := LookupRootDelegate(cfg)
	if err != nil {
		return PodmanExec{}, err
	}
	if !found {
		return PodmanExec{}, fmt.Errorf("podman cannot run as root without CAP_SYS_ADMIN, and podman for root (user %s) is not set up: run udi-setup configure (the image's entrypoint does this at start)", RootDelegateName)
	}
	return PodmanExec{Path: path, Delegate: &d}, nil
}

// fixRootPodman is how root gets a podman that works.
const fixRootPodman = "run udi-setup configure (the image's entrypoint does), and install udi-setup as podman ahead of the real one in PATH (ln -s udi-setup /usr/local/bin/podman, as udi/Containerfile does); or run the workspace as a non-root UID (the nested SCC's runAsUser, 1000 by default)"

// checkPodmanForRoot says whether `podman` typed by root reaches the real
// podman through the delegate.
func checkPodmanForRoot(cfg Config) (Check, *RootDelegate) {
	const name = "podman as root"
	why := "root without CAP_SYS_ADMIN: podman 4.x runs rootful as UID 0 and cannot mount (\"Error: creating runtime static files directory: mkdir /var/lib/containers/storage: permission denied\" or \"operation not permitted\"), " +
		"and cannot go rootless because mapping UID 0 into a namespace of its own needs CAP_SETFCAP"
	d, found, err := LookupRootDelegate(cfg)
	if err != nil {
		return fail(name, err.Error(), fixRootPodman), nil
	}
	if !found {
		return fail(name, why+"; podman for root (user "+RootDelegateName+") is not set up", fixRootPodman), nil
	}
	first := lookPath("podman", cfg.SearchPath)
	self, selfErr := os.Stat(cfg.Self)
	firstInfo, firstErr := os.Stat(first)
	if first != "" && selfErr == nil && firstErr == nil && !os.SameFile(self, firstInfo) {
		if target, err := os.Readlink(first); err == nil && filepath.Base(target) == "podman.wrapper" {
			return fail(name, fmt.Sprintf("%s; the first podman in PATH, %s, is kubedock's wrapper (KUBEDOCK_ENABLED=true), which runs podman.orig as root for what kubedock does not serve", why, first),
				"unset KUBEDOCK_ENABLED to use nested podman (configure then links it to udi-setup), or keep kubedock and run containers as sibling pods"), &d
		}
	}
	if first == "" || selfErr != nil || firstErr != nil || !os.SameFile(self, firstInfo) {
		return fail(name, fmt.Sprintf("%s; %s is set up, but the first podman in PATH is %q, not udi-setup, so root still gets podman as root", why, RootDelegateName, first), fixRootPodman), &d
	}
	return ok(name, fmt.Sprintf("%s runs podman as %s (UID %d, GID %d, home %s): root without CAP_SYS_ADMIN can neither mount (rootful) nor map UID 0 into a namespace of its own (rootless); files only root owns appear as nobody in nested containers",
		first, d.Name, d.UID, d.GID, d.Home)), &d
}

// doctorRoot is the doctor for root without CAP_SYS_ADMIN: the podman-as-root
// check, then every other check as the delegate sees it (run as the
// delegate, since root cannot read the delegate's private configuration).
// Without a delegate, root's own passwd, subordinate IDs and storage do not
// matter — podman will never use them — so only the pod's checks follow.
func doctorRoot(cfg Config) DoctorReport {
	c, d := checkPodmanForRoot(cfg)
	checks := []Check{c}
	if d == nil || cfg.Self == "" {
		checks = append(checks, podChecks(cfg)...)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 2*probeTimeout)
		defer cancel()
		out, _ := runAsDelegate(ctx, *d, []string{cfg.Self, "doctor", "-o", "json", "-docker-api=false"}) // exit 1 when a check fails
		var dr DoctorReport
		if err := json.Unmarshal(out, &dr); err != nil || len(dr.Checks) == 0 {
			checks = append(checks, fail("doctor as "+d.Name, fmt.Sprintf("running the doctor as %s (UID %d) failed: %s", d.Name, d.UID, oneLine(string(out))), fixRootPodman))
		} else {
			checks = append(checks, dr.Checks...)
		}
	}
	if cfg.DockerAPI {
		checks = append(checks, checkDockerAPI(cfg, cfg.DockerHostEnv))
	}
	return newDoctorReport(checks)
}
