// Package demo runs the whole product on this machine with no cluster:
// a real local control plane made to look like OpenShift 4.22 (OpenShift's
// own SCC admission, controller manager, scheduler, kwok nodes), the real
// DevWorkspace controller, and the operator. It starts a sample workspace,
// turns the toggle on, and shows under which SCC and as which UID the
// workspace pod was admitted before and after, and that it runs.
//
// Where the machine can run a real node (root, kernel 6.3 or newer, user
// namespaces: localcluster.RealNodePreflight), the workspace runs on one — a
// kubelet with containerd, in private namespaces (localcluster.RerunIsolated)
// — and the demo types in the nested workspace pod what a user would:
// podman run, podman build, podman-compose (terminal.go).
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	"github.com/go-logr/logr"
	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/localcluster/dwo"
	"github.com/nested-workspaces/enabler/workspaces"
)

// Options configures a demo run.
type Options struct {
	Out io.Writer
	// Keep leaves everything running until ctx ends (Ctrl-C), printing a
	// kubeconfig path for kubectl. It shows the simulated nodes only: a
	// real node's cluster lives in private namespaces kubectl cannot reach
	// from the host.
	Keep bool
	// Scenario is the OpenShift release to simulate (default 4.22.0).
	Scenario localcluster.Scenario
	// RealNode runs the workspace on a real node and types podman commands
	// in it. The process must be in the namespaces
	// localcluster.RerunIsolated makes, after localcluster.EnterIsolation
	// (Main does both).
	RealNode bool
	// SimulatedOnly shows the simulated nodes only, even where a real node
	// can run (Main).
	SimulatedOnly bool
	// SimulatedBecause, without RealNode, says why there is no real node;
	// the demo prints it and how to get one.
	SimulatedBecause string
}

// startEnv carries the demo's start time into the run in private
// namespaces, so that its timeline goes on from the host's.
const startEnv = "NESTED_DEMO_START_UNIX_MS"

// Main is the demo command. On the host it builds what is missing (with
// progress) and, where a real node can run, prepares one and runs itself
// again in private namespaces with it (localcluster.RerunIsolated); there,
// or where no real node can run, it runs the demo (Run). It returns the
// exit code.
func Main(ctx context.Context, o Options) int {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	if localcluster.Isolated() {
		if err := localcluster.EnterIsolation(); err != nil {
			return fail(err)
		}
		o.RealNode = true
		if err := Run(ctx, o); err != nil {
			return fail(err)
		}
		return 0
	}
	p := newPrinter(o.Out)
	o.SimulatedBecause = whyNoRealNode(o)
	if err := ensureBinaries(ctx, p, o.SimulatedBecause == "", o.Keep); err != nil {
		return fail(err)
	}
	if o.SimulatedBecause != "" {
		if err := Run(ctx, o); err != nil {
			return fail(err)
		}
		return 0
	}
	if localcluster.RealNodePrepared() {
		p.step("Preparing a real node (its binaries and base are built): the workspace image from udi/Containerfile")
	} else {
		p.step("Preparing a real node: kubelet v%s and containerd built from the Go module proxy, crun from Debian trixie, a UDI-shaped base from Debian packages and on it the workspace image from udi/Containerfile (the first run: about 2.5 min on 2 idle cores, 5 on busy ones; then seconds, the image build)",
			localcluster.KubernetesVersion)
	}
	if err := os.Setenv(startEnv, fmt.Sprint(p.start.UnixMilli())); err != nil {
		return fail(err)
	}
	return localcluster.RerunIsolated(localcluster.PrepareRealNode)
}

// whyNoRealNode says why the demo shows the simulated nodes only, or ""
// when it runs a real node.
func whyNoRealNode(o Options) string {
	switch {
	case o.SimulatedOnly:
		return "--simulated-only was given"
	case o.Keep:
		return "--keep shows the simulated nodes, which kubectl reaches from this shell (a real node's cluster lives in private namespaces)"
	}
	if reason := localcluster.RealNodePreflight(); reason != "" {
		return reason
	}
	return ""
}

// Namespace and name of the sample workspace.
const (
	WorkspaceNamespace = "alice-devspaces"
	WorkspaceName      = "podman-demo"
)

