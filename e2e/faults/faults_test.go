// Package faults_test runs the operator against the real API server with
// failures injected: a 409 Conflict on the first write of every kind, and
// two replicas electing a leader, one of which goes. Each test has its own cluster and
// operator(s); no DevWorkspace controller runs, the workspaces are objects
// the grants are computed from.
package faults_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	"github.com/go-logr/logr"
	securityv1 "github.com/openshift/api/security/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/grants"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/localcluster/dwo"
	"github.com/nested-workspaces/enabler/test/operatortest"
	"github.com/nested-workspaces/enabler/workspaces"
)

const (
	workspaceNS = "team"
	timeout     = 90 * time.Second
)

func TestConflictOnEveryWriteKind(t *testing.T) {
	c := cluster(t)
	cfg, injector := localcluster.InjectConflicts(c.Config)
	startOperator(t, cfg)
	setSpec(t, c, true, enablerv1alpha1.BuiltInNever)
	// An injected 409 on the DevWorkspaceOperatorConfig apply reads as another
	// manager's field: the operator withdraws and rechecks within 30 s.
	waitReady(t, c, enablerv1alpha1.ReasonConfigured)
	assertConfigured(t, c)

	setSpec(t, c, false, enablerv1alpha1.BuiltInNever)
	waitReady(t, c, enablerv1alpha1.ReasonDisabled)
	assertNothingOfOurs(t, c)

	got := strings.Join(injector.Kinds(), "\n")
	for _, want := range []string{
		"POST securitycontextconstraints", "POST clusterroles", "POST rolebindings",
		"PATCH devworkspaceoperatorconfigs", "PATCH nestedcontainers", "PUT nestedcontainers/status",
		"DELETE rolebindings", "DELETE clusterroles", "DELETE securitycontextconstraints",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no 409 was injected on %q; injected on:\n%s", want, got)
		}
	}
}

// Two replicas of `nested-enabler run`, as the Deployment would run them:
// one holds the Lease; when it goes, the other takes over and converges.
func TestTwoReplicasWithLeaderElection(t *testing.T) {
	c := cluster(t)
	bin := filepath.Join(t.TempDir(), "nested-enabler")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/nested-enabler").CombinedOutput(); err != nil {
		t.Fatalf("build nested-enabler: %v\n%s", err, out)
	}
	first := runReplica(t, bin, c)
	leader := waitLeader(t, c, "")
	second := runReplica(t, bin, c)
	setSpec(t, c, true, enablerv1alpha1.BuiltInNever)
	waitReady(t, c, enablerv1alpha1.ReasonConfigured)
	assertConfigured(t, c)
	if now := waitLeader(t, c, ""); now != leader {
		t.Errorf("leadership moved from %s to %s with both replicas up", leader, now)
	}

	first.stop()
	setSpec(t, c, false, enablerv1alpha1.BuiltInNever)
	next := waitLeader(t, c, leader)
	t.Logf("leadership went from %s to %s", leader, next)
	waitReady(t, c, enablerv1alpha1.ReasonDisabled)
	assertNothingOfOurs(t, c)
	second.stop()
}

type process struct{ stop func() }

func runReplica(t *testing.T, bin string, c *localcluster.Cluster) *process {
	t.Helper()
	cmd := exec.Command(bin, "run", "--kubeconfig", c.KubeconfigPath, "--leader-elect", "--leader-election-namespace", "default",
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stopped := false
	p := &process{stop: func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}}
	t.Cleanup(p.stop)
	return p
}

// waitLeader waits until the Lease is held by someone other than not, and
// returns the holder.
func waitLeader(t *testing.T, c *localcluster.Cluster, not string) string {
	t.Helper()
	var holder string
	localcluster.Eventually(t, timeout, "a leader other than "+not, func() error {
		lease := &coordinationv1.Lease{}
		if err := c.Client.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: operator.LeaderElectionID}, lease); err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" || *lease.Spec.HolderIdentity == not {
			return fmt.Errorf("holder %v", lease.Spec.HolderIdentity)
		}
		holder = *lease.Spec.HolderIdentity
		return nil
	})
	return holder
}

