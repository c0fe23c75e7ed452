package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/manifests"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/localcluster/dwo"
	"github.com/nested-workspaces/enabler/workspaces"
)

const mib = 1 << 20

// env is the running control plane and what the bench keeps about it.
type env struct {
	cluster *localcluster.Cluster
	cl      client.Client
	cs      *kubernetes.Clientset
	proxy   *localcluster.RequestCounter
	// proxyKubeconfig points at the counting proxy, unauthenticated.
	proxyKubeconfig string
	operatorBin     string
	// shippedEnv is the environment the manager Deployment gives the
	// operator (GOMEMLIMIT, GOGC): the bench runs it as shipped.
	shippedEnv []string
	tmp        string
}

func benchCluster(ctx context.Context, o options, tmp string, r *report) error {
	e := &env{tmp: tmp}
	logf("building nested-enabler")
	e.operatorBin = filepath.Join(tmp, "nested-enabler")
	// As hack/build-images.sh builds the image's binary.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", e.operatorBin, "./cmd/nested-enabler")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/nested-enabler: %v\n%s", err, out)
	}
	shipped, err := shippedOperatorEnv()
	if err != nil {
		return err
	}
	e.shippedEnv = shipped

	logf("starting the local control plane")
	crd, err := manifests.NestedContainersCRD()
	if err != nil {
		return err
	}
	// Workloads: kube-controller-manager, the scheduler and kwok run every
	// workspace's pod — the started workspaces' and the synthetic ones' —
	// admitted by OpenShift's SCC admission, so that the operator sees
	// workspace Deployments as on a cluster: with a ReplicaSet, a Running
	// pod and the status updates that bring them up.
	c, err := localcluster.Start(ctx, localcluster.Options{OpenShift: true, DevWorkspace: true, Workloads: true,
		CRDs:        []*apiextensionsv1.CustomResourceDefinition{crd},
		AddToScheme: []func(*runtime.Scheme) error{enablerv1alpha1.AddToScheme}})
	if err != nil {
		return err
	}
	defer c.Stop()
	e.cluster = c
	if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
		return err
	}
	fast := rest.CopyConfig(c.Config)
	fast.QPS, fast.Burst = 500, 1000
	if e.cl, err = client.New(fast, client.Options{Scheme: c.Scheme}); err != nil {
		return err
	}
	if e.cs, err = kubernetes.NewForConfig(fast); err != nil {
		return err
	}
	if err := e.startProxy(); err != nil {
		return err
	}

	logf("starting the DevWorkspace controller")
	// The real controller sees only the namespaces of the workspaces it
	// starts: the synthetic DevWorkspaces elsewhere are for the operator.
	d, err := dwo.Start(ctx, c.Config, dwo.Options{Namespace: operator.DefaultDWONamespace,
		WatchNamespaces: []string{"bench-dwo-alone", "bench-dwo-operator"}})
	if err != nil {
		return err
	}
	defer d.Stop()

	// 3a: workspace starts with DWO alone; the first rendered Deployment is
	// also the template for the N synthetic workspaces.
	logf("starting %d workspaces with DWO alone", o.starts)
	alone, err := e.startWorkspaces(ctx, "bench-dwo-alone", o.starts, o.settle)
	if err != nil {
		return fmt.Errorf("workspace starts with DWO alone: %w", err)
	}
	tmplDep, tmplSA, err := e.template(ctx, alone.firstID, "bench-dwo-alone")
	if err != nil {
		return err
	}
	r.detail("workspace Deployment template: the Deployment DWO v0.43.0 rendered for dwo.SampleWorkspace (UDI container, env, volume mounts, probes as DWO sets them), %d bytes of JSON, cloned with a new workspace id per copy, owner references dropped", alone.templateBytes)

	sizes, err := parseSizes(o.sizes)
	if err != nil {
		return err
	}
	// Smaller sizes first, each measured as the workspaces grow.
	created := 0
	var points []sizePoint
	for _, n := range sizes {
		if n >= o.workspaces {
			continue
		}
		if err := e.growWorkspaces(ctx, o, &created, n, tmplDep, tmplSA, r); err != nil {
			return err
		}
		p, err := e.operatorRun(ctx, o, fmt.Sprintf("%d workspaces: sweep", n), n+o.starts, r, runSweep)
		if err != nil {
			return err
		}
		points = append(points, sizePoint{n, p.hwm})
	}
	if err := e.growWorkspaces(ctx, o, &created, o.workspaces, tmplDep, tmplSA, r); err != nil {
		return err
	}
	namespaces := workspaceNamespaces(o.workspaces, o.perNamespace)
	expected := o.workspaces + o.starts

	running, err := e.watchGenerations(ctx, "bench-dwo-alone")
	if err != nil {
		return err
	}
	run1, err := e.operatorRun(ctx, o, "run 1: workspaces only", expected, r, runStop)
	if err != nil {
		return err
	}
	points = append(points, sizePoint{o.workspaces, run1.hwm})

	logf("creating %d unrelated ConfigMaps, Secrets and Deployments", o.unrelated)
	t := time.Now()
	if err := e.createUnrelated(ctx, o, namespaces, tmplDep); err != nil {
		return err
	}
	r.detail("created %d unrelated ConfigMaps + %d Secrets (4 KiB each) + %d Deployments (the workspace template without DWO's labels) in %s", o.unrelated, o.unrelated, o.unrelated, time.Since(t).Round(time.Millisecond))

	run2, err := e.operatorRun(ctx, o, "run 2: + unrelated objects", expected, r, runKeep)
	if err != nil {
		return err
	}
	stopRun2 := sync.OnceFunc(run2.stop)
	defer stopRun2()

	// 3b: the same starts with the operator running and the toggle on.
	logf("starting %d workspaces with the operator enabled", o.starts)
	before := e.proxy.Snapshot()
	cpu0, _ := scrape(run2.metricsAddr)
	var cpuProfile chan error
	if run2.pprofAddr != "" {
		// A minute of the operator's CPU from the first start on.
		cpuProfile = make(chan error, 1)
		go func() {
			cpuProfile <- saveProfile(run2.pprofAddr, "profile?seconds=60", filepath.Join(o.profileDir, "starts-cpu.pb.gz"))
		}()
	}
	with, err := e.startWorkspaces(ctx, "bench-dwo-operator", o.starts, o.settle)
	if err != nil {
		return fmt.Errorf("workspace starts with the operator: %w", err)
	}
	if cpuProfile != nil {
		if err := <-cpuProfile; err != nil {
			return err
		}
		r.detail("CPU profile of the operator from the first workspace start on, 60 s: %s", filepath.Join(o.profileDir, "starts-cpu.pb.gz"))
	}
	opWrites := e.proxy.WritesSince(before)
	if cpu1, err := scrape(run2.metricsAddr); err == nil && o.starts > 0 {
		// The operator talks to the API server only through the counting
		// proxy: these are its requests alone.
		startReq := diff(before, e.proxy.Snapshot())
		perStart := float64(startReq.total()) / float64(o.starts)
		cpu := (cpu1["process_cpu_seconds_total"] - cpu0["process_cpu_seconds_total"]) / float64(o.starts)
		r.add(fmt.Sprintf("operator per workspace start (%d starts, first in a new namespace, at %d workspaces)", o.starts, expected), fmt.Sprintf("%.1f API requests, %.0f ms CPU", perStart, cpu*1000),
			"a small constant, independent of the number of workspaces", "see details")
		r.detail("operator requests during the %d workspace starts with the operator on: %s", o.starts, startReq)
	}
	// Spec changes: the status updates kube-controller-manager makes while
	// the pod starts are the same with or without the operator, but arrive
	// at their own pace.
	extra := with.specPerWS - alone.specPerWS
	r.add("Deployment spec changes per workspace start (to Running), DWO alone", fmt.Sprintf("%.2f (all updates %.2f)", alone.specPerWS, alone.updatesPerWS), "-", "")
	r.add("Deployment spec changes per workspace start (to Running), operator on", fmt.Sprintf("%.2f (all updates %.2f)", with.specPerWS, with.updatesPerWS), "-", "")
	r.add("extra Deployment spec changes per workspace start", fmt.Sprintf("%+.2f", extra), "0", verdict(extra <= 0))
	r.detail("workspace starts: %d DevWorkspaces each, waited until Running (DWO alone %s, operator on %s for all), then Deployment watch events counted from creation until %s without events; updates per workspace DWO alone: %v; operator on: %v; operator writes during the operator-on starts: %s",
		o.starts, alone.toRunning.Round(time.Millisecond), with.toRunning.Round(time.Millisecond), o.settle, alone.perWS, with.perWS, strings.Join(opWrites, ", "))

	bumps, events := running()
	r.add("spec changes to the Deployments of the workspaces started before the operator, across toggle on, off, on", fmt.Sprintf("%d on %d workspaces (%d watch events)", bumps, o.starts, events), "- (DWO re-renders them with its new configuration; the operator never writes them)", "see note")
	r.note("Every workspace runs: kube-controller-manager, the scheduler and kwok turn the workspace Deployments (the %d synthetic ones and those DWO renders for the started DevWorkspaces) into pods, admitted by OpenShift's SCC admission, which kwok reports Running; each measurement starts once all of them are. The unrelated Deployments are paused (no ReplicaSet, no pod): the operator never sees them.", o.workspaces)

	rssRatio := float64(run2.hwm) / float64(run1.hwm)
	r.add("peak RSS ratio run 2 / run 1", fmt.Sprintf("%.3f", rssRatio), "<= 1.10", verdict(rssRatio <= 1.10))

	// Larger sizes last, once the unrelated objects are gone again.
	larger := slices.DeleteFunc(slices.Clone(sizes), func(n int) bool { return n <= o.workspaces })
	if len(larger) > 0 {
		stopRun2()
		if _, err := e.setEnabled(ctx, false); err != nil {
			return err
		}
		if err := e.deleteUnrelated(ctx, namespaces); err != nil {
			return err
		}
	}
	for _, n := range larger {
		if err := e.growWorkspaces(ctx, o, &created, n, tmplDep, tmplSA, r); err != nil {
			return err
		}
		// Both batches of started workspaces exist by now.
		p, err := e.operatorRun(ctx, o, fmt.Sprintf("%d workspaces: sweep", n), n+2*o.starts, r, runSweep)
		if err != nil {
			return err
		}
		points = append(points, sizePoint{n, p.hwm})
	}
	reportGrowth(points, r)
	return nil
}

