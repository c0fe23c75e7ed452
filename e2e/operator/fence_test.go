package operator_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/operatortest"
)

// The fence (manifests/policy/fence.yaml) is what stands between a stolen
// token of the operator's service account and the cluster: RBAC cannot
// limit create by name, nor what a written object holds. Tried here on the
// API server as that service account in its default namespace and as the
// same-named account in openshift-operators (an OperatorHub install), each
// refused write with a dry run, each refusal checked to be the fence's.
const (
	// An OperatorHub install (AllNamespaces) runs the operator there.
	olmNamespace = "openshift-operators"
	// Names the fence spells out, spelled out here too: a renamed constant
	// in the code must not quietly move what the test holds the fence to.
	managedByLabel        = "app.kubernetes.io/managed-by"
	managedByValue        = "nested-workspaces-enabler"
	fieldManager          = "nested-workspaces-enabler"
	useNamePodman         = "nested-workspaces-use-scc-nested-podman"
	useNameContainer      = "nested-workspaces-use-scc-nested-container"
	globalDWOCName        = "devworkspace-operator-config"
	devicesAnnotation     = "io.kubernetes.cri-o.Devices"
	requiredSCCAnnotation = "openshift.io/required-scc"
	// The workspace whose grant the operator maintains during the test.
	fenceWorkspaceNS = "fence-ws"
	// A tenant's namespace: objects of others the operator must not touch.
	fenceTenantNS = "fence-tenant"
)

// fenceActor is the operator's service account in one namespace.
type fenceActor struct {
	namespace string
	c         client.Client
}

// fenceRow is one write, tried as each actor. fence names the policy
// (nested-workspaces-enabler-<fence>-fence) that must refuse it, with a
// message containing want; "" means the write is one the operator makes
// and must be admitted (a create may then meet AlreadyExists: admission
// comes first).
type fenceRow struct {
	name  string
	fence string
	want  string
	write func(ctx context.Context, a fenceActor) error
}

func TestFence(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	actors := fenceSetup(t)
	for _, group := range []struct {
		name string
		rows []fenceRow
	}{
		{"scc", sccFenceRows()},
		{"rbac", rbacFenceRows()},
		{"dwoc", dwocFenceRows()},
		{"nestedcontainers_and_events", selfFenceRows()},
	} {
		t.Run(group.name, func(t *testing.T) {
			for _, row := range group.rows {
				t.Run(row.name, func(t *testing.T) {
					for _, a := range actors {
						t.Run(a.namespace, func(t *testing.T) {
							checkFenceRow(t, row, row.write(ctx, a))
						})
					}
				})
			}
		})
	}
}

func checkFenceRow(t *testing.T, row fenceRow, err error) {
	t.Helper()
	if row.fence == "" {
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Errorf("refused: %v", err)
		}
		return
	}
	policy := fmt.Sprintf("ValidatingAdmissionPolicy 'nested-workspaces-enabler-%s-fence'", row.fence)
	t.Log(err)
	switch {
	case err == nil || apierrors.IsAlreadyExists(err):
		t.Errorf("admitted (%v); want %s to refuse it (%q)", err, policy, row.want)
	case !strings.Contains(err.Error(), policy) || !strings.Contains(err.Error(), row.want):
		t.Errorf("err = %v\nwant a refusal by %s mentioning %q", err, policy, row.want)
	}
}

// fenceSetup gives the operator's ClusterRole to the same-named service
// account in openshift-operators, and both accounts RBAC wider than shipped
// (so that the fence alone refuses what the rows try); turns the toggle on
// with the operator's own SCC and starts a workspace, so that the objects
// the operator writes exist; creates the tenant's objects; and waits until
// every policy of the fence is in force for both accounts.
func fenceSetup(t *testing.T) []fenceActor {
	t.Helper()
	ctx := context.Background()
	admin := env.cluster.Client
	// Put back first, the fixtures gone (cleanups run last first).
	t.Cleanup(toggleOnWithOwnSCC(t))
	saSubject := func(ns string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: operatorSA}
	}
	// The rows try writes the shipped RBAC already refuses (a Role, an
	// aggregated ClusterRole, relabelling an admin's SCC): RBAC wider than
	// shipped lets them reach the fence, which must refuse them regardless.
	wider := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "fence-test-wider-than-shipped"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{rbacv1.GroupName}, Resources: []string{"clusterroles", "clusterrolebindings", "roles", "rolebindings"},
			Verbs: []string{"create", "update", "patch", "delete", "bind", "escalate"}},
		{APIGroups: []string{securityv1.GroupName}, Resources: []string{"securitycontextconstraints"}, Verbs: []string{"update", "patch", "delete"}},
		{APIGroups: []string{detect.DWOConfigGVK.Group}, Resources: []string{"devworkspaceoperatorconfigs"}, Verbs: []string{"update", "patch", "delete"}},
		{APIGroups: []string{enablerv1alpha1.GroupVersion.Group}, Resources: []string{"nestedcontainers"}, Verbs: []string{"create", "delete"}},
	}}
	fixtures := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: olmNamespace}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fenceTenantNS}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "fence-test-operator-in-" + olmNamespace},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "nested-workspaces-enabler"},
			Subjects: []rbacv1.Subject{saSubject(olmNamespace)}},
		wider,
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: wider.Name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: wider.Name},
			Subjects: []rbacv1.Subject{saSubject(operatorNamespace), saSubject(olmNamespace)}},
		// Others' objects with the operator's names, unlabelled.
		tenantsUseBinding(),
		adminsUseRole(),
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "nested-workspaces-dwo-use-scc"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "fence-admins"}}},
		// The tenant's own, and what the DevWorkspace Operator mints.
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "tenant-role", Namespace: fenceTenantNS},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "tenant-binding", Namespace: fenceTenantNS},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "tenant-role"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "tenant"}}},
		dwoUseRole(fenceTenantNS),
		dwoUseBinding(fenceTenantNS),
	}
	for _, o := range fixtures {
		if err := admin.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, o := range fixtures {
			if _, ns := o.(*corev1.Namespace); ns {
				continue // other tests may use them; empty of ours
			}
			if err := admin.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
				t.Error(err)
			}
		}
	})

	// The operator's own objects: its SCC, ClusterRole, a RoleBinding.
	startWorkspace(t, fenceWorkspaceNS, "fenced")
	t.Cleanup(func() { deleteWorkspaces(t, fenceWorkspaceNS, true) })
	localcluster.Eventually(t, waitTimeout, "the operator wrote its SCC, ClusterRole and RoleBinding", func() error {
		for _, o := range []client.Object{
			&securityv1.SecurityContextConstraints{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.DefaultSCCName}},
			&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: useNamePodman}},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: useNamePodman, Namespace: fenceWorkspaceNS}},
		} {
			if err := admin.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				return err
			}
			if !isOurs(o) {
				return errorf("%T %s is not labelled as the operator's", o, o.GetName())
			}
		}
		return nil
	})
	if err := admin.Get(ctx, dwocKey(), globalDWOC()); apierrors.IsNotFound(err) {
		if err := admin.Create(ctx, globalDWOC()); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}

	actors := []fenceActor{{namespace: operatorNamespace, c: operatorClient(t)}, {namespace: olmNamespace, c: actingAs(t, olmNamespace)}}
	// Policies take effect a moment after they are created.
	probes := map[string]func(context.Context, client.Client) error{
		"scc": func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, podmanSCC(func(s *securityv1.SecurityContextConstraints) { s.AllowPrivilegedContainer = true }), client.DryRunAll)
		},
		"rbac": func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, clusterWideUse(), client.DryRunAll)
		},
		"dwoc": func(ctx context.Context, c client.Client) error {
			u := globalDWOC()
			u.SetNamespace(fenceTenantNS)
			return c.Create(ctx, u, client.DryRunAll)
		},
		"self": func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, coreEvent(fenceTenantNS, podRef(fenceTenantNS)), client.DryRunAll)
		},
	}
	for _, a := range actors {
		for fence, probe := range probes {
			localcluster.Eventually(t, waitTimeout, fmt.Sprintf("the %s fence is in force for %s", fence, a.namespace), func() error {
				err := probe(ctx, a.c)
				if err == nil || !strings.Contains(err.Error(), "nested-workspaces-enabler-"+fence+"-fence") {
					return errorf("not refused by the fence yet: %v", err)
				}
				return nil
			})
		}
	}
	return actors
}