// cluster is a simulated OpenShift 4.20 with the DevWorkspace CRDs, one
// workspace (a DevWorkspace and the service account it controls) and the
// global DevWorkspaceOperatorConfig's namespace.
func cluster(t *testing.T) *localcluster.Cluster {
	t.Helper()
	ctrl.SetLogger(logr.Discard())
	ctx := context.Background()
	c := localcluster.StartForTest(t, localcluster.Options{OpenShift: true, DevWorkspace: true, NestedContainers: true})
	if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{operator.DefaultDWONamespace, workspaceNS} {
		if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	ws := dwo.SampleWorkspace(workspaceNS, "ws")
	ws.Spec.Started = false
	if err := c.Client.Create(ctx, ws); err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "workspace0123456789abcdef-sa", Namespace: workspaceNS,
		Labels: map[string]string{workspaces.IDLabel: "workspace0123456789abcdef"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: dwv2.SchemeGroupVersion.String(), Kind: "DevWorkspace",
			Name: ws.Name, UID: ws.UID, Controller: ptr(true), BlockOwnerDeletion: ptr(true)}}}}
	if err := c.Client.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	return c
}

func startOperator(t *testing.T, cfg *rest.Config) {
	t.Helper()
	mgr, err := operator.NewManager(operator.Options{Config: cfg, MetricsAddr: "0", ProbeAddr: "0", SeveralPerProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func setSpec(t *testing.T, c *localcluster.Cluster, enabled bool, builtIn enablerv1alpha1.BuiltInMode) {
	t.Helper()
	operatortest.SetSpec(t, c.Client, func(s *enablerv1alpha1.NestedContainersSpec) { s.Enabled, s.SCC.BuiltIn = enabled, builtIn })
}

func waitReady(t *testing.T, c *localcluster.Cluster, reason string) {
	t.Helper()
	localcluster.Eventually(t, timeout, "Ready reason "+reason, func() error {
		nc := &enablerv1alpha1.NestedContainers{}
		if err := c.Client.Get(context.Background(), client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(nc.Status.Conditions, enablerv1alpha1.ConditionReady)
		if cond == nil || cond.Reason != reason || cond.ObservedGeneration != nc.Generation {
			return fmt.Errorf("Ready = %+v", cond)
		}
		return nil
	})
}

func assertConfigured(t *testing.T, c *localcluster.Cluster) {
	t.Helper()
	ctx := context.Background()
	if err := c.Client.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.DefaultSCCName}, &securityv1.SecurityContextConstraints{}); err != nil {
		t.Errorf("our SCC: %v", err)
	}
	rb := &rbacv1.RoleBinding{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: workspaceNS, Name: grants.UseClusterRoleName(enablerv1alpha1.DefaultSCCName)}, rb); err != nil {
		t.Errorf("the workspace namespace's RoleBinding: %v", err)
	} else if len(rb.Subjects) != 1 || rb.Subjects[0].Name != "workspace0123456789abcdef-sa" {
		t.Errorf("RoleBinding subjects = %v", rb.Subjects)
	}
	if got := pinned(t, c); got != enablerv1alpha1.DefaultSCCName {
		t.Errorf("DWOC pins %q", got)
	}
}

func assertNothingOfOurs(t *testing.T, c *localcluster.Cluster) {
	t.Helper()
	localcluster.Eventually(t, timeout, "nothing of ours left", func() error {
		return operatortest.NothingOfOurs(context.Background(), c.Client, operator.DefaultDWONamespace)
	})
}

func pinned(t *testing.T, c *localcluster.Cluster) string {
	t.Helper()
	got, err := operatortest.PinnedSCC(context.Background(), c.Client, operator.DefaultDWONamespace)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func ptr[T any](v T) *T { return &v }

// The API server and etcd crash in the middle of a toggle-on with 200
// workspaces in 40 namespaces: the operator converges once they are back,
// with every grant in place and none where no workspace is.
func TestControlPlaneRestartDuringToggleOn(t *testing.T) {
	c := cluster(t)
	ctx := context.Background()
	const namespaces, perNamespace = 40, 5
	want := map[string][]string{workspaceNS: {"workspace0123456789abcdef-sa"}}
	for i := 0; i < namespaces; i++ {
		ns := fmt.Sprintf("load-%02d", i)
		if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < perNamespace; j++ {
			want[ns] = append(want[ns], workspace(t, c, ns, fmt.Sprintf("ws-%d", j)))
		}
	}
	total := 0
	for _, sas := range want {
		total += len(sas)
	}
	if total < 200 {
		t.Fatalf("only %d workspaces", total)
	}
	startOperator(t, c.Config)
	setSpec(t, c, true, enablerv1alpha1.BuiltInNever)
	// Down once the toggle-on is under way: the SCC is there, grants follow.
	ours := &securityv1.SecurityContextConstraints{}
	localcluster.Eventually(t, timeout, "toggle-on under way", func() error {
		return c.Client.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.DefaultSCCName}, ours)
	})
	restarted := time.Now()
	if err := c.RestartControlPlane(ctx, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	waitReady(t, c, enablerv1alpha1.ReasonConfigured)
	// Ready is reported from the operator's caches, which catch up with the
	// restarted server only once their watches have listed again (a pin
	// missing at the first check was seen once). Converged means the pin is
	// in the API server, not only Ready.
	localcluster.Eventually(t, timeout, "the DevWorkspaceOperatorConfig pins our SCC", func() error {
		if got := pinned(t, c); got != enablerv1alpha1.DefaultSCCName {
			return fmt.Errorf("DWOC pins %q", got)
		}
		return nil
	})
	t.Logf("configured %s after the API server and etcd were killed (3 s outage), %d workspaces in %d namespaces",
		time.Since(restarted).Round(100*time.Millisecond), total, len(want))
	assertConfigured(t, c)
	// Nothing was torn down meanwhile: right after the restart discovery
	// misses the CRD-served groups for a moment (config.openshift.io:
	// "not OpenShift"), which must not count as a fact.
	after := &securityv1.SecurityContextConstraints{}
	if err := c.Client.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.DefaultSCCName}, after); err != nil || after.UID != ours.UID {
		t.Errorf("our SCC was deleted and created again across the restart (uid %s -> %s, %v)", ours.UID, after.UID, err)
	}
	localcluster.Eventually(t, timeout, "every grant in place, none too many", func() error {
		rbs := &rbacv1.RoleBindingList{}
		if err := c.Client.List(ctx, rbs, client.MatchingLabels(owned.Labels())); err != nil {
			return err
		}
		if len(rbs.Items) != len(want) {
			return fmt.Errorf("%d RoleBindings of ours, want %d", len(rbs.Items), len(want))
		}
		for _, rb := range rbs.Items {
			var got []string
			for _, s := range rb.Subjects {
				got = append(got, s.Name)
			}
			if strings.Join(got, ",") != strings.Join(sorted(want[rb.Namespace]), ",") {
				return fmt.Errorf("RoleBinding %s/%s names %v, want %v", rb.Namespace, rb.Name, got, want[rb.Namespace])
			}
		}
		return nil
	})
	// The workspaces' watch came back with the API server: a workspace
	// created after the restart is counted.
	counted := func() int32 {
		nc := &enablerv1alpha1.NestedContainers{}
		if err := c.Client.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc); err != nil {
			t.Fatal(err)
		}
		return nc.Status.Workspaces.Total
	}
	base := counted()
	workspaceWithDeployment(t, c, workspaceNS, "after-restart")
	localcluster.Eventually(t, timeout, "the workspace created after the restart counted", func() error {
		if got := counted(); got != base+1 {
			return fmt.Errorf("status.workspaces.total %d, want %d", got, base+1)
		}
		return nil
	})
}

