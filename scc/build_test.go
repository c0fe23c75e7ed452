package scc

import (
	"fmt"
	"slices"
	"testing"

	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// designSCC is the SCC the design specifies (docs/admin.md, "What the
// operator writes") written out as a manifest, kept
// apart from the builder so that a change to either shows up here.
const designSCC = `
apiVersion: security.openshift.io/v1
kind: SecurityContextConstraints
metadata:
  name: nested-podman
  labels: {app.kubernetes.io/managed-by: nested-workspaces-enabler}
priority: null
allowPrivilegedContainer: false
allowPrivilegeEscalation: true
allowedCapabilities: [SETUID, SETGID]
defaultAddCapabilities: null
requiredDropCapabilities: null
allowHostDirVolumePlugin: false
allowHostIPC: false
allowHostNetwork: false
allowHostPID: false
allowHostPorts: false
readOnlyRootFilesystem: false
runAsUser: {type: MustRunAs, uid: 1000}
fsGroup: {type: MustRunAs, ranges: [{min: 1000, max: 65534}]}
supplementalGroups: {type: MustRunAs, ranges: [{min: 1000, max: 65534}]}
seLinuxContext: {type: MustRunAs, seLinuxOptions: {type: container_engine_t}}
userNamespaceLevel: RequirePodLevel
volumes: [configMap, downwardAPI, emptyDir, persistentVolumeClaim, projected, secret]
users: []
groups: []
`

func TestNestedPodmanSCCMatchesTheDesign(t *testing.T) {
	want := &securityv1.SecurityContextConstraints{}
	if err := yaml.UnmarshalStrict([]byte(designSCC), want); err != nil {
		t.Fatal(err)
	}
	got := NestedPodmanSCC("nested-podman", 1000, []string{"SETUID", "SETGID"})
	// The description annotation is for humans; everything else is policy.
	if got.Annotations[descriptionAnnotation] == "" {
		t.Errorf("no %s annotation", descriptionAnnotation)
	}
	got.Annotations = nil
	if !equality.Semantic.DeepEqual(got, want) {
		gotYAML, _ := yaml.Marshal(got)
		wantYAML, _ := yaml.Marshal(want)
		t.Errorf("builder output differs from the designed SCC:\n--- got\n%s\n--- want\n%s", gotYAML, wantYAML)
	}

	// The same, field by field, so a failure names the field.
	s := NestedPodmanSCC("nested-podman", 1000, nil)
	fields := []struct {
		field     string
		got, want any
	}{
		{"metadata.name", s.Name, "nested-podman"},
		{"metadata.labels", s.Labels, map[string]string{"app.kubernetes.io/managed-by": "nested-workspaces-enabler"}},
		{"priority", s.Priority, (*int32)(nil)},
		{"allowPrivilegedContainer", s.AllowPrivilegedContainer, false},
		{"allowPrivilegeEscalation", s.AllowPrivilegeEscalation, ptr.To(true)},
		{"defaultAllowPrivilegeEscalation", s.DefaultAllowPrivilegeEscalation, (*bool)(nil)},
		{"allowedCapabilities", s.AllowedCapabilities, []corev1.Capability{"SETUID", "SETGID"}},
		{"defaultAddCapabilities", s.DefaultAddCapabilities, []corev1.Capability(nil)},
		{"requiredDropCapabilities", s.RequiredDropCapabilities, []corev1.Capability(nil)},
		{"allowHostDirVolumePlugin", s.AllowHostDirVolumePlugin, false},
		{"allowHostIPC", s.AllowHostIPC, false},
		{"allowHostNetwork", s.AllowHostNetwork, false},
		{"allowHostPID", s.AllowHostPID, false},
		{"allowHostPorts", s.AllowHostPorts, false},
		{"allowedFlexVolumes", s.AllowedFlexVolumes, []securityv1.AllowedFlexVolume(nil)},
		{"readOnlyRootFilesystem", s.ReadOnlyRootFilesystem, false},
		{"runAsUser", s.RunAsUser, securityv1.RunAsUserStrategyOptions{Type: securityv1.RunAsUserStrategyMustRunAs, UID: ptr.To[int64](1000)}},
		{"fsGroup", s.FSGroup, securityv1.FSGroupStrategyOptions{Type: securityv1.FSGroupStrategyMustRunAs, Ranges: []securityv1.IDRange{{Min: 1000, Max: 65534}}}},
		{"supplementalGroups", s.SupplementalGroups, securityv1.SupplementalGroupsStrategyOptions{Type: securityv1.SupplementalGroupsStrategyMustRunAs, Ranges: []securityv1.IDRange{{Min: 1000, Max: 65534}}}},
		{"seLinuxContext", s.SELinuxContext, securityv1.SELinuxContextStrategyOptions{Type: securityv1.SELinuxStrategyMustRunAs, SELinuxOptions: &corev1.SELinuxOptions{Type: "container_engine_t"}}},
		{"userNamespaceLevel", s.UserNamespaceLevel, securityv1.NamespaceLevelRequirePod},
		{"volumes", s.Volumes, []securityv1.FSType{"configMap", "downwardAPI", "emptyDir", "persistentVolumeClaim", "projected", "secret"}},
		{"seccompProfiles", s.SeccompProfiles, []string(nil)},
		{"allowedUnsafeSysctls", s.AllowedUnsafeSysctls, []string(nil)},
		{"forbiddenSysctls", s.ForbiddenSysctls, []string(nil)},
		{"users", s.Users, []string{}},
		{"groups", s.Groups, []string{}},
	}
	for _, f := range fields {
		t.Run(f.field, func(t *testing.T) {
			if !equality.Semantic.DeepEqual(f.got, f.want) {
				t.Errorf("%s = %#v, want %#v", f.field, f.got, f.want)
			}
		})
	}
}

func TestNestedPodmanSCCInputs(t *testing.T) {
	tests := []struct {
		name      string
		runAsUser int64
		caps      []string
		wantUID   int64
		wantCaps  []corev1.Capability
	}{
		{"chown_is_allowed_when_asked", 1000, []string{"SETUID", "SETGID", "CHOWN"}, 1000, []corev1.Capability{"SETUID", "SETGID", "CHOWN"}},
		{"any_spelling_is_normalized", 1000, []string{"cap_setgid", "Setuid", "CAP_SETUID"}, 1000, []corev1.Capability{"SETUID", "SETGID"}},
		{"no_capabilities_means_setuid_setgid", 1000, nil, 1000, []corev1.Capability{"SETUID", "SETGID"}},
		{"only_what_is_asked_is_allowed", 1000, []string{"SETUID"}, 1000, []corev1.Capability{"SETUID"}},
		{"capabilities_outside_the_allow_list_are_never_allowed", 1000, []string{"SETUID", "SETGID", "NET_ADMIN", "SYS_ADMIN", "ALL", "*"}, 1000, []corev1.Capability{"SETUID", "SETGID"}},
		{"runasuser_is_the_pinned_uid", 2000, nil, 2000, []corev1.Capability{"SETUID", "SETGID"}},
		{"runasuser_65535_is_kept", 65535, nil, 65535, []corev1.Capability{"SETUID", "SETGID"}},
		{"runasuser_0_means_the_default", 0, nil, 1000, []corev1.Capability{"SETUID", "SETGID"}},
		{"runasuser_above_the_user_namespace_means_the_default", 70000, nil, 1000, []corev1.Capability{"SETUID", "SETGID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NestedPodmanSCC("x", tt.runAsUser, tt.caps)
			if s.RunAsUser.UID == nil || *s.RunAsUser.UID != tt.wantUID {
				t.Errorf("runAsUser.uid = %v, want %d", s.RunAsUser.UID, tt.wantUID)
			}
			if !slices.Equal(s.AllowedCapabilities, tt.wantCaps) {
				t.Errorf("allowedCapabilities = %q, want %q", s.AllowedCapabilities, tt.wantCaps)
			}
		})
	}
}

// The invariant, for every input the builder can be given: an SCC from us
// is never less safe than the operator's rules (no SETUID/SETGID into a pod
// without its own user namespace, no capability outside the allow-list,
// no host access), and pins a UID inside the user namespace.
func TestBuilderNeverGrantsCapabilitiesWithoutUserNamespace(t *testing.T) {
	capSets := [][]string{nil, {}, {"SETUID"}, {"SETGID"}, {"CHOWN"}, {"SETUID", "SETGID", "CHOWN"},
		{"cap_setuid", "CAP_SETGID"}, {"SYS_ADMIN", "NET_ADMIN"}, {"*"}, {"ALL"}, {""}}
	for _, uid := range []int64{-1, 0, 1, 1000, 65535, 65536, 1 << 40} {
		for _, caps := range capSets {
			t.Run(fmt.Sprintf("uid_%d_caps_%q", uid, caps), func(t *testing.T) {
				checkInvariant(t, NestedPodmanSCC("nested-podman", uid, caps))
			})
		}
	}
}

func FuzzNestedPodmanSCC(f *testing.F) {
	f.Add("nested-podman", int64(1000), "SETUID", "SETGID")
	f.Add("x", int64(0), "cap_chown", "*")
	f.Add("", int64(-5), "ALL", "")
	f.Fuzz(func(t *testing.T, name string, uid int64, c1, c2 string) {
		checkInvariant(t, NestedPodmanSCC(name, uid, []string{c1, c2}))
	})
}

func checkInvariant(t *testing.T, s *securityv1.SecurityContextConstraints) {
	t.Helper()
	if unsafe := LessSafeThanOurs(s); len(unsafe) > 0 {
		t.Errorf("the builder made an SCC less safe than the operator's rules: %v", unsafe)
	}
	if s.AllowPrivilegedContainer || s.AllowHostNetwork || s.AllowHostPID || s.AllowHostIPC || s.AllowHostPorts || s.AllowHostDirVolumePlugin {
		t.Errorf("SCC allows privileged containers or host access: %+v", s)
	}
	if len(s.AllowedCapabilities) == 0 {
		t.Errorf("SCC allows no capabilities; nested podman needs SETUID/SETGID")
	}
	for _, c := range s.AllowedCapabilities {
		if c != "SETUID" && c != "SETGID" && c != "CHOWN" {
			t.Errorf("SCC allows %q, outside the allow-list", c)
		}
	}
	if uid := s.RunAsUser.UID; s.RunAsUser.Type != securityv1.RunAsUserStrategyMustRunAs || uid == nil || *uid < 1 || *uid > 65535 {
		t.Errorf("runAsUser %+v is not pinned to a UID in 1..65535", s.RunAsUser)
	}
}
