package grants

import (
	securityv1 "github.com/openshift/api/security/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/scc"
)

// UseClusterRoleName names the ClusterRole that grants use of sccName; the
// RoleBinding of it in each workspace namespace has the same name. Each
// SCC has its own, so that while workspaces move from one SCC to another
// both stay usable until no workspace is pinned to the old one.
func UseClusterRoleName(sccName string) string { return "nested-workspaces-use-scc-" + sccName }

// legacyNames are the names earlier versions gave their bindings (one for
// every SCC, and the DevWorkspace controller's ClusterRoleBindings): ours
// to delete, never written again.
func legacyRoleBindingNames() []string { return []string{"nested-workspaces-use-scc"} }

func legacyClusterRoleBindingNames() []string {
	names := []string{"nested-workspaces-dwo-use-scc"}
	for _, s := range scc.PinnableNames() {
		names = append(names, "nested-workspaces-dwo-use-scc-"+s)
	}
	return names
}

// OurClusterRoleNames are the ClusterRoles the operator writes, one per SCC
// it may pin.
func OurClusterRoleNames() []string {
	var names []string
	for _, s := range scc.PinnableNames() {
		names = append(names, UseClusterRoleName(s))
	}
	return names
}

// OurRoleBindingNames are the RoleBindings the operator writes and those
// earlier versions wrote.
func OurRoleBindingNames() []string {
	return append(OurClusterRoleNames(), legacyRoleBindingNames()...)
}

// UseClusterRole allows "use" of the one SCC sccName and nothing else. It
// grants nothing by itself: UseRoleBinding binds it in one namespace.
func UseClusterRole(sccName string) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: UseClusterRoleName(sccName), Labels: owned.Labels()},
		Rules: []rbacv1.PolicyRule{{
			APIGroups:     []string{securityv1.GroupName},
			Resources:     []string{"securitycontextconstraints"},
			Verbs:         []string{"use"},
			ResourceNames: []string{sccName},
		}},
	}
}

// UseRoleBinding binds the use ClusterRole of sccName to subjects within
// namespace only: a workspace service account may then use the SCC for pods
// in its own namespace and nowhere else.
func UseRoleBinding(namespace, sccName string, subjects []rbacv1.Subject) *rbacv1.RoleBinding {
	name := UseClusterRoleName(sccName)
	return &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: owned.Labels()},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   subjects,
	}
}