// toggleOnWithOwnSCC turns the toggle on with builtIn Never, so that the
// operator writes its own SCC, and returns what puts the toggle back.
func toggleOnWithOwnSCC(t *testing.T) func() {
	t.Helper()
	nc := &enablerv1alpha1.NestedContainers{}
	err := env.cluster.Client.Get(context.Background(), client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc)
	existed := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	before := nc.Spec
	setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) {
		s.Enabled = true
		s.SCC.BuiltIn = enablerv1alpha1.BuiltInNever
	})
	// Configured: its SCC written and what it held for nested-container
	// released, so that an admin's ClusterRole of that name created next is
	// the admin's, not one of the operator's about to be deleted.
	waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
	return func() {
		if !existed {
			deleteNC(t)
			return
		}
		setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { *s = before })
		if !before.Enabled {
			waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		}
	}
}

// actingAs is a client acting as the operator's service account name in
// namespace ns.
func actingAs(t *testing.T, ns string) client.Client {
	t.Helper()
	return operatortest.ServiceAccount(t, env.cluster, ns, operatorSA)
}

func ours() map[string]string { return map[string]string{managedByLabel: managedByValue} }

func isOurs(o client.Object) bool { return o.GetLabels()[managedByLabel] == managedByValue }

// useClusterRole is the ClusterRole the operator writes to grant use of
// sccName.
func useClusterRole(sccName string) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "nested-workspaces-use-scc-" + sccName, Labels: ours()},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{securityv1.GroupName}, Resources: []string{"securitycontextconstraints"},
			Verbs: []string{"use"}, ResourceNames: []string{sccName}}}}
}

// useRoleBinding is the RoleBinding the operator writes in a workspace
// namespace, here of the ClusterRole roleRef.
func useRoleBinding(ns, name, roleRef string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: ours()},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleRef},
		Subjects: subjects}
}

func podmanSCC(change func(*securityv1.SecurityContextConstraints)) *securityv1.SecurityContextConstraints {
	s := scc.NestedPodmanSCC(enablerv1alpha1.DefaultSCCName, enablerv1alpha1.DefaultRunAsUser, []string{"SETUID", "SETGID", "CHOWN"})
	change(s)
	return s
}

// dryCreate creates a copy of obj as the actor, as a dry run.
func dryCreate(obj client.Object) func(context.Context, fenceActor) error {
	return func(ctx context.Context, a fenceActor) error {
		return a.c.Create(ctx, obj.DeepCopyObject().(client.Object), client.DryRunAll)
	}
}

// dryPatch reads the live object (as admin) and changes it as the actor,
// with a merge patch (no resourceVersion: no conflict with the operator's
// own writes), as a dry run.
func dryPatch[T client.Object](obj T, change func(T)) func(context.Context, fenceActor) error {
	return func(ctx context.Context, a fenceActor) error {
		live := obj.DeepCopyObject().(T)
		if err := env.cluster.Client.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
			return fmt.Errorf("read %T %s: %w", obj, obj.GetName(), err)
		}
		orig := live.DeepCopyObject().(T)
		change(live)
		return a.c.Patch(ctx, live, client.MergeFrom(orig), client.DryRunAll)
	}
}

// dryDelete deletes obj as the actor, as a dry run.
func dryDelete(obj client.Object) func(context.Context, fenceActor) error {
	return func(ctx context.Context, a fenceActor) error {
		return a.c.Delete(ctx, obj.DeepCopyObject().(client.Object), client.DryRunAll)
	}
}

