package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/version"
)

// `make dist` builds the CLI an admin downloads: for linux and darwin,
// amd64 and arm64, static, stamped with the release, with checksums; on
// PATH as kubectl-nested_enabler it is `kubectl nested-enabler`.
func TestDist(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the CLI four times")
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", "hack/dist.sh")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "DIST_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/dist.sh: %v\n%s", err, out)
	}
	release, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(release))

	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		sum, file, _ := strings.Cut(line, "  ")
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.Sum256(data)
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("SHA256SUMS: %s does not match", file)
		}
		listed[file] = true
	}
	for _, platform := range []struct{ os, arch string }{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}} {
		name := "nested-enabler-" + want + "-" + platform.os + "-" + platform.arch
		t.Run(platform.os+"_"+platform.arch, func(t *testing.T) {
			if !listed[name+".tar.gz"] {
				t.Fatalf("%s.tar.gz not in SHA256SUMS (%v)", name, listed)
			}
			extracted := extract(t, filepath.Join(dir, name+".tar.gz"), t.TempDir())
			bin := filepath.Join(extracted, name, "nested-enabler")
			if target, err := os.Readlink(filepath.Join(extracted, name, "kubectl-nested_enabler")); err != nil || target != "nested-enabler" {
				t.Errorf("kubectl-nested_enabler -> %q (%v), want a link to nested-enabler", target, err)
			}
			if _, err := os.Stat(filepath.Join(extracted, name, "LICENSE")); err != nil {
				t.Error(err)
			}
			checkBinary(t, bin, platform.os, platform.arch)
			if platform.os != "linux" || platform.arch != "amd64" {
				return
			}
			out, err := exec.Command(bin, "version", "-o", "json").Output()
			var info version.Info
			if err != nil || json.Unmarshal(out, &info) != nil || info.Version != want {
				t.Errorf("version -o json: %s (%v), want version %s", out, err, want)
			}
			// kubectl's plugin mechanism (oc's is the same) finds it on PATH.
			assets := os.Getenv("KUBEBUILDER_ASSETS")
			if assets == "" {
				assets = localcluster.DefaultAssetsDir()
			}
			kubectl := exec.Command(filepath.Join(assets, "kubectl"), "nested-enabler", "version")
			kubectl.Env = append(os.Environ(), "PATH="+filepath.Join(extracted, name)+":"+os.Getenv("PATH"))
			if out, err := kubectl.CombinedOutput(); err != nil || !strings.Contains(string(out), "Version:   "+want) {
				t.Errorf("kubectl nested-enabler version: %v\n%s", err, out)
			}
			kubectl = exec.Command(filepath.Join(assets, "kubectl"), "nested-enabler", "--help")
			kubectl.Env = append(os.Environ(), "PATH="+filepath.Join(extracted, name)+":"+os.Getenv("PATH"))
			if out, err := kubectl.CombinedOutput(); err != nil || !strings.Contains(string(out), "kubectl nested-enabler [command]") {
				t.Errorf("kubectl nested-enabler --help does not name itself so: %v\n%s", err, out)
			}
		})
	}
}

// checkBinary checks the executable's format, architecture, and that a
// Linux one is static (no interpreter: it runs on any distribution).
func checkBinary(t *testing.T, file, goos, goarch string) {
	t.Helper()
	switch goos {
	case "linux":
		f, err := elf.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]
		if f.Machine != machine {
			t.Errorf("%s is for %s, want %s", file, f.Machine, machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked", file)
			}
		}
	case "darwin":
		f, err := macho.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cpu := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[goarch]
		if f.Cpu != cpu {
			t.Errorf("%s is for %s, want %s", file, f.Cpu, cpu)
		}
	}
}

func extract(t *testing.T, archive, dir string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(dir, hdr.Name)
		if !strings.HasPrefix(target, dir+string(filepath.Separator)) {
			t.Fatalf("%s escapes the archive", hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeSymlink:
			err = os.Symlink(hdr.Linkname, target)
		case tar.TypeReg:
			var out *os.File
			if out, err = os.OpenFile(target, os.O_CREATE|os.O_WRONLY, os.FileMode(hdr.Mode)); err == nil {
				_, err = io.Copy(out, tr)
				out.Close()
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