// Run runs the demo and stops everything it started before returning.
func Run(ctx context.Context, o Options) error {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Scenario.Name == "" {
		o.Scenario = localcluster.OCP422
	}
	ctrl.SetLogger(logr.Discard())
	// client-go's exec client logs through klog (e.g. "Unknown stream id
	// 1, discarding message"): not the demo's output.
	klog.SetLogger(logr.Discard())
	p := newPrinter(o.Out)
	if o.RealNode && !localcluster.Isolated() {
		return errors.New("a real node runs only in the private namespaces of localcluster.RerunIsolated (see demo.Main)")
	}
	if !o.RealNode && o.SimulatedBecause != "" {
		p.step("Showing the simulated nodes only: %s.\n         Where it can (root, Linux 6.3 or newer, user namespaces), `make demo` also runs the workspace on a real node\n         (kubelet, containerd, runc) and types podman, podman build and podman-compose in it.", o.SimulatedBecause)
	}
	if err := ensureBinaries(ctx, p, o.RealNode, o.Keep); err != nil {
		return err
	}
	nodes := "kwok nodes"
	if o.RealNode {
		nodes = "a real node"
	}
	p.step("Starting a local control plane (kube-apiserver %s + etcd %s, controller manager, scheduler, %s, OpenShift's SCC admission)",
		localcluster.KubernetesVersion, localcluster.EtcdVersion, nodes)
	cluster, err := localcluster.Start(ctx, clusterOptions(o.RealNode))
	if err != nil {
		return err
	}
	defer func() {
		p.step("Stopping the local control plane")
		_ = cluster.Stop()
	}()
	p.step("Making it look like OpenShift %s (%s)", o.Scenario.Version, featureSetName(o.Scenario))
	if err := cluster.Simulate(ctx, o.Scenario); err != nil {
		return err
	}
	var node *localcluster.RealNode
	if o.RealNode {
		if node, err = startRealNode(ctx, p, cluster); err != nil {
			return err
		}
		defer node.Stop()
	}
	p.step("Starting the DevWorkspace controller (DevWorkspace Operator v0.43.0, in-process, as its service account with its shipped ClusterRole)")
	dwoConfig, err := cluster.InstallDWOIdentity(ctx, operator.DefaultDWONamespace, dwo.ServiceAccountName)
	if err != nil {
		return err
	}
	dwoCtl, err := dwo.Start(ctx, cluster.Config, dwo.Options{Namespace: operator.DefaultDWONamespace, ControllerConfig: dwoConfig})
	if err != nil {
		return err
	}
	defer func() { _ = dwoCtl.Stop() }()
	if o.RealNode {
		if err := useNodeImages(ctx, cluster.Client); err != nil {
			return err
		}
	}

	p.step("Starting the nested-workspaces operator as its service account (the shipped ClusterRole, under the shipped admission policy)")
	opConfig, err := cluster.InstallOperatorIdentity(ctx, localcluster.OperatorNamespace)
	if err != nil {
		return err
	}
	mgr, err := operator.NewManager(operator.Options{Config: opConfig, MetricsAddr: "0", ProbeAddr: "0"})
	if err != nil {
		return err
	}
	mgrCtx, stopMgr := context.WithCancel(ctx)
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(mgrCtx) }()
	defer func() {
		stopMgr()
		<-mgrDone
	}()

	if err := showDetection(ctx, p, cluster); err != nil {
		return err
	}
	image := dwo.UDIImage
	if o.RealNode {
		image = localcluster.WorkspaceImage
	}
	ws, err := startWorkspace(ctx, p, cluster, image)
	if err != nil {
		return err
	}
	before, err := showPod(ctx, p, cluster, ws, nil, "with the toggle off")
	if err != nil {
		return err
	}
	sccName, err := enable(ctx, p, cluster.Client)
	if err != nil {
		return err
	}
	if err := showSCC(ctx, p, cluster.Client, sccName); err != nil {
		return err
	}
	p.step("Waiting for the DevWorkspace Operator to roll the running workspace onto the new configuration")
	after, err := showPod(ctx, p, cluster, ws, before, "with the toggle on")
	if err != nil {
		return err
	}
	if !workspaces.IsNested(&corev1.PodTemplateSpec{Spec: after.Spec}) {
		return errors.New("the workspace pod is not nested-capable: see the NestedContainers status")
	}
	if err := showStatus(ctx, p, cluster.Client); err != nil {
		return err
	}
	if o.RealNode {
		if err := runTerminal(ctx, p, cluster, after); err != nil {
			return err
		}
		p.step("Done: in the workspace pod admitted under SCC %s as UID %s, on a real node in its own user namespace, podman ran a container, built an image and ran a compose project whose services talk by name, with podman-compose and with docker compose.",
			after.Annotations[securityv1.ValidatedSCCAnnotation], uidOf(after))
		return nil
	}
	if o.Keep {
		kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
		p.step("Left running. Try:\n\n    export KUBECONFIG=%s\n    %s get nestedcontainers,securitycontextconstraints,devworkspaces,pods -A\n\nPress Ctrl-C to stop.",
			cluster.KubeconfigPath, kubectl)
		<-ctx.Done()
		return nil
	}
	p.step("Done: the workspace pod was admitted under SCC %s as UID %s and runs in its own user namespace with what podman needs.",
		after.Annotations[securityv1.ValidatedSCCAnnotation], uidOf(after))
	return nil
}