// workspaceWithDeployment creates a DevWorkspace with the Deployment DWO
// would render for it (DWO does not run here): its status names the
// workspace's ID, which names the Deployment it controls.
func workspaceWithDeployment(t *testing.T, c *localcluster.Cluster, ns, name string) {
	t.Helper()
	ctx := context.Background()
	ws := dwo.SampleWorkspace(ns, name)
	if err := c.Client.Create(ctx, ws); err != nil {
		t.Fatal(err)
	}
	d := dwo.StoppedWorkspaceDeployment(ns, name)
	ws.Status.DevWorkspaceId, ws.Status.Phase = d.Name, dwv2.DevWorkspaceStatusStopped
	if err := c.Client.Status().Update(ctx, ws); err != nil {
		t.Fatal(err)
	}
	d.OwnerReferences = []metav1.OwnerReference{{APIVersion: dwv2.SchemeGroupVersion.String(), Kind: "DevWorkspace",
		Name: ws.Name, UID: ws.UID, Controller: ptr(true), BlockOwnerDeletion: ptr(true)}}
	if err := c.Client.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
}

// workspace creates a DevWorkspace and the service account it controls, as
// DWO would, and returns the service account's name.
func workspace(t *testing.T, c *localcluster.Cluster, ns, name string) string {
	t.Helper()
	ctx := context.Background()
	ws := dwo.SampleWorkspace(ns, name)
	ws.Spec.Started = false
	if err := c.Client.Create(ctx, ws); err != nil {
		t.Fatal(err)
	}
	id := "workspace" + strings.ReplaceAll(string(ws.UID), "-", "")[:16]
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: id + "-sa", Namespace: ns,
		Labels: map[string]string{workspaces.IDLabel: id},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: dwv2.SchemeGroupVersion.String(), Kind: "DevWorkspace",
			Name: ws.Name, UID: ws.UID, Controller: ptr(true), BlockOwnerDeletion: ptr(true)}}}}
	if err := c.Client.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	return sa.Name
}

