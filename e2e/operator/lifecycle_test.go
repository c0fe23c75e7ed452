package operator_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	securityv1 "github.com/openshift/api/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/grants"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/localcluster/dwo"
	"github.com/nested-workspaces/enabler/workspaces"
)

const userNS = "alice-devspaces"

// adminField is a field of the global DWOC that a cluster admin owns; the
// operator must never touch it.
func applyAdminDWOCField(t *testing.T) {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(dwoconfig.GVK)
	u.SetName(dwoconfig.Name)
	u.SetNamespace(operator.DefaultDWONamespace)
	u.Object["config"] = map[string]any{"workspace": map[string]any{"imagePullPolicy": "IfNotPresent"}}
	if err := env.cluster.Client.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("cluster-admin")); err != nil {
		t.Fatal(err)
	}
}

func TestOperatorLifecycle(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	applyAdminDWOCField(t)

	var plain *dwv2.DevWorkspace
	t.Run("toggle_off_configures_nothing", func(t *testing.T) {
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		waitCondition(t, enablerv1alpha1.ConditionSupported, metav1.ConditionTrue, enablerv1alpha1.ReasonClusterSupported)
		if sccExists(t, enablerv1alpha1.DefaultSCCName) {
			t.Errorf("SCC created while the toggle is off")
		}
		ws, dep := startWorkspace(t, userNS, "plain")
		plain = ws
		if workspaces.IsNested(&dep.Spec.Template) || dep.Spec.Template.Spec.HostUsers != nil {
			t.Errorf("workspace got nested settings with the toggle off: %+v", dep.Spec.Template.Spec)
		}
		assertRestrictedPod(t, runningWorkspace(t, ws))
		assertInvariant(t)
	})

	// On 4.20 with builtIn Auto (the default install) workspaces are pinned
	// to OpenShift's own nested-container SCC, whose UID range starts at 0:
	// the pod must still run as spec.runAsUser.
	var nested *appsv1.Deployment
	var nestedWS *dwv2.DevWorkspace
	t.Run("toggle_on_configures_dwo", func(t *testing.T) {
		_, logged := env.writes.since(0)
		setEnabled(t, true)
		msg := waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		// One structured line per write, naming the object, the step and
		// the transition it serves.
		lines, _ := env.writes.since(logged)
		wantLine := []string{`"verb"="apply"`, `"kind"="DevWorkspaceOperatorConfig"`, `"name"="` + dwoconfig.Name + `"`,
			`"step"="pin workspaces in the DevWorkspaceOperatorConfig"`, `"transition"="make workspaces nested under OpenShift's built-in SCC nested-container"`}
		if !slices.ContainsFunc(lines, func(l string) bool {
			for _, w := range wantLine {
				if !strings.Contains(l, w) {
					return false
				}
			}
			return true
		}) {
			t.Errorf("no log line for the DevWorkspaceOperatorConfig write with %v; the operator logged:\n%s", wantLine, strings.Join(lines, "\n"))
		}
		if !strings.Contains(msg, scc.BuiltInSCCName) {
			t.Errorf("Ready does not name OpenShift's %s SCC: %s", scc.BuiltInSCCName, msg)
		}
		if sccExists(t, enablerv1alpha1.DefaultSCCName) {
			t.Errorf("%s created although OpenShift's %s is there", enablerv1alpha1.DefaultSCCName, scc.BuiltInSCCName)
		}
		cfg := getDWOConfig(t)
		if v, _, _ := unstructured.NestedString(cfg.Object, "config", "workspace", "imagePullPolicy"); v != "IfNotPresent" {
			t.Errorf("admin's imagePullPolicy lost: %q", v)
		}

		assertInvariant(t)
	})

	// A workspace Running before the toggle: the DevWorkspace Operator
	// applies its new configuration when it next reconciles the workspace
	// (something about the workspace's own objects changing triggers that,
	// not the configuration) and rolls the pod: a restart. Until then the
	// status counts it as pending a restart.
	t.Run("running_workspace_across_toggle_on", func(t *testing.T) {
		if plain == nil {
			t.Skip("no workspace from before the toggle")
		}
		pod := rolledOrRestarted(t, plain, func(a admission) bool { return a.nested })
		assertNestedPod(t, pod, scc.BuiltInSCCName, enablerv1alpha1.DefaultRunAsUser)
		localcluster.Eventually(t, waitTimeout, "nothing pending once it runs nested", func() error {
			if w := getNC(t).Status.Workspaces; w.Total != 1 || w.Nested != 1 || w.PendingRestart != 0 {
				return errorf("workspaces = %+v, want total 1, 1 nested, none pending", w)
			}
			return nil
		})
	})

	t.Run("new_workspace_is_nested", func(t *testing.T) {
		ws, dep := startWorkspace(t, userNS, "nested")
		nested, nestedWS = dep, ws
		tpl := dep.Spec.Template
		if got := tpl.Annotations[dwoconfig.DevicesAnnotation]; got != "/dev/fuse,/dev/net/tun" {
			t.Errorf("devices annotation = %q", got)
		}
		pod := runningWorkspace(t, ws)
		assertNestedPod(t, pod, scc.BuiltInSCCName, enablerv1alpha1.DefaultRunAsUser)
		for _, c := range pod.Spec.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.ProcMount == nil || *sc.ProcMount != corev1.UnmaskedProcMount ||
				sc.AllowPrivilegeEscalation == nil || !*sc.AllowPrivilegeEscalation {
				t.Errorf("container %s: procMount Unmasked and allowPrivilegeEscalation wanted: %+v", c.Name, sc)
			}
		}
		assertInvariant(t)
	})

	t.Run("pod_runs_as_spec_runAsUser", func(t *testing.T) {
		setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.RunAsUser = 2000 })
		defer setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.RunAsUser = enablerv1alpha1.DefaultRunAsUser })
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		pod := restartWorkspace(t, plain)
		assertNestedPod(t, pod, scc.BuiltInSCCName, 2000)
	})

	t.Run("nested_template_without_use_is_rejected_by_scc_admission", func(t *testing.T) {
		if nested == nil {
			t.Skip("no nested workspace")
		}
		tenant := tenantClient(t, "alice", userNS)
		other := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "copycat", Namespace: userNS}}
		if err := tenant.Create(ctx, other); err != nil {
			t.Fatal(err)
		}
		tpl := nested.Spec.Template.DeepCopy()
		tpl.Spec.ServiceAccountName = other.Name
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "copycat", Namespace: userNS, Annotations: tpl.Annotations}, Spec: tpl.Spec}
		err := tenant.Create(ctx, pod)
		if err == nil || !strings.Contains(err.Error(), "unable to validate against any security context constraint") ||
			!strings.Contains(err.Error(), "not usable by user or serviceaccount") {
			t.Fatalf("a tenant's pod with the workspace template under another service account: err = %v, want SCC admission's refusal", err)
		}
		t.Logf("SCC admission: %v", err)
	})

	t.Run("dwo_does_not_fight_the_configuration", func(t *testing.T) {
		if nested == nil {
			t.Skip("no nested workspace")
		}
		key := client.ObjectKeyFromObject(nested)
		before := settled(t, key, 3*time.Second)
		// Nothing to await here: the check is that nothing happens while
		// DWO goes on reconciling, so it watches for a while.
		time.Sleep(20 * time.Second)
		after := &appsv1.Deployment{}
		if err := env.cluster.Client.Get(ctx, key, after); err != nil {
			t.Fatal(err)
		}
		if after.ResourceVersion != before.ResourceVersion || after.Generation != before.Generation {
			t.Errorf("Deployment changed after it settled: resourceVersion %s -> %s, generation %d -> %d",
				before.ResourceVersion, after.ResourceVersion, before.Generation, after.Generation)
		}
		if !workspaces.IsNested(&after.Spec.Template) {
			t.Errorf("workspace lost its nested settings")
		}
	})

	t.Run("second_reconcile_writes_nothing", func(t *testing.T) {
		quietWrites(t)
		before := env.requests.Snapshot()
		totalBefore := env.requests.Total()
		poke(t)
		// The poke's reconcile reads the cluster (detection); it is over
		// once the operator has made requests and then stopped.
		localcluster.Eventually(t, waitTimeout, "a reconcile after the poke", func() error {
			if env.requests.Total() == totalBefore {
				return errorf("the operator made no request since the poke")
			}
			return nil
		})
		requestsSettled(t)
		if w := env.requests.WritesSince(before); len(w) > 0 {
			t.Errorf("reconcile with nothing changed wrote: %v", w)
		}
		// Detection reads the node cache and the counts come from the
		// workspace counter: a reconcile costs the same few requests
		// (discovery, ClusterVersion, FeatureGate, two CRDs) however many
		// nodes and workspaces there are.
		made, n := map[string]int{}, 0
		for k, v := range env.requests.Snapshot() {
			if d := v - before[k]; d > 0 && !strings.HasPrefix(k, "WATCH ") {
				made[k], n = d, n+d
			}
		}
		t.Logf("one reconcile made %d requests: %v", n, made)
		for k := range made {
			if strings.HasSuffix(k, "/nodes") {
				t.Errorf("a reconcile listed %s from the API server instead of the cache", k)
			}
			// The counts come from the workspace counter's watch.
			if strings.HasSuffix(k, "/deployments") {
				t.Errorf("a reconcile read workspace Deployments from the API server (%s)", k)
			}
			// ClusterVersion and FeatureGate are watched: read from the cache.
			if strings.Contains(k, "/clusterversions/") || strings.Contains(k, "/featuregates/") {
				t.Errorf("a reconcile read %s from the API server instead of the cache", k)
			}
		}
		// One more when the cache holds OpenShift's SCC as read under an older
		// SCC schema (tests before this one switch releases): it is then
		// looked at on the API server (see TestBuiltInSCCIsUsedAfterTheSCCSchemaChanges).
		if n > 7 {
			t.Errorf("one reconcile made %d requests, want a small constant (<= 7): %v", n, made)
		}
	})

	// The counts follow workspaces as they come, stop and go, from the
	// workspaces' own watch: no reconcile lists them; and a Deployment that
	// only claims to be a workspace's is not counted.
	t.Run("workspace_counts_follow_events_without_listing", func(t *testing.T) {
		base := getNC(t).Status.Workspaces
		before := env.requests.Snapshot()
		waitCounts := func(what string, total, nested, pending int32) {
			t.Helper()
			localcluster.Eventually(t, waitTimeout, what, func() error {
				got := getNC(t).Status.Workspaces
				if got.Total != total || got.Nested != nested || got.PendingRestart != pending {
					return errorf("status.workspaces %+v, want total %d, nested %d, pendingRestart %d", got, total, nested, pending)
				}
				return nil
			})
		}
		ws, dep := startWorkspace(t, userNS, "counted")
		waitCounts("the new workspace counted", base.Total+1, base.Nested+1, base.PendingRestart)
		impostor := dwo.StoppedWorkspaceDeployment(userNS, "inflates-the-counts")
		impostor.OwnerReferences = dep.OwnerReferences // names the real DevWorkspace its controller
		impostor.Spec.Replicas = ptr.To(int32(1))
		impostor.Spec.Paused = true
		if err := env.cluster.Client.Create(ctx, impostor); err != nil {
			t.Fatal(err)
		}
		poke(t)
		waitCounts("the impostor not counted", base.Total+1, base.Nested+1, base.PendingRestart)
		if err := env.cluster.Client.Delete(ctx, ws); err != nil {
			t.Fatal(err)
		}
		waitCounts("the deleted workspace no longer counted", base.Total, base.Nested, base.PendingRestart)
		for k, v := range env.requests.Snapshot() {
			if d := v - before[k]; d > 0 && strings.HasSuffix(k, "/deployments") && !strings.HasPrefix(k, "WATCH ") {
				t.Errorf("the operator read workspace Deployments from the API server: %s ×%d", k, d)
			}
		}
	})

	t.Run("use_is_granted_narrowly", func(t *testing.T) {
		workspaceSA := workspaceServiceAccount(t, userNS)
		other := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "build-bot", Namespace: userNS}}
		if err := env.cluster.Client.Create(ctx, other); err != nil {
			t.Fatal(err)
		}
		dwoSA := "system:serviceaccount:" + operator.DefaultDWONamespace + ":" + dwo.ServiceAccountName
		for _, tc := range []struct {
			name, user, namespace, verb, scc string
			allowed                          bool
		}{
			{"workspace_sa_may_use_the_scc", "system:serviceaccount:" + userNS + ":" + workspaceSA, userNS, "use", scc.BuiltInSCCName, true},
			// It would let the DevWorkspace Operator mint Roles for the scc
			// attribute that outlive the operator's grants.
			{"dwo_sa_may_not_use_the_scc", dwoSA, userNS, "use", scc.BuiltInSCCName, false},
			{"other_sa_in_the_namespace_may_not", "system:serviceaccount:" + userNS + ":build-bot", userNS, "use", scc.BuiltInSCCName, false},
			{"workspace_sa_may_not_use_it_elsewhere", "system:serviceaccount:" + userNS + ":" + workspaceSA, "default", "use", scc.BuiltInSCCName, false},
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
		che.SetGroupVersionKind(dwoconfig.GVK)
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

	// With builtIn Never the operator creates and uses its own SCC; going
	// back to Auto moves workspaces to OpenShift's and removes ours.
	t.Run("own_scc_when_builtin_is_never", func(t *testing.T) {
		setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.SCC.BuiltIn = enablerv1alpha1.BuiltInNever })
		localcluster.Eventually(t, waitTimeout, "Ready names our SCC", func() error {
			c := meta.FindStatusCondition(getNC(t).Status.Conditions, enablerv1alpha1.ConditionReady)
			if c == nil || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "SCC "+enablerv1alpha1.DefaultSCCName) {
				return errorf("Ready = %+v", c)
			}
			return nil
		})
		got := &securityv1.SecurityContextConstraints{}
		if err := env.cluster.Client.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.DefaultSCCName}, got); err != nil {
			t.Fatal(err)
		}
		if got.UserNamespaceLevel != securityv1.NamespaceLevelRequirePod {
			t.Errorf("SCC userNamespaceLevel = %q", got.UserNamespaceLevel)
		}
		ws, _ := startWorkspace(t, userNS, "own-scc")
		assertNestedPod(t, runningWorkspace(t, ws), enablerv1alpha1.DefaultSCCName, enablerv1alpha1.DefaultRunAsUser)

		setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.SCC.BuiltIn = enablerv1alpha1.BuiltInAuto })
		localcluster.Eventually(t, waitTimeout, "our SCC removed in favour of the built-in one", func() error {
			if sccExists(t, enablerv1alpha1.DefaultSCCName) {
				return errorf("%s still there beside OpenShift's %s", enablerv1alpha1.DefaultSCCName, scc.BuiltInSCCName)
			}
			return nil
		})
		localcluster.Eventually(t, waitTimeout, "only the built-in SCC's use role left", func() error {
			roles := &rbacv1.ClusterRoleList{}
			if err := env.cluster.Client.List(ctx, roles, client.MatchingLabels(owned.Labels())); err != nil {
				return err
			}
			if len(roles.Items) != 1 || roles.Items[0].Name != grants.UseClusterRoleName(scc.BuiltInSCCName) {
				return errorf("our ClusterRoles = %d, want only %s", len(roles.Items), grants.UseClusterRoleName(scc.BuiltInSCCName))
			}
			return nil
		})
		assertNestedPod(t, restartWorkspace(t, ws), scc.BuiltInSCCName, enablerv1alpha1.DefaultRunAsUser)
	})

	t.Run("toggle_off_removes_only_ours", func(t *testing.T) {
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		localcluster.Eventually(t, waitTimeout, "our DWOC fields removed", func() error {
			cfg := getDWOConfig(t)
			ws, _, _ := unstructured.NestedMap(cfg.Object, "config", "workspace")
			for _, f := range []string{"hostUsers", "containerSecurityContext", "podSecurityContext", "podAnnotations"} {
				if _, ok := ws[f]; ok {
					return errorf("config.workspace.%s still set: %v", f, ws)
				}
			}
			if ws["imagePullPolicy"] != "IfNotPresent" {
				return errorf("admin's field removed: %v", ws)
			}
			return nil
		})
		localcluster.Eventually(t, waitTimeout, "bindings removed", func() error {
			for _, list := range []client.ObjectList{&rbacv1.ClusterRoleList{}, &rbacv1.ClusterRoleBindingList{}, &rbacv1.RoleBindingList{}} {
				if err := env.cluster.Client.List(ctx, list, client.MatchingLabels(owned.Labels())); err != nil {
					return err
				}
				if n := metaLen(list); n > 0 {
					return errorf("%d %T left", n, list)
				}
			}
			return nil
		})
		if !sccExists(t, scc.BuiltInSCCName) {
			t.Errorf("toggle-off deleted OpenShift's own SCC")
		}
		// Running nested workspaces go back the same way.
		if nestedWS != nil {
			pod := rolledOrRestarted(t, nestedWS, func(a admission) bool { return a.scc == "restricted-v2" && !a.nested })
			assertRestrictedPod(t, pod)
		}
		ws, dep := startWorkspace(t, userNS, "after-off")
		if workspaces.IsNested(&dep.Spec.Template) {
			t.Errorf("workspace started after toggle-off is nested")
		}
		assertRestrictedPod(t, runningWorkspace(t, ws))
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
		ws, dep := startWorkspace(t, userNS, "on-4-18")
		if workspaces.IsNested(&dep.Spec.Template) {
			t.Errorf("workspace on 4.18 is nested")
		}
		assertRestrictedPod(t, runningWorkspace(t, ws))
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
	})

	// 4.19 with the gates on has no nested-container SCC: the operator's own
	// SCC is used there.
	t.Run("own_scc_on_4_19_techpreview", func(t *testing.T) {
		if err := env.cluster.Simulate(ctx, localcluster.OCP419TechPreview); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := env.cluster.Simulate(ctx, localcluster.OCP420); err != nil {
				t.Fatal(err)
			}
		}()
		if sccExists(t, scc.BuiltInSCCName) {
			t.Fatalf("the 4.19 simulation has OpenShift 4.20's %s SCC", scc.BuiltInSCCName)
		}
		setEnabled(t, true)
		defer func() {
			setEnabled(t, false)
			waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		}()
		msg := waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		if !strings.Contains(msg, "SCC "+enablerv1alpha1.DefaultSCCName) {
			t.Errorf("Ready does not name our SCC: %s", msg)
		}
		ws, _ := startWorkspace(t, userNS, "on-4-19")
		assertNestedPod(t, runningWorkspace(t, ws), enablerv1alpha1.DefaultSCCName, enablerv1alpha1.DefaultRunAsUser)
	})

	t.Run("foreign_scc_is_not_overwritten", func(t *testing.T) {
		setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.SCC.BuiltIn = enablerv1alpha1.BuiltInNever })
		defer setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.SCC.BuiltIn = enablerv1alpha1.BuiltInAuto })
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

	assertInvariant(t)
}

