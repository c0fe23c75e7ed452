package localcluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	securityv1 "github.com/openshift/api/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/test/localcluster"
)

// The simulated OpenShift judges pods with OpenShift's own SCC admission
// and runs them: these are the facts of a real 4.20 cluster the product's
// proofs stand on.
func TestOpenShiftAdmitsAndRunsPodsAsOpenShiftDoes(t *testing.T) {
	ctx := context.Background()
	c := localcluster.StartForTest(t, localcluster.Options{OpenShift: true, Workloads: true})
	if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
		t.Fatal(err)
	}
	ns := createNamespace(t, c, "team-a")
	uidStart, mcs := namespaceAllocation(t, c, ns)

	tests := []struct {
		name      string
		shape     func(*corev1.PodSpec, *metav1.ObjectMeta)
		wantSCC   string
		wantUID   int64
		wantLevel string
		wantType  string
	}{
		{name: "plain pod gets restricted-v2 and the namespace's first UID",
			shape: func(*corev1.PodSpec, *metav1.ObjectMeta) {}, wantSCC: "restricted-v2", wantUID: uidStart, wantLevel: mcs},
		// restricted-v2 and -v3 are equally restrictive by OpenShift's
		// measure, so the name decides: without a pin even a pod in its own
		// user namespace gets restricted-v2 and a UID outside that namespace.
		{name: "unpinned pod in its own user namespace still gets restricted-v2",
			shape:   func(s *corev1.PodSpec, _ *metav1.ObjectMeta) { s.HostUsers = ptr.To(false) },
			wantSCC: "restricted-v2", wantUID: uidStart, wantLevel: mcs},
		{name: "pod pinned to restricted-v3 gets UID 1000",
			shape: func(s *corev1.PodSpec, m *metav1.ObjectMeta) {
				s.HostUsers = ptr.To(false)
				m.Annotations = map[string]string{securityv1.RequiredSCCAnnotation: "restricted-v3"}
			},
			wantSCC: "restricted-v3", wantUID: 1000, wantLevel: mcs},
		{name: "nested-container defaults an unset UID to 0",
			shape: func(s *corev1.PodSpec, m *metav1.ObjectMeta) {
				s.HostUsers = ptr.To(false)
				m.Annotations = map[string]string{securityv1.RequiredSCCAnnotation: "nested-container"}
				s.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SETUID", "SETGID"}}}
			},
			wantSCC: "nested-container", wantUID: 0, wantLevel: mcs, wantType: "container_engine_t"},
	}
	grantUse(t, c, ns, "nested-container", "builder")

	t.Run("the node refuses UID 0 where the pod must run as non-root", func(t *testing.T) {
		d := deployment(ns, "root-refused", "builder")
		d.Spec.Template.Annotations = map[string]string{securityv1.RequiredSCCAnnotation: "nested-container"}
		d.Spec.Template.Spec.HostUsers = ptr.To(false)
		d.Spec.Template.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)}
		if err := c.Client.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
		localcluster.Eventually(t, 60*time.Second, "the pod is refused by the node", func() error {
			pods := &corev1.PodList{}
			if err := c.Client.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"app": "root-refused"}); err != nil {
				return err
			}
			for _, p := range pods.Items {
				for _, cs := range p.Status.ContainerStatuses {
					if w := cs.State.Waiting; w != nil && w.Reason == "CreateContainerConfigError" && p.Status.Phase == corev1.PodPending {
						return nil
					}
				}
			}
			return fmt.Errorf("no pod refused among %d: %s", len(pods.Items), c.EventsFor(ctx, ns))
		})
	})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("app-%d", i)
			d := deployment(ns, name, "builder")
			tc.shape(&d.Spec.Template.Spec, &d.Spec.Template.ObjectMeta)
			if err := c.Client.Create(ctx, d); err != nil {
				t.Fatal(err)
			}
			pod := runningPod(t, c, ns, name)
			if got := pod.Annotations[securityv1.ValidatedSCCAnnotation]; got != tc.wantSCC {
				t.Errorf("admitted under SCC %q, want %q", got, tc.wantSCC)
			}
			sc := pod.Spec.Containers[0].SecurityContext
			if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != tc.wantUID {
				t.Errorf("container runAsUser = %v, want %d", sc, tc.wantUID)
			}
			se := pod.Spec.SecurityContext.SELinuxOptions
			if se == nil || se.Level != tc.wantLevel || se.Type != tc.wantType {
				t.Errorf("SELinux options %+v, want level %q type %q", se, tc.wantLevel, tc.wantType)
			}
		})
	}

	t.Run("SETUID without use of an SCC that allows it is rejected by SCC admission", func(t *testing.T) {
		// A namespace admin, not the cluster admin (system:masters may use
		// the privileged SCC).
		tenant := tenantClient(t, c, ns)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "wants-setuid", Namespace: ns}, Spec: corev1.PodSpec{
			HostUsers: ptr.To(false),
			Containers: []corev1.Container{{Name: "c", Image: "busybox", SecurityContext: &corev1.SecurityContext{
				Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SETUID"}}}}},
		}}
		err := tenant.Create(ctx, pod)
		if err == nil || !strings.Contains(err.Error(), "unable to validate against any security context constraint") ||
			!strings.Contains(err.Error(), `provider "nested-container": Forbidden: not usable by user or serviceaccount`) {
			t.Fatalf("err = %v, want SCC admission's refusal naming nested-container as not usable", err)
		}
	})
}