func sorted(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

// OpenShift's nested-container SCC appearing (an upgrade to 4.20 finishing)
// is seen through the watch: workspaces move to it and our own SCC goes,
// with no other event needed.
func TestBuiltInSCCAppearingIsPickedUp(t *testing.T) {
	c := cluster(t)
	ctx := context.Background()
	builtIn := &securityv1.SecurityContextConstraints{ObjectMeta: metav1.ObjectMeta{Name: scc.BuiltInSCCName}}
	if err := c.Client.Delete(ctx, builtIn); err != nil {
		t.Fatal(err)
	}
	startOperator(t, c.Config)
	setSpec(t, c, true, enablerv1alpha1.BuiltInAuto)
	waitReady(t, c, enablerv1alpha1.ReasonConfigured)
	if got := pinned(t, c); got != enablerv1alpha1.DefaultSCCName {
		t.Fatalf("DWOC pins %q without OpenShift's SCC", got)
	}
	if err := c.Simulate(ctx, localcluster.OCP420); err != nil { // puts nested-container back
		t.Fatal(err)
	}
	start := time.Now()
	localcluster.Eventually(t, 20*time.Second, "workspaces moved to OpenShift's SCC", func() error {
		if got := pinned(t, c); got != scc.BuiltInSCCName {
			return fmt.Errorf("DWOC pins %q", got)
		}
		err := c.Client.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.DefaultSCCName}, &securityv1.SecurityContextConstraints{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("our SCC still there (%v)", err)
		}
		return nil
	})
	t.Logf("moved %s after nested-container appeared", time.Since(start).Round(100*time.Millisecond))
}

// When detection fails the status must not keep claiming what it last
// knew: Supported becomes Unknown, and what is configured stays.
func TestDetectionFailureMakesSupportedUnknown(t *testing.T) {
	c := cluster(t)
	ctx := context.Background()
	real, err := detect.NewDetector(c.Config, c.Client)
	if err != nil {
		t.Fatal(err)
	}
	d := &flakyDetector{real: real}
	mgr, err := operator.NewManager(operator.Options{Config: c.Config, MetricsAddr: "0", ProbeAddr: "0", Detector: d, SeveralPerProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	mgrCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mgrCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	setSpec(t, c, true, enablerv1alpha1.BuiltInAuto)
	waitReady(t, c, enablerv1alpha1.ReasonConfigured)
	d.fail.Store(true)
	poke(t, c)
	waitReady(t, c, enablerv1alpha1.ReasonDetectionFailed)
	nc := &enablerv1alpha1.NestedContainers{}
	if err := c.Client.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc); err != nil {
		t.Fatal(err)
	}
	if s := meta.FindStatusCondition(nc.Status.Conditions, enablerv1alpha1.ConditionSupported); s == nil || s.Status != metav1.ConditionUnknown || s.Reason != enablerv1alpha1.ReasonDetectionFailed {
		t.Errorf("Supported = %+v, want Unknown DetectionFailed", s)
	}
	if got := pinned(t, c); got != scc.BuiltInSCCName {
		t.Errorf("a detection failure changed the configuration: DWOC pins %q", got)
	}
	d.fail.Store(false)
	poke(t, c)
	waitReady(t, c, enablerv1alpha1.ReasonConfigured)
}

type flakyDetector struct {
	real *detect.Detector
	fail atomic.Bool
}

func (d *flakyDetector) Detect(ctx context.Context) (*detect.Report, error) {
	if d.fail.Load() {
		return nil, errors.New("injected: the API server did not answer")
	}
	return d.real.Detect(ctx)
}

// poke makes the operator reconcile: an annotation change on the resource.
func poke(t *testing.T, c *localcluster.Cluster) {
	t.Helper()
	operatortest.Poke(t, c.Client)
}