// sizePoint is the operator's peak RSS at a number of workspaces.
type sizePoint struct {
	workspaces int
	hwm        int64
}

// reportGrowth adds the peak RSS per size and the growth per 1,000
// workspaces between the smallest and the largest size.
func reportGrowth(points []sizePoint, r *report) {
	if len(points) < 2 {
		return
	}
	slices.SortFunc(points, func(a, b sizePoint) int { return a.workspaces - b.workspaces })
	var parts []string
	for _, p := range points {
		parts = append(parts, fmt.Sprintf("%d: %.1f MiB", p.workspaces, float64(p.hwm)/mib))
	}
	first, last := points[0], points[len(points)-1]
	growth := float64(last.hwm-first.hwm) / mib / (float64(last.workspaces-first.workspaces) / 1000)
	r.add("operator peak RSS by workspaces (no unrelated objects)", strings.Join(parts, "; "), "-", "")
	r.add(fmt.Sprintf("peak RSS growth per 1,000 workspaces (%d → %d)", first.workspaces, last.workspaces), fmt.Sprintf("%+.2f MiB", growth), "-", "")
}

func parseSizes(list string) ([]int, error) {
	var sizes []int
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-sizes: %q is not a positive number of workspaces", f)
		}
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	return slices.Compact(sizes), nil
}

