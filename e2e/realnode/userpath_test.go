package realnode_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	"github.com/devfile/api/v2/pkg/attributes"
	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/localcluster/dwo"
	"github.com/nested-workspaces/enabler/test/operatortest"
)

const runTimeout = 3 * time.Minute

// env is the one cluster of this package: the simulated OpenShift 4.20
// with no simulated nodes, one real node, DWO and the operator.
type env struct {
	c    *localcluster.Cluster
	node *localcluster.RealNode
}

func startEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := localcluster.StartForTest(t, localcluster.Options{OpenShift: true, DevWorkspace: true, NestedContainers: true, Workloads: true})
	if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
		t.Fatal(err)
	}
	// The runc handler for workspaces that ask for it (the default is crun).
	if err := c.Client.Create(ctx, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: localcluster.RuncHandler}, Handler: localcluster.RuncHandler}); err != nil {
		t.Fatal(err)
	}
	// Only the real node: pods must land on it.
	if err := c.SetNodes(ctx, 0, 0); err != nil {
		t.Fatal(err)
	}
	node, err := c.StartRealNode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Stop)
	d, err := dwo.Start(ctx, c.Config, dwo.Options{Namespace: operator.DefaultDWONamespace})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Stop() })
	// An admin's setting beside the operator's: images come from the node,
	// not a registry.
	dwoc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "controller.devfile.io/v1alpha1", "kind": "DevWorkspaceOperatorConfig",
		"metadata": map[string]any{"name": dwoconfig.Name, "namespace": operator.DefaultDWONamespace},
		"config":   map[string]any{"workspace": map[string]any{"imagePullPolicy": "IfNotPresent"}},
	}}
	if err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(dwoc), client.FieldOwner("cluster-admin"), client.ForceOwnership); err != nil {
		t.Fatal(err)
	}
	mgr, err := operator.NewManager(operator.Options{Config: c.Config, MetricsAddr: "0", ProbeAddr: "0"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("operator: %v", err)
		}
	})
	nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
	if err := c.Client.Create(ctx, nc); err != nil {
		t.Fatal(err)
	}
	return &env{c: c, node: node}
}

func (e *env) setEnabled(t *testing.T, enabled bool) {
	t.Helper()
	e.setToggle(t, enabled, 0)
}

// setToggle sets the toggle and, when runAsUser is not 0, the UID nested
// workspaces run as.
func (e *env) setToggle(t *testing.T, enabled bool, runAsUser int64) {
	t.Helper()
	operatortest.SetSpec(t, e.c.Client, func(s *enablerv1alpha1.NestedContainersSpec) {
		s.Enabled = enabled
		if runAsUser != 0 {
			s.RunAsUser = runAsUser
		}
	})
	status, want := metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled
	if enabled {
		status, want = metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured
	}
	operatortest.WaitCondition(t, e.c.Client, time.Minute, enablerv1alpha1.ConditionReady, status, want)
}

// workspaceOptions change the sample workspace as a devfile can.
type workspaceOptions struct {
	// runtimeClass is the DevWorkspace's controller.devfile.io/runtime-class.
	runtimeClass string
	// asRoot overrides the tools container's UID to 0 (container-overrides),
	// as a devfile that asks for root under an SCC whose range starts at 0.
	asRoot bool
	// homeVolume mounts a volume of its own on /home/user, as Dev Spaces'
	// persistUserHome does with a PVC (here an ephemeral volume: the node has
	// no storage provisioner): the UDI entrypoint stows /home/tooling into it.
	homeVolume bool
}

// startWorkspace creates a workspace running the workspace image and
// returns its Running pod.
func (e *env) startWorkspace(t *testing.T, namespace, name string) *corev1.Pod {
	t.Helper()
	return e.startWorkspaceWith(t, namespace, name, workspaceOptions{})
}

