// Package images_test builds the images `make images` builds, with podman,
// and runs the operator image: the image the install runs is the one
// proven here.
package images_test

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/test/debpkg"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

const testImage = "localhost/nested-workspaces-test/enabler"

// debianPackages are what this test runs itself: podman, with runc as its
// runtime (see newPodman). hack/build-images.sh installs podman when it is
// missing, but Debian's podman brings crun, not runc.
var debianPackages = []string{"podman", "runc"}

// podman runs podman on storage of the test's own, so that nothing reaches
// the host's images; runc and cgroupfs because this kind of machine has
// hybrid cgroups and no systemd. Containers get low rlimits: this kind
// of VM lacks CAP_SYS_RESOURCE, so runc cannot set podman's defaults
// (nofile and nproc above the host's hard limits).
type podman struct{ args []string }

func newPodman(t *testing.T) *podman {
	dir := t.TempDir()
	p := &podman{args: []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "runroot"),
		"--tmpdir", filepath.Join(dir, "tmp"), "--storage-driver", "vfs", "--runtime", "runc",
		"--cgroup-manager", "cgroupfs", "--events-backend", "file"}}
	t.Cleanup(func() { _, _ = p.run("rm", "--all", "--force") })
	return p
}

func (p *podman) commandLine() string { return "podman " + strings.Join(p.args, " ") }

func (p *podman) run(args ...string) (string, error) {
	out, err := exec.Command("podman", append(append([]string{}, p.args...), args...)...).CombinedOutput()
	return string(out), err
}

