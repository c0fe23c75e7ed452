// Package debpkg installs the Debian packages a test harness declares it
// uses, as hack/lib.sh's install_debian_packages does for the scripts:
// only those missing, one installer at a time across the project's tests
// and scripts (they take the same lock). Every harness installs what it
// uses itself, never relying on another having run first; CI proves it by
// running each test package on a clean root (hack/clean-root.sh).
package debpkg

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// lockFile is the lock hack/lib.sh's install_debian_packages takes too.
const lockFile = "/run/lock/nested-workspaces-e2e-apt.lock"

// Missing returns the packages of pkgs that dpkg does not have installed.
func Missing(pkgs ...string) []string {
	var missing []string
	for _, p := range pkgs {
		out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", p).Output()
		if err != nil || !strings.Contains(string(out), "install ok installed") {
			missing = append(missing, p)
		}
	}
	return missing
}

// Install installs those of pkgs that are missing, with their recommended
// packages (podman-compose's default network needs netavark and
// aardvark-dns, podman's pause process catatonit). It fails naming the
// packages when not root.
func Install(pkgs ...string) error {
	if len(Missing(pkgs...)) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		missing := strings.Join(Missing(pkgs...), " ")
		return fmt.Errorf("missing Debian packages: %s; install them as root (apt-get install %s)", missing, missing)
	}
	if err := os.MkdirAll("/run/lock", 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("open the apt lock: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("take the apt lock: %w", err)
	}
	// Another harness may have installed them meanwhile.
	missing := Missing(pkgs...)
	if len(missing) == 0 {
		return nil
	}
	fmt.Fprintf(os.Stderr, "installing Debian packages: %s\n", strings.Join(missing, " "))
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{
		{"apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-qq"},
		append([]string{"apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq"}, missing...),
	} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if still := Missing(pkgs...); len(still) > 0 {
		return fmt.Errorf("apt-get installed nothing for %s", strings.Join(still, " "))
	}
	return nil
}