func (e *env) startWorkspaceWith(t *testing.T, namespace, name string, opts workspaceOptions) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	if err := e.c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	ws := dwo.SampleWorkspace(namespace, name)
	ws.Spec.Template.Components[0].Container.Image = WorkspaceImage
	if opts.runtimeClass != "" {
		ws.Spec.Template.Attributes.PutString("controller.devfile.io/runtime-class", opts.runtimeClass)
	}
	if opts.homeVolume {
		ws.Spec.Template.Components[0].Container.VolumeMounts = []dwv2.VolumeMount{{Name: "home", Path: "/home/user"}}
		ephemeral := true
		ws.Spec.Template.Components = append(ws.Spec.Template.Components, dwv2.Component{Name: "home",
			ComponentUnion: dwv2.ComponentUnion{Volume: &dwv2.VolumeComponent{Volume: dwv2.Volume{Ephemeral: &ephemeral}}}})
	}
	if opts.asRoot {
		var err error
		attrs := attributes.Attributes{}.Put("container-overrides",
			map[string]any{"securityContext": map[string]any{"runAsUser": 0, "runAsNonRoot": false}}, &err)
		if err != nil {
			t.Fatal(err)
		}
		ws.Spec.Template.Components[0].Attributes = attrs
	}
	if err := e.c.Client.Create(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if _, err := dwo.WaitForRunning(ctx, e.c.Client, ws, runTimeout); err != nil {
		t.Fatalf("%v\nevents: %s\nkubelet log:\n%s", err, e.c.EventsFor(ctx, namespace), e.node.LogTail("kubelet"))
	}
	var pod *corev1.Pod
	localcluster.Eventually(t, time.Minute, "the Running pod of "+name, func() error {
		p, err := dwo.RunningPod(ctx, e.c.Client, ws)
		if err == nil && p == nil {
			err = fmt.Errorf("no Running pod")
		}
		pod = p
		return err
	})
	return pod
}

// exec runs a shell command in the workspace's tools container as its user.
func (e *env) exec(t *testing.T, pod *corev1.Pod, script string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// This machine's cgroups are v1: podman 5 warns about that on every
	// command (an OpenShift 4.19+ node is cgroup v2 only).
	out, errOut, err := e.node.Exec(ctx, pod.Namespace, pod.Name, "tools", "sh", "-c", "export PODMAN_IGNORE_CGROUPSV1_WARNING=1\n"+script)
	if err != nil {
		return out + errOut, fmt.Errorf("%q: %v", script, err)
	}
	return out + errOut, nil
}

func (e *env) mustExec(t *testing.T, pod *corev1.Pod, script string) string {
	t.Helper()
	out, err := e.exec(t, pod, script)
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	return out
}