// rolledOrRestarted waits for the DevWorkspace Operator to roll a Running
// workspace onto the configuration now wanted (wanted tells its pod); if it
// has not within rollWait, the status must count the workspace as pending a
// restart, and the workspace is restarted as a user would. Either way it
// returns the workspace's new Running pod and logs what happened.
func rolledOrRestarted(t *testing.T, ws *dwv2.DevWorkspace, wanted func(admission) bool) *corev1.Pod {
	t.Helper()
	const rollWait = 30 * time.Second
	ctx := context.Background()
	start := time.Now()
	for time.Since(start) < rollWait {
		p, err := dwo.RunningPod(ctx, env.cluster.Client, ws)
		if err != nil {
			t.Fatal(err)
		}
		if p != nil && wanted(admitted(t, p)) {
			t.Logf("DWO rolled %s onto the new configuration %s after the toggle", ws.Name, time.Since(start).Round(100*time.Millisecond))
			return p
		}
		time.Sleep(250 * time.Millisecond)
	}
	if pending := getNC(t).Status.Workspaces.PendingRestart; pending < 1 {
		t.Errorf("%s still runs the old configuration after %s, yet status.workspaces.pendingRestart = %d", ws.Name, rollWait, pending)
	}
	t.Logf("DWO had not rolled %s after %s: restarted it", ws.Name, rollWait)
	p := restartWorkspace(t, ws)
	if !wanted(admitted(t, p)) {
		t.Errorf("after a restart %s runs as %+v", ws.Name, admitted(t, p))
	}
	return p
}