// tenantClient acts as a user who is admin of namespace ns only.
func tenantClient(t *testing.T, c *localcluster.Cluster, ns string) client.Client {
	t.Helper()
	cfg, err := c.AddUser("alice", "system:authenticated")
	if err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-admin", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}}
	if err := c.Client.Create(context.Background(), rb); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: c.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func createNamespace(t *testing.T, c *localcluster.Cluster, name string) string {
	t.Helper()
	if err := c.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	return name
}

// namespaceAllocation waits for OpenShift's UID range and MCS annotations.
func namespaceAllocation(t *testing.T, c *localcluster.Cluster, name string) (int64, string) {
	t.Helper()
	var uid int64
	var mcs string
	localcluster.Eventually(t, 30*time.Second, "namespace "+name+" has its SCC annotations", func() error {
		ns := &corev1.Namespace{}
		if err := c.Client.Get(context.Background(), client.ObjectKey{Name: name}, ns); err != nil {
			return err
		}
		var size int64
		if _, err := fmt.Sscanf(ns.Annotations[securityv1.UIDRangeAnnotation], "%d/%d", &uid, &size); err != nil || size != 10000 || uid < 1000000000 {
			return fmt.Errorf("uid-range %q", ns.Annotations[securityv1.UIDRangeAnnotation])
		}
		mcs = ns.Annotations[securityv1.MCSAnnotation]
		if !strings.HasPrefix(mcs, "s0:c") {
			return fmt.Errorf("mcs %q", mcs)
		}
		return nil
	})
	return uid, mcs
}

// grantUse lets a new service account use an SCC, as an admin would.
func grantUse(t *testing.T, c *localcluster.Cluster, ns, scc, sa string) {
	t.Helper()
	ctx := context.Background()
	objs := []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: sa + "-" + scc, Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:openshift:scc:" + scc},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}}},
	}
	for _, o := range objs {
		if err := c.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
}

func deployment(ns, name, sa string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{ServiceAccountName: sa,
					Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1"}}},
			},
		},
	}
}

// runningPod waits for the Deployment's pod to be Running and returns it.
func runningPod(t *testing.T, c *localcluster.Cluster, ns, app string) *corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	localcluster.Eventually(t, 60*time.Second, "a Running pod of "+app, func() error {
		pods := &corev1.PodList{}
		if err := c.Client.List(context.Background(), pods, client.InNamespace(ns), client.MatchingLabels{"app": app}); err != nil {
			return err
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				pod = p
				return nil
			}
		}
		return fmt.Errorf("%d pods, none Running; events: %s", len(pods.Items), c.EventsFor(context.Background(), ns))
	})
	return &pod
}
