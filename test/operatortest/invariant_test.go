package operatortest

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestGrantsCapabilitiesOutsideUserNamespace(t *testing.T) {
	spec := func(hostUsers *bool, caps ...corev1.Capability) *corev1.PodSpec {
		return &corev1.PodSpec{HostUsers: hostUsers, Containers: []corev1.Container{{Name: "tools",
			SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: caps}}}}}
	}
	for _, tc := range []struct {
		name string
		spec *corev1.PodSpec
		want bool
	}{
		{"caps_in_pod_user_namespace_are_fine", spec(ptr.To(false), "SETUID", "SETGID"), false},
		{"setuid_in_host_user_namespace_breaks_it", spec(nil, "SETUID"), true},
		{"cap_prefixed_setgid_with_host_users_true_breaks_it", spec(ptr.To(true), "CAP_SETGID"), true},
		{"other_caps_in_host_user_namespace_are_not_ours", spec(nil, "NET_BIND_SERVICE"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := GrantsCapabilitiesOutsideUserNamespace(tc.spec); got != tc.want {
				t.Errorf("got %t, want %t", got, tc.want)
			}
		})
	}
}