// TestUserPath is the user's path: toggle on, DWO renders the workspace,
// OpenShift's SCC admission admits it under the SCC as UID 1000, it runs on
// the real node in a pod user namespace, and podman, podman build and a
// podman-compose project whose services talk by name work in it. With the
// toggle off, the same workspace is not nested and doctor says why.
func TestUserPath(t *testing.T) {
	localcluster.RequireRealNode(t)
	e := startEnv(t)
	e.setEnabled(t, true)

	pod := e.startWorkspace(t, "alice", "nested")
	if got := pod.Annotations[securityv1.ValidatedSCCAnnotation]; got != scc.BuiltInSCCName {
		t.Errorf("admitted under SCC %q, want %s", got, scc.BuiltInSCCName)
	}
	if uid := dwo.EffectiveUID(pod, &pod.Spec.Containers[0]); uid == nil || *uid != enablerv1alpha1.DefaultRunAsUser {
		t.Errorf("runs as UID %v, want %d", uid, enablerv1alpha1.DefaultRunAsUser)
	}
	if pod.Spec.NodeName != e.node.Name {
		t.Fatalf("scheduled to %q, not the real node", pod.Spec.NodeName)
	}
	t.Logf("admitted under SCC %s as UID %d, Running on node %s", pod.Annotations[securityv1.ValidatedSCCAnnotation], enablerv1alpha1.DefaultRunAsUser, pod.Spec.NodeName)
	e.ranWith(t, pod, e.node.DefaultRuntime)

	t.Run("pod_user_namespace", func(t *testing.T) {
		fields := strings.Fields(e.mustExec(t, pod, "cat /proc/self/uid_map"))
		if len(fields) != 3 || fields[0] != "0" || fields[1] == "0" || fields[2] != "65536" {
			t.Errorf("uid_map %v, want a 65536-ID map from a host ID other than 0", fields)
		}
		if id := strings.TrimSpace(e.mustExec(t, pod, "id -u")); id != "1000" {
			t.Errorf("id -u = %s", id)
		}
	})
	t.Run("proc_unmasked", func(t *testing.T) {
		// A masked /proc has mounts over /proc/kcore, /proc/sys, ...
		out := e.mustExec(t, pod, "awk '$5 ~ \"^/proc/\" {print $5}' /proc/self/mountinfo")
		if strings.TrimSpace(out) != "" {
			t.Errorf("mounts over parts of /proc: %s", out)
		}
	})
	t.Run("setuid_setgid_in_bounding_set", func(t *testing.T) {
		line := e.mustExec(t, pod, "grep CapBnd /proc/self/status")
		f := strings.Fields(line)
		bnd, err := strconv.ParseUint(f[len(f)-1], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		if bnd&(1<<6) == 0 || bnd&(1<<7) == 0 {
			t.Errorf("CapBnd %s lacks SETGID (6) or SETUID (7)", f[len(f)-1])
		}
	})
	// The UDI's layout: podman is /usr/bin/podman.orig, reached through
	// ~/.local/bin/podman, which the UDI entrypoint's kubedock_setup links.
	t.Run("podman_is_the_udis_podman_orig_behind_local_bin", func(t *testing.T) {
		out := e.mustExec(t, pod, "command -v podman; readlink $HOME/.local/bin/podman; podman --version")
		if !strings.Contains(out, "/home/user/.local/bin/podman\n/usr/bin/podman.orig\npodman version 5.") {
			t.Errorf("podman in the workspace:\n%s", out)
		}
	})
	// What the image's entrypoint did at start: udi-setup configure.
	t.Run("configure_added_the_passwd_entry_an_arbitrary_uid_needs", func(t *testing.T) {
		entry := strings.TrimSpace(e.mustExec(t, pod, "grep '^[^:]*:x:1000:' /etc/passwd"))
		if f := strings.Split(entry, ":"); len(f) != 7 || f[3] != "0" || f[5] != "/home/user" {
			t.Errorf("passwd entry for UID 1000 = %q, want GID 0 and home /home/user", entry)
		}
	})
	storageConf := e.mustExec(t, pod, "cat $HOME/.config/containers/storage.conf")
	containersConf := e.mustExec(t, pod, "cat $HOME/.config/containers/containers.conf")
	t.Logf("storage.conf:\n%s\ncontainers.conf:\n%s", storageConf, containersConf)
	driver := regexp.MustCompile(`(?m)^driver = "(\w+)"`).FindStringSubmatch(storageConf)
	runtime := regexp.MustCompile(`(?m)^runtime = "(\w+)"`).FindStringSubmatch(containersConf)
	t.Run("configure_chose_storage_by_trial", func(t *testing.T) {
		if driver == nil || !strings.Contains(storageConf, ": works\n") {
			t.Errorf("storage.conf does not name the driver that passed its trial:\n%s", storageConf)
		}
		// The user's storage.conf replaces the image's whole: the UDI's
		// additional image store must come along.
		if !strings.Contains(storageConf, `additionalimagestores = ["/var/lib/shared"]`) {
			t.Errorf("storage.conf drops the UDI's additional image store /var/lib/shared:\n%s", storageConf)
		}
	})
	t.Run("configure_again_writes_nothing", func(t *testing.T) {
		out := e.mustExec(t, pod, "udi-setup configure -v")
		if n := strings.Count(out, " unchanged\n"); n != 5 {
			t.Errorf("want 5 files reported unchanged, got %d:\n%s", n, out)
		}
		if quiet := e.mustExec(t, pod, "udi-setup configure"); quiet != "" {
			t.Errorf("configure without -v printed %q; it must be quiet on success", quiet)
		}
	})
	t.Run("the_entrypoint_started_the_docker_api_waiter", func(t *testing.T) {
		out := e.mustExec(t, pod, "tr '\\0' ' ' </proc/$(cat /tmp/podman-run-1000/podman/udi-setup-docker-api.pid)/cmdline; echo; ls -l /tmp/podman-run-1000/podman/podman.sock")
		if !strings.Contains(out, "/usr/local/bin/udi-setup docker-api \n") || !strings.HasPrefix(strings.Fields(out)[2], "srw") {
			t.Errorf("the waiter and its socket:\n%s", out)
		}
	})
	t.Run("podman_uses_the_configured_storage_and_runtime", func(t *testing.T) {
		got := strings.TrimSpace(e.mustExec(t, pod, "podman info --format '{{.Store.GraphDriverName}} {{.Host.OCIRuntime.Name}}' 2>/dev/null"))
		want := ""
		if driver != nil {
			want = driver[1]
		}
		if runtime != nil {
			want += " " + runtime[1]
		}
		if !strings.HasPrefix(got+" ", want+" ") {
			t.Errorf("podman info = %q, want %q", got, want)
		}
	})
	e.nestedContainersWork(t, pod, 1000)
	e.stopWorkspace(t, "alice", "nested")

	// A high UID (the operator's runAsUser set to 60000): the UDI's own
	// formula gives user:60001:5535, too few IDs for nobody; configure's
	// ranges give 65534. The pod runs with runc, through a RuntimeClass, and
	// its home is a volume of its own, as with Dev Spaces' persistUserHome.
	t.Run("high_uid_with_runc", func(t *testing.T) {
		e.setToggle(t, true, highUID)
		pod := e.startWorkspaceWith(t, "bob", "high", workspaceOptions{runtimeClass: localcluster.RuncHandler, homeVolume: true})
		if uid := dwo.EffectiveUID(pod, &pod.Spec.Containers[0]); uid == nil || *uid != highUID {
			t.Errorf("runs as UID %v, want %d", uid, highUID)
		}
		t.Logf("admitted under SCC %s as UID %d", pod.Annotations[securityv1.ValidatedSCCAnnotation], highUID)
		e.ranWith(t, pod, localcluster.RuncHandler)
		t.Run("the_udi_entrypoint_stowed_tooling_into_the_mounted_home", func(t *testing.T) {
			out := e.mustExec(t, pod, "mountpoint /home/user; ls -A /home/user | tr '\\n' ' '; echo; grep -c . $HOME/.config/containers/storage.conf")
			for _, want := range []string{"/home/user is a mountpoint", ".stow_completed", ".bashrc", ".bash_profile", ".config", ".local"} {
				if !strings.Contains(out, want) {
					t.Errorf("the mounted home lacks %q:\n%s", want, out)
				}
			}
			t.Logf("the mounted home after the UDI entrypoint and configure:\n%s", out)
		})
		t.Logf("storage.conf on the mounted home:\n%s", e.mustExec(t, pod, "cat $HOME/.config/containers/storage.conf"))
		e.nestedContainersWork(t, pod, highUID)
		e.stopWorkspace(t, "bob", "high")
		e.setToggle(t, true, enablerv1alpha1.DefaultRunAsUser)
	})
	// Root: a devfile that asks for UID 0 (container-overrides) under the
	// SCC's range 0-65534. Podman runs as the delegate; the UDI's
	// ~/.local/bin/podman is linked to udi-setup for root, except while
	// kubedock is on.
	t.Run("root_through_the_delegate", func(t *testing.T) {
		pod := e.startWorkspaceWith(t, "carol", "root", workspaceOptions{asRoot: true})
		if uid := strings.TrimSpace(e.mustExec(t, pod, "id -u")); uid != "0" {
			t.Fatalf("id -u = %s, want 0", uid)
		}
		t.Logf("admitted under SCC %s as UID 0", pod.Annotations[securityv1.ValidatedSCCAnnotation])
		e.ranWith(t, pod, e.node.DefaultRuntime)
		if got := strings.TrimSpace(e.mustExec(t, pod, "readlink $HOME/.local/bin/podman")); got != "/usr/local/bin/udi-setup" {
			t.Errorf("~/.local/bin/podman -> %q for root, want /usr/local/bin/udi-setup", got)
		}
		t.Run("kubedocks_choice_is_left_alone", func(t *testing.T) {
			// The image's entrypoint again, as a start with KUBEDOCK_ENABLED=true
			// (and a kubeconfig) runs it.
			out := e.mustExec(t, pod, "KUBEDOCK_ENABLED=true KUBECONFIG=/etc/hostname /usr/local/bin/udi-entrypoint readlink $HOME/.local/bin/podman 2>&1; udi-setup doctor 2>&1 | grep 'podman as root'")
			if !strings.Contains(out, "\n/usr/bin/podman.wrapper\n") || !strings.Contains(out, "kubedock's wrapper") {
				t.Errorf("with kubedock on:\n%s", out)
			}
			out = e.mustExec(t, pod, "/usr/local/bin/udi-entrypoint readlink $HOME/.local/bin/podman 2>&1")
			if !strings.HasSuffix(strings.TrimSpace(out), "\n/usr/local/bin/udi-setup") {
				t.Errorf("kubedock off again:\n%s", out)
			}
		})
		e.nestedContainersWork(t, pod, 0)
		e.stopWorkspace(t, "carol", "root")
	})

	// Toggle off: a workspace started now is not nested, and doctor says
	// what is missing.
	e.setEnabled(t, false)
	plain := e.startWorkspace(t, "alice", "plain")
	if got := plain.Annotations[securityv1.ValidatedSCCAnnotation]; got != "restricted-v2" {
		t.Errorf("toggle off: admitted under SCC %q, want restricted-v2", got)
	}
	out, err := e.exec(t, plain, "udi-setup doctor")
	if err == nil || !strings.Contains(out, "podman cannot run nested containers here") {
		t.Errorf("doctor with the toggle off (err %v):\n%s", err, out)
	}
	t.Logf("udi-setup doctor with the toggle off:\n%s", out)
	e.copyFixtures(t, plain)
	out, err = e.exec(t, plain, "podman import -q "+busyboxArchive+" localhost/busybox && podman run --rm localhost/busybox true")
	if err == nil {
		t.Errorf("podman worked in a workspace that is not nested:\n%s", out)
	}
	t.Logf("podman with the toggle off:\n%s", out)
}

// highUID is the high UID the operator is set to run workspaces as.
const highUID int64 = 60000

// Where copyFixtures puts the test's files in a workspace.
const (
	busyboxArchive      = "/tmp/fixtures/busybox.tar"
	testcontainersProbe = "/tmp/fixtures/testcontainers-probe"
)

// copyFixtures copies a busybox root filesystem (there is no registry) and
// the Testcontainers program into the workspace, through kubectl exec, as a
// user copies files in.
func (e *env) copyFixtures(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	dir := os.Getenv(fixturesEnv)
	for _, f := range []struct{ from, to string }{
		{filepath.Join(dir, localcluster.BusyboxFixture), busyboxArchive},
		{filepath.Join(dir, "testcontainers-probe"), testcontainersProbe},
	} {
		in, err := os.Open(f.from)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		_, errOut, err := e.node.ExecWithInput(ctx, in, pod.Namespace, pod.Name, "tools", "sh", "-c",
			"mkdir -p /tmp/fixtures && cat > "+f.to+" && chmod 0755 "+f.to)
		cancel()
		in.Close()
		if err != nil {
			t.Fatalf("copy %s into the workspace: %v: %s", f.to, err, errOut)
		}
	}
}

// ranWith checks which OCI runtime the node ran the workspace container with.
func (e *env) ranWith(t *testing.T, pod *corev1.Pod, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := e.node.RuntimeOf(ctx, pod.Namespace, pod.Name, "tools")
	if err != nil {
		t.Errorf("the workspace container's runtime: %v", err)
		return
	}
	if got != want {
		t.Errorf("the node ran the workspace container with %s, want %s", got, want)
	}
	t.Logf("the node ran the workspace container with %s", got)
}

// stopWorkspace stops a workspace (spec.started false) and waits for its
// pod to go, so that the next one has the node to itself.
func (e *env) stopWorkspace(t *testing.T, namespace, name string) {
	t.Helper()
	ctx := context.Background()
	ws := &dwv2.DevWorkspace{}
	if err := e.c.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, ws); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(ws.DeepCopy())
	ws.Spec.Started = false
	if err := e.c.Client.Patch(ctx, ws, patch); err != nil {
		t.Fatal(err)
	}
	localcluster.Eventually(t, 2*time.Minute, "the pods of "+name+" are gone", func() error {
		pods := &corev1.PodList{}
		if err := e.c.Client.List(ctx, pods, client.InNamespace(namespace), client.MatchingLabels{"controller.devfile.io/devworkspace_name": name}); err != nil {
			return err
		}
		if len(pods.Items) > 0 {
			return fmt.Errorf("%d pods left", len(pods.Items))
		}
		return nil
	})
}