// startRealNode replaces the simulated nodes with a real one: pods must
// land there.
func startRealNode(ctx context.Context, p *printer, cluster *localcluster.Cluster) (*localcluster.RealNode, error) {
	p.step("Starting a real node: kubelet %s with containerd, in private namespaces (cgroup v1 here; OpenShift's nodes run CRI-O on cgroup v2)",
		localcluster.KubernetesVersion)
	if err := cluster.SetNodes(ctx, 0, 0); err != nil {
		return nil, err
	}
	node, err := cluster.StartRealNode(ctx)
	if err != nil {
		return nil, err
	}
	return node, nil
}

// useNodeImages is an admin's setting beside the operator's: workspace
// images come from the node, there is no registry.
func useNodeImages(ctx context.Context, c client.Client) error {
	dwoc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "controller.devfile.io/v1alpha1", "kind": "DevWorkspaceOperatorConfig",
		"metadata": map[string]any{"name": dwoconfig.Name, "namespace": operator.DefaultDWONamespace},
		"config":   map[string]any{"workspace": map[string]any{"imagePullPolicy": "IfNotPresent"}},
	}}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(dwoc), client.FieldOwner("cluster-admin"), client.ForceOwnership); err != nil {
		return fmt.Errorf("set the workspaces' imagePullPolicy: %w", err)
	}
	return nil
}

func featureSetName(s localcluster.Scenario) string {
	if s.FeatureSet == "" {
		return "featureSet Default"
	}
	return "featureSet " + string(s.FeatureSet)
}

// clusterOptions are the demo's cluster: the simulated OpenShift with
// workloads, on kwok's simulated nodes or on a real node only.
func clusterOptions(realNode bool) localcluster.Options {
	return localcluster.Options{OpenShift: true, DevWorkspace: true, NestedContainers: true, Workloads: true, RealNodeOnly: realNode}
}

// ensureBinaries builds, on first use and with progress, the control plane
// binaries the demo runs (kwok only for simulated nodes; kubectl too with
// keep, for the user).
func ensureBinaries(ctx context.Context, p *printer, realNode, keep bool) error {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		dir = localcluster.DefaultAssetsDir()
	}
	need := clusterOptions(realNode).Binaries()
	if keep {
		need = append(need, "kubectl")
	}
	missing := localcluster.MissingBinaries(dir, need)
	if len(missing) == 0 {
		return os.Setenv("KUBEBUILDER_ASSETS", dir)
	}
	if localcluster.Isolated() {
		return fmt.Errorf("control plane binaries %s missing in %s (they are built before the run in private namespaces, which has no network)", strings.Join(missing, ", "), dir)
	}
	script := filepath.Join("hack", "build-bins.sh")
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("control plane binaries missing in %s and %s not found: run `make bins` in the nested-workspaces checkout", dir, script)
	}
	p.step("Building %s from the Go module proxy (the first run: about 5 min on 2 idle cores, 15 to 20 on busy ones; then cached)", strings.Join(missing, ", "))
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, missing...)...)
	cmd.Stderr = p.w
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("build control plane binaries: %w", err)
	}
	return os.Setenv("KUBEBUILDER_ASSETS", strings.TrimSpace(lastLine(string(out))))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func showDetection(ctx context.Context, p *printer, c *localcluster.Cluster) error {
	d, err := detect.NewDetector(c.Config, c.Client)
	if err != nil {
		return err
	}
	rep, err := d.Detect(ctx)
	if err != nil {
		return err
	}
	p.section("What the cluster can do (nested-enabler detect)")
	return detect.WriteTable(p.w, rep)
}

