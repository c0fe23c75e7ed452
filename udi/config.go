package udi

import (
	"fmt"
	"os"
	"path/filepath"

	"go.podman.io/storage/pkg/idtools"
)

// Config says where everything udi reads and writes lives, and who the user
// is. DefaultConfig fills it from the running process; tests point every path
// at a temporary directory.
type Config struct {
	// Kernel views of the running process.
	UIDMapPath    string // /proc/self/uid_map
	GIDMapPath    string // /proc/self/gid_map
	StatusPath    string // /proc/self/status (CapBnd, CapEff, NoNewPrivs)
	MountInfoPath string // /proc/self/mountinfo
	CgroupRoot    string // /sys/fs/cgroup

	// Files of the image.
	PasswdPath string // /etc/passwd
	// SystemStorageConf is the image's storage.conf, whose additional image
	// stores the user's storage.conf keeps.
	SystemStorageConf string // /etc/containers/storage.conf
	SubUIDPath        string // /etc/subuid
	SubGIDPath        string // /etc/subgid
	DevFuse           string // /dev/fuse
	DevTun            string // /dev/net/tun

	// The user.
	UID      int
	GID      int
	UserName string // name for a passwd entry udi-setup adds; "user" as in the UDI
	Home     string
	Shell    string
	// ConfigHome and DataHome are podman's XDG_CONFIG_HOME and XDG_DATA_HOME:
	// storage.conf goes to ConfigHome/containers, the graph root and hence
	// the overlay trial to DataHome/containers.
	ConfigHome string
	DataHome   string
	// SearchPath is the PATH under which newuidmap, newgidmap,
	// fuse-overlayfs, podman and the OCI runtimes are looked up, as podman
	// looks them up.
	SearchPath string
	// HelperDirs are where podman looks for its network helpers (netavark,
	// aardvark-dns, and slirp4netns or pasta) besides SearchPath:
	// containers.conf's helper_binaries_dir; and /usr/sbin, where netavark
	// finds iptables though a user's PATH may lack it.
	HelperDirs []string

	// Runtime is the OCI runtime to put in containers.conf: "auto" picks
	// runc only where crun cannot work (cgroup v1 or hybrid), "" leaves
	// podman's default, anything else is written as given.
	Runtime string

	// ProbeCommand is how the overlay trial re-executes this program inside a
	// scratch user and mount namespace: the command and its leading
	// arguments; the trial appends its own. cmd/udi-setup sets
	// {os.Executable(), "probe-overlay"}.
	ProbeCommand []string
	ProbeEnv     []string
	// Self is this program (udi-setup), which configure and doctor run again
	// as the user podman runs as for root (see RootDelegate).
	Self string
	// OriginalPodman and PodmanWrapper are where the UDI keeps the real
	// podman and kubedock's wrapper (its ORIGINAL_PODMAN_PATH and
	// PODMAN_WRAPPER_PATH): ~/.local/bin/podman links to one of them.
	OriginalPodman string
	PodmanWrapper  string

	// RuntimeDir is XDG_RUNTIME_DIR ("" in a pod, usually) and TmpDir is
	// TMPDIR or /tmp: the Docker-compatible API's socket goes into
	// RuntimeDir, else TmpDir/podman-run-UID, as podman places its own.
	RuntimeDir string
	TmpDir     string
	// DockerAPI: the doctor checks podman's Docker-compatible API on
	// DockerSocketPath (see ListenDockerAPI).
	DockerAPI bool
	// DockerHostEnv is DOCKER_HOST as the process has it; the doctor
	// checks that it names the socket.
	DockerHostEnv string

	// PodmanSubIDs, when set, returns the subordinate ranges podman itself
	// will read for a user (containers/storage's idtools.NewIDMappings). The
	// doctor cross-checks its own reading against it. idtools always reads
	// /etc/subuid and /etc/subgid: DefaultConfig, which uses those paths,
	// sets it; a Config pointing SubUIDPath elsewhere must leave it nil.
	PodmanSubIDs func(user string) (uids, gids []idtools.IDMap, err error)
}

// DefaultConfig describes the running process in the running image.
func DefaultConfig() (Config, error) {
	home := os.Getenv("HOME")
	if home == "" {
		return Config{}, fmt.Errorf("HOME is not set: udi-setup writes the user's container configuration under $HOME; set HOME (the UDI sets HOME=/home/user)")
	}
	configHome := os.Getenv("XDG_CONFIG_HOME")
	if configHome == "" {
		configHome = filepath.Join(home, ".config")
	}
	dataHome := os.Getenv("XDG_DATA_HOME")
	if dataHome == "" {
		dataHome = filepath.Join(home, ".local", "share")
	}
	name := os.Getenv("USER_NAME") // the UDI entrypoint's override
	if name == "" {
		name = "user"
	}
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
	}
	return Config{
		UIDMapPath:        "/proc/self/uid_map",
		GIDMapPath:        "/proc/self/gid_map",
		StatusPath:        "/proc/self/status",
		MountInfoPath:     "/proc/self/mountinfo",
		CgroupRoot:        "/sys/fs/cgroup",
		PasswdPath:        "/etc/passwd",
		SystemStorageConf: "/etc/containers/storage.conf",
		SubUIDPath:        "/etc/subuid",
		SubGIDPath:        "/etc/subgid",
		DevFuse:           "/dev/fuse",
		DevTun:            "/dev/net/tun",
		UID:               os.Getuid(),
		GID:               os.Getgid(),
		UserName:          name,
		Home:              home,
		Shell:             "/bin/bash",
		ConfigHome:        configHome,
		DataHome:          dataHome,
		SearchPath:        path,
		HelperDirs:        []string{"/usr/local/libexec/podman", "/usr/local/lib/podman", "/usr/libexec/podman", "/usr/lib/podman", "/usr/sbin", "/sbin"},
		Runtime:           "auto",
		PodmanSubIDs:      podmanSubIDs,

		OriginalPodman: envOr("ORIGINAL_PODMAN_PATH", "/usr/bin/podman.orig"),
		PodmanWrapper:  envOr("PODMAN_WRAPPER_PATH", "/usr/bin/podman.wrapper"),
		RuntimeDir:     os.Getenv("XDG_RUNTIME_DIR"),
		TmpDir:         envOr("TMPDIR", "/tmp"),
		DockerAPI:      true,
		DockerHostEnv:  os.Getenv("DOCKER_HOST"),
	}, nil
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// podmanSubIDs is what podman (containers/storage) reads from /etc/subuid and
// /etc/subgid for a user.
func podmanSubIDs(user string) (uids, gids []idtools.IDMap, err error) {
	m, err := idtools.NewIDMappings(user, user)
	if err != nil {
		return nil, nil, err
	}
	return m.UIDs(), m.GIDs(), nil
}

// containersConfigDir is where podman reads the user's storage.conf and
// containers.conf.
func (c Config) containersConfigDir() string {
	return filepath.Join(c.ConfigHome, "containers")
}

// StorageConfPath is the user's storage.conf.
func (c Config) StorageConfPath() string {
	return filepath.Join(c.containersConfigDir(), "storage.conf")
}

// ContainersConfPath is the user's containers.conf.
func (c Config) ContainersConfPath() string {
	return filepath.Join(c.containersConfigDir(), "containers.conf")
}

// graphRootParent is where podman keeps the user's images; the overlay trial
// runs there because whether overlay works depends on that filesystem.
func (c Config) graphRootParent() string {
	return filepath.Join(c.DataHome, "containers")
}