// nestedContainersWork is what a user does with containers in a nested
// workspace running as uid (0: root, through the delegate): podman run, a
// multi-stage build across the ID range, podman-compose, and the Docker
// tools against udi-setup's Docker-compatible API.
func (e *env) nestedContainersWork(t *testing.T, pod *corev1.Pod, uid int64) {
	t.Helper()
	// Podman runs as this UID: the delegate's for root.
	own := uid
	if uid == 0 {
		own = 65535
	}
	t.Run("configure_mapped_every_pod_id_but_root_and_the_users_own", func(t *testing.T) {
		want := []string{}
		if own > 1 {
			want = append(want, fmt.Sprintf(":1:%d\n", own-1))
		}
		if own < 65535 {
			want = append(want, fmt.Sprintf(":%d:%d\n", own+1, 65535-own))
		}
		got := e.mustExec(t, pod, "cat /etc/subuid")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("subuid =\n%s\nwant %q", got, want)
			}
		}
		// The process's GID is 0, as in an OpenShift pod: every other GID.
		if got := e.mustExec(t, pod, "cat /etc/subgid"); !strings.Contains(got, ":1:65535\n") {
			t.Errorf("subgid =\n%s\nwant 1:65535", got)
		}
	})
	t.Run("doctor_finds_nothing_to_fix", func(t *testing.T) {
		out := e.mustExec(t, pod, "udi-setup doctor")
		names := []string{"user namespace", "capabilities", "no_new_privs", "newuidmap", "newgidmap", "passwd", "/dev/fuse", "/dev/net/tun", "network", "/proc", "subuid", "subgid", "storage", "docker API"}
		if uid == 0 {
			names = append(names, "podman as root")
		}
		for _, name := range names {
			if !regexp.MustCompile(`(?m)^OK +` + regexp.QuoteMeta(name) + ` `).MatchString(out) {
				t.Errorf("no OK line for %s", name)
			}
		}
		if !strings.Contains(out, "podman can run nested containers here") {
			t.Errorf("doctor:\n%s", out)
		}
		if js := e.mustExec(t, pod, "udi-setup doctor -o json"); !strings.Contains(js, `"ok": true`) {
			t.Errorf("doctor -o json does not say ok:\n%s", js)
		}
		t.Logf("udi-setup doctor in the workspace:\n%s", out)
	})
	e.copyFixtures(t, pod)
	// Importing needs every ID the image's files use: home/nobody is 65534.
	e.mustExec(t, pod, "podman import -q "+busyboxArchive+" localhost/busybox")
	t.Run("podman_5_with_pasta", func(t *testing.T) {
		got := strings.TrimSpace(e.mustExec(t, pod, "podman info --format '{{.Version.Version}} {{.Host.RootlessNetworkCmd}} {{.Host.OCIRuntime.Name}}' 2>/dev/null"))
		if !strings.HasPrefix(got, "5.") || !strings.Contains(got, " pasta ") {
			t.Errorf("podman info = %q, want podman 5 with pasta", got)
		}
		t.Logf("podman version, rootless network, runtime: %s", got)
	})
	t.Run("a_container_runs_as_root_mapped_onto_both_subordinate_ranges", func(t *testing.T) {
		out := e.mustExec(t, pod, "podman run --rm localhost/busybox sh -c 'id -u; cat /proc/self/uid_map; stat -c nobody-home:%u:%g /home/nobody' 2>/dev/null")
		if !strings.HasPrefix(strings.TrimSpace(out), "0\n") {
			t.Errorf("id inside the container is not root:\n%s", out)
		}
		want := []string{fmt.Sprintf("0 %d 1", own)}
		if own > 1 {
			want = append(want, fmt.Sprintf("1 1 %d", own-1))
		}
		if own < 65535 {
			want = append(want, fmt.Sprintf("%d %d %d", own, own+1, 65535-own))
		}
		if got := mapLines(out); !slices.Equal(got, want) {
			t.Errorf("uid_map inside the container = %q, want %q", got, want)
		}
		if !strings.Contains(out, "nobody-home:65534:65534") {
			t.Errorf("a file owned by nobody lost its owner:\n%s", out)
		}
		t.Logf("podman run in the workspace:\n%s", out)
	})
	// As apt's sandbox does (eclipse-che/che#23924): a RUN step switches to
	// UID/GID 65534 with its supplementary groups set to 65534 alone
	// (setgroups), and files are chowned to IDs across 1..65534; all of
	// them must be mapped in the pod's namespace. The UDI builds with
	// BUILDAH_ISOLATION=chroot.
	t.Run("podman_build_switches_users_and_chowns_across_the_range", func(t *testing.T) {
		out := e.mustExec(t, pod, `set -e
mkdir -p /tmp/build && cd /tmp/build
cat > Containerfile <<'END'
FROM localhost/busybox AS build
RUN mkdir -p /out && for id in 1 999 1000 1001 30000 60000 65533 65534; do touch /out/f$id && chown $id:$id /out/f$id; done
RUN su -s /bin/sh nobody -c 'echo sandbox-user $(id -u):$(id -g) groups $(id -G) > /tmp/who' && cp /tmp/who /out/who
FROM localhost/busybox
COPY --from=build /out /out
CMD ["sh", "-c", "cat /out/who; for f in /out/f*; do stat -c '%n %u:%g' $f; done"]
END
echo BUILDAH_ISOLATION=$BUILDAH_ISOLATION
podman build -q -t localhost/built . >/dev/null
podman run --rm localhost/built 2>/dev/null`)
		if !strings.Contains(out, "BUILDAH_ISOLATION=chroot") {
			t.Errorf("the image does not set BUILDAH_ISOLATION=chroot as the UDI does:\n%s", out)
		}
		if !strings.Contains(out, "sandbox-user 65534:65534 groups 65534") {
			t.Errorf("the RUN step did not run as 65534 with groups dropped:\n%s", out)
		}
		for _, id := range []string{"1", "999", "1000", "1001", "30000", "60000", "65533", "65534"} {
			if !strings.Contains(out, "/out/f"+id+" "+id+":"+id+"\n") {
				t.Errorf("a file chowned to %s:%s in the build lost its owner:\n%s", id, id, out)
			}
		}
	})
	t.Run("podman_compose_services_talk_by_name", func(t *testing.T) {
		out := e.mustExec(t, pod, `set -e
mkdir -p /tmp/compose && cd /tmp/compose
cat > compose.yaml <<'END'
services:
  web:
    image: localhost/busybox
    command: sh -c 'mkdir -p /www && echo hello-from-web > /www/index.html && httpd -f -p 8080 -h /www'
    ports: ["8080:8080"]
  client:
    image: localhost/busybox
    depends_on: [web]
    command: sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web:8080/ && exit 0; sleep 1; done; exit 1'
END
podman-compose up -d web >/dev/null 2>&1
podman-compose run --rm client 2>&1
`+fetchLocalhost(8080, "hello-from-web")+`
podman-compose down -t 0 >/dev/null 2>&1`)
		if !regexp.MustCompile(`(?m)^hello-from-web`).MatchString(out) {
			t.Errorf("the client did not reach web by its service name:\n%s", out)
		}
		if !strings.Contains(out, "localhost: hello-from-web") {
			t.Errorf("web's published port 8080 is not reachable from the workspace at localhost:\n%s", out)
		}
		if ps := e.mustExec(t, pod, "podman ps -a --format '{{.Names}}' 2>/dev/null"); strings.TrimSpace(ps) != "" {
			t.Errorf("containers left after podman-compose down: %s", ps)
		}
	})
	e.dockerToolsWork(t, pod, uid)
}