// withFixture creates obj as admin before write; obj carries the
// operator's label, so the running operator may delete it at any moment:
// the write is tried again when it met NotFound.
func withFixture(obj client.Object, write func(context.Context, fenceActor) error) func(context.Context, fenceActor) error {
	return func(ctx context.Context, a fenceActor) error {
		defer func() { _ = env.cluster.Client.Delete(ctx, obj.DeepCopyObject().(client.Object)) }()
		var err error
		for range 20 {
			if err = env.cluster.Client.Create(ctx, obj.DeepCopyObject().(client.Object)); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
			if err = write(ctx, a); !apierrors.IsNotFound(err) {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
		return err
	}
}

func sccFenceRows() []fenceRow {
	refused := func(name, want string, change func(*securityv1.SecurityContextConstraints)) fenceRow {
		return fenceRow{name: name + "_is_refused", fence: "scc", want: want, write: dryCreate(podmanSCC(change))}
	}
	live := &securityv1.SecurityContextConstraints{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.DefaultSCCName}}
	patchLive := func(name, want string, change func(*securityv1.SecurityContextConstraints)) fenceRow {
		return fenceRow{name: name + "_is_refused", fence: "scc", want: want, write: dryPatch(live, change)}
	}
	return []fenceRow{
		{name: "its_own_scc_as_built_is_admitted", write: dryCreate(podmanSCC(func(*securityv1.SecurityContextConstraints) {}))},
		{name: "its_own_scc_with_other_settings_is_admitted", write: dryCreate(scc.NestedPodmanSCC(enablerv1alpha1.DefaultSCCName, 65535, []string{"SETUID"}))},
		{name: "correcting_its_own_scc_is_admitted", write: dryPatch(live, func(s *securityv1.SecurityContextConstraints) {
			built := podmanSCC(func(*securityv1.SecurityContextConstraints) {})
			s.AllowedCapabilities = built.AllowedCapabilities
			s.RunAsUser = built.RunAsUser
		})},
		{name: "deleting_its_own_scc_is_admitted", write: dryDelete(live)},

		refused("another_name", "only the SCC nested-podman", func(s *securityv1.SecurityContextConstraints) { s.Name = "fence-probe" }),
		refused("not_labelled_as_its_own", "labelled app.kubernetes.io/managed-by", func(s *securityv1.SecurityContextConstraints) { s.Labels = nil }),
		refused("privileged", "privileged", func(s *securityv1.SecurityContextConstraints) { s.AllowPrivilegedContainer = true }),
		refused("host_network", "host namespaces", func(s *securityv1.SecurityContextConstraints) { s.AllowHostNetwork = true }),
		refused("host_pid", "host namespaces", func(s *securityv1.SecurityContextConstraints) { s.AllowHostPID = true }),
		refused("host_ipc", "host namespaces", func(s *securityv1.SecurityContextConstraints) { s.AllowHostIPC = true }),
		refused("host_ports", "host namespaces", func(s *securityv1.SecurityContextConstraints) { s.AllowHostPorts = true }),
		refused("host_paths", "host namespaces", func(s *securityv1.SecurityContextConstraints) { s.AllowHostDirVolumePlugin = true }),
		refused("naming_a_user", "users or groups", func(s *securityv1.SecurityContextConstraints) { s.Users = []string{"system:admin"} }),
		refused("naming_a_group", "users or groups", func(s *securityv1.SecurityContextConstraints) { s.Groups = []string{"system:authenticated"} }),
		refused("host_user_namespace", "own user namespace", func(s *securityv1.SecurityContextConstraints) {
			s.UserNamespaceLevel = securityv1.NamespaceLevelAllowHost
		}),
		refused("capability_sys_admin", "only SETUID, SETGID and CHOWN", func(s *securityv1.SecurityContextConstraints) {
			s.AllowedCapabilities = append(s.AllowedCapabilities, "SYS_ADMIN")
		}),
		refused("default_added_capability", "add none by default", func(s *securityv1.SecurityContextConstraints) {
			s.DefaultAddCapabilities = []corev1.Capability{"SETUID"}
		}),
		refused("required_drop_capability", "as it builds it", func(s *securityv1.SecurityContextConstraints) {
			s.RequiredDropCapabilities = []corev1.Capability{"KILL"}
		}),
		refused("privilege_escalation_not_allowed", "as it builds it", func(s *securityv1.SecurityContextConstraints) {
			s.AllowPrivilegeEscalation = ptr.To(false)
		}),
		refused("a_priority", "as it builds it", func(s *securityv1.SecurityContextConstraints) { s.Priority = ptr.To[int32](10) }),
		refused("run_as_any_user", "one UID in 1..65535", func(s *securityv1.SecurityContextConstraints) {
			s.RunAsUser = securityv1.RunAsUserStrategyOptions{Type: securityv1.RunAsUserStrategyRunAsAny}
		}),
		refused("run_as_root", "one UID in 1..65535", func(s *securityv1.SecurityContextConstraints) { s.RunAsUser.UID = ptr.To[int64](0) }),
		refused("run_as_a_uid_outside_the_user_namespace", "one UID in 1..65535", func(s *securityv1.SecurityContextConstraints) {
			s.RunAsUser.UID = ptr.To[int64](70000)
		}),
		refused("run_as_a_uid_range", "one UID in 1..65535", func(s *securityv1.SecurityContextConstraints) {
			s.RunAsUser = securityv1.RunAsUserStrategyOptions{Type: securityv1.RunAsUserStrategyMustRunAsRange, UIDRangeMin: ptr.To[int64](0), UIDRangeMax: ptr.To[int64](65535)}
		}),
		refused("selinux_run_as_any", "seLinuxContext MustRunAs", func(s *securityv1.SecurityContextConstraints) {
			s.SELinuxContext = securityv1.SELinuxContextStrategyOptions{Type: securityv1.SELinuxStrategyRunAsAny}
		}),
		refused("selinux_type_spc_t", "seLinuxContext MustRunAs", func(s *securityv1.SecurityContextConstraints) {
			s.SELinuxContext.SELinuxOptions.Type = "spc_t"
		}),
		refused("selinux_type_container_t", "seLinuxContext MustRunAs", func(s *securityv1.SecurityContextConstraints) {
			s.SELinuxContext.SELinuxOptions.Type = "container_t"
		}),
		refused("selinux_fixed_level", "seLinuxContext MustRunAs", func(s *securityv1.SecurityContextConstraints) {
			s.SELinuxContext.SELinuxOptions.Level = "s0:c1,c2"
		}),
		refused("selinux_user", "seLinuxContext MustRunAs", func(s *securityv1.SecurityContextConstraints) {
			s.SELinuxContext.SELinuxOptions.User = "system_u"
		}),
		refused("any_seccomp_profile", "seccomp", func(s *securityv1.SecurityContextConstraints) { s.SeccompProfiles = []string{"*"} }),
		refused("fsgroup_run_as_any", "fsGroup and supplementalGroups", func(s *securityv1.SecurityContextConstraints) {
			s.FSGroup = securityv1.FSGroupStrategyOptions{Type: securityv1.FSGroupStrategyRunAsAny}
		}),
		refused("fsgroup_from_root", "fsGroup and supplementalGroups", func(s *securityv1.SecurityContextConstraints) {
			s.FSGroup.Ranges = []securityv1.IDRange{{Min: 0, Max: 65534}}
		}),
		refused("supplemental_groups_run_as_any", "fsGroup and supplementalGroups", func(s *securityv1.SecurityContextConstraints) {
			s.SupplementalGroups = securityv1.SupplementalGroupsStrategyOptions{Type: securityv1.SupplementalGroupsStrategyRunAsAny}
		}),
		refused("every_volume_type", "only the volumes", func(s *securityv1.SecurityContextConstraints) {
			s.Volumes = []securityv1.FSType{securityv1.FSTypeAll}
		}),
		refused("host_path_volumes", "only the volumes", func(s *securityv1.SecurityContextConstraints) {
			s.Volumes = append(s.Volumes, securityv1.FSTypeHostPath)
		}),
		refused("unsafe_sysctls", "unsafe sysctls", func(s *securityv1.SecurityContextConstraints) { s.AllowedUnsafeSysctls = []string{"*"} }),
		refused("flex_volumes", "flex volumes", func(s *securityv1.SecurityContextConstraints) {
			s.AllowedFlexVolumes = []securityv1.AllowedFlexVolume{{Driver: "example/driver"}}
		}),

		patchLive("changing_its_own_scc_to_spc_t", "seLinuxContext MustRunAs", func(s *securityv1.SecurityContextConstraints) {
			s.SELinuxContext.SELinuxOptions.Type = "spc_t"
		}),
		patchLive("changing_its_own_scc_to_privileged", "privileged", func(s *securityv1.SecurityContextConstraints) {
			s.AllowPrivilegedContainer = true
		}),
		patchLive("unlabelling_its_own_scc", "labelled app.kubernetes.io/managed-by", func(s *securityv1.SecurityContextConstraints) {
			delete(s.Labels, managedByLabel)
		}),
		{name: "taking_over_an_admins_scc_by_label_is_refused", fence: "scc", want: "only the SCC nested-podman",
			write: dryPatch(&securityv1.SecurityContextConstraints{ObjectMeta: metav1.ObjectMeta{Name: "restricted-v2"}},
				func(s *securityv1.SecurityContextConstraints) { s.Labels = ours() })},
		{name: "deleting_openshifts_nested_container_is_refused", fence: "scc", want: "only the SCC nested-podman",
			write: dryDelete(&securityv1.SecurityContextConstraints{ObjectMeta: metav1.ObjectMeta{Name: scc.BuiltInSCCName}})},
		{name: "deleting_restricted_v2_is_refused", fence: "scc", want: "only the SCC nested-podman",
			write: dryDelete(&securityv1.SecurityContextConstraints{ObjectMeta: metav1.ObjectMeta{Name: "restricted-v2"}})},
	}
}

// clusterWideUse binds the operator's use ClusterRole to every
// authenticated user.
func clusterWideUse() *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "fence-probe", Labels: ours()},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: useNamePodman},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:authenticated"}}}
}

