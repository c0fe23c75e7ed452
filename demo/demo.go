// Package demo runs the whole product on this machine with no cluster:
// a real local control plane made to look like OpenShift 4.20, the real
// DevWorkspace controller, and the operator; it turns the toggle on, starts
// a sample workspace and shows what the workspace pod gets.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-logr/logr"
	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/localcluster"
	"github.com/nested-workspaces/enabler/localcluster/dwo"
	"github.com/nested-workspaces/enabler/operator"
)

// Options configures a demo run.
type Options struct {
	Out io.Writer
	// Keep leaves everything running until ctx ends (Ctrl-C), printing a
	// kubeconfig path for kubectl.
	Keep bool
	// Scenario is the OpenShift release to simulate (default 4.20).
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
		o.Scenario = localcluster.OCP420
	}
	ctrl.SetLogger(logr.Discard())
	p := printer{w: o.Out, start: time.Now()}

	if err := ensureBinaries(ctx, &p); err != nil {
		return err
	}
	p.step("Starting a local control plane (kube-apiserver %s + etcd %s)", localcluster.KubernetesVersion, localcluster.EtcdVersion)
	cluster, err := localcluster.Start(ctx, localcluster.Options{OpenShift: true, DevWorkspace: true, NestedContainers: true})
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
	p.step("Starting the DevWorkspace controller (DevWorkspace Operator v0.43.0, in-process)")
	dwoCtl, err := dwo.Start(ctx, cluster.Config, dwo.Options{Namespace: operator.DefaultDWONamespace})
	if err != nil {
		return err
	}
	defer func() { _ = dwoCtl.Stop() }()

	p.step("Starting the nested-workspaces operator")
	mgr, err := operator.NewManager(operator.Options{Config: cluster.Config, MetricsAddr: "0", ProbeAddr: "0"})
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
	if err := enable(ctx, &p, cluster.Client); err != nil {
		return err
	}
	if err := showSCC(ctx, &p, cluster.Client); err != nil {
		return err
	}
	if err := showWorkspace(ctx, &p, cluster.Client); err != nil {
		return err
	}
	if err := showStatus(ctx, &p, cluster.Client); err != nil {
		return err
	}
	if o.Keep {
		p.step("Left running. Try:\n\n    export KUBECONFIG=%s\n    %s get nestedcontainers,securitycontextconstraints,devworkspaces -A\n\nPress Ctrl-C to stop.",
			cluster.KubeconfigPath, filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"))
		<-ctx.Done()
		return nil
	}
	p.step("Done: the workspace pod runs in its own user namespace with what podman needs.")
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
	if _, err := os.Stat(filepath.Join(dir, "kube-apiserver")); err == nil {
		return os.Setenv("KUBEBUILDER_ASSETS", dir)
	}
	script := filepath.Join("hack", "build-bins.sh")
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("control plane binaries missing in %s and %s not found: run `make bins` in the nested-workspaces checkout", dir, script)
	}
	p.step("Building the control plane from the Go module proxy (first run only, ~6 min on 2 cores)")
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

func enable(ctx context.Context, p *printer, c client.Client) error {
	p.step("Turning the feature toggle on: NestedContainers/cluster spec.enabled=true")
	nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
	nc.Spec.Enabled = true
	if err := c.Create(ctx, nc); err != nil {
		return fmt.Errorf("create NestedContainers: %w", err)
	}
	return waitFor(ctx, time.Minute, "the operator to report Ready", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(nc), nc); err != nil {
			return false, err
		}
		cond := meta.FindStatusCondition(nc.Status.Conditions, enablerv1alpha1.ConditionReady)
		return cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == nc.Generation, nil
	})
}

func showSCC(ctx context.Context, p *printer, c client.Client) error {
	s := &securityv1.SecurityContextConstraints{}
	if err := c.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.DefaultSCCName}, s); err != nil {
		return fmt.Errorf("get SCC: %w", err)
	}
	p.section("SecurityContextConstraints " + s.Name + " (created by the operator)")
	seLinux := ""
	if s.SELinuxContext.SELinuxOptions != nil {
		seLinux = s.SELinuxContext.SELinuxOptions.Type
	}
	uid := int64(0)
	if s.RunAsUser.UID != nil {
		uid = *s.RunAsUser.UID
	}
	p.kv("userNamespaceLevel", string(s.UserNamespaceLevel))
	p.kv("allowedCapabilities", fmt.Sprint(s.AllowedCapabilities))
	p.kv("allowPrivilegeEscalation", fmt.Sprint(s.AllowPrivilegeEscalation != nil && *s.AllowPrivilegeEscalation))
	p.kv("allowPrivilegedContainer", fmt.Sprint(s.AllowPrivilegedContainer))
	p.kv("runAsUser", fmt.Sprintf("%s %d", s.RunAsUser.Type, uid))
	p.kv("seLinuxContext", fmt.Sprintf("%s type=%s", s.SELinuxContext.Type, seLinux))
	p.kv("volumes", fmt.Sprint(s.Volumes))
	return nil
}

func showWorkspace(ctx context.Context, p *printer, c client.Client) error {
	p.step("Creating DevWorkspace %s/%s (Universal Developer Image)", WorkspaceNamespace, WorkspaceName)
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: WorkspaceNamespace}}); err != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	ws := dwo.SampleWorkspace(WorkspaceNamespace, WorkspaceName)
	if err := c.Create(ctx, ws); err != nil {
		return fmt.Errorf("create DevWorkspace: %w", err)
	}
	dep, err := dwo.WaitForDeployment(ctx, c, ws, 2*time.Minute)
	if err != nil {
		return err
	}
	tpl := dep.Spec.Template
	p.section(fmt.Sprintf("Workspace Deployment %s/%s, rendered by the DevWorkspace Operator", dep.Namespace, dep.Name))
	hostUsers := "<unset>"
	if tpl.Spec.HostUsers != nil {
		hostUsers = fmt.Sprint(*tpl.Spec.HostUsers)
	}
	p.kv("spec.template.spec.hostUsers", hostUsers)
	keys := make([]string, 0, len(tpl.Annotations))
	for k := range tpl.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == operator.DevicesAnnotation || k == operator.RequiredSCCAnnotation {
			p.kv("annotation "+k, tpl.Annotations[k])
		}
	}
	for _, ctr := range tpl.Spec.Containers {
		sc, err := yaml.Marshal(ctr.SecurityContext)
		if err != nil {
			return err
		}
		fmt.Fprintf(p.w, "  container %q securityContext:\n%s", ctr.Name, indent(string(sc), "    "))
	}
	if !operator.IsNested(&tpl) {
		return errors.New("the workspace Deployment is not nested-capable: see the NestedContainers status")
	}
	return nil
}

func showStatus(ctx context.Context, p *printer, c client.Client) error {
	nc := &enablerv1alpha1.NestedContainers{}
	if err := waitFor(ctx, 30*time.Second, "the status to count the workspace", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc); err != nil {
			return false, err
		}
		return nc.Status.Workspaces.Nested > 0, nil
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
