package udi

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the helper processes some tests need: the
// storage trial's child (re-executed into a scratch user namespace) and an
// unprivileged writer (so that file permissions bind even when the tests run
// as root).
const (
	envOverlayProbe = "UDI_TEST_OVERLAY_PROBE"
	envUnprivileged = "UDI_TEST_UNPRIVILEGED_WRITE"
	// envFakeAPIService makes the test binary a stand-in for podman's API
	// service under socket activation.
	envFakeAPIService = "UDI_TEST_FAKE_API_SERVICE"
	// envFakeWaiter makes it a Docker API waiter that only holds its socket.
	envFakeWaiter = "UDI_TEST_FAKE_WAITER"
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(envOverlayProbe) != "":
		args := os.Args[1:]
		mountProgram := ""
		if len(args) > 1 {
			mountProgram = args[1]
		}
		if err := RunOverlayProbe(args[0], mountProgram); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case os.Getenv(envUnprivileged) != "":
		os.Exit(unprivileged(os.Args[1], os.Args[2], os.Args[3]))
	case os.Getenv(envFakeAPIService) != "":
		os.Exit(fakeAPIService(os.Getenv(envFakeAPIService)))
	case os.Getenv(envFakeWaiter) != "":
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// probeConfig makes the storage trial re-execute this test binary.
func probeConfig(cfg Config) Config {
	cfg.ProbeCommand = []string{os.Args[0]}
	cfg.ProbeEnv = []string{envOverlayProbe + "=1"}
	return cfg
}

// unprivileged is the helper's side of asNobody: "write" a file, or make
// sure the helper's own UID has an entry in a "passwd" file.
func unprivileged(what, path, content string) int {
	var how WriteMethod
	var err error
	switch what {
	case "write":
		how, err = newFileWriter().write(path, []byte(content), 0o644)
	case "passwd":
		cfg := Config{PasswdPath: path, UID: os.Getuid(), GID: os.Getgid(), UserName: "user", Home: "/home/user", Shell: "/bin/bash"}
		_, how, err = EnsurePasswd(cfg, newFileWriter())
	}
	if err != nil {
		fmt.Fprint(os.Stderr, err)
		return 1
	}
	fmt.Print(how)
	return 0
}

// nobody is who the unprivileged helper runs as.
const nobody = 65534

// asNobody runs what ("write" or "passwd") on path as a user without
// privileges over it: the test binary re-executed as nobody when the tests
// run as root.
func asNobody(t *testing.T, what, path, content string) (WriteMethod, error) {
	t.Helper()
	// go test's binary sits in a directory only its owner can enter.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(sharedDir(t), "udi.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, what, path, content)
	cmd.Env = append(os.Environ(), envUnprivileged+"=1")
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return "", fmt.Errorf("%s", ee.Stderr)
	}
	if err != nil {
		t.Fatalf("run the unprivileged helper: %v", err)
	}
	return WriteMethod(out), nil
}

// sharedDir is a temporary directory the unprivileged helper can reach.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "udi-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Clean(dir)
}