// tenantsUseBinding is a tenant's RoleBinding of the operator's name,
// without its label.
func tenantsUseBinding() *rbacv1.RoleBinding {
	b := useRoleBinding(fenceTenantNS, useNamePodman, useNamePodman,
		rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: fenceTenantNS, Name: "default"})
	b.Labels = nil
	return b
}

// adminsUseRole is an admin's ClusterRole of the operator's name, without
// its label (the operator uses nested-podman during the test, so it leaves
// the nested-container one alone).
func adminsUseRole() *rbacv1.ClusterRole {
	r := useClusterRole(scc.BuiltInSCCName)
	r.Labels = nil
	return r
}

// dwoUseRole and dwoUseBinding are what the DevWorkspace Operator mints
// for a workspace's controller.devfile.io/scc attribute.
func dwoUseRole(ns string) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "devworkspace-use-" + enablerv1alpha1.DefaultSCCName, Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{securityv1.GroupName}, Resources: []string{"securitycontextconstraints"},
			Verbs: []string{"use"}, ResourceNames: []string{enablerv1alpha1.DefaultSCCName}}}}
}

func dwoUseBinding(ns string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "devworkspace-use-" + enablerv1alpha1.DefaultSCCName, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "devworkspace-use-" + enablerv1alpha1.DefaultSCCName},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "default"}}}
}