func (p *podman) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := p.run(args...)
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestOperatorImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images with podman")
	}
	if os.Geteuid() != 0 {
		localcluster.SkipForMachine(t, "SKIPPING IMAGE TEST: building and running images here needs root (hack/build-images.sh installs podman as root)")
	}
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Dir(strings.TrimSpace(string(root)))
	version, err := os.ReadFile(filepath.Join(repo, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	ref := testImage + ":v" + strings.TrimSpace(string(version))
	if err := debpkg.Install(debianPackages...); err != nil {
		t.Fatal(err)
	}
	p := newPodman(t)

	// What `make images IMAGE=...` runs.
	build := exec.Command("bash", "hack/build-images.sh")
	build.Dir = repo
	arches := makeDefault(t, repo, "ARCHES")
	build.Env = append(os.Environ(), "IMAGE="+testImage, "ARCHES="+arches, "PODMAN="+p.commandLine())
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("hack/build-images.sh: %v\n%s", err, out)
	} else {
		t.Logf("%s", out)
	}

	// One manifest list: an image per architecture of the Makefile's
	// ARCHES, each holding the binary for it and the licence.
	t.Run("one_manifest_list_of_every_architecture", func(t *testing.T) {
		var list struct {
			Manifests []struct {
				Digest   string `json:"digest"`
				Platform struct {
					Architecture string `json:"architecture"`
					OS           string `json:"os"`
				} `json:"platform"`
			} `json:"manifests"`
		}
		if err := json.Unmarshal([]byte(p.must(t, "manifest", "inspect", ref)), &list); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range list.Manifests {
			arch := m.Platform.Architecture
			got = append(got, arch)
			instance := testImage + "@" + m.Digest
			if a := strings.TrimSpace(p.must(t, "image", "inspect", "--format", "{{.Architecture}}", instance)); a != arch || m.Platform.OS != "linux" {
				t.Errorf("%s: image architecture %q, list says %s/%s", instance, a, m.Platform.OS, arch)
			}
			root := strings.TrimSpace(p.must(t, "image", "mount", instance))
			machine := elfMachine(t, filepath.Join(root, "nested-enabler"))
			if want := goarchMachine[arch]; machine != want {
				t.Errorf("%s holds a binary for %s, want %s", arch, machine, want)
			}
			if _, err := os.Stat(filepath.Join(root, "licenses", "LICENSE")); err != nil {
				t.Errorf("%s: %v", arch, err)
			}
			p.must(t, "image", "unmount", instance)
		}
		if strings.Join(got, " ") != arches {
			t.Errorf("manifest list architectures %q, want the Makefile's ARCHES %q", got, arches)
		}
	})
	t.Run("version_is_stamped", func(t *testing.T) {
		out := p.must(t, "run", "--rm", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096", "--network", "none", ref, "version", "-o", "json")
		var info struct{ Version string }
		if err := json.Unmarshal([]byte(out), &info); err != nil || info.Version != strings.TrimSpace(string(version)) {
			t.Errorf("version -o json in the image: %s (%v)", out, err)
		}
	})
	t.Run("the_catalog_image_holds_the_catalog", func(t *testing.T) {
		// The opm base cannot be pulled here: scratch stands in for it, so
		// this proves the catalog's place and label, not opm serving it.
		// CATALOG_IMAGE is set as the Makefile sets it: make exports its
		// own (from the default IMAGE) to everything make test runs.
		catalogRef := testImage + "-catalog:v" + strings.TrimSpace(string(version))
		cat := exec.Command("bash", "hack/build-catalog-image.sh")
		cat.Dir = repo
		cat.Env = append(os.Environ(), "IMAGE="+testImage, "CATALOG_IMAGE="+catalogRef, "OPM_IMAGE=scratch", "PODMAN="+p.commandLine())
		if out, err := cat.CombinedOutput(); err != nil {
			t.Fatalf("hack/build-catalog-image.sh: %v\n%s", err, out)
		}
		if label := strings.TrimSpace(p.must(t, "image", "inspect", "--format", `{{index .Labels "operators.operatorframework.io.index.configs.v1"}}`, catalogRef)); label != "/configs" {
			t.Errorf("configs label %q, want /configs", label)
		}
		root := strings.TrimSpace(p.must(t, "image", "mount", catalogRef))
		defer p.must(t, "image", "unmount", catalogRef)
		got, err := os.ReadFile(filepath.Join(root, "configs", "nested-workspaces-enabler", "catalog.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(repo, "catalog", "nested-workspaces-enabler", "catalog.yaml"))
		if err != nil || string(got) != string(want) {
			t.Errorf("the image's catalog differs from catalog/ (%v)", err)
		}
	})
	t.Run("runs_as_a_numeric_non_root_user", func(t *testing.T) {
		user := strings.TrimSpace(p.must(t, "image", "inspect", "--format", "{{.Config.User}}", ref))
		uid, _, _ := strings.Cut(user, ":")
		if uid == "" || uid == "0" || strings.Trim(uid, "0123456789") != "" {
			t.Errorf("image user %q, want a numeric non-root UID", user)
		}
	})
	t.Run("has_the_labels_openshift_expects", func(t *testing.T) {
		for _, label := range []string{"name", "version", "summary", "description", "licenses", "io.k8s.display-name"} {
			if v := strings.TrimSpace(p.must(t, "image", "inspect", "--format", "{{index .Labels \""+label+"\"}}", ref)); v == "" || v == "<no value>" {
				t.Errorf("label %s is missing", label)
			}
		}
	})
	t.Run("detect_help_exits_0", func(t *testing.T) {
		out := p.must(t, "run", "--rm", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096", "--network", "none", ref, "detect", "--help")
		if !strings.Contains(out, "Exit status: 0 supported") {
			t.Errorf("detect --help:\n%s", out)
		}
	})
	t.Run("bundle_image_names_the_operator_image", func(t *testing.T) {
		labels := p.must(t, "image", "inspect", "--format", "{{json .Labels}}", testImage+"-bundle:v"+strings.TrimSpace(string(version)))
		if !strings.Contains(labels, `"operators.operatorframework.io.bundle.package.v1":"nested-workspaces-enabler"`) {
			t.Errorf("bundle labels: %s", labels)
		}
		// Named by tag (no IMAGE_DIGEST): the CSV claims no disconnected
		// support, and it is offered on the architectures built.
		bundleRef := testImage + "-bundle:v" + strings.TrimSpace(string(version))
		root := strings.TrimSpace(p.must(t, "image", "mount", bundleRef))
		defer p.must(t, "image", "unmount", bundleRef)
		csv, err := os.ReadFile(filepath.Join(root, "manifests", "nested-workspaces-enabler.clusterserviceversion.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"containerImage: " + ref, `features.operators.openshift.io/disconnected: "false"`, "operatorframework.io/arch.s390x: supported"} {
			if !strings.Contains(string(csv), want) {
				t.Errorf("the bundle image's CSV lacks %q", want)
			}
		}
	})
	t.Run("run_reaches_ready_against_the_control_plane", func(t *testing.T) {
		ctx := context.Background()
		c := localcluster.StartForTest(t, localcluster.Options{OpenShift: true, DevWorkspace: true, NestedContainers: true})
		if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
			t.Fatal(err)
		}
		// The image's user must read it.
		kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
		data, err := os.ReadFile(c.KubeconfigPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(kubeconfig, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Dir(kubeconfig), 0o755); err != nil {
			t.Fatal(err)
		}
		probe, metrics := freePort(t), freePort(t)
		p.must(t, "run", "-d", "--name", "operator", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096", "--network", "host", "-v", kubeconfig+":/kubeconfig:ro", ref,
			"run", "--kubeconfig", "/kubeconfig", "--leader-elect=false",
			"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probe),
			"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", metrics))
		// Before the control plane stops (cleanups run last-in first-out):
		// an operator still watching would hold the API server's shutdown.
		t.Cleanup(func() {
			if t.Failed() {
				out, _ := p.run("logs", "operator")
				t.Logf("operator logs:\n%s", out)
			}
			if out, err := p.run("rm", "--force", "--time", "5", "operator"); err != nil {
				t.Errorf("remove the operator container: %v\n%s", err, out)
			}
		})
		localcluster.Eventually(t, time.Minute, "the operator in the image is ready", func() error {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", probe))
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("readyz: %s", resp.Status)
			}
			return nil
		})
		nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
		if err := c.Client.Create(ctx, nc); err != nil {
			t.Fatal(err)
		}
		localcluster.Eventually(t, time.Minute, "the operator in the image reconciles the toggle", func() error {
			if err := c.Client.Get(ctx, client.ObjectKeyFromObject(nc), nc); err != nil {
				return err
			}
			cond := meta.FindStatusCondition(nc.Status.Conditions, enablerv1alpha1.ConditionSupported)
			if cond == nil || cond.Status != metav1.ConditionTrue {
				return fmt.Errorf("Supported = %+v", cond)
			}
			return nil
		})
		if state := strings.TrimSpace(p.must(t, "inspect", "--format", "{{.State.Status}} {{.Config.User}}", "operator")); !strings.HasPrefix(state, "running 65532") {
			t.Errorf("operator container: %s", state)
		}
	})
}

// makeDefault is the default of a `NAME ?= ...` line of the Makefile.
func makeDefault(t *testing.T, repo, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + ` \?= (.+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("the Makefile has no %s ?= line", name)
	}
	return strings.TrimSpace(string(m[1]))
}

var goarchMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390}

func elfMachine(t *testing.T, file string) elf.Machine {
	t.Helper()
	f, err := elf.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.Machine
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
