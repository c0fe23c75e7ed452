package scc_test

import (
	"strings"
	"testing"

	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

// releaseSCC is an SCC as a release's cluster holds it (the API drops
// keys that are not fields).
func releaseSCC(t *testing.T, file, name string) *securityv1.SecurityContextConstraints {
	t.Helper()
	s, err := localcluster.ReleaseSCC(file, name, true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func workspacePod(runAsUser int64, extra ...string) *corev1.PodSpec {
	return dwoconfig.RenderedPod(dwoconfig.WorkspaceSettings{SCCName: "x", RunAsUser: runAsUser,
		Capabilities: []string{"SETUID", "SETGID"}, Devices: enablerv1alpha1.DefaultDevices()}, extra...)
}

// The SCC shapes each release shipped (and admins' changes), judged on the
// pod the DevWorkspace Operator renders from the operator's settings: the
// field that refuses it, or none.
func TestRefusals(t *testing.T) {
	changed := func(s *securityv1.SecurityContextConstraints, f func(*securityv1.SecurityContextConstraints)) *securityv1.SecurityContextConstraints {
		s = s.DeepCopy()
		f(s)
		return s
	}
	fixed := releaseSCC(t, localcluster.NestedContainer, "nested-container")
	for _, tc := range []struct {
		name      string
		scc       *securityv1.SecurityContextConstraints
		pod       *corev1.PodSpec
		wantField string // "" admits
		wantText  string
	}{
		{"nested_container_as_4_20_0_shipped_refuses_uid_1000", releaseSCC(t, localcluster.NestedContainerAs4200, "nested-container"), workspacePod(1000),
			"runAsUser", "namespace's pre-allocated range"},
		{"nested_container_as_4_20_0_shipped_refuses_any_uid_in_the_user_namespace", releaseSCC(t, localcluster.NestedContainerAs4200, "nested-container"), workspacePod(65535),
			"runAsUser", "never contains"},
		{"nested_container_fixed_admits_uid_1000", fixed, workspacePod(1000), "", ""},
		{"nested_container_fixed_admits_uid_65534", fixed, workspacePod(65534), "", ""},
		{"nested_container_refuses_uid_65535_outside_its_range", fixed, workspacePod(65535), "runAsUser", "0-65534"},
		{"nested_container_refuses_dev_spaces_chown", fixed, workspacePod(1000, "CHOWN"), "allowedCapabilities", "CHOWN"},
		{"ours_admits_the_workspace", scc.NestedPodmanSCC("nested-podman", 1000, []string{"SETUID", "SETGID"}), workspacePod(1000), "", ""},
		{"ours_with_chown_admits_dev_spaces", scc.NestedPodmanSCC("nested-podman", 1000, []string{"SETUID", "SETGID", "CHOWN"}), workspacePod(1000, "CHOWN"), "", ""},
		{"ours_pins_its_uid", scc.NestedPodmanSCC("nested-podman", 1000, nil), workspacePod(2000), "runAsUser", "MustRunAs 1000"},
		{"restricted_v3_refuses_escalation_and_setuid", releaseSCC(t, localcluster.RestrictedV3, "restricted-v3"), workspacePod(1000),
			"allowedCapabilities", "SETUID"},
		{"admin_removed_setgid", changed(fixed, func(s *securityv1.SecurityContextConstraints) { s.AllowedCapabilities = []corev1.Capability{"SETUID"} }),
			workspacePod(1000), "allowedCapabilities", "adds SETGID"},
		{"admin_allowed_chown_admits_dev_spaces", changed(fixed, func(s *securityv1.SecurityContextConstraints) {
			s.AllowedCapabilities = append(s.AllowedCapabilities, "CHOWN")
		}), workspacePod(1000, "CHOWN"), "", ""},
		{"admin_pinned_another_uid", changed(fixed, func(s *securityv1.SecurityContextConstraints) {
			s.RunAsUser = securityv1.RunAsUserStrategyOptions{Type: securityv1.RunAsUserStrategyMustRunAs, UID: ptr.To[int64](2000)}
		}), workspacePod(1000), "runAsUser", "MustRunAs 2000"},
		{"admin_forbade_escalation", changed(fixed, func(s *securityv1.SecurityContextConstraints) { s.AllowPrivilegeEscalation = ptr.To(false) }),
			workspacePod(1000), "allowPrivilegeEscalation", "newuidmap"},
		{"admin_dropped_pvcs", changed(fixed, func(s *securityv1.SecurityContextConstraints) {
			s.Volumes = []securityv1.FSType{securityv1.FSTypeConfigMap, securityv1.FSTypeSecret, securityv1.FSTypeEmptyDir}
		}), workspacePod(1000), "volumes", "persistentVolumeClaim"},
		{"a_required_drop_is_added_not_refused", changed(fixed, func(s *securityv1.SecurityContextConstraints) {
			s.RequiredDropCapabilities = []corev1.Capability{"KILL"}
		}), workspacePod(1000), "", ""},
		{"a_read_only_root_is_refused", changed(fixed, func(s *securityv1.SecurityContextConstraints) { s.ReadOnlyRootFilesystem = true }),
			workspacePod(1000), "readOnlyRootFilesystem", "writable"},
		{"a_pod_sharing_the_host_user_namespace_is_refused", fixed, func() *corev1.PodSpec {
			p := workspacePod(1000)
			p.HostUsers = nil
			return p
		}(), "userNamespaceLevel", "hostUsers: false"},
		{"an_explicit_fsgroup_outside_the_range", changed(fixed, func(s *securityv1.SecurityContextConstraints) {
			s.FSGroup.Ranges = []securityv1.IDRange{{Min: 1000, Max: 2000}}
		}), func() *corev1.PodSpec {
			p := workspacePod(1000)
			p.SecurityContext.FSGroup = ptr.To[int64](0)
			return p
		}(), "fsGroup", "0 is outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := scc.Refusals(tc.scc, tc.pod)
			if tc.wantField == "" {
				if len(rs) > 0 {
					t.Fatalf("refused: %v", rs)
				}
				return
			}
			for _, r := range rs {
				if r.Field == tc.wantField && strings.Contains(r.Reason, tc.wantText) {
					return
				}
			}
			t.Errorf("refusals %v lack %s mentioning %q", rs, tc.wantField, tc.wantText)
		})
	}
}

// Less safe than ours: never pinned, whoever made it so. OpenShift's own
// nested-container, as every release shipped it, is not.
func TestLessSafeThanOurs(t *testing.T) {
	fixed := releaseSCC(t, localcluster.NestedContainer, "nested-container")
	changed := func(f func(*securityv1.SecurityContextConstraints)) *securityv1.SecurityContextConstraints {
		s := fixed.DeepCopy()
		f(s)
		return s
	}
	for _, tc := range []struct {
		name string
		scc  *securityv1.SecurityContextConstraints
		want string // "" is as safe
	}{
		{"ours", scc.NestedPodmanSCC("nested-podman", 1000, []string{"SETUID", "SETGID", "CHOWN"}), ""},
		{"nested_container_fixed", fixed, ""},
		{"nested_container_as_4_20_0_shipped", releaseSCC(t, localcluster.NestedContainerAs4200, "nested-container"), ""},
		{"selinux_run_as_any", changed(func(s *securityv1.SecurityContextConstraints) {
			s.SELinuxContext = securityv1.SELinuxContextStrategyOptions{Type: securityv1.SELinuxStrategyRunAsAny}
		}), "any SELinux label"},
		{"selinux_spc_t", changed(func(s *securityv1.SecurityContextConstraints) { s.SELinuxContext.SELinuxOptions.Type = "spc_t" }), "spc_t"},
		{"privileged", changed(func(s *securityv1.SecurityContextConstraints) { s.AllowPrivilegedContainer = true }), "allowPrivilegedContainer"},
		{"host_network", changed(func(s *securityv1.SecurityContextConstraints) { s.AllowHostNetwork = true }), "allowHostNetwork"},
		{"host_paths", changed(func(s *securityv1.SecurityContextConstraints) { s.AllowHostDirVolumePlugin = true }), "allowHostDirVolumePlugin"},
		{"host_user_namespace", changed(func(s *securityv1.SecurityContextConstraints) {
			s.UserNamespaceLevel = securityv1.NamespaceLevelAllowHost
		}), "RequirePodLevel"},
		{"userns_pruned_by_the_schema", changed(func(s *securityv1.SecurityContextConstraints) { s.UserNamespaceLevel = "" }), "RequirePodLevel"},
		{"sys_admin", changed(func(s *securityv1.SecurityContextConstraints) {
			s.AllowedCapabilities = append(s.AllowedCapabilities, "SYS_ADMIN")
		}), "SYS_ADMIN"},
		{"every_capability", changed(func(s *securityv1.SecurityContextConstraints) { s.AllowedCapabilities = []corev1.Capability{"*"} }), "*"},
		{"default_added", changed(func(s *securityv1.SecurityContextConstraints) {
			s.DefaultAddCapabilities = []corev1.Capability{"SETUID"}
		}), "defaultAddCapabilities"},
		{"unsafe_sysctls", changed(func(s *securityv1.SecurityContextConstraints) { s.AllowedUnsafeSysctls = []string{"kernel.*"} }), "allowedUnsafeSysctls"},
		{"every_volume_type", changed(func(s *securityv1.SecurityContextConstraints) { s.Volumes = []securityv1.FSType{securityv1.FSTypeAll} }), "every type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(scc.LessSafeThanOurs(tc.scc), "; ")
			switch {
			case tc.want == "" && got != "":
				t.Errorf("less safe: %s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("LessSafeThanOurs = %q, want it to mention %q", got, tc.want)
			}
		})
	}
}