// growWorkspaces creates workspaces until there are n.
func (e *env) growWorkspaces(ctx context.Context, o options, created *int, n int, tmplDep, tmplSA []byte, r *report) error {
	if n <= *created {
		return nil
	}
	// Room for every workspace pod (the bench's started ones too) at
	// localcluster's pods per node.
	nodes := (n+2*o.starts+localcluster.PodsPerNode-1)/localcluster.PodsPerNode + 1
	if err := e.cluster.SetNodes(ctx, nodes, 0); err != nil {
		return err
	}
	logf("creating workspace Deployments and service accounts %d..%d", *created, n-1)
	t := time.Now()
	if err := e.createWorkspaces(ctx, o, *created, n, tmplDep, tmplSA); err != nil {
		return err
	}
	took := time.Since(t)
	if err := e.waitWorkspacesRunning(ctx, n); err != nil {
		return err
	}
	r.detail("created %d workspace Deployments + service accounts (now %d, in %d namespaces, on %d simulated nodes) in %s; all %d Running %s later",
		n-*created, n, len(workspaceNamespaces(n, o.perNamespace)), nodes, took.Round(time.Millisecond), n, (time.Since(t) - took).Round(time.Millisecond))
	*created = n
	return nil
}

// waitWorkspacesRunning waits until n of the synthetic workspace Deployments
// report their pod ready (kwok reports it Running once the scheduler has
// placed it).
func (e *env) waitWorkspacesRunning(ctx context.Context, n int) error {
	logf("waiting for %d workspace pods to run", n)
	deadline := time.Now().Add(30 * time.Minute)
	for {
		ready, cont := 0, ""
		for {
			page := &appsv1.DeploymentList{}
			if err := e.cl.List(ctx, page, client.HasLabels{workspaces.IDLabel}, client.Limit(500), client.Continue(cont)); err != nil {
				return fmt.Errorf("list workspace Deployments: %w", err)
			}
			for i := range page.Items {
				if strings.HasPrefix(page.Items[i].Name, syntheticPrefix) && page.Items[i].Status.ReadyReplicas > 0 {
					ready++
				}
			}
			if cont = page.Continue; cont == "" {
				break
			}
		}
		if ready >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d workspace pods ran within 30 minutes", ready, n)
		}
		logf("%d of %d workspace pods run", ready, n)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}

// deleteUnrelated removes what createUnrelated made.
func (e *env) deleteUnrelated(ctx context.Context, namespaces []string) error {
	logf("deleting the unrelated objects")
	sel := client.MatchingLabels{"app.kubernetes.io/part-of": "unrelated"}
	return pool(ctx, len(namespaces), 32, func(i int) error {
		in := client.InNamespace(namespaces[i])
		for _, obj := range []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}, &appsv1.Deployment{}} {
			if err := e.cl.DeleteAllOf(ctx, obj, in, sel); err != nil {
				return fmt.Errorf("delete unrelated %T in %s: %w", obj, namespaces[i], err)
			}
		}
		return nil
	})
}

// ---------------------------------------------------------------------------
// Counting proxy: the operator subprocess talks to it over plain HTTP; it
// forwards as the operator's service account, with the shipped ClusterRole
// and the fence installed as an install makes them, and counts every
// request.

