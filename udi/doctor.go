package udi

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"

	"go.podman.io/storage/pkg/idtools"
	"golang.org/x/sys/unix"
)

// Status is a check's verdict. FAIL means podman cannot work; WARN means it
// works with less than it could.
type Status string

const (
	StatusOK   Status = "OK"
	StatusWarn Status = "WARN"
	StatusFail Status = "FAIL"
)

// Check is one prerequisite of nested podman.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// DoctorReport is every check; OK is false when any failed.
type DoctorReport struct {
	Checks []Check `json:"checks"`
	OK     bool    `json:"ok"`
}

// Fixes shared by several checks.
const (
	fixHostUsers = "run the workspace with hostUsers: false — enable nested containers (NestedContainers \"cluster\" spec.enabled: true) and restart the workspace"
	fixCaps      = "the workspace container needs capabilities.add: [SETUID, SETGID] — the operator puts them in the DevWorkspaceOperatorConfig and the nested-podman SCC allows them; restart the workspace after enabling"
	fixConfigure = "run udi-setup configure (the image's entrypoint does this at start)"
)

// Doctor checks every prerequisite of rootless podman in this pod.
func Doctor(cfg Config) DoctorReport {
	if asRoot, err := needsRootDelegate(cfg); err == nil && asRoot {
		return doctorRoot(cfg)
	}
	checks := doctorChecks(cfg)
	if cfg.DockerAPI {
		checks = append(checks, checkDockerAPI(cfg, cfg.DockerHostEnv))
	}
	return newDoctorReport(checks)
}

// newDoctorReport is the checks with the verdict: OK unless one failed.
func newDoctorReport(checks []Check) DoctorReport {
	r := DoctorReport{Checks: checks, OK: true}
	for _, c := range checks {
		if c.Status == StatusFail {
			r.OK = false
		}
	}
	return r
}

// doctorChecks is every check for the running user: the pod's, then the
// user's own.
func doctorChecks(cfg Config) []Check {
	return append(podChecks(cfg), userChecks(cfg)...)
}

// podChecks are the checks whose answer is the same for every user of the
// pod: its namespace, capabilities, tools, devices and /proc.
func podChecks(cfg Config) []Check {
	uidMap, uidErr := ReadIDMap(cfg.UIDMapPath)
	gidMap, gidErr := ReadIDMap(cfg.GIDMapPath)
	status, statusErr := readProcStatus(cfg.StatusPath)
	return []Check{
		checkUserNamespace(cfg, uidMap, uidErr, gidMap, gidErr),
		checkCapabilities(status, statusErr),
		checkNoNewPrivs(status, statusErr),
		checkIDMapper(cfg, "newuidmap", "uid_map", capSetUID, status),
		checkIDMapper(cfg, "newgidmap", "gid_map", capSetGID, status),
		checkDevice(cfg.DevFuse, StatusWarn, "fuse-overlayfs cannot be used (native overlay or vfs still can)"),
		checkDevice(cfg.DevTun, StatusFail, "rootless networking (slirp4netns, pasta) needs it: only --network none works"),
		checkNetwork(cfg),
		checkProc(cfg),
	}
}

// userChecks are the running user's own: passwd entry, subordinate IDs and
// storage configuration.
func userChecks(cfg Config) []Check {
	uidMap, uidErr := ReadIDMap(cfg.UIDMapPath)
	gidMap, gidErr := ReadIDMap(cfg.GIDMapPath)
	user, hasUser, passwdErr := LookupPasswd(cfg.PasswdPath, cfg.UID)
	return []Check{
		checkPasswd(cfg, user, hasUser, passwdErr),
		checkSubIDFile(cfg, "subuid", cfg.SubUIDPath, "UID", cfg.UID, user, hasUser, uidMap, uidErr),
		checkSubIDFile(cfg, "subgid", cfg.SubGIDPath, "GID", cfg.GID, user, hasUser, gidMap, gidErr),
		checkStorage(cfg),
	}
}