func rbacFenceRows() []fenceRow {
	sa := func(ns string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "default"}
	}
	group := func(name string) rbacv1.Subject {
		return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
	}
	useBinding := func(name, roleRef string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
		return useRoleBinding(fenceTenantNS, name, roleRef, subjects...)
	}
	useRole := func(change func(*rbacv1.ClusterRole)) *rbacv1.ClusterRole {
		r := useClusterRole(enablerv1alpha1.DefaultSCCName)
		change(r)
		return r
	}
	legacyCRB := func(name string) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: ours()},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: useNamePodman},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: operator.DefaultDWONamespace, Name: "devworkspace-controller-serviceaccount"}}}
	}
	liveRole := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: useNamePodman}}
	liveBinding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: useNamePodman, Namespace: fenceWorkspaceNS}}
	legacyBinding := useBinding("nested-workspaces-use-scc", useNamePodman, sa(fenceTenantNS))
	const (
		crbs      = "may not create or change ClusterRoleBindings"
		roles     = "may not create or change Roles"
		rbNames   = "may create and change only RoleBindings named"
		crNames   = "only the ClusterRoles"
		labelled  = "labelled app.kubernetes.io/managed-by=nested-workspaces-enabler, and may not take one over"
		oneRule   = "exactly one rule"
		ownRole   = "only the ClusterRole of its own name"
		ownNSOnly = "only service accounts of its own namespace"
	)
	return []fenceRow{
		// What the operator writes.
		{name: "its_clusterrole_as_built_is_admitted", write: dryCreate(useClusterRole(enablerv1alpha1.DefaultSCCName))},
		{name: "its_clusterrole_for_nested_container_is_admitted", write: dryCreate(useClusterRole(scc.BuiltInSCCName))},
		{name: "correcting_its_clusterrole_is_admitted", write: dryPatch(liveRole, func(r *rbacv1.ClusterRole) {
			r.Rules = useClusterRole(enablerv1alpha1.DefaultSCCName).Rules
		})},
		{name: "deleting_its_clusterrole_is_admitted", write: dryDelete(liveRole)},
		{name: "its_rolebinding_as_built_is_admitted", write: dryCreate(useRoleBinding(fenceTenantNS, useNameContainer, useNameContainer,
			sa(fenceTenantNS), rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: fenceTenantNS, Name: "workspace-sa"}))},
		{name: "correcting_its_rolebinding_is_admitted", write: dryPatch(liveBinding, func(b *rbacv1.RoleBinding) {
			b.Subjects = append(b.Subjects, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: fenceWorkspaceNS, Name: "another-workspace"})
		})},
		{name: "deleting_its_rolebinding_is_admitted", write: dryDelete(liveBinding)},
		{name: "deleting_its_former_rolebinding_is_admitted", write: withFixture(legacyBinding, dryDelete(legacyBinding))},
		{name: "deleting_its_former_clusterrolebinding_is_admitted",
			write: withFixture(legacyCRB("nested-workspaces-dwo-use-scc-nested-container"), dryDelete(legacyCRB("nested-workspaces-dwo-use-scc-nested-container")))},
		{name: "deleting_the_devworkspace_operators_role_is_admitted", write: dryDelete(dwoUseRole(fenceTenantNS))},
		{name: "deleting_the_devworkspace_operators_rolebinding_is_admitted", write: dryDelete(dwoUseBinding(fenceTenantNS))},

		// ClusterRoleBindings: none.
		{name: "binding_its_clusterrole_to_system_authenticated_is_refused", fence: "rbac", want: crbs, write: dryCreate(clusterWideUse())},
		{name: "binding_its_clusterrole_to_the_devworkspace_controller_is_refused", fence: "rbac", want: crbs,
			write: dryCreate(legacyCRB("nested-workspaces-dwo-use-scc-nested-podman"))},
		{name: "changing_its_former_clusterrolebinding_is_refused", fence: "rbac", want: crbs,
			write: withFixture(legacyCRB("nested-workspaces-dwo-use-scc-nested-container"),
				dryPatch(legacyCRB("nested-workspaces-dwo-use-scc-nested-container"), func(b *rbacv1.ClusterRoleBinding) {
					b.Subjects = append(b.Subjects, group("system:authenticated"))
				}))},
		{name: "deleting_an_admins_clusterrolebinding_of_its_former_name_is_refused", fence: "rbac", want: crbs,
			write: dryDelete(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "nested-workspaces-dwo-use-scc"}})},
		{name: "deleting_cluster_admin_binding_is_refused", fence: "rbac", want: crbs,
			write: dryDelete(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "cluster-admin"}})},

		// ClusterRoles: its two, one rule each.
		{name: "a_clusterrole_of_another_name_is_refused", fence: "rbac", want: crNames,
			write: dryCreate(useRole(func(r *rbacv1.ClusterRole) { r.Name = "fence-probe" }))},
		{name: "a_clusterrole_not_labelled_as_its_own_is_refused", fence: "rbac", want: labelled,
			write: dryCreate(useRole(func(r *rbacv1.ClusterRole) { r.Labels = nil }))},
		{name: "a_clusterrole_with_a_second_rule_is_refused", fence: "rbac", want: oneRule,
			write: dryCreate(useRole(func(r *rbacv1.ClusterRole) {
				r.Rules = append(r.Rules, rbacv1.PolicyRule{APIGroups: []string{securityv1.GroupName}, Resources: []string{"securitycontextconstraints"}, Verbs: []string{"create"}})
			}))},
		{name: "a_clusterrole_for_another_scc_is_refused", fence: "rbac", want: oneRule,
			write: dryCreate(useRole(func(r *rbacv1.ClusterRole) { r.Rules[0].ResourceNames = []string{"privileged"} }))},
		{name: "a_clusterrole_for_every_scc_is_refused", fence: "rbac", want: oneRule,
			write: dryCreate(useRole(func(r *rbacv1.ClusterRole) { r.Rules[0].ResourceNames = nil }))},
		{name: "a_clusterrole_with_every_verb_is_refused", fence: "rbac", want: oneRule,
			write: dryCreate(useRole(func(r *rbacv1.ClusterRole) { r.Rules[0].Verbs = []string{"*"} }))},
		{name: "an_aggregated_clusterrole_is_refused", fence: "rbac", want: "no aggregationRule",
			write: dryCreate(useRole(func(r *rbacv1.ClusterRole) {
				r.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}}}
			}))},
		{name: "widening_its_clusterrole_is_refused", fence: "rbac", want: oneRule,
			write: dryPatch(liveRole, func(r *rbacv1.ClusterRole) { r.Rules[0].Resources = []string{"*"} })},
		{name: "taking_over_an_admins_clusterrole_of_its_name_is_refused", fence: "rbac", want: labelled,
			write: dryPatch(adminsUseRole(), func(r *rbacv1.ClusterRole) { r.Labels = ours() })},
		{name: "deleting_an_admins_clusterrole_of_its_name_is_refused", fence: "rbac", want: labelled, write: dryDelete(adminsUseRole())},
		{name: "deleting_the_admin_clusterrole_is_refused", fence: "rbac", want: crNames,
			write: dryDelete(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "admin"}})},

		// RoleBindings: its two names, its own namespace's service accounts.
		{name: "a_rolebinding_to_system_serviceaccounts_is_refused", fence: "rbac", want: ownNSOnly,
			write: dryCreate(useBinding(useNamePodman, useNamePodman, group("system:serviceaccounts")))},
		{name: "a_rolebinding_to_system_authenticated_is_refused", fence: "rbac", want: ownNSOnly,
			write: dryCreate(useBinding(useNamePodman, useNamePodman, group("system:authenticated")))},
		{name: "a_rolebinding_to_a_user_is_refused", fence: "rbac", want: ownNSOnly,
			write: dryCreate(useBinding(useNamePodman, useNamePodman, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"}))},
		{name: "a_rolebinding_to_another_namespaces_service_account_is_refused", fence: "rbac", want: ownNSOnly,
			write: dryCreate(useBinding(useNamePodman, useNamePodman, sa(fenceWorkspaceNS)))},
		{name: "a_rolebinding_of_another_clusterrole_is_refused", fence: "rbac", want: ownRole,
			write: dryCreate(useBinding(useNamePodman, "admin", sa(fenceTenantNS)))},
		{name: "a_rolebinding_of_its_other_clusterrole_is_refused", fence: "rbac", want: ownRole,
			write: dryCreate(useBinding(useNamePodman, useNameContainer, sa(fenceTenantNS)))},
		{name: "a_rolebinding_of_another_name_is_refused", fence: "rbac", want: rbNames,
			write: dryCreate(useBinding("fence-probe", useNamePodman, sa(fenceTenantNS)))},
		{name: "a_rolebinding_not_labelled_as_its_own_is_refused", fence: "rbac", want: labelled,
			write: dryCreate(func() *rbacv1.RoleBinding {
				b := useBinding(useNameContainer, useNameContainer, sa(fenceTenantNS))
				b.Labels = nil
				return b
			}())},
		{name: "a_rolebinding_of_the_devworkspace_operators_name_is_refused", fence: "rbac", want: rbNames,
			write: dryCreate(dwoUseBinding(fenceWorkspaceNS))},
		{name: "widening_its_rolebinding_is_refused", fence: "rbac", want: ownNSOnly,
			write: dryPatch(liveBinding, func(b *rbacv1.RoleBinding) { b.Subjects = append(b.Subjects, group("system:serviceaccounts")) })},
		{name: "taking_over_a_tenants_rolebinding_of_its_name_is_refused", fence: "rbac", want: labelled,
			write: dryPatch(tenantsUseBinding(), func(b *rbacv1.RoleBinding) { b.Labels = ours() })},
		{name: "deleting_a_tenants_rolebinding_of_its_name_is_refused", fence: "rbac", want: labelled, write: dryDelete(tenantsUseBinding())},
		{name: "deleting_a_tenants_rolebinding_is_refused", fence: "rbac", want: rbNames,
			write: dryDelete(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "tenant-binding", Namespace: fenceTenantNS}})},
		{name: "changing_the_devworkspace_operators_rolebinding_is_refused", fence: "rbac", want: rbNames,
			write: dryPatch(dwoUseBinding(fenceTenantNS), func(b *rbacv1.RoleBinding) { b.Subjects = append(b.Subjects, group("system:authenticated")) })},

		// Roles: only deleting the DevWorkspace Operator's.
		{name: "a_role_of_the_devworkspace_operators_name_is_refused", fence: "rbac", want: roles, write: dryCreate(dwoUseRole(fenceWorkspaceNS))},
		{name: "a_role_of_another_name_is_refused", fence: "rbac", want: roles, write: dryCreate(func() *rbacv1.Role {
			r := dwoUseRole(fenceTenantNS)
			r.Name = "fence-probe"
			return r
		}())},
		{name: "changing_the_devworkspace_operators_role_is_refused", fence: "rbac", want: roles,
			write: dryPatch(dwoUseRole(fenceTenantNS), func(r *rbacv1.Role) { r.Rules[0].ResourceNames = []string{"privileged"} })},
		{name: "deleting_a_tenants_role_is_refused", fence: "rbac", want: roles,
			write: dryDelete(&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "tenant-role", Namespace: fenceTenantNS}})},
	}
}

