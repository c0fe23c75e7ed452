package operator_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	securityv1 "github.com/openshift/api/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/localcluster"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/scc"
)

const userNS = "alice-devspaces"

// adminField is a field of the global DWOC that a cluster admin owns; the
// operator must never touch it.
func applyAdminDWOCField(t *testing.T) {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(operator.DWOConfigGVK)
	u.SetName(operator.DWOConfigName)
	u.SetNamespace(operator.DefaultDWONamespace)
	u.Object["config"] = map[string]any{"workspace": map[string]any{"imagePullPolicy": "IfNotPresent"}}
	if err := env.cluster.Client.Patch(context.Background(), u, client.Apply, client.FieldOwner("cluster-admin")); err != nil {
		t.Fatal(err)
	}
}

func TestOperatorLifecycle(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	applyAdminDWOCField(t)

	t.Run("toggle_off_configures_nothing", func(t *testing.T) {
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		waitCondition(t, enablerv1alpha1.ConditionSupported, metav1.ConditionTrue, enablerv1alpha1.ReasonClusterSupported)
		if sccExists(t, enablerv1alpha1.DefaultSCCName) {
			t.Errorf("SCC created while the toggle is off")
		}
		_, dep := startWorkspace(t, userNS, "plain")
		if operator.IsNested(&dep.Spec.Template) || dep.Spec.Template.Spec.HostUsers != nil {
			t.Errorf("workspace got nested settings with the toggle off: %+v", dep.Spec.Template.Spec)
		}
		assertInvariant(t)
	})

	var nested *appsv1.Deployment
	t.Run("toggle_on_makes_new_workspaces_nested", func(t *testing.T) {
		setEnabled(t, true)
		msg := waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		t.Logf("Ready: %s", msg)
		got := &securityv1.SecurityContextConstraints{}
		if err := env.cluster.Client.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.DefaultSCCName}, got); err != nil {
			t.Fatal(err)
		}
		if got.UserNamespaceLevel != securityv1.NamespaceLevelRequirePod || got.SELinuxContext.SELinuxOptions == nil ||
			got.SELinuxContext.SELinuxOptions.Type != "container_engine_t" {
			t.Errorf("SCC = %+v", got)
		}
		cfg := getDWOConfig(t)
		if v, _, _ := unstructured.NestedBool(cfg.Object, "config", "workspace", "hostUsers"); v {
			t.Errorf("DWOC hostUsers not false: %v", cfg.Object["config"])
		}
		if v, _, _ := unstructured.NestedString(cfg.Object, "config", "workspace", "imagePullPolicy"); v != "IfNotPresent" {
			t.Errorf("admin's imagePullPolicy lost: %q", v)
		}

		_, dep := startWorkspace(t, userNS, "nested")
		nested = dep
		tpl := dep.Spec.Template
		if tpl.Spec.HostUsers == nil || *tpl.Spec.HostUsers {
			t.Errorf("hostUsers = %v, want false", tpl.Spec.HostUsers)
		}
		for _, c := range tpl.Spec.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.ProcMount == nil || *sc.ProcMount != corev1.UnmaskedProcMount {
				t.Errorf("container %s procMount not Unmasked: %+v", c.Name, sc)
				continue
			}
			if sc.AllowPrivilegeEscalation == nil || !*sc.AllowPrivilegeEscalation {
				t.Errorf("container %s allowPrivilegeEscalation not true", c.Name)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Add, "SETUID") || !slices.Contains(sc.Capabilities.Add, "SETGID") {
				t.Errorf("container %s capabilities = %+v", c.Name, sc.Capabilities)
			}
		}
		if got := tpl.Annotations[operator.DevicesAnnotation]; got != "/dev/fuse,/dev/net/tun" {
			t.Errorf("devices annotation = %q", got)
		}
		if got := tpl.Annotations[operator.RequiredSCCAnnotation]; got != enablerv1alpha1.DefaultSCCName {
			t.Errorf("required-scc annotation = %q", got)
		}
		assertInvariant(t)

		// The API server (user namespace gates on) must admit exactly this pod.
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "dry-run-", Namespace: dep.Namespace, Labels: tpl.Labels, Annotations: tpl.Annotations},
			Spec:       tpl.Spec,
		}
		if err := env.cluster.Client.Create(ctx, pod, client.DryRunAll); err != nil {
			t.Errorf("API server rejects the workspace pod: %v", err)
		}
		if pod.Spec.HostUsers == nil || *pod.Spec.HostUsers {
			t.Errorf("API server dropped hostUsers from the pod: %v", pod.Spec.HostUsers)
		}

		// The workspace started before the toggle is nested once DWO next
		// renders it, and counted as pending a restart until then.
		localcluster.Eventually(t, waitTimeout, "status counts the workspaces", func() error {
			w := getNC(t).Status.Workspaces
			if w.Total != 2 || w.Nested < 1 || w.Nested+w.PendingRestart != w.Total {
				return errorf("workspaces = %+v, want total 2, at least 1 nested, the rest pending a restart", w)
			}
			return nil
		})
	})

	t.Run("dwo_does_not_fight_the_configuration", func(t *testing.T) {
		if nested == nil {
			t.Skip("no nested workspace")
		}
		key := client.ObjectKeyFromObject(nested)
		before := settled(t, key, 3*time.Second)
		time.Sleep(20 * time.Second)
		after := &appsv1.Deployment{}
		if err := env.cluster.Client.Get(ctx, key, after); err != nil {
			t.Fatal(err)
		}
		if after.ResourceVersion != before.ResourceVersion || after.Generation != before.Generation {
			t.Errorf("Deployment changed after it settled: resourceVersion %s -> %s, generation %d -> %d",
				before.ResourceVersion, after.ResourceVersion, before.Generation, after.Generation)
		}
		if !operator.IsNested(&after.Spec.Template) {
			t.Errorf("workspace lost its nested settings")
		}
	})

	t.Run("second_reconcile_writes_nothing", func(t *testing.T) {
		quietWrites(t)
		before := env.requests.Snapshot()
		totalBefore := env.requests.Total()
		poke(t)
		time.Sleep(3 * time.Second)
		if env.requests.Total() == totalBefore {
			t.Fatalf("no reconcile ran after the poke: the operator made no request at all")
		}
		if w := env.requests.WritesSince(before); len(w) > 0 {
			t.Errorf("reconcile with nothing changed wrote: %v", w)
		}
	})

	t.Run("use_is_granted_narrowly", func(t *testing.T) {
		workspaceSA := workspaceServiceAccount(t, userNS)
		other := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "build-bot", Namespace: userNS}}
		if err := env.cluster.Client.Create(ctx, other); err != nil {
			t.Fatal(err)
		}
		dwoSA := "system:serviceaccount:" + operator.DefaultDWONamespace + ":" + operator.DefaultDWOServiceAccount
		for _, tc := range []struct {
			name, user, namespace, verb, scc string
			allowed                          bool
		}{
			{"workspace_sa_may_use_the_scc", "system:serviceaccount:" + userNS + ":" + workspaceSA, userNS, "use", enablerv1alpha1.DefaultSCCName, true},
			{"dwo_sa_may_use_the_scc", dwoSA, userNS, "use", enablerv1alpha1.DefaultSCCName, true},
			{"other_sa_in_the_namespace_may_not", "system:serviceaccount:" + userNS + ":build-bot", userNS, "use", enablerv1alpha1.DefaultSCCName, false},
			{"workspace_sa_may_not_use_it_elsewhere", "system:serviceaccount:" + userNS + ":" + workspaceSA, "default", "use", enablerv1alpha1.DefaultSCCName, false},
			{"workspace_sa_may_not_use_privileged", "system:serviceaccount:" + userNS + ":" + workspaceSA, userNS, "use", "privileged", false},
			{"workspace_sa_may_not_update_sccs", "system:serviceaccount:" + userNS + ":" + workspaceSA, "", "update", "restricted-v2", false},
			{"dwo_sa_may_not_delete_sccs", dwoSA, "", "delete", "restricted-v2", false},
			{"dwo_sa_may_not_update_our_scc", dwoSA, "", "update", enablerv1alpha1.DefaultSCCName, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := canI(t, tc.user, tc.namespace, tc.verb, tc.scc); got != tc.allowed {
					t.Errorf("%s %s scc/%s in %q: allowed=%t, want %t", tc.user, tc.verb, tc.scc, tc.namespace, got, tc.allowed)
				}
			})
		}
	})

	t.Run("external_config_override_is_reported", func(t *testing.T) {
		ensureNamespace(t, "eclipse-che")
		che := &unstructured.Unstructured{}
		che.SetGroupVersionKind(operator.DWOConfigGVK)
		che.SetName("devworkspace-config")
		che.SetNamespace("eclipse-che")
		che.Object["config"] = map[string]any{"workspace": map[string]any{"hostUsers": true}}
		if err := env.cluster.Client.Create(ctx, che); err != nil {
			t.Fatal(err)
		}
		msg := waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionTrue, enablerv1alpha1.ReasonExternalConfigOverrides)
		if !strings.Contains(msg, "eclipse-che/devworkspace-config") || !strings.Contains(msg, "hostUsers") {
			t.Errorf("Degraded message does not name the object and field: %s", msg)
		}
		if err := env.cluster.Client.Delete(ctx, che); err != nil {
			t.Fatal(err)
		}
		waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionFalse, enablerv1alpha1.ReasonAsExpected)
	})

	t.Run("toggle_off_removes_only_ours", func(t *testing.T) {
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		localcluster.Eventually(t, waitTimeout, "our DWOC fields removed", func() error {
			cfg := getDWOConfig(t)
			ws, _, _ := unstructured.NestedMap(cfg.Object, "config", "workspace")
			for _, f := range []string{"hostUsers", "containerSecurityContext", "podAnnotations"} {
				if _, ok := ws[f]; ok {
					return errorf("config.workspace.%s still set: %v", f, ws)
				}
			}
			if ws["imagePullPolicy"] != "IfNotPresent" {
				return errorf("admin's field removed: %v", ws)
			}
			return nil
		})
		localcluster.Eventually(t, waitTimeout, "SCC and bindings removed", func() error {
			if sccExists(t, enablerv1alpha1.DefaultSCCName) {
				return errorf("SCC still there")
			}
			for _, list := range []client.ObjectList{&rbacv1.ClusterRoleList{}, &rbacv1.ClusterRoleBindingList{}, &rbacv1.RoleBindingList{}} {
				if err := env.cluster.Client.List(ctx, list, client.MatchingLabels(scc.ManagedLabels())); err != nil {
					return err
				}
				if n := metaLen(list); n > 0 {
					return errorf("%d %T left", n, list)
				}
			}
			return nil
		})
		_, dep := startWorkspace(t, userNS, "after-off")
		if operator.IsNested(&dep.Spec.Template) {
			t.Errorf("workspace started after toggle-off is nested")
		}
		assertInvariant(t)
	})

	t.Run("unsupported_cluster_gets_nothing", func(t *testing.T) {
		if err := env.cluster.Simulate(ctx, localcluster.OCP418); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := env.cluster.Simulate(ctx, localcluster.OCP420); err != nil {
				t.Fatal(err)
			}
		}()
		setEnabled(t, true)
		msg := waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonClusterUnsupported)
		if !strings.Contains(msg, "4.18") {
			t.Errorf("Ready message does not say why: %s", msg)
		}
		waitCondition(t, enablerv1alpha1.ConditionSupported, metav1.ConditionFalse, enablerv1alpha1.ReasonClusterUnsupported)
		if sccExists(t, enablerv1alpha1.DefaultSCCName) {
			t.Errorf("SCC created on an unsupported cluster")
		}
		cfg := getDWOConfig(t)
		if _, found, _ := unstructured.NestedFieldNoCopy(cfg.Object, "config", "workspace", "hostUsers"); found {
			t.Errorf("DWOC configured on an unsupported cluster")
		}
		_, dep := startWorkspace(t, userNS, "on-4-18")
		if operator.IsNested(&dep.Spec.Template) {
			t.Errorf("workspace on 4.18 is nested")
		}
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
	})

	t.Run("foreign_scc_is_not_overwritten", func(t *testing.T) {
		foreign := &securityv1.SecurityContextConstraints{
			ObjectMeta:         metav1.ObjectMeta{Name: enablerv1alpha1.DefaultSCCName},
			RunAsUser:          securityv1.RunAsUserStrategyOptions{Type: securityv1.RunAsUserStrategyMustRunAsRange},
			SELinuxContext:     securityv1.SELinuxContextStrategyOptions{Type: securityv1.SELinuxStrategyMustRunAs},
			FSGroup:            securityv1.FSGroupStrategyOptions{Type: securityv1.FSGroupStrategyMustRunAs},
			SupplementalGroups: securityv1.SupplementalGroupsStrategyOptions{Type: securityv1.SupplementalGroupsStrategyRunAsAny},
		}
		if err := env.cluster.Client.Create(ctx, foreign); err != nil {
			t.Fatal(err)
		}
		setEnabled(t, true)
		msg := waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonSCCNotOwned)
		if !strings.Contains(msg, enablerv1alpha1.DefaultSCCName) {
			t.Errorf("message does not name the SCC: %s", msg)
		}
		got := &securityv1.SecurityContextConstraints{}
		if err := env.cluster.Client.Get(ctx, client.ObjectKeyFromObject(foreign), got); err != nil {
			t.Fatal(err)
		}
		if got.ResourceVersion != foreign.ResourceVersion {
			t.Errorf("foreign SCC was modified: %+v", got)
		}
		cfg := getDWOConfig(t)
		if _, found, _ := unstructured.NestedFieldNoCopy(cfg.Object, "config", "workspace", "hostUsers"); found {
			t.Errorf("DWOC configured although the SCC is not ours")
		}
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		if !sccExists(t, enablerv1alpha1.DefaultSCCName) {
			t.Errorf("toggle-off deleted an SCC that is not ours")
		}
		if err := env.cluster.Client.Delete(ctx, foreign); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("openshift_builtin_scc_is_used_when_present", func(t *testing.T) {
		// OpenShift 4.20+ ships nested-container; with builtIn Auto the
		// operator pins workspaces to it instead of creating its own.
		setEnabled(t, true)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		if !sccExists(t, enablerv1alpha1.DefaultSCCName) {
			t.Fatalf("no %s SCC before the built-in one appears", enablerv1alpha1.DefaultSCCName)
		}
		builtIn := scc.NestedPodmanSCC(scc.BuiltInSCCName, 1000, []string{"SETUID", "SETGID"})
		builtIn.Labels = nil
		if err := env.cluster.Client.Create(ctx, builtIn); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := env.cluster.Client.Delete(ctx, builtIn); err != nil {
				t.Error(err)
			}
		}()
		poke(t)
		localcluster.Eventually(t, waitTimeout, "Ready names the built-in SCC", func() error {
			c := meta.FindStatusCondition(getNC(t).Status.Conditions, enablerv1alpha1.ConditionReady)
			if c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, scc.BuiltInSCCName) {
				return errorf("Ready = %+v", c)
			}
			return nil
		})
		cfg := getDWOConfig(t)
		if got, _, _ := unstructured.NestedString(cfg.Object, "config", "workspace", "podAnnotations", operator.RequiredSCCAnnotation); got != scc.BuiltInSCCName {
			t.Errorf("required-scc = %q, want %s", got, scc.BuiltInSCCName)
		}
		// Our SCC goes once the operator's cache has seen it (it may have
		// been created a moment before the built-in one appeared).
		localcluster.Eventually(t, waitTimeout, "our SCC removed in favour of the built-in one", func() error {
			if sccExists(t, enablerv1alpha1.DefaultSCCName) {
				return errorf("%s still there beside OpenShift's %s", enablerv1alpha1.DefaultSCCName, scc.BuiltInSCCName)
			}
			return nil
		})
		localcluster.Eventually(t, waitTimeout, "only the built-in SCC's use role left", func() error {
			roles := &rbacv1.ClusterRoleList{}
			if err := env.cluster.Client.List(ctx, roles, client.MatchingLabels(scc.ManagedLabels())); err != nil {
				return err
			}
			if len(roles.Items) != 1 || roles.Items[0].Name != scc.UseClusterRoleName(scc.BuiltInSCCName) {
				return errorf("our ClusterRoles = %d, want only %s", len(roles.Items), scc.UseClusterRoleName(scc.BuiltInSCCName))
			}
			return nil
		})
		sa := workspaceServiceAccount(t, userNS)
		if !canI(t, "system:serviceaccount:"+userNS+":"+sa, userNS, "use", scc.BuiltInSCCName) {
			t.Errorf("workspace service account may not use %s", scc.BuiltInSCCName)
		}
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		if !sccExists(t, scc.BuiltInSCCName) {
			t.Errorf("toggle-off deleted OpenShift's own SCC")
		}
	})

	assertInvariant(t)
}

func workspaceServiceAccount(t *testing.T, namespace string) string {
	t.Helper()
	list := &corev1.ServiceAccountList{}
	if err := env.cluster.Client.List(context.Background(), list, client.InNamespace(namespace), client.HasLabels{operator.WorkspaceIDLabel}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) == 0 {
		t.Fatalf("DWO created no workspace service account in %s", namespace)
	}
	return list.Items[0].Name
}