// enable turns the toggle on and returns the SCC workspaces are pinned to.
func enable(ctx context.Context, p *printer, c client.Client) (string, error) {
	p.step("Turning the feature toggle on: NestedContainers/cluster spec.enabled=true")
	nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
	nc.Spec.Enabled = true
	if err := c.Create(ctx, nc); err != nil {
		return "", fmt.Errorf("create NestedContainers: %w", err)
	}
	if err := waitFor(ctx, time.Minute, "the operator to report Ready", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(nc), nc); err != nil {
			return false, err
		}
		cond := meta.FindStatusCondition(nc.Status.Conditions, enablerv1alpha1.ConditionReady)
		return cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == nc.Generation, nil
	}); err != nil {
		return "", err
	}
	cfg := &unstructured.Unstructured{}
	cfg.SetGroupVersionKind(dwoconfig.GVK)
	if err := c.Get(ctx, client.ObjectKey{Namespace: operator.DefaultDWONamespace, Name: dwoconfig.Name}, cfg); err != nil {
		return "", fmt.Errorf("get DevWorkspaceOperatorConfig: %w", err)
	}
	sccName, _, _ := unstructured.NestedString(cfg.Object, "config", "workspace", "podAnnotations", dwoconfig.RequiredSCCAnnotation)
	return sccName, nil
}

func showSCC(ctx context.Context, p *printer, c client.Client, name string) error {
	s := &securityv1.SecurityContextConstraints{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, s); err != nil {
		return fmt.Errorf("get SCC %s: %w", name, err)
	}
	owner := "OpenShift's own, used as is"
	if s.Labels[owned.ManagedByLabel] == owned.ManagedByValue {
		owner = "created by the operator"
	}
	p.section(fmt.Sprintf("SecurityContextConstraints %s (%s), pinned by openshift.io/required-scc", s.Name, owner))
	seLinux := ""
	if s.SELinuxContext.SELinuxOptions != nil {
		seLinux = s.SELinuxContext.SELinuxOptions.Type
	}
	runAs := string(s.RunAsUser.Type)
	switch {
	case s.RunAsUser.UID != nil:
		runAs += fmt.Sprintf(" %d", *s.RunAsUser.UID)
	case s.RunAsUser.UIDRangeMin != nil && s.RunAsUser.UIDRangeMax != nil:
		runAs += fmt.Sprintf(" %d-%d", *s.RunAsUser.UIDRangeMin, *s.RunAsUser.UIDRangeMax)
	}
	p.kv("userNamespaceLevel", string(s.UserNamespaceLevel))
	p.kv("allowedCapabilities", fmt.Sprint(s.AllowedCapabilities))
	p.kv("allowPrivilegeEscalation", fmt.Sprint(s.AllowPrivilegeEscalation != nil && *s.AllowPrivilegeEscalation))
	p.kv("allowPrivilegedContainer", fmt.Sprint(s.AllowPrivilegedContainer))
	p.kv("runAsUser", runAs)
	p.kv("seLinuxContext", fmt.Sprintf("%s type=%s", s.SELinuxContext.Type, seLinux))
	return nil
}

func startWorkspace(ctx context.Context, p *printer, cluster *localcluster.Cluster, image string) (*dwv2.DevWorkspace, error) {
	c := cluster.Client
	p.step("Creating DevWorkspace %s/%s (image %s) with the toggle off", WorkspaceNamespace, WorkspaceName, image)
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: WorkspaceNamespace}}); err != nil {
		return nil, fmt.Errorf("create namespace: %w", err)
	}
	ws := dwo.SampleWorkspace(WorkspaceNamespace, WorkspaceName)
	ws.Spec.Template.Components[0].Container.Image = image
	// /projects as users have it: DWO mounts the projects volume (here
	// ephemeral, an emptyDir), where the terminal starts.
	mountSources := true
	ws.Spec.Template.Components[0].Container.MountSources = &mountSources
	if err := c.Create(ctx, ws); err != nil {
		return nil, fmt.Errorf("create DevWorkspace: %w", err)
	}
	return ws, nil
}