func dwocKey() client.ObjectKey {
	return client.ObjectKey{Namespace: operator.DefaultDWONamespace, Name: globalDWOCName}
}

// globalDWOC is the DevWorkspace Operator's global configuration, empty.
func globalDWOC() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(detect.DWOConfigGVK)
	u.SetName(globalDWOCName)
	u.SetNamespace(operator.DefaultDWONamespace)
	return u
}

// operatorsDWOC is what the operator applies to the global configuration:
// exactly its own fields.
func operatorsDWOC(sccName string, runAsUser int64, caps ...string) *unstructured.Unstructured {
	u := globalDWOC()
	add := make([]any, 0, len(caps))
	for _, c := range caps {
		add = append(add, c)
	}
	u.Object["config"] = map[string]any{"workspace": map[string]any{
		"hostUsers":          false,
		"podSecurityContext": map[string]any{"runAsUser": runAsUser},
		"containerSecurityContext": map[string]any{
			"allowPrivilegeEscalation": true,
			"procMount":                "Unmasked",
			"capabilities":             map[string]any{"add": add},
		},
		"podAnnotations": map[string]any{devicesAnnotation: "/dev/fuse,/dev/net/tun", requiredSCCAnnotation: sccName},
	}}
	return u
}

// dwocWith is the global configuration with the value set at path.
func dwocWith(value any, path ...string) *unstructured.Unstructured {
	u := globalDWOC()
	if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
		panic(err)
	}
	return u
}

// dwocPatch changes the live global configuration as the actor.
func dwocPatch(change func(u *unstructured.Unstructured)) func(context.Context, fenceActor) error {
	return dryPatch(globalDWOC(), change)
}

