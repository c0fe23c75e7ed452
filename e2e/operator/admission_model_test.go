package operator_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

// The operator decides which SCC to pin from its model of OpenShift's SCC
// admission (scc.Refusals). Here the model and the real admission plugin
// judge the same pods under the same SCCs — each release's shapes, admins'
// changes, the operator's own — and must agree on every one.
func TestAdmissionModelAgreesWithOpenShift(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	const ns = "admission-model"
	ensureNamespace(t, ns)
	held := func(file, name string) *securityv1.SecurityContextConstraints {
		s, err := localcluster.ReleaseSCC(file, name, true)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	fixed := held(localcluster.NestedContainer, "nested-container")
	variant := func(f func(*securityv1.SecurityContextConstraints)) *securityv1.SecurityContextConstraints {
		s := fixed.DeepCopy()
		f(s)
		return s
	}
	sccs := []*securityv1.SecurityContextConstraints{
		held(localcluster.NestedContainerAs4200, "nested-container"),
		fixed,
		held(localcluster.RestrictedV3As4200, "restricted-v3"),
		held(localcluster.RestrictedV3, "restricted-v3"),
		scc.NestedPodmanSCC("nested-podman", 1000, []string{"SETUID", "SETGID"}),
		scc.NestedPodmanSCC("nested-podman", 1000, []string{"SETUID", "SETGID", "CHOWN"}),
		variant(func(s *securityv1.SecurityContextConstraints) { s.AllowedCapabilities = []corev1.Capability{"SETUID"} }),
		variant(func(s *securityv1.SecurityContextConstraints) {
			s.AllowedCapabilities = append(s.AllowedCapabilities, "CHOWN")
		}),
		variant(func(s *securityv1.SecurityContextConstraints) {
			s.RunAsUser = securityv1.RunAsUserStrategyOptions{Type: securityv1.RunAsUserStrategyMustRunAs, UID: ptr.To[int64](2000)}
		}),
		variant(func(s *securityv1.SecurityContextConstraints) {
			s.RunAsUser = securityv1.RunAsUserStrategyOptions{Type: securityv1.RunAsUserStrategyMustRunAsNonRoot}
		}),
		variant(func(s *securityv1.SecurityContextConstraints) { s.AllowPrivilegeEscalation = ptr.To(false) }),
		variant(func(s *securityv1.SecurityContextConstraints) { s.ReadOnlyRootFilesystem = true }),
		variant(func(s *securityv1.SecurityContextConstraints) {
			s.Volumes = []securityv1.FSType{securityv1.FSTypeConfigMap, securityv1.FSTypeSecret, securityv1.FSTypeEmptyDir, securityv1.FSProjected}
		}),
		variant(func(s *securityv1.SecurityContextConstraints) { s.SeccompProfiles = []string{"runtime/default"} }),
		variant(func(s *securityv1.SecurityContextConstraints) {
			s.RequiredDropCapabilities = []corev1.Capability{"KILL"}
		}),
	}
	settings := func(uid int64) dwoconfig.WorkspaceSettings {
		return dwoconfig.WorkspaceSettings{RunAsUser: uid, Capabilities: []string{"SETUID", "SETGID"}, Devices: enablerv1alpha1.DefaultDevices()}
	}
	pods := map[string]*corev1.PodSpec{
		"rendered_uid_1000":       dwoconfig.RenderedPod(settings(1000)),
		"rendered_uid_65535":      dwoconfig.RenderedPod(settings(65535)),
		"rendered_with_chown":     dwoconfig.RenderedPod(settings(1000), "CHOWN"),
		"rendered_with_fsgroup_0": withFSGroup(dwoconfig.RenderedPod(settings(1000)), 0),
		"rendered_host_users": func() *corev1.PodSpec {
			p := dwoconfig.RenderedPod(settings(1000))
			p.HostUsers = nil
			return p
		}(),
	}
	for i, s := range sccs {
		s = s.DeepCopy()
		s.ObjectMeta = metav1.ObjectMeta{Name: fmt.Sprintf("model-check-%02d", i)}
		if err := env.cluster.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.cluster.Client.Delete(ctx, s) })
		for name, spec := range pods {
			t.Run(fmt.Sprintf("%s_%s", s.Name, name), func(t *testing.T) {
				model := scc.Refusals(s, spec)
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "model-check-", Namespace: ns,
					Annotations: map[string]string{dwoconfig.RequiredSCCAnnotation: s.Name}}, Spec: *spec.DeepCopy()}
				pod.Spec.Containers[0].Image = "registry.example/udi:latest"
				var err error
				// The SCC just created takes a moment to reach the plugin's cache.
				localcluster.Eventually(t, waitTimeout, "the SCC known to admission", func() error {
					err = env.cluster.Client.Create(ctx, pod.DeepCopy(), client.DryRunAll)
					if err != nil && containsAny(err.Error(), "not found", "does not match the suggested") {
						return err
					}
					return nil
				})
				switch {
				case err == nil && len(model) > 0:
					t.Errorf("OpenShift's SCC admission admits it; the model refuses: %v", model)
				case err != nil && len(model) == 0:
					t.Errorf("the model admits it; OpenShift's SCC admission refuses: %v", err)
				}
			})
		}
	}
}

func withFSGroup(p *corev1.PodSpec, gid int64) *corev1.PodSpec {
	p.SecurityContext.FSGroup = &gid
	return p
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
