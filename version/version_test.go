package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestGetWithoutStamp(t *testing.T) {
	info := Get()
	if info.Version != Devel {
		t.Errorf("Version %q in a test binary, want %q", info.Version, Devel)
	}
	if info.GoVersion != runtime.Version() || info.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("Get() = %+v", info)
	}
}

// The flags the build passes must reach the variables: a renamed variable
// would otherwise leave every release saying "devel".
func TestLinkerFlagsStampTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	dir := t.TempDir()
	main := `package main

import (
	"fmt"

	"github.com/nested-workspaces/enabler/version"
)

func main() { i := version.Get(); fmt.Print(i.Version, " ", i.Revision) }
`
	// Inside this module, so that the import resolves.
	src, err := os.MkdirTemp(".", "stamp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(src) })
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "stamped")
	build := exec.Command("go", "build", "-ldflags", LinkerFlags("9.8.7", "abc123"), "-o", bin, "./"+filepath.Base(src))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "9.8.7 abc123" {
		t.Errorf("stamped binary says %q, want %q", got, "9.8.7 abc123")
	}
}