// showPod waits until the workspace is Running on a pod other than
// previous, and shows what OpenShift's SCC admission made of that pod.
func showPod(ctx context.Context, p *printer, cluster *localcluster.Cluster, ws *dwv2.DevWorkspace, previous *corev1.Pod, when string) (*corev1.Pod, error) {
	c := cluster.Client
	var pod *corev1.Pod
	if err := waitFor(ctx, 2*time.Minute, "the workspace to run", func() (bool, error) {
		cur, err := dwo.RunningPod(ctx, c, ws)
		if err != nil || cur == nil || (previous != nil && cur.UID == previous.UID) {
			return false, err
		}
		phase := &dwv2.DevWorkspace{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(ws), phase); err != nil {
			return false, err
		}
		pod = cur
		return phase.Status.Phase == dwv2.DevWorkspaceStatusRunning, nil
	}); err != nil {
		return nil, fmt.Errorf("%w; events: %s", err, cluster.EventsFor(ctx, ws.Namespace))
	}
	p.section(fmt.Sprintf("Workspace pod %s/%s %s: DevWorkspace Running", pod.Namespace, pod.Name, when))
	p.kv("node", pod.Spec.NodeName)
	p.kv("admitted under SCC (openshift.io/scc)", pod.Annotations[securityv1.ValidatedSCCAnnotation])
	p.kv("runs as UID", uidOf(pod))
	if se := pod.Spec.SecurityContext.SELinuxOptions; se != nil {
		p.kv("SELinux", fmt.Sprintf("type=%s level=%s", orDefault(se.Type, "<unset: the runtime default container_t>"), se.Level))
	}
	hostUsers := "<unset: the host's user namespace>"
	if pod.Spec.HostUsers != nil {
		hostUsers = fmt.Sprint(*pod.Spec.HostUsers)
	}
	p.kv("hostUsers", hostUsers)
	for _, k := range []string{dwoconfig.DevicesAnnotation, dwoconfig.RequiredSCCAnnotation} {
		if v, ok := pod.Annotations[k]; ok {
			p.kv("annotation "+k, v)
		}
	}
	tools := pod.Spec.Containers[0]
	sc, err := yaml.Marshal(tools.SecurityContext)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(p.w, "  container %q securityContext:\n%s", tools.Name, indent(string(sc), "    "))
	return pod, nil
}

func uidOf(pod *corev1.Pod) string {
	if uid := dwo.EffectiveUID(pod, &pod.Spec.Containers[0]); uid != nil {
		return fmt.Sprint(*uid)
	}
	return "<image default>"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func showStatus(ctx context.Context, p *printer, c client.Client) error {
	nc := &enablerv1alpha1.NestedContainers{}
	if err := waitFor(ctx, 30*time.Second, "the status to count the workspace", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc); err != nil {
			return false, err
		}
		return nc.Status.Workspaces.Nested > 0 && nc.Status.Workspaces.PendingRestart == 0, nil
	}); err != nil {
		return err
	}
	out, err := yaml.Marshal(nc.Status)
	if err != nil {
		return err
	}
	p.section("NestedContainers/cluster status")
	fmt.Fprint(p.w, indent(string(out), "  "))
	return nil
}

func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) { return cond() })
	if wait.Interrupted(err) && ctx.Err() == nil {
		return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
	}
	return err
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

type printer struct {
	w     io.Writer
	start time.Time
}

// newPrinter starts the timeline now, or where the host side of the demo
// started it (startEnv).
func newPrinter(w io.Writer) *printer {
	start := time.Now()
	if ms, err := strconv.ParseInt(os.Getenv(startEnv), 10, 64); err == nil {
		start = time.UnixMilli(ms)
	}
	return &printer{w: w, start: start}
}

func (p *printer) step(format string, args ...any) {
	fmt.Fprintf(p.w, "[%5.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

func (p *printer) section(title string) {
	fmt.Fprintf(p.w, "\n== %s\n", title)
}

func (p *printer) kv(k, v string) {
	fmt.Fprintf(p.w, "  %-34s %s\n", k+":", v)
}
