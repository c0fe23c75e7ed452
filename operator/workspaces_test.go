package operator

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
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

func TestGrantsCapabilitiesOutsideUserNamespace(t *testing.T) {
	for _, tc := range []struct {
		name string
		tpl  corev1.PodTemplateSpec
		want bool
	}{
		{"caps_in_pod_user_namespace_are_fine", template(ptr.To(false), corev1.UnmaskedProcMount, "SETUID", "SETGID"), false},
		{"setuid_in_host_user_namespace_breaks_it", template(nil, "", "SETUID"), true},
		{"cap_prefixed_setgid_with_host_users_true_breaks_it", template(ptr.To(true), "", "CAP_SETGID"), true},
		{"other_caps_in_host_user_namespace_are_not_ours", template(nil, "", "NET_BIND_SERVICE"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := GrantsCapabilitiesOutsideUserNamespace(&tc.tpl.Spec); got != tc.want {
				t.Errorf("got %t, want %t", got, tc.want)
			}
		})
	}
}

func TestCountWorkspaces(t *testing.T) {
	nested := appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: template(ptr.To(false), corev1.UnmaskedProcMount, "SETUID", "SETGID")}}
	plain := appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: template(nil, "")}}
	stopped := appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](0), Template: template(nil, "")}}
	deps := []appsv1.Deployment{nested, plain, stopped}
	for _, tc := range []struct {
		name   string
		wanted bool
		want   WorkspaceCounts
	}{
		{"enabled_running_plain_workspace_needs_restart", true, WorkspaceCounts{Total: 3, Nested: 1, PendingRestart: 1}},
		{"disabled_running_nested_workspace_needs_restart", false, WorkspaceCounts{Total: 3, Nested: 1, PendingRestart: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CountWorkspaces(deps, tc.wanted); got != tc.want {
				t.Errorf("CountWorkspaces = %+v, want %+v", got, tc.want)
			}
		})
	}
}
