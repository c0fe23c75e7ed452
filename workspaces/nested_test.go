package workspaces

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func template(hostUsers *bool, procMount corev1.ProcMountType, caps ...corev1.Capability) corev1.PodTemplateSpec {
	sc := &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: caps, Drop: []corev1.Capability{"ALL"}}}
	if procMount != "" {
		sc.ProcMount = &procMount
	}
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{HostUsers: hostUsers, Containers: []corev1.Container{{Name: "tools", SecurityContext: sc}}}}
}

func TestIsNested(t *testing.T) {
	for _, tc := range []struct {
		name string
		tpl  corev1.PodTemplateSpec
		want bool
	}{
		{"user_namespace_unmasked_proc_and_both_caps_is_nested", template(ptr.To(false), corev1.UnmaskedProcMount, "SETUID", "SETGID"), true},
		{"host_users_unset_is_not_nested", template(nil, corev1.UnmaskedProcMount, "SETUID", "SETGID"), false},
		{"host_users_true_is_not_nested", template(ptr.To(true), corev1.UnmaskedProcMount, "SETUID", "SETGID"), false},
		{"default_proc_mount_is_not_nested", template(ptr.To(false), corev1.DefaultProcMount, "SETUID", "SETGID"), false},
		{"missing_setgid_is_not_nested", template(ptr.To(false), corev1.UnmaskedProcMount, "SETUID"), false},
		{"no_containers_is_not_nested", corev1.PodTemplateSpec{Spec: corev1.PodSpec{HostUsers: ptr.To(false)}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsNested(&tc.tpl); got != tc.want {
				t.Errorf("IsNested = %t, want %t", got, tc.want)
			}
		})
	}
}