// dwocSet sets one field of the live global configuration as the actor.
func dwocSet(value any, path ...string) func(context.Context, fenceActor) error {
	return dwocPatch(func(u *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(u.Object, value, path...); err != nil {
			panic(err)
		}
	})
}

// dwocApply applies u as the actor under the operator's field manager.
func dwocApply(u *unstructured.Unstructured, opts ...client.ApplyOption) func(context.Context, fenceActor) error {
	return func(ctx context.Context, a fenceActor) error {
		return a.c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), append([]client.ApplyOption{client.FieldOwner(fieldManager)}, opts...)...)
	}
}

func dwocFenceRows() []fenceRow {
	ws := func(path ...string) []string { return append([]string{"config", "workspace"}, path...) }
	asBuilt := func() *unstructured.Unstructured {
		return operatorsDWOC(scc.BuiltInSCCName, 2000, "SETUID", "SETGID", "CHOWN")
	}
	const (
		onlyGlobal = "only the DevWorkspace Operator's global configuration"
	)
	withImage := asBuilt()
	if err := unstructured.SetNestedField(withImage.Object, "quay.io/mallory/clone:latest", ws("projectClone", "image")...); err != nil {
		panic(err)
	}
	return []fenceRow{
		// What the operator writes: its fields by server-side apply, and
		// their removal (an apply of nothing under its field manager).
		{name: "applying_its_configuration_is_admitted",
			write: dwocApply(asBuilt(), client.ForceOwnership, client.DryRunAll)},
		{name: "applying_then_removing_its_configuration_is_admitted", write: func(ctx context.Context, a fenceActor) error {
			// For real, not a dry run: the removal must have fields to
			// remove. The running operator puts back what it wants next.
			desired := operatorsDWOC(enablerv1alpha1.DefaultSCCName, enablerv1alpha1.DefaultRunAsUser, "SETUID", "SETGID")
			if err := dwocApply(desired, client.ForceOwnership)(ctx, a); err != nil {
				return fmt.Errorf("apply: %w", err)
			}
			if err := dwocApply(globalDWOC())(ctx, a); err != nil {
				return fmt.Errorf("remove: %w", err)
			}
			return nil
		}},
		{name: "creating_the_global_configuration_with_its_fields_is_admitted",
			write: dryCreate(asBuilt())},

		// Another configuration, or the global one's other fields.
		{name: "creating_another_configuration_is_refused", fence: "dwoc", want: onlyGlobal, write: dryCreate(func() *unstructured.Unstructured {
			u := asBuilt()
			u.SetNamespace(fenceTenantNS)
			u.SetName("devworkspace-config")
			return u
		}())},
		{name: "creating_the_global_configurations_name_in_another_namespace_is_refused", fence: "dwoc", want: onlyGlobal,
			write: dryCreate(func() *unstructured.Unstructured {
				u := asBuilt()
				u.SetNamespace(fenceTenantNS)
				return u
			}())},
		{name: "creating_the_global_configuration_with_a_clone_image_is_refused", fence: "dwoc", want: "config.workspace.projectClone",
			write: dryCreate(withImage)},
		{name: "deleting_the_global_configuration_is_refused", fence: "dwoc", want: "may not delete", write: dryDelete(globalDWOC())},
		{name: "setting_the_project_clone_image_is_refused", fence: "dwoc", want: "config.workspace.projectClone",
			write: dwocSet("quay.io/mallory/clone:latest", ws("projectClone", "image")...)},
		{name: "applying_a_project_clone_image_as_its_field_manager_is_refused", fence: "dwoc", want: "config.workspace.projectClone",
			write: dwocApply(withImage, client.ForceOwnership, client.DryRunAll)},
		{name: "setting_the_routing_is_refused", fence: "dwoc", want: "config.routing",
			write: dwocSet("apps.mallory.example", "config", "routing", "clusterHostSuffix")},
		{name: "setting_the_runtime_class_is_refused", fence: "dwoc", want: "config.workspace.runtimeClassName",
			write: dwocSet("unconfined", ws("runtimeClassName")...)},
		{name: "a_label_is_refused", fence: "dwoc", want: "metadata.labels.mallory",
			write: dwocPatch(func(u *unstructured.Unstructured) { u.SetLabels(map[string]string{"mallory": "x"}) })},
		{name: "an_annotation_is_refused", fence: "dwoc", want: "metadata.annotations.mallory",
			write: dwocPatch(func(u *unstructured.Unstructured) { u.SetAnnotations(map[string]string{"mallory": "x"}) })},
		{name: "an_owner_reference_is_refused", fence: "dwoc", want: "metadata.ownerReferences",
			write: dwocPatch(func(u *unstructured.Unstructured) {
				u.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "gone", UID: "00000000-0000-0000-0000-000000000001"}})
			})},
		{name: "a_finalizer_is_refused", fence: "dwoc", want: "metadata.finalizers",
			write: dwocPatch(func(u *unstructured.Unstructured) { u.SetFinalizers([]string{"mallory.example/hold"}) })},
		{name: "another_pod_annotation_is_refused", fence: "dwoc", want: "config.workspace.podAnnotations.mallory",
			write: dwocSet("x", ws("podAnnotations", "mallory")...)},
		{name: "another_pod_security_context_field_is_refused", fence: "dwoc", want: "config.workspace.podSecurityContext.runAsGroup",
			write: dwocSet(int64(0), ws("podSecurityContext", "runAsGroup")...)},
		{name: "a_privileged_container_is_refused", fence: "dwoc", want: "config.workspace.containerSecurityContext.privileged",
			write: dwocSet(true, ws("containerSecurityContext", "privileged")...)},
		{name: "dropping_capabilities_differently_is_refused", fence: "dwoc", want: "config.workspace.containerSecurityContext.capabilities.drop",
			write: dwocSet([]any{"KILL"}, ws("containerSecurityContext", "capabilities", "drop")...)},
		{name: "host_users_true_is_refused", fence: "dwoc", want: "hostUsers only to false", write: dwocSet(true, ws("hostUsers")...)},
		{name: "run_as_root_is_refused", fence: "dwoc", want: "runAsUser only to a UID in 1..65535",
			write: dwocSet(int64(0), ws("podSecurityContext", "runAsUser")...)},
		{name: "no_privilege_escalation_is_refused", fence: "dwoc", want: "allowPrivilegeEscalation only to true",
			write: dwocSet(false, ws("containerSecurityContext", "allowPrivilegeEscalation")...)},
		{name: "default_proc_mount_is_refused", fence: "dwoc", want: "procMount only to Unmasked",
			write: dwocSet("Default", ws("containerSecurityContext", "procMount")...)},
		{name: "adding_sys_admin_is_refused", fence: "dwoc", want: "only the capabilities SETUID, SETGID and CHOWN",
			write: dwocSet([]any{"SETUID", "SYS_ADMIN"}, ws("containerSecurityContext", "capabilities", "add")...)},
		{name: "another_device_is_refused", fence: "dwoc", want: "only the devices /dev/fuse and /dev/net/tun",
			write: dwocSet("/dev/fuse,/dev/kvm", ws("podAnnotations", devicesAnnotation)...)},
		{name: "pinning_another_scc_is_refused", fence: "dwoc", want: "only to the SCC nested-podman or nested-container",
			write: dwocSet("privileged", ws("podAnnotations", requiredSCCAnnotation)...)},
		{name: "creating_the_global_configuration_with_a_label_is_refused", fence: "dwoc", want: "metadata.labels.mallory",
			write: dryCreate(func() *unstructured.Unstructured {
				u := dwocWith(false, ws("hostUsers")...)
				u.SetLabels(map[string]string{"mallory": "x"})
				return u
			}())},
	}
}