// workspaceServiceAccount is the service account DWO made for a workspace
// in namespace: labelled, and controlled by a DevWorkspace.
func workspaceServiceAccount(t *testing.T, namespace string) string {
	t.Helper()
	list := &corev1.ServiceAccountList{}
	if err := env.cluster.Client.List(context.Background(), list, client.InNamespace(namespace), client.HasLabels{workspaces.IDLabel}); err != nil {
		t.Fatal(err)
	}
	for _, sa := range list.Items {
		if ref := metav1.GetControllerOf(&sa); ref != nil && ref.Kind == "DevWorkspace" {
			return sa.Name
		}
	}
	t.Fatalf("DWO created no workspace service account in %s", namespace)
	return ""
}

// An upgrade to 4.20 from a release whose SCC API has no userNamespaceLevel
// (4.18, 4.19 with featureSet Default) changes the SCC schema under the
// operator's cache, which may then keep OpenShift's nested-container SCC as
// read under the old schema, without RequirePodLevel. The operator must
// still see it as it is and use it (it looks again at the API server).
// Found when the Dev Spaces tests switched releases before this one.
func TestBuiltInSCCIsUsedAfterTheSCCSchemaChanges(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	setEnabled(t, false)
	waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
	// Down and up twice, as a cluster restored from an older backup and
	// upgraded again would; each change of the schema restarts the
	// operator's SCC watch.
	for _, s := range []localcluster.Scenario{localcluster.OCP419Default, localcluster.OCP420, localcluster.OCP418, localcluster.OCP420} {
		if err := env.cluster.Simulate(ctx, s); err != nil {
			t.Fatal(err)
		}
		poke(t)
		want := metav1.ConditionTrue
		if s.Minor() < 20 {
			want = metav1.ConditionFalse
		}
		localcluster.Eventually(t, waitTimeout, "Supported follows "+s.Name, func() error {
			c := meta.FindStatusCondition(getNC(t).Status.Conditions, enablerv1alpha1.ConditionSupported)
			if c == nil || c.Status != want || !strings.Contains(c.Message, s.Version) {
				return errorf("Supported = %+v", c)
			}
			return nil
		})
	}
	setEnabled(t, true)
	defer func() {
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
	}()
	msg := waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
	if !strings.Contains(msg, "OpenShift's built-in SCC "+scc.BuiltInSCCName) {
		t.Errorf("after the upgrade Ready does not name OpenShift's %s SCC: %s", scc.BuiltInSCCName, msg)
	}
	if sccExists(t, enablerv1alpha1.DefaultSCCName) {
		t.Errorf("%s created although OpenShift's %s is there", enablerv1alpha1.DefaultSCCName, scc.BuiltInSCCName)
	}
}