// fetchLocalhost is a shell snippet that GETs / from a published port at
// localhost in the workspace (bash's /dev/tcp: the UDI has no curl here) and
// prints the answer's lines prefixed "localhost: ".
func fetchLocalhost(port int, want string) string {
	return fmt.Sprintf(`for i in 1 2 3 4 5 6 7 8 9 10; do
  got=$(bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && printf "GET / HTTP/1.0\r\n\r\n" >&3 && cat <&3' 2>/dev/null) &&
    echo "$got" | grep -q %s && { echo "$got" | sed 's/^/localhost: /'; break; }
  sleep 1
done`, port, want)
}

// dockerToolsWork: the Docker CLI, docker compose v2 and a Testcontainers
// program, in login shells (which get DOCKER_HOST from the image's
// profile.d), against podman's Docker-compatible API that udi-setup serves.
func (e *env) dockerToolsWork(t *testing.T, pod *corev1.Pod, uid int64) {
	t.Helper()
	want := fmt.Sprintf("unix:///tmp/podman-run-%d/podman/podman.sock", uid)
	t.Run("shells_get_docker_host", func(t *testing.T) {
		for _, shell := range []string{"bash -lc", "bash -ic"} {
			if got := strings.TrimSpace(e.mustExec(t, pod, shell+` 'echo "DOCKER_HOST=$DOCKER_HOST"' 2>/dev/null`)); !strings.HasSuffix(got, "DOCKER_HOST="+want) {
				t.Errorf("%s: %q, want DOCKER_HOST=%s", shell, got, want)
			}
		}
	})
	t.Run("docker_cli", func(t *testing.T) {
		out := e.mustExec(t, pod, `bash -lc 'docker version --format "server {{.Server.Version}} API {{.Server.APIVersion}}" && docker run --rm localhost/busybox echo hello-from-docker-run' 2>&1`)
		if !strings.Contains(out, "hello-from-docker-run") || !strings.Contains(out, "server 5.") {
			t.Errorf("docker against the workspace's podman:\n%s", out)
		}
		t.Logf("docker in the workspace:\n%s", out)
	})
	t.Run("docker_compose_build_healthcheck_depends_on_port", func(t *testing.T) {
		out := e.mustExec(t, pod, `bash -lc 'set -e
mkdir -p /tmp/dc/web && cd /tmp/dc
cat > web/Dockerfile <<END
FROM localhost/busybox
RUN mkdir -p /www && echo hello-from-compose-build > /www/index.html
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
END
cat > compose.yaml <<END
services:
  web:
    build: ./web
    image: localhost/dc-web
    ports: ["8081:8080"]
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1:8080/"]
      interval: 2s
      retries: 20
  client:
    image: localhost/busybox
    depends_on:
      web: {condition: service_healthy}
    command: wget -qO- http://web:8080/
END
docker compose version
docker compose up -d --build --wait --wait-timeout 90 web 2>&1 | tail -n 3
docker compose ps --format "{{.Service}} {{.Status}}"
docker compose run --rm client
' 2>&1
`+fetchLocalhost(8081, "hello-from-compose-build")+`
bash -lc 'cd /tmp/dc && docker compose down -t 0 2>&1 | tail -n 1; docker ps -a --format "left: {{.Names}}"'`)
		if !regexp.MustCompile(`Docker Compose version v?2\.`).MatchString(out) {
			t.Errorf("not docker compose v2:\n%s", out)
		}
		// up --wait returns once web's healthcheck passed; without systemd
		// only udi-setup's waiter runs it.
		if !regexp.MustCompile(`(?m)Container dc-web-1 +Healthy$`).MatchString(out) {
			t.Errorf("web is not healthy by its healthcheck:\n%s", out)
		}
		if !regexp.MustCompile(`(?m)^hello-from-compose-build`).MatchString(out) {
			t.Errorf("client (depends_on web healthy) did not reach web by its service name:\n%s", out)
		}
		if !strings.Contains(out, "localhost: hello-from-compose-build") {
			t.Errorf("web's published port 8081 is not reachable from the workspace at localhost:\n%s", out)
		}
		if strings.Contains(out, "left: ") {
			t.Errorf("containers left after docker compose down:\n%s", out)
		}
		t.Logf("docker compose in the workspace:\n%s", out)
	})
	t.Run("testcontainers", func(t *testing.T) {
		out := e.mustExec(t, pod, `TESTCONTAINERS_RYUK_DISABLED=true bash -lc '`+testcontainersProbe+` localhost/busybox:latest' 2>&1; bash -lc 'docker ps -a --format "left: {{.Names}}"'`)
		if !strings.Contains(out, "200 OK hello-from-testcontainers") || !strings.Contains(out, "terminated") {
			t.Errorf("the Testcontainers program:\n%s", out)
		}
		if strings.Contains(out, "left: ") {
			t.Errorf("containers left after the program terminated its own:\n%s", out)
		}
		t.Logf("a Testcontainers program in the workspace:\n%s", out)
	})
}

// mapLines extracts "inside outside count" lines from command output.
func mapLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && regexp.MustCompile(`^\d+$`).MatchString(f[0]+f[1]+f[2]) {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return lines
}