// WriteText prints one line per check: status, name, detail and the fix.
func (r DoctorReport) WriteText(w io.Writer) error {
	for _, c := range r.Checks {
		line := fmt.Sprintf("%-4s  %-15s %s", c.Status, c.Name, c.Detail)
		if c.Fix != "" && c.Status != StatusOK {
			line += " — fix: " + c.Fix
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	verdict := "podman can run nested containers here"
	if !r.OK {
		verdict = "podman cannot run nested containers here until the FAIL lines are fixed"
	}
	_, err := fmt.Fprintln(w, verdict)
	return err
}

func ok(name, detail string) Check { return Check{Name: name, Status: StatusOK, Detail: detail} }

func warn(name, detail, fix string) Check {
	return Check{Name: name, Status: StatusWarn, Detail: detail, Fix: fix}
}

func fail(name, detail, fix string) Check {
	return Check{Name: name, Status: StatusFail, Detail: detail, Fix: fix}
}

func checkUserNamespace(cfg Config, uidMap []idtools.IDMap, uidErr error, gidMap []idtools.IDMap, gidErr error) Check {
	const name = "user namespace"
	if err := errors.Join(uidErr, gidErr); err != nil {
		return fail(name, err.Error(), fixHostUsers)
	}
	if IsIdentityMap(uidMap) {
		return fail(name, fmt.Sprintf("not in a user namespace: %s is the host's identity map %q", cfg.UIDMapPath, FormatIDMap(uidMap)), fixHostUsers)
	}
	if n := mapSize(uidMap); n < 65536 {
		return Check{Name: name, Status: StatusWarn, Detail: fmt.Sprintf("uid_map %s maps only %d IDs; images need up to 65536", FormatIDMap(uidMap), n),
			Fix: "the pod's user namespace should have the default 65536 IDs (kubelet userNamespaces.idsPerPod)"}
	}
	return ok(name, fmt.Sprintf("uid_map %s; gid_map %s (%d IDs)", FormatIDMap(uidMap), FormatIDMap(gidMap), mapSize(uidMap)))
}

func capList(set uint64, bits ...int) []string {
	var names []string
	for _, b := range bits {
		if !hasCap(set, b) {
			names = append(names, capName(b))
		}
	}
	return names
}

func checkCapabilities(st procStatus, stErr error) Check {
	const name = "capabilities"
	if stErr != nil {
		return fail(name, stErr.Error(), fixCaps)
	}
	bnd, err := st.capSet("CapBnd")
	if err != nil {
		return fail(name, err.Error(), fixCaps)
	}
	if missing := capList(bnd, capSetUID, capSetGID); len(missing) > 0 {
		return fail(name, fmt.Sprintf("%s not in the bounding set (CapBnd %016x): newuidmap and newgidmap cannot gain them, so podman cannot set up its user namespace",
			strings.Join(missing, ", "), bnd), fixCaps)
	}
	return ok(name, fmt.Sprintf("SETUID and SETGID in the bounding set (CapBnd %016x)", bnd))
}

func checkNoNewPrivs(st procStatus, stErr error) Check {
	const name = "no_new_privs"
	fix := "set allowPrivilegeEscalation: true in the workspace container's securityContext (the operator does)"
	if stErr != nil {
		return fail(name, stErr.Error(), fix)
	}
	if st["NoNewPrivs"] == "1" {
		return fail(name, "NoNewPrivs is set: the kernel ignores newuidmap's file capabilities and setuid bit", fix)
	}
	return ok(name, "off: newuidmap and newgidmap can gain privileges")
}

// checkIDMapper looks at newuidmap or newgidmap as podman will find it: in
// PATH, with file capabilities or setuid root. Setuid root is not enough
// when DAC_OVERRIDE is not in the bounding set, as under DevWorkspace's
// drop-ALL-add-SETUID/SETGID: root without DAC_OVERRIDE cannot open the
// target process's map file, which belongs to the user.
func checkIDMapper(cfg Config, tool, mapFile string, capBit int, st procStatus) Check {
	lower := strings.ToLower(capName(capBit)) // setuid, for setcap
	fixFileCaps := fmt.Sprintf("give it file capabilities instead of setuid: setcap cap_%s+ep %%s && chmod u-s %%s (the udi Containerfile does this)", lower)
	path := lookPath(tool, cfg.SearchPath)
	if path == "" {
		return fail(tool, fmt.Sprintf("not found in PATH %s", cfg.SearchPath), "install it in the image (shadow-utils on UBI, uidmap on Debian) with file capabilities: setcap cap_"+lower+"+ep /usr/bin/"+tool)
	}
	fix := fmt.Sprintf(fixFileCaps, path, path)
	bnd, _ := st.capSet("CapBnd")
	buf := make([]byte, 64)
	n, xerr := unix.Getxattr(path, "security.capability", buf)
	if xerr == nil {
		fc, err := parseFileCaps(buf[:n])
		if err != nil {
			return fail(tool, fmt.Sprintf("%s: %v", path, err), fix)
		}
		if hasCap(fc.Permitted, capBit) && fc.Effective {
			if !hasCap(bnd, capBit) {
				return fail(tool, fmt.Sprintf("%s has cap_%s+ep but %s is not in the bounding set: the kernel refuses to execute it, podman says \"fork/exec %s: operation not permitted\"", path, lower, capName(capBit), path), fixCaps)
			}
			return ok(tool, fmt.Sprintf("%s has file capability cap_%s+ep", path, lower))
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fail(tool, err.Error(), fix)
	}
	sys, _ := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&os.ModeSetuid != 0 && sys != nil {
		if sys.Uid != 0 {
			return fail(tool, fmt.Sprintf("%s is setuid but owned by UID %d, not root, and has no file capabilities", path, sys.Uid), fix)
		}
		if !hasCap(bnd, capDACOverride) {
			return fail(tool, fmt.Sprintf("%s is setuid root without file capabilities, and DAC_OVERRIDE is not in the bounding set: it will fail with \"%s: open of %s failed: Permission denied\"", path, tool, mapFile), fix)
		}
		return ok(tool, fmt.Sprintf("%s is setuid root (works while DAC_OVERRIDE is in the bounding set; file capabilities are more robust)", path))
	}
	return fail(tool, fmt.Sprintf("%s has neither file capability cap_%s+ep nor the setuid bit: it cannot write %s", path, lower, mapFile), fix)
}

func checkPasswd(cfg Config, user PasswdEntry, has bool, err error) Check {
	const name = "passwd"
	if err != nil {
		return fail(name, err.Error(), fixConfigure)
	}
	if !has {
		return fail(name, fmt.Sprintf("no entry for UID %d in %s: podman cannot name the user and newuidmap refuses to run", cfg.UID, cfg.PasswdPath), fixConfigure)
	}
	if user.GID != cfg.GID {
		return fail(name, fmt.Sprintf("%s (UID %d) has group %d in %s but the process runs with GID %d: newuidmap refuses with \"Target process ... is owned by a different user\"",
			user.Name, user.UID, user.GID, cfg.PasswdPath, cfg.GID),
			fmt.Sprintf("make the entry's GID field %d (udi-setup configure writes new entries with the process's GID), or run the container with runAsGroup: %d", cfg.GID, user.GID))
	}
	return ok(name, fmt.Sprintf("%s (UID %d, GID %d)", user.Name, user.UID, user.GID))
}

// checkNetwork looks for what rootless podman's networks need besides
// /dev/net/tun: slirp4netns or pasta to reach out of the pod's network
// namespace, and netavark with aardvark-dns for the networks podman-compose
// creates, on which services find each other by name.
func checkNetwork(cfg Config) Check {
	const name = "network"
	find := func(tool string) string {
		if p := lookPath(tool, cfg.SearchPath); p != "" {
			return p
		}
		return lookPath(tool, strings.Join(cfg.HelperDirs, string(os.PathListSeparator)))
	}
	var outside string
	for _, tool := range []string{"pasta", "slirp4netns"} {
		if p := find(tool); p != "" {
			outside = p
			break
		}
	}
	if outside == "" {
		return fail(name, "neither slirp4netns nor pasta is installed: rootless containers get only --network none, and podman-compose fails",
			"install slirp4netns (or passt, which provides pasta) in the workspace image")
	}
	netavark, dns := find("netavark"), find("aardvark-dns")
	switch {
	case netavark == "":
		return Check{Name: name, Status: StatusWarn,
			Detail: fmt.Sprintf("%s reaches out, but netavark is not installed: podman falls back to CNI, whose networks give compose services no names unless the dnsname plugin is there", outside),
			Fix:    "install netavark and aardvark-dns in the workspace image"}
	case dns == "":
		return Check{Name: name, Status: StatusWarn,
			Detail: fmt.Sprintf("%s and %s work, but aardvark-dns is not installed: services of a podman-compose project cannot reach each other by name", outside, netavark),
			Fix:    "install aardvark-dns in the workspace image"}
	case find("iptables") == "" && find("nft") == "":
		// netavark sets up published ports with nftables (its default since
		// 1.12, as in podman 5) or iptables (older builds, or containers.conf
		// firewall_driver).
		return Check{Name: name, Status: StatusWarn,
			Detail: fmt.Sprintf("%s reaches out and %s with %s names compose services, but neither nft nor iptables is installed: publishing a port (podman run -p, compose ports:) fails with \"netavark: No such file or directory\" or \"netavark: nftables error: unable to execute nft\"", outside, netavark, dns),
			Fix:    "install nftables (podman 5's netavark) or iptables in the workspace image"}
	}
	return ok(name, fmt.Sprintf("%s reaches out; %s with %s: compose services reach each other by name", outside, netavark, dns))
}

func checkDevice(path string, severity Status, consequence string) Check {
	if err := openDevice(path); err != nil {
		return Check{Name: path, Status: severity, Detail: fmt.Sprintf("%v: %s", err, consequence),
			Fix: "list it in the pod's io.kubernetes.cri-o.Devices annotation (the operator sets /dev/fuse,/dev/net/tun) and restart the workspace"}
	}
	return ok(path, "character device, opens read-write")
}

// checkProc detects a masked /proc. Container runtimes mask paths by mounting
// over them; inherited into the pod's user namespace those mounts are
// locked, and while they cover parts of /proc the kernel refuses a nested
// container runtime a fresh proc mount. procMount: Unmasked leaves them out.
func checkProc(cfg Config) Check {
	const name = "/proc"
	data, err := os.ReadFile(cfg.MountInfoPath)
	if err != nil {
		return fail(name, fmt.Sprintf("read %s: %v", cfg.MountInfoPath, err), "")
	}
	subs := procSubmounts(string(data))
	if len(subs) > 0 {
		shown := subs
		if len(shown) > 4 {
			shown = append(slices.Clone(shown[:4]), "...")
		}
		detail := fmt.Sprintf(`masked or read-only: %d mount(s) under /proc (%s): the kernel refuses nested containers their own /proc mount (runc says: error mounting "proc" to rootfs at "/proc": ... operation not permitted)`,
			len(subs), strings.Join(shown, ", "))
		if slices.Contains(subs, "/proc/sys") {
			detail += `, and crun stops earlier at the read-only /proc/sys (open /proc/sys/net/ipv4/ping_group_range: Read-only file system)`
		}
		return fail(name, detail,
			"set procMount: Unmasked in the workspace container's securityContext (the operator does; it needs hostUsers: false)")
	}
	return ok(name, "unmasked: nothing mounted over parts of /proc")
}

// checkSubIDFile checks the user's ranges against the namespace's map, and
// against what podman's own parser (containers/storage idtools) reads.
func checkSubIDFile(cfg Config, name, path, kind string, own int, user PasswdEntry, hasUser bool, m []idtools.IDMap, mapErr error) Check {
	if mapErr != nil {
		return fail(name, "cannot check without the namespace's map: "+mapErr.Error(), fixHostUsers)
	}
	if IsIdentityMap(m) {
		return fail(name, "not in a user namespace: nothing to check against", fixHostUsers)
	}
	userName := user.Name
	if !hasUser {
		return fail(name, fmt.Sprintf("no passwd entry for UID %d, so no name to look up in %s", cfg.UID, path), fixConfigure)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fail(name, fmt.Sprintf("read %s: %v", path, err), fixConfigure)
	}
	f, err := ParseSubIDFile(string(data))
	if err != nil {
		return fail(name, fmt.Sprintf("%s: %v: podman refuses the whole file", path, err), "fix or delete that line, then "+fixConfigure)
	}
	rs := f.RangesFor(userName, cfg.UID)
	plan, _ := PlanSubIDs(m, own)
	findings := CheckSubIDs(SubIDCheck{File: path, Kind: kind, User: userName, UID: cfg.UID, Own: own, Ranges: rs, Map: m, Plan: plan})
	if cfg.PodmanSubIDs != nil {
		findings = append(findings, crossCheckPodman(cfg, kind, userName, rs)...)
	}
	return summarize(name, FormatRanges(userName, rs), findings)
}

// crossCheckPodman compares our reading with containers/storage's.
func crossCheckPodman(cfg Config, kind, user string, ours []SubIDRange) []Finding {
	uids, gids, err := cfg.PodmanSubIDs(user)
	if err != nil {
		return []Finding{{Status: StatusFail, Message: "podman's own parser (containers/storage) fails: " + err.Error(), Fix: fixConfigure}}
	}
	theirs := uids
	if kind == "GID" {
		theirs = gids
	}
	var got []SubIDRange
	for _, m := range theirs {
		got = append(got, SubIDRange{Start: m.HostID, Count: m.Size})
	}
	want := slices.Clone(ours)
	sortRanges(want)
	sortRanges(got)
	if !slices.Equal(want, got) {
		return []Finding{{Status: StatusWarn, Message: fmt.Sprintf("podman's own parser reads %v for %s, not %v", got, user, want), Fix: fixConfigure}}
	}
	return nil
}

func sortRanges(rs []SubIDRange) {
	slices.SortFunc(rs, func(a, b SubIDRange) int { return a.Start - b.Start })
}

// summarize folds findings into one line: the worst status, every message.
func summarize(name, subject string, findings []Finding) Check {
	c := Check{Name: name, Status: StatusOK}
	var msgs, fixes []string
	for _, f := range findings {
		if f.Status == StatusFail || (f.Status == StatusWarn && c.Status == StatusOK) {
			c.Status = f.Status
		}
		msgs = append(msgs, f.Message)
		if f.Fix != "" && !slices.Contains(fixes, f.Fix) {
			fixes = append(fixes, f.Fix)
		}
	}
	if subject == "" {
		subject = "(none)"
	}
	c.Detail = subject
	if len(msgs) > 0 {
		c.Detail += ": " + strings.Join(msgs, "; ")
	}
	c.Fix = strings.Join(fixes, "; ")
	return c
}

func checkStorage(cfg Config) Check {
	const name = "storage"
	path := cfg.StorageConfPath()
	data, err := os.ReadFile(path)
	if err != nil {
		return Check{Name: name, Status: StatusWarn, Detail: fmt.Sprintf("no %s: podman picks a driver itself and may settle on slow vfs", path), Fix: fixConfigure}
	}
	driver, mountProgram := tomlString(string(data), "driver"), tomlString(string(data), "mount_program")
	if driver == "" {
		return Check{Name: name, Status: StatusWarn, Detail: path + " sets no driver", Fix: fixConfigure}
	}
	if mountProgram != "" {
		if fi, err := os.Stat(mountProgram); err != nil || fi.Mode()&0o111 == 0 {
			return fail(name, fmt.Sprintf("%s sets mount_program %s, which is not an executable file", path, mountProgram), fixConfigure)
		}
		if err := openDevice(cfg.DevFuse); err != nil {
			return fail(name, fmt.Sprintf("%s uses %s but %v", path, mountProgram, err), fixConfigure)
		}
	}
	detail := "driver " + driver
	switch {
	case mountProgram != "":
		detail += " with mount_program " + mountProgram
	case driver == "overlay":
		detail += ", native kernel overlay"
	}
	if strings.HasPrefix(string(data), confMarker) {
		detail += "; chosen by trial by udi-setup configure"
	} else {
		detail += "; from your own " + path
	}
	return ok(name, detail)
}

// tomlString finds `key = "value"` outside comments; storage.conf is TOML
// but this is the one shape udi-setup and the UDI write.
func tomlString(data, key string) string {
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		k, v, found := strings.Cut(line, "=")
		if !found || strings.HasPrefix(line, "#") || strings.TrimSpace(k) != key {
			continue
		}
		return strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return ""
}
