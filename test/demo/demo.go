// Package demo runs the whole product on this machine with no cluster:
// a real local control plane made to look like OpenShift 4.22 (OpenShift's
// own SCC admission, controller manager, scheduler, kwok nodes), the real
// DevWorkspace controller, and the operator. It starts a sample workspace,
// turns the toggle on, and shows under which SCC and as which UID the
// workspace pod was admitted before and after, and that it runs.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
	// kubeconfig path for kubectl.
	Keep bool
	// Scenario is the OpenShift release to simulate (default 4.22.0).
	Scenario localcluster.Scenario
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
	p := printer{w: o.Out, start: time.Now()}

	if err := ensureBinaries(ctx, &p); err != nil {
		return err
	}
	p.step("Starting a local control plane (kube-apiserver %s + etcd %s, controller manager, scheduler, kwok nodes, OpenShift's SCC admission)",
		localcluster.KubernetesVersion, localcluster.EtcdVersion)
	cluster, err := localcluster.Start(ctx, localcluster.Options{OpenShift: true, DevWorkspace: true, NestedContainers: true, Workloads: true})
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

	if err := showDetection(ctx, &p, cluster); err != nil {
		return err
	}
	ws, err := startWorkspace(ctx, &p, cluster)
	if err != nil {
		return err
	}
	before, err := showPod(ctx, &p, cluster, ws, nil, "with the toggle off")
	if err != nil {
		return err
	}
	sccName, err := enable(ctx, &p, cluster.Client)
	if err != nil {
		return err
	}
	if err := showSCC(ctx, &p, cluster.Client, sccName); err != nil {
		return err
	}
	p.step("Waiting for the DevWorkspace Operator to roll the running workspace onto the new configuration")
	after, err := showPod(ctx, &p, cluster, ws, before, "with the toggle on")
	if err != nil {
		return err
	}
	if !workspaces.IsNested(&corev1.PodTemplateSpec{Spec: after.Spec}) {
		return errors.New("the workspace pod is not nested-capable: see the NestedContainers status")
	}
	if err := showStatus(ctx, &p, cluster.Client); err != nil {
		return err
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

func featureSetName(s localcluster.Scenario) string {
	if s.FeatureSet == "" {
		return "featureSet Default"
	}
	return "featureSet " + string(s.FeatureSet)
}

// ensureBinaries builds the control plane on first use, with progress.
func ensureBinaries(ctx context.Context, p *printer) error {
	if os.Getenv("KUBEBUILDER_ASSETS") != "" {
		return nil
	}
	dir := localcluster.DefaultAssetsDir()
	if len(localcluster.MissingBinaries(dir)) == 0 {
		return os.Setenv("KUBEBUILDER_ASSETS", dir)
	}
	script := filepath.Join("hack", "build-bins.sh")
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("control plane binaries missing in %s and %s not found: run `make bins` in the nested-workspaces checkout", dir, script)
	}
	p.step("Building the control plane from the Go module proxy (first run only, ~12 min on 2 cores)")
	cmd := exec.CommandContext(ctx, "bash", script)
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

func startWorkspace(ctx context.Context, p *printer, cluster *localcluster.Cluster) (*dwv2.DevWorkspace, error) {
	c := cluster.Client
	p.step("Creating DevWorkspace %s/%s (Universal Developer Image) with the toggle off", WorkspaceNamespace, WorkspaceName)
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: WorkspaceNamespace}}); err != nil {
		return nil, fmt.Errorf("create namespace: %w", err)
	}
	ws := dwo.SampleWorkspace(WorkspaceNamespace, WorkspaceName)
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

func (p *printer) step(format string, args ...any) {
	fmt.Fprintf(p.w, "[%5.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

func (p *printer) section(title string) {
	fmt.Fprintf(p.w, "\n== %s\n", title)
}

func (p *printer) kv(k, v string) {
	fmt.Fprintf(p.w, "  %-34s %s\n", k+":", v)
}