func (e *env) startProxy() error {
	asOperator, err := e.cluster.InstallOperatorIdentity(context.Background(), localcluster.OperatorNamespace)
	if err != nil {
		return err
	}
	counted, counter := localcluster.Counting(asOperator)
	rt, err := rest.TransportFor(counted)
	if err != nil {
		return err
	}
	target, err := url.Parse(e.cluster.Config.Host)
	if err != nil {
		return err
	}
	proxy := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.Host = target.Host },
		Transport:     rt,
		FlushInterval: -1,
		ErrorLog:      nil,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(ln, proxy) }()
	e.proxy = counter
	e.proxyKubeconfig = filepath.Join(e.tmp, "proxy.kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster:
    server: http://%s
contexts:
- name: bench
  context:
    cluster: bench
    user: bench
current-context: bench
users:
- name: bench
  user: {}
`, ln.Addr().String())
	return os.WriteFile(e.proxyKubeconfig, []byte(kc), 0o600)
}

// ---------------------------------------------------------------------------
// Objects.

// pool runs fn(i) for i in [0,n) on workers goroutines.
func pool(ctx context.Context, n, workers int, fn func(i int) error) error {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil && !apierrors.IsAlreadyExists(err) {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func (e *env) ensureNamespace(ctx context.Context, name string) error {
	err := e.cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// template fetches the Deployment and service account DWO rendered for a
// workspace, as JSON with the workspace id to replace.
func (e *env) template(ctx context.Context, id, ns string) (dep, sa []byte, err error) {
	deps := &appsv1.DeploymentList{}
	if err := e.cl.List(ctx, deps, client.InNamespace(ns), client.MatchingLabels{workspaces.IDLabel: id}); err != nil || len(deps.Items) == 0 {
		return nil, nil, fmt.Errorf("template Deployment for %s: %v (found %d)", id, err, len(deps.Items))
	}
	sas := &corev1.ServiceAccountList{}
	if err := e.cl.List(ctx, sas, client.InNamespace(ns), client.MatchingLabels{workspaces.IDLabel: id}); err != nil || len(sas.Items) == 0 {
		return nil, nil, fmt.Errorf("template service account for %s: %v (found %d)", id, err, len(sas.Items))
	}
	d := deps.Items[0]
	d.ObjectMeta = cleanMeta(d.ObjectMeta)
	d.Status = appsv1.DeploymentStatus{}
	s := sas.Items[0]
	s.ObjectMeta = cleanMeta(s.ObjectMeta)
	if dep, err = json.Marshal(d); err != nil {
		return nil, nil, err
	}
	if sa, err = json.Marshal(s); err != nil {
		return nil, nil, err
	}
	dep = []byte(strings.ReplaceAll(strings.ReplaceAll(string(dep), id, "@ID@"), ns, "@NS@"))
	sa = []byte(strings.ReplaceAll(strings.ReplaceAll(string(sa), id, "@ID@"), ns, "@NS@"))
	return dep, sa, nil
}

func cleanMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, Labels: m.Labels, Annotations: m.Annotations}
}

func fill(tmpl []byte, id, ns string) []byte {
	return []byte(strings.ReplaceAll(strings.ReplaceAll(string(tmpl), "@ID@", id), "@NS@", ns))
}

func nsName(i, per int) string { return fmt.Sprintf("user%d-devspaces", i/per) }

// workspaceNamespaces are the namespaces of the first n workspaces.
func workspaceNamespaces(n, perNamespace int) []string {
	per := max(perNamespace, 1)
	var namespaces []string
	for i := 0; i < n; i += per {
		namespaces = append(namespaces, nsName(i, per))
	}
	return namespaces
}

// syntheticPrefix starts the workspace id, and so the Deployment name, of
// every workspace createWorkspaces makes.
const syntheticPrefix = "workspacebench"

// createWorkspaces creates workspaces from..to-1: a DevWorkspace (Running,
// in a namespace the real DevWorkspace controller does not watch), and the
// Deployment (its pod runs, see benchCluster) and service account DWO
// renders for it, which it controls — so that the operator counts them and
// grants their namespaces the SCC.
func (e *env) createWorkspaces(ctx context.Context, o options, from, to int, tmplDep, tmplSA []byte) error {
	per := max(o.perNamespace, 1)
	namespaces := workspaceNamespaces(to, per)
	if err := pool(ctx, len(namespaces), 32, func(i int) error { return e.ensureNamespace(ctx, namespaces[i]) }); err != nil {
		return err
	}
	return pool(ctx, to-from, 48, func(i int) error {
		i += from
		id := fmt.Sprintf("%s%08x", syntheticPrefix, i)
		ns := nsName(i, per)
		ws := dwo.SampleWorkspace(ns, id)
		if err := e.cl.Create(ctx, ws); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create DevWorkspace %s/%s: %w", ns, ws.Name, err)
		}
		if err := e.cl.Get(ctx, client.ObjectKeyFromObject(ws), ws); err != nil {
			return err
		}
		ws.Status.DevWorkspaceId, ws.Status.Phase = id, dwv2.DevWorkspaceStatusRunning
		if err := e.cl.Status().Update(ctx, ws); err != nil {
			return fmt.Errorf("DevWorkspace %s/%s status: %w", ns, ws.Name, err)
		}
		controller := []metav1.OwnerReference{{APIVersion: dwv2.SchemeGroupVersion.String(), Kind: "DevWorkspace",
			Name: ws.Name, UID: ws.UID, Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
		d := &appsv1.Deployment{}
		if err := json.Unmarshal(fill(tmplDep, id, ns), d); err != nil {
			return err
		}
		d.OwnerReferences = controller
		if err := e.cl.Create(ctx, d); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create Deployment %s/%s: %w", ns, d.Name, err)
		}
		sa := &corev1.ServiceAccount{}
		if err := json.Unmarshal(fill(tmplSA, id, ns), sa); err != nil {
			return err
		}
		sa.OwnerReferences = controller
		if err := e.cl.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create ServiceAccount %s/%s: %w", ns, sa.Name, err)
		}
		return nil
	})
}

func (e *env) createUnrelated(ctx context.Context, o options, namespaces []string, tmplDep []byte) error {
	payload := strings.Repeat("x", 4096)
	return pool(ctx, o.unrelated, 48, func(i int) error {
		ns := namespaces[i%len(namespaces)]
		labels := map[string]string{"app.kubernetes.io/name": fmt.Sprintf("app%d", i), "app.kubernetes.io/part-of": "unrelated"}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%d", i), Namespace: ns, Labels: labels},
			Data: map[string]string{"config.yaml": payload}}
		if err := e.cl.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%d", i), Namespace: ns, Labels: labels},
			Data: map[string][]byte{"token": []byte(payload)}}
		if err := e.cl.Create(ctx, sec); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		d := &appsv1.Deployment{}
		if err := json.Unmarshal(fill(tmplDep, fmt.Sprintf("unrelated%08x", i), ns), d); err != nil {
			return err
		}
		d.Name = fmt.Sprintf("unrelated-%d", i)
		d.Labels = labels
		d.Annotations = nil
		d.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
		d.Spec.Template.Labels = labels
		d.Spec.Paused = true
		if err := e.cl.Create(ctx, d); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	})
}

// ---------------------------------------------------------------------------
// Workspace starts through the real DWO, counting Deployment updates.

type startResult struct {
	firstID       string
	templateBytes int
	perWS         []int // watch MODIFIED events per workspace Deployment
	updatesPerWS  float64
	specPerWS     float64 // generation - 1: spec changes only
	toRunning     time.Duration
}

func (e *env) startWorkspaces(ctx context.Context, ns string, k int, settle time.Duration) (*startResult, error) {
	if err := e.ensureNamespace(ctx, ns); err != nil {
		return nil, err
	}
	w, err := e.cs.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	modified := map[string]int{}
	gen := map[string]int64{}
	var mu sync.Mutex
	last := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok {
				continue
			}
			mu.Lock()
			switch ev.Type {
			case watch.Added:
				modified[d.Name] += 0
			case watch.Modified:
				modified[d.Name]++
			}
			gen[d.Name] = d.Generation
			last = time.Now()
			mu.Unlock()
		}
	}()
	var wss []string
	for i := 0; i < k; i++ {
		ws := dwo.SampleWorkspace(ns, fmt.Sprintf("ws-%d", i))
		if err := e.cl.Create(ctx, ws); err != nil {
			return nil, err
		}
		wss = append(wss, ws.Name)
	}
	res := &startResult{}
	for i, name := range wss {
		ws := dwo.SampleWorkspace(ns, name)
		dep, err := dwo.WaitForDeployment(ctx, e.cl, ws, 3*time.Minute)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			res.firstID = dep.Labels[workspaces.IDLabel]
			b, _ := json.Marshal(dep)
			res.templateBytes = len(b)
		}
	}
	// Running: the pod was admitted (OpenShift's SCC admission) and kwok
	// runs it; DWO then stops re-rendering the workspace.
	t0 := time.Now()
	for _, name := range wss {
		if _, err := dwo.WaitForRunning(ctx, e.cl, dwo.SampleWorkspace(ns, name), 3*time.Minute); err != nil {
			return nil, fmt.Errorf("workspace %s/%s: %w; events in %s: %s", ns, name, err, ns, e.recentEvents(ctx, ns))
		}
	}
	res.toRunning = time.Since(t0)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		mu.Lock()
		quiet := time.Since(last)
		n := len(modified)
		mu.Unlock()
		if (n >= k && quiet >= settle) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	w.Stop()
	<-done
	total, spec := 0, int64(0)
	names := make([]string, 0, len(modified))
	for n := range modified {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		res.perWS = append(res.perWS, modified[n])
		total += modified[n]
		spec += gen[n] - 1
	}
	if len(names) > 0 {
		res.updatesPerWS = float64(total) / float64(len(names))
		res.specPerWS = float64(spec) / float64(len(names))
	}
	return res, nil
}

// recentEvents says what happened in a namespace, for an error message.
func (e *env) recentEvents(ctx context.Context, ns string) string {
	list, err := e.cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, ev := range list.Items {
		lines = append(lines, fmt.Sprintf("%s %s: %s (x%d)", ev.InvolvedObject.Kind, ev.InvolvedObject.Name, ev.Message, max(ev.Count, 1)))
	}
	if len(lines) > 12 {
		lines = lines[len(lines)-12:]
	}
	return strings.Join(lines, "; ")
}

// watchGenerations watches the Deployments of a namespace from now on and
// returns a function reporting how many spec changes (generation bumps)
// and watch events they had since.
func (e *env) watchGenerations(ctx context.Context, ns string) (func() (bumps, events int), error) {
	list, err := e.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	start := map[string]int64{}
	for _, d := range list.Items {
		start[d.Name] = d.Generation
	}
	w, err := e.cs.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	latest := map[string]int64{}
	events := 0
	go func() {
		for ev := range w.ResultChan() {
			if d, ok := ev.Object.(*appsv1.Deployment); ok {
				mu.Lock()
				latest[d.Name] = d.Generation
				events++
				mu.Unlock()
			}
		}
	}()
	return func() (int, int) {
		w.Stop()
		mu.Lock()
		defer mu.Unlock()
		bumps := 0
		for name, g := range latest {
			bumps += int(g - start[name])
		}
		return bumps, events
	}, nil
}

// ---------------------------------------------------------------------------
// The operator as a subprocess.

type opProc struct {
	cmd         *exec.Cmd
	metricsAddr string
	pprofAddr   string // "" unless -profile-dir
	hwm         int64
	exited      chan error
}

func (p *opProc) stop() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (e *env) setEnabled(ctx context.Context, enabled bool) (int64, error) {
	nc := &enablerv1alpha1.NestedContainers{}
	err := e.cl.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc)
	if apierrors.IsNotFound(err) {
		nc = &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
		nc.Spec.Enabled = enabled
		if err := e.cl.Create(ctx, nc); err != nil {
			return 0, err
		}
		return nc.Generation, nil
	}
	if err != nil {
		return 0, err
	}
	patch := client.MergeFrom(nc.DeepCopy())
	nc.Spec.Enabled = enabled
	if err := e.cl.Patch(ctx, nc, patch); err != nil {
		return 0, err
	}
	return nc.Generation, nil
}

// waitStatus polls the NestedContainers until cond holds for the current
// generation.
func (e *env) waitStatus(ctx context.Context, timeout time.Duration, cond func(*enablerv1alpha1.NestedContainers) bool) (*enablerv1alpha1.NestedContainers, error) {
	deadline := time.Now().Add(timeout)
	for {
		nc := &enablerv1alpha1.NestedContainers{}
		err := e.cl.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc)
		if err == nil && nc.Status.ObservedGeneration == nc.Generation && cond(nc) {
			return nc, nil
		}
		if time.Now().After(deadline) {
			return nc, fmt.Errorf("status not reached after %s: %+v", timeout, nc.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readyIs(status metav1.ConditionStatus, reason string) func(*enablerv1alpha1.NestedContainers) bool {
	return func(nc *enablerv1alpha1.NestedContainers) bool {
		c := meta.FindStatusCondition(nc.Status.Conditions, enablerv1alpha1.ConditionReady)
		return c != nil && c.Status == status && (reason == "" || c.Reason == reason)
	}
}

// operatorRun starts the operator with the toggle off, waits for its first
// reconcile, turns the toggle on and times the complete status, then watches
// the steady state. keep leaves it running (and enabled).
// runMode says what operatorRun does after toggle-on.
type runMode int

const (
	runStop  runMode = iota // measure the steady state, toggle off, stop
	runKeep                 // measure the steady state, leave the operator running
	runSweep                // only peak RSS and toggle-on time, then toggle off and stop
)

func (e *env) operatorRun(ctx context.Context, o options, label string, expected int, r *report, mode runMode) (*opProc, error) {
	if _, err := e.setEnabled(ctx, false); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &opProc{metricsAddr: addr, exited: make(chan error, 1)}
	// KUBECONFIG rather than --kubeconfig: the operator then loads its
	// config through controller-runtime's GetConfig, as in a cluster
	// (in-cluster config), which turns client-side rate limiting off;
	// --kubeconfig would leave client-go's default 5 QPS.
	// Plain-HTTP metrics: a local run, scraped by the bench itself.
	p.cmd = exec.CommandContext(ctx, e.operatorBin, "run", "--leader-elect=false",
		"--metrics-bind-address", addr, "--metrics-insecure", "--health-probe-bind-address=0")
	var pprofAddr string
	if o.profileDir != "" {
		if pprofAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		p.cmd.Args = append(p.cmd.Args, "--pprof-bind-address", pprofAddr)
		p.pprofAddr = pprofAddr
	}
	p.cmd.Env = append(os.Environ(), "KUBECONFIG="+e.proxyKubeconfig)
	p.cmd.Env = append(p.cmd.Env, e.shippedEnv...)
	p.cmd.Env = append(p.cmd.Env, strings.Fields(o.operatorEnv)...)
	logPath := filepath.Join(e.tmp, strings.ReplaceAll(strings.Fields(label)[0]+strings.Fields(label)[1], ":", "")+"-operator.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	before := e.proxy.Snapshot()
	logf("%s: starting the operator", label)
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.exited <- p.cmd.Wait(); logFile.Close() }()
	ok := false
	defer func() {
		if !ok {
			p.stop()
		}
	}()
	// First reconcile: the toggle (off) was observed.
	for {
		select {
		case err := <-p.exited:
			p.exited <- err
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("operator exited: %v\n%s", err, tail(string(log), 2000))
		default:
		}
		if m, err := scrape(p.metricsAddr); err == nil && m.reconciles() >= 1 {
			break
		}
		if time.Since(start) > 3*time.Minute {
			return nil, errors.New("operator did not reconcile within 3 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := e.waitStatus(ctx, time.Minute, readyIs(metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)); err != nil {
		return nil, err
	}
	startup := time.Since(start)
	startHWM, _ := procMem(p.cmd.Process.Pid)
	startReq := diff(before, e.proxy.Snapshot())

	logf("%s: toggle on", label)
	before = e.proxy.Snapshot()
	m0, _ := scrape(p.metricsAddr)
	t0 := time.Now()
	if _, err := e.setEnabled(ctx, true); err != nil {
		return nil, err
	}
	nc, err := e.waitStatus(ctx, 5*time.Minute, func(nc *enablerv1alpha1.NestedContainers) bool {
		return readyIs(metav1.ConditionTrue, "")(nc) && int(nc.Status.Workspaces.Total) == expected
	})
	if err != nil {
		return nil, err
	}
	toggle := time.Since(t0)
	m1, _ := scrape(p.metricsAddr)
	toggleReq := diff(before, e.proxy.Snapshot())
	short := strings.SplitN(label, ":", 2)[0]
	if mode == runSweep {
		e.waitQuiet(5*time.Second, 90*time.Second)
		p.hwm, _ = procMem(p.cmd.Process.Pid)
		r.detail("%s: peak RSS %.1f MiB (by the first reconcile %.1f MiB), toggle on → Ready with workspaces.total = %d in %s, %d requests until Ready",
			short, float64(p.hwm)/mib, float64(startHWM)/mib, expected, toggle.Round(time.Millisecond), toggleReq.total())
		if err := e.disableAndStop(ctx, p); err != nil {
			return nil, err
		}
		ok = true
		return p, nil
	}

	// Let in-flight work drain (DWO reacts to its new configuration, the
	// operator to DWO), then watch the steady state.
	settleTime := e.waitQuiet(5*time.Second, 90*time.Second)
	settledReq := diff(before, e.proxy.Snapshot())
	m1b, _ := scrape(p.metricsAddr)
	logf("%s: steady state for %s", label, o.steady)
	before = e.proxy.Snapshot()
	m2, _ := scrape(p.metricsAddr)
	time.Sleep(o.steady)
	m3, err := scrape(p.metricsAddr)
	if err != nil {
		return nil, err
	}
	steadyReq := diff(before, e.proxy.Snapshot())
	hwm, rss := procMem(p.cmd.Process.Pid)
	anon, file := procRSSParts(p.cmd.Process.Pid)
	p.hwm = hwm
	if pprofAddr != "" {
		file := filepath.Join(o.profileDir, short+"-heap.pb.gz")
		if err := saveHeapProfile(pprofAddr, file); err != nil {
			return nil, err
		}
		r.detail("%s: heap profile after the steady state: %s", short, file)
	}

	r.add(short+": operator peak RSS (VmHWM)", fmt.Sprintf("%.1f MiB (RSS now %.1f MiB, heap alloc %.1f MiB, heap in use %.1f MiB)",
		float64(hwm)/mib, float64(rss)/mib, m3["go_memstats_heap_alloc_bytes"]/mib, m3["go_memstats_heap_inuse_bytes"]/mib), "< 64 MiB", verdict(hwm < 64*mib))
	r.add(short+": toggle on → Ready True, workspaces.total = "+strconv.Itoa(expected), toggle.Round(time.Millisecond).String(), "< 5s", verdict(toggle < 5*time.Second))
	r.add(short+": operator API requests, toggle on → settled", fmt.Sprintf("%d (%d writes)", settledReq.total(), settledReq.writes()), "1 apply per owned object + lists/watches", "see details")
	r.add(short+": writes in "+o.steady.String()+" steady state", strconv.Itoa(steadyReq.writes()), "0", verdict(steadyReq.writes() == 0))
	r.add(short+": reconciles in "+o.steady.String()+" steady state", fmt.Sprintf("%.0f", m3.reconciles()-m2.reconciles()), "0 (none triggered)", verdict(m3.reconciles()-m2.reconciles() == 0))
	r.detail("%s: operator start → caches synced and first reconcile (toggle off) %s, peak RSS by then %.1f MiB, %d requests: %s", short, startup.Round(time.Millisecond), float64(startHWM)/mib, startReq.total(), startReq)
	r.detail("%s: toggle on → complete status: %s, %.0f reconciles, %d requests (%d until Ready): %s; status: ready=%v workspaces=%+v nodes=%+v",
		short, toggle.Round(time.Millisecond), m1.reconciles()-m0.reconciles(), settledReq.total(), toggleReq.total(), settledReq,
		readyIs(metav1.ConditionTrue, "")(nc), nc.Status.Workspaces, nc.Status.Nodes)
	r.detail("%s: after Ready, operator requests took %s after the toggle to stop for 5 s; %.0f reconciles in that time in all", short, settleTime.Round(time.Millisecond), m1b.reconciles()-m0.reconciles())
	r.detail("%s: steady state %s: %d requests: %s", short, o.steady, steadyReq.total(), steadyReq)
	r.detail("%s: resident now %.1f MiB: anonymous %.1f MiB (heap, stacks, runtime), file-backed %.1f MiB (the binary's pages); Go runtime: heap in use %.1f MiB, total from the OS %.1f MiB",
		short, float64(rss)/mib, float64(anon)/mib, float64(file)/mib, m3["go_memstats_heap_inuse_bytes"]/mib, m3["go_memstats_sys_bytes"]/mib)
	if mode == runStop {
		if err := e.disableAndStop(ctx, p); err != nil {
			return nil, err
		}
	}
	ok = true
	return p, nil
}

// shippedOperatorEnv reads the literal environment variables of the
// operator container in manifests/manager/deployment.yaml.
func shippedOperatorEnv() ([]string, error) {
	const path = "manifests/manager/deployment.yaml"
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := &appsv1.Deployment{}
	if err := yaml.Unmarshal(data, d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var env []string
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, v := range c.Env {
			if v.ValueFrom == nil {
				env = append(env, v.Name+"="+v.Value)
			}
		}
	}
	return env, nil
}

// disableAndStop turns the toggle off, waits for the operator to say so,
// and stops it.
func (e *env) disableAndStop(ctx context.Context, p *opProc) error {
	if _, err := e.setEnabled(ctx, false); err != nil {
		return err
	}
	if _, err := e.waitStatus(ctx, 5*time.Minute, readyIs(metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)); err != nil {
		return err
	}
	p.stop()
	return nil
}

// waitQuiet waits until the operator made no request for quiet, at most
// limit; it returns the time waited plus quiet.
func (e *env) waitQuiet(quiet, limit time.Duration) time.Duration {
	start := time.Now()
	last, lastChange := e.proxy.Total(), time.Now()
	for time.Since(lastChange) < quiet && time.Since(start) < limit {
		time.Sleep(100 * time.Millisecond)
		if n := e.proxy.Total(); n != last {
			last, lastChange = n, time.Now()
		}
	}
	return time.Since(start)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// procMem returns VmHWM and VmRSS in bytes.
// procMemory reads the memory lines of /proc/PID/status (VmHWM, VmRSS,
// RssAnon, RssFile, ...) in bytes; empty when the process is gone.
func procMemory(pid int) map[string]int64 {
	out := map[string]int64{}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			out[strings.TrimSuffix(f[0], ":")] = v * 1024
		}
	}
	return out
}

// procRSSParts is the process's resident memory now by kind: anonymous
// (heap, stacks) and file-backed (the binary's pages).
func procRSSParts(pid int) (anon, file int64) {
	m := procMemory(pid)
	return m["RssAnon"], m["RssFile"]
}

// procMem is the process's peak and current resident memory.
func procMem(pid int) (hwm, rss int64) {
	m := procMemory(pid)
	return m["VmHWM"], m["VmRSS"]
}

// metrics is a flat Prometheus scrape: name{labels} → value, plus sums by
// name.
type metrics map[string]float64

func scrape(addr string) (metrics, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := metrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		key := line[:i]
		m[key] = v
		if j := strings.IndexByte(key, '{'); j >= 0 {
			m[key[:j]] += v
		}
	}
	return m, sc.Err()
}

func (m metrics) reconciles() float64 {
	n := 0.0
	for k, v := range m {
		if strings.HasPrefix(k, "controller_runtime_reconcile_total{") && strings.Contains(k, `controller="nestedcontainers"`) {
			n += v
		}
	}
	return n
}

// requests are counts by "VERB resource".
type requests map[string]int

func diff(before, after map[string]int) requests {
	out := requests{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			verb, path, _ := strings.Cut(k, " ")
			out[verb+" "+resourceOf(path)] += d
		}
	}
	return out
}

func (q requests) total() int {
	n := 0
	for _, v := range q {
		n += v
	}
	return n
}

func (q requests) writes() int {
	n := 0
	for k, v := range q {
		for _, w := range []string{"POST ", "PUT ", "PATCH ", "DELETE "} {
			if strings.HasPrefix(k, w) {
				n += v
			}
		}
	}
	return n
}

func (q requests) String() string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, q[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// resourceOf reduces an API path to its resource (and subresource):
// /apis/rbac.authorization.k8s.io/v1/namespaces/x/rolebindings/y → rolebindings.
func resourceOf(path string) string {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	var rest []string
	switch {
	case len(seg) >= 2 && seg[0] == "api":
		rest = seg[2:]
	case len(seg) >= 3 && seg[0] == "apis":
		rest = seg[3:]
	default:
		if len(seg) > 0 && seg[0] == "apis" || len(seg) > 0 && seg[0] == "api" {
			return "discovery"
		}
		return path
	}
	if len(rest) == 0 {
		return "discovery"
	}
	if rest[0] == "namespaces" && len(rest) > 2 {
		rest = rest[2:]
	}
	if len(rest) >= 3 {
		return rest[0] + "/" + rest[2]
	}
	return rest[0]
}

// saveHeapProfile saves the operator's heap profile (/debug/pprof/heap, as
// of the last collection) to file.
func saveHeapProfile(addr, file string) error {
	return saveProfile(addr, "heap", file)
}

// saveProfile saves the operator's /debug/pprof/<which> to file.
func saveProfile(addr, which, file string) error {
	resp, err := http.Get("http://" + addr + "/debug/pprof/" + which)
	if err != nil {
		return fmt.Errorf("%s profile: %w", which, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s profile: %s", which, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
