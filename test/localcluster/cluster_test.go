package localcluster_test

import (
	"context"
	"strings"
	"testing"

	configv1 "github.com/openshift/api/config/v1"
	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

func TestSimulateWritesWhatARealClusterHas(t *testing.T) {
	ctx := context.Background()
	c := localcluster.StartForTest(t, localcluster.Options{OpenShift: true, DevWorkspace: true})
	for _, s := range localcluster.Scenarios() {
		if !s.OpenShift {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			if err := c.Simulate(ctx, s); err != nil {
				t.Fatal(err)
			}
			cv := &configv1.ClusterVersion{}
			if err := c.Client.Get(ctx, client.ObjectKey{Name: "version"}, cv); err != nil {
				t.Fatal(err)
			}
			if len(cv.Status.History) != 1 || cv.Status.History[0].Version != s.Version || cv.Status.History[0].State != configv1.CompletedUpdate {
				t.Errorf("ClusterVersion history = %+v, want one Completed %s", cv.Status.History, s.Version)
			}
			fg := &configv1.FeatureGate{}
			if err := c.Client.Get(ctx, client.ObjectKey{Name: "cluster"}, fg); err != nil {
				t.Fatal(err)
			}
			if fg.Spec.FeatureSet != s.FeatureSet || len(fg.Status.FeatureGates) != 1 || fg.Status.FeatureGates[0].Version != s.Version {
				t.Errorf("FeatureGate = %+v / %+v", fg.Spec, fg.Status)
			}
			nodes := &corev1.NodeList{}
			if err := c.Client.List(ctx, nodes); err != nil {
				t.Fatal(err)
			}
			if len(nodes.Items) != s.Nodes+s.NodesWithoutUserNamespaces {
				t.Errorf("%d nodes, want %d", len(nodes.Items), s.Nodes)
			}
			// The SCC CRD keeps userNamespaceLevel only where the release has it.
			scc := &securityv1.SecurityContextConstraints{
				ObjectMeta:         metav1.ObjectMeta{Name: "probe-" + strings.ToLower(strings.ReplaceAll(s.Name, ".", "-"))},
				UserNamespaceLevel: securityv1.NamespaceLevelRequirePod,
				RunAsUser:          securityv1.RunAsUserStrategyOptions{Type: securityv1.RunAsUserStrategyMustRunAsRange},
				SELinuxContext:     securityv1.SELinuxContextStrategyOptions{Type: securityv1.SELinuxStrategyMustRunAs},
				FSGroup:            securityv1.FSGroupStrategyOptions{Type: securityv1.FSGroupStrategyMustRunAs},
				SupplementalGroups: securityv1.SupplementalGroupsStrategyOptions{Type: securityv1.SupplementalGroupsStrategyRunAsAny},
			}
			if err := c.Client.Create(ctx, scc); err != nil {
				t.Fatal(err)
			}
			got := &securityv1.SecurityContextConstraints{}
			if err := c.Client.Get(ctx, client.ObjectKeyFromObject(scc), got); err != nil {
				t.Fatal(err)
			}
			kept := got.UserNamespaceLevel == securityv1.NamespaceLevelRequirePod
			if kept == s.SCCWithoutUserNamespaceLevel {
				t.Errorf("userNamespaceLevel kept=%t, scenario prunes=%t", kept, s.SCCWithoutUserNamespaceLevel)
			}
		})
	}
}

// The API server must accept exactly the pod shape nested workspaces need.
func TestAPIServerPodAdmission(t *testing.T) {
	ctx := context.Background()
	c := localcluster.StartForTest(t, localcluster.Options{})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "admission"}}
	if err := c.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns.Name}}
	_ = c.Client.Create(ctx, sa)
	unmasked := corev1.UnmaskedProcMount
	pod := func(hostUsers *bool) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns.Name},
			Spec: corev1.PodSpec{
				HostUsers: hostUsers,
				Containers: []corev1.Container{{Name: "c", Image: "busybox", SecurityContext: &corev1.SecurityContext{
					ProcMount:                &unmasked,
					AllowPrivilegeEscalation: ptr.To(true),
					Capabilities:             &corev1.Capabilities{Add: []corev1.Capability{"SETUID", "SETGID"}},
				}}},
			},
		}
	}
	if err := c.Client.Create(ctx, pod(ptr.To(false)), client.DryRunAll); err != nil {
		t.Errorf("pod with hostUsers false + procMount Unmasked rejected: %v", err)
	}
	err := c.Client.Create(ctx, pod(nil), client.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), "procMount") {
		t.Errorf("pod with procMount Unmasked in the host user namespace: err = %v, want a procMount rejection", err)
	}
}

// A command builds only what its cluster runs: the demo on a real node
// needs no kwok, no cluster needs kubectl.
func TestOptionsBinaries(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts localcluster.Options
		want string
	}{
		{"an API server alone", localcluster.Options{}, "kube-apiserver etcd"},
		{"OpenShift adds its SCC admission", localcluster.Options{OpenShift: true}, "kube-apiserver etcd openshift-admission"},
		{"workloads on simulated nodes", localcluster.Options{OpenShift: true, Workloads: true},
			"kube-apiserver etcd openshift-admission kube-controller-manager kube-scheduler kwok"},
		{"workloads on a real node only: no kwok", localcluster.Options{OpenShift: true, Workloads: true, RealNodeOnly: true},
			"kube-apiserver etcd openshift-admission kube-controller-manager kube-scheduler"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(tc.opts.Binaries(), " "); got != tc.want {
				t.Errorf("Binaries() = %s, want %s", got, tc.want)
			}
		})
	}
}