func podRef(ns string) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: "victim"}
}

func nestedContainersRef() corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: enablerv1alpha1.GroupVersion.String(), Kind: "NestedContainers", Name: enablerv1alpha1.ClusterName}
}

func leaseRef(ns string) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: "coordination.k8s.io/v1", Kind: "Lease", Namespace: ns, Name: operator.LeaderElectionID}
}

// coreEvent is an Event as client-go's core recorder writes it.
func coreEvent(ns string, about corev1.ObjectReference) *corev1.Event {
	now := metav1.Now()
	return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "fence-probe", Namespace: ns}, InvolvedObject: about,
		Reason: "Probe", Message: "probe", Type: corev1.EventTypeNormal, Count: 1, FirstTimestamp: now, LastTimestamp: now,
		Source: corev1.EventSource{Component: "nested-workspaces-enabler"}}
}

// eventsV1Event is an Event as the events.k8s.io recorder writes it.
func eventsV1Event(ns string, about corev1.ObjectReference) *eventsv1.Event {
	return &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "fence-probe", Namespace: ns}, Regarding: about,
		EventTime: metav1.NowMicro(), ReportingController: "nested-workspaces-enabler", ReportingInstance: "nested-workspaces-enabler-probe",
		Action: "Reconcile", Reason: "Probe", Note: "probe", Type: corev1.EventTypeNormal}
}

func selfFenceRows() []fenceRow {
	nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
	const (
		onlyFinalizer = "may change only its own finalizer"
		events        = "may write only Events about its NestedContainers"
	)
	return []fenceRow{
		{name: "its_finalizer_is_admitted", write: dryPatch(nc, func(n *enablerv1alpha1.NestedContainers) {
			if i := slices.Index(n.Finalizers, operator.Finalizer); i >= 0 {
				n.Finalizers = append(n.Finalizers[:i], n.Finalizers[i+1:]...)
			} else {
				n.Finalizers = append(n.Finalizers, operator.Finalizer)
			}
		})},
		{name: "turning_the_toggle_off_is_refused", fence: "self", want: onlyFinalizer,
			write: dryPatch(nc, func(n *enablerv1alpha1.NestedContainers) { n.Spec.Enabled = !n.Spec.Enabled })},
		{name: "changing_the_run_as_user_is_refused", fence: "self", want: onlyFinalizer,
			write: dryPatch(nc, func(n *enablerv1alpha1.NestedContainers) { n.Spec.RunAsUser = 4242 })},
		{name: "a_label_is_refused", fence: "self", want: onlyFinalizer,
			write: dryPatch(nc, func(n *enablerv1alpha1.NestedContainers) { n.Labels = map[string]string{"mallory": "x"} })},
		{name: "another_finalizer_is_refused", fence: "self", want: onlyFinalizer,
			write: dryPatch(nc, func(n *enablerv1alpha1.NestedContainers) { n.Finalizers = append(n.Finalizers, "mallory.example/hold") })},
		{name: "deleting_the_toggle_is_refused", fence: "self", want: "may not create or delete NestedContainers", write: dryDelete(nc)},
		{name: "creating_the_toggle_is_refused", fence: "self", want: "may not create or delete NestedContainers",
			write: dryCreate(&enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}})},

		{name: "an_event_about_nestedcontainers_is_admitted", write: dryCreate(eventsV1Event(metav1.NamespaceDefault, nestedContainersRef()))},
		{name: "a_core_event_about_nestedcontainers_is_admitted", write: dryCreate(coreEvent(metav1.NamespaceDefault, nestedContainersRef()))},
		{name: "a_leader_election_event_in_its_namespace_is_admitted", write: func(ctx context.Context, a fenceActor) error {
			return dryCreate(coreEvent(a.namespace, leaseRef(a.namespace)))(ctx, a)
		}},
		{name: "an_event_in_a_tenants_namespace_is_refused", fence: "self", want: events,
			write: dryCreate(eventsV1Event(fenceTenantNS, podRef(fenceTenantNS)))},
		{name: "a_core_event_in_a_tenants_namespace_is_refused", fence: "self", want: events,
			write: dryCreate(coreEvent(fenceTenantNS, podRef(fenceTenantNS)))},
		{name: "an_event_about_a_pod_in_default_is_refused", fence: "self", want: events,
			write: dryCreate(eventsV1Event(metav1.NamespaceDefault, podRef(metav1.NamespaceDefault)))},
		{name: "a_lease_event_in_a_tenants_namespace_is_refused", fence: "self", want: events,
			write: dryCreate(coreEvent(fenceTenantNS, leaseRef(fenceTenantNS)))},
	}
}
