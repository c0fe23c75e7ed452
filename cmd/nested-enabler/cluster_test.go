package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

// fakeKubelet answers the API server's container log requests for one
// node, as a kubelet does, and records what it was asked; it ignores
// limitBytes, so that gather's own bound is tested too.
type fakeKubelet struct {
	mu      sync.Mutex
	queries []url.Values
	paths   []string
}

// fakeLogSize is more than gather keeps of one log.
const fakeLogSize = gatherLogBytes + 1<<20

func (k *fakeKubelet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.queries = append(k.queries, r.URL.Query())
	k.paths = append(k.paths, r.URL.Path)
	k.mu.Unlock()
	if r.URL.Query().Get("previous") == "true" {
		fmt.Fprintln(w, "2026-12-07T00:00:00Z the container before the restart")
		return
	}
	line := []byte("2026-12-07T00:00:00Z {\"level\":\"info\",\"msg\":\"reconciled\"}\n")
	for written := 0; written < fakeLogSize; written += len(line) {
		if _, err := w.Write(line); err != nil {
			return
		}
	}
}

// On the real API server: gather collects what a support case needs
// (never a Secret, logs through the pod log API, bounded); status prints
// the resource in each format; the connection flags reach the API server
// as oc's do.
func TestCommandsOnTheCluster(t *testing.T) {
	c := localcluster.StartForTest(t, localcluster.Options{OpenShift: true, DevWorkspace: true, NestedContainers: true})
	ctx := context.Background()
	if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
		t.Fatal(err)
	}
	mustCreate := func(objs ...client.Object) {
		t.Helper()
		for _, obj := range objs {
			if err := c.Client.Create(ctx, obj); err != nil {
				t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
			}
		}
	}
	ours := owned.Labels()
	const opNS, wsNS = DefaultOperatorNamespace, "workspaces-of-someone"
	nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
	nc.Spec.Enabled = true
	mustCreate(nc,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opNS}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: wsNS}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operator.DefaultDWONamespace}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "nested-workspaces-use-scc-nested-container", Labels: ours}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses-role"}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "nested-workspaces-use-scc-nested-container", Namespace: wsNS, Labels: ours},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "nested-workspaces-use-scc-nested-container"}},
		// Labelled as ours, and still never read.
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "a-secret", Namespace: wsNS, Labels: ours}, StringData: map[string]string{"password": "never-in-the-archive"}},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "nc-event", Namespace: "default"}, Reason: "GrantBlocked", Message: "an event about the resource",
			InvolvedObject: corev1.ObjectReference{Kind: "NestedContainers", Name: enablerv1alpha1.ClusterName, APIVersion: enablerv1alpha1.GroupVersion.String()}},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "op-event", Namespace: opNS}, Reason: "BackOff", Message: "an event in the operator's namespace",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "nested-workspaces-enabler-0", Namespace: opNS}},
	)
	dwoc := &unstructured.Unstructured{}
	dwoc.SetGroupVersionKind(dwocGVK)
	dwoc.SetNamespace(operator.DefaultDWONamespace)
	dwoc.SetName(dwoconfig.Name)
	if err := unstructured.SetNestedStringMap(dwoc.Object, map[string]string{dwoconfig.RequiredSCCAnnotation: "nested-container"}, "config", "workspace", "podAnnotations"); err != nil {
		t.Fatal(err)
	}
	mustCreate(dwoc)

	// The operator's pod, on a node whose kubelet is the fake one.
	kubelet := &fakeKubelet{}
	srv := httptest.NewTLSServer(kubelet)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	portNum, _ := strconv.Atoi(port)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-with-a-fake-kubelet"}}
	mustCreate(node)
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(portNum)
	if err := c.Client.Status().Update(ctx, node); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "nested-workspaces-enabler-0", Namespace: opNS, Labels: map[string]string{"app.kubernetes.io/name": operatorAppName}},
		Spec: corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{Name: "operator", Image: "quay.io/nested-workspaces/enabler:v0.1.0"}}}}
	mustCreate(pod,
		// After the pod: SCC admission would judge pods by this bare SCC.
		&securityv1.SecurityContextConstraints{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.DefaultSCCName, Labels: ours}})
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "operator", RestartCount: 1, Image: pod.Spec.Containers[0].Image}}
	if err := c.Client.Status().Update(ctx, pod); err != nil {
		t.Fatal(err)
	}

	t.Run("gather", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "support.tar.gz")
		code, stdout, stderr := run(t, "gather", "--kubeconfig", c.KubeconfigPath, "--dest", dest)
		if code != 0 {
			t.Fatalf("gather exit %d: %s%s", code, stdout, stderr)
		}
		files := listArchive(t, dest)
		for name, want := range map[string]string{
			"version.yaml":                                         "goVersion:",
			"detect.yaml":                                          "verdict: Supported",
			"nestedcontainers.yaml":                                "enabled: true",
			"events/nestedcontainers.yaml":                         "an event about the resource",
			"events/" + opNS + ".yaml":                             "an event in the operator's namespace",
			"objects/securitycontextconstraints.yaml":              "name: " + enablerv1alpha1.DefaultSCCName,
			"objects/clusterroles.yaml":                            "name: nested-workspaces-use-scc-nested-container",
			"objects/rolebindings.yaml":                            "namespace: " + wsNS,
			"dwo/" + dwoconfig.Name + ".yaml":                      dwoconfig.RequiredSCCAnnotation,
			"dwo/pinned-scc-nested-container.yaml":                 "name: nested-container",
			"operator/pods.yaml":                                   "name: " + pod.Name,
			"operator/logs/" + pod.Name + "/operator.log":          `"msg":"reconciled"`,
			"operator/logs/" + pod.Name + "/operator.previous.log": "the container before the restart",
		} {
			if !strings.Contains(files[name], want) {
				t.Errorf("%s lacks %q (files: %v)", name, want, keys(files))
			}
		}
		for name, content := range files {
			for _, never := range []string{"kind: Secret", "never-in-the-archive", "someone-elses-role", "managedFields", "restricted-v2"} {
				if strings.Contains(content, never) && !(never == "restricted-v2" && strings.HasPrefix(name, "detect")) {
					t.Errorf("%s contains %q", name, never)
				}
			}
		}
		if got := len(files["operator/logs/"+pod.Name+"/operator.log"]); got > gatherLogBytes {
			t.Errorf("operator log is %d bytes in the archive, over the %d bound", got, gatherLogBytes)
		}
		if files["errors.txt"] != "" {
			t.Errorf("errors.txt:\n%s", files["errors.txt"])
		}
		kubelet.mu.Lock()
		defer kubelet.mu.Unlock()
		if len(kubelet.queries) != 2 {
			t.Fatalf("the kubelet was asked %d times (%v), want the log and the previous log", len(kubelet.queries), kubelet.paths)
		}
		for _, q := range kubelet.queries {
			if q.Get("limitBytes") != strconv.Itoa(gatherLogBytes) || q.Get("tailLines") != strconv.Itoa(gatherLogLines) {
				t.Errorf("the pod log request asked for %v, want limitBytes=%d tailLines=%d", q, gatherLogBytes, gatherLogLines)
			}
		}
	})

	// -n is the operator's namespace: elsewhere there is no operator pod,
	// and gather says so and where it looked.
	t.Run("gather_in_another_operator_namespace", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "support.tar.gz")
		if code, stdout, stderr := run(t, "gather", "--kubeconfig", c.KubeconfigPath, "--dest", dest, "-n", wsNS); code != 0 {
			t.Fatalf("gather -n %s exit %d: %s%s", wsNS, code, stdout, stderr)
		}
		files := listArchive(t, dest)
		if !strings.Contains(files["errors.txt"], "no operator pods (label app.kubernetes.io/name="+operatorAppName+") in namespace "+wsNS+": pass -n") {
			t.Errorf("errors.txt:\n%s", files["errors.txt"])
		}
		if _, ok := files["events/"+wsNS+".yaml"]; !ok {
			t.Errorf("no events of %s in %v", wsNS, keys(files))
		}
	})

	t.Run("status_in_every_format", func(t *testing.T) {
		code, stdout, stderr := run(t, "status", "--kubeconfig", c.KubeconfigPath)
		if code != 0 || !strings.Contains(stdout, "toggle on") {
			t.Errorf("status exit %d:\n%s%s", code, stdout, stderr)
		}
		for _, format := range []string{"yaml", "json"} {
			code, stdout, stderr := run(t, "status", "--kubeconfig", c.KubeconfigPath, "-o", format)
			got := &enablerv1alpha1.NestedContainers{}
			if err := yaml.Unmarshal([]byte(stdout), got); code != 0 || err != nil || got.Name != enablerv1alpha1.ClusterName || !got.Spec.Enabled {
				t.Errorf("status -o %s exit %d (%v):\n%s%s", format, code, err, stdout, stderr)
			}
		}
		code, stdout, stderr = run(t, "detect", "--kubeconfig", c.KubeconfigPath, "-o", "yaml")
		if code != 0 || !strings.Contains(stdout, "verdict: Supported") {
			t.Errorf("detect -o yaml exit %d:\n%s%s", code, stdout, stderr)
		}
	})

	t.Run("impersonation_reaches_the_api_server", func(t *testing.T) {
		code, _, stderr := run(t, "status", "--kubeconfig", c.KubeconfigPath, "--as", "system:serviceaccount:default:nobody")
		if code != exitFailure || !strings.Contains(stderr, `User "system:serviceaccount:default:nobody" cannot get resource "nestedcontainers"`) {
			t.Errorf("status --as nobody: exit %d, %s", code, stderr)
		}
		code, stdout, stderr := run(t, "status", "--kubeconfig", c.KubeconfigPath, "--as", "an-admin", "--as-group", "system:masters")
		if code != 0 || !strings.Contains(stdout, "toggle on") {
			t.Errorf("status --as an-admin --as-group system:masters: exit %d, %s%s", code, stdout, stderr)
		}
	})

	t.Run("context_picks_the_cluster", func(t *testing.T) {
		cfg, err := clientcmd.LoadFromFile(c.KubeconfigPath)
		if err != nil {
			t.Fatal(err)
		}
		good := cfg.CurrentContext
		broken := cfg.Contexts[good].DeepCopy()
		broken.Cluster = "nowhere"
		cfg.Clusters["nowhere"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", InsecureSkipTLSVerify: true}
		cfg.Contexts["broken"] = broken
		cfg.CurrentContext = "broken"
		file := filepath.Join(t.TempDir(), "kubeconfig")
		if err := clientcmd.WriteToFile(*cfg, file); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := run(t, "status", "--kubeconfig", file, "--request-timeout", "5s"); code != exitFailure || !strings.Contains(stderr, "127.0.0.1:1") {
			t.Errorf("status on the current (broken) context: exit %d, %s", code, stderr)
		}
		if code, stdout, stderr := run(t, "status", "--kubeconfig", file, "--context", good); code != 0 || !strings.Contains(stdout, "toggle on") {
			t.Errorf("status --context %s: exit %d, %s%s", good, code, stdout, stderr)
		}
	})
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
