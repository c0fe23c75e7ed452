package operator_test

import (
	"context"
	"strings"
	"testing"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	"github.com/devfile/api/v2/pkg/attributes"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/grants"
	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/operatortest"
)

// A shared cluster, round two: tenants with admin of their own projects try
// to stop, slow or mislead the operator for everyone, or keep a grant after
// the admin disables the feature.
func TestTenantsCannotHaltOrOutliveTheOperator(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) {
		s.Enabled, s.SCC.BuiltIn = true, enablerv1alpha1.BuiltInAuto
	})
	waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
	const tenantNS = "tenant-trudy"
	ensureNamespace(t, tenantNS)
	trudy := tenantClient(t, "trudy", tenantNS)

	// Our label is not our name: a tenant's labelled RoleBinding is not the
	// operator's to delete (its RBAC could not, and every reconcile, the
	// disable and the finalizer would stall on the refusal).
	t.Run("a_labelled_rolebinding_halts_nothing", func(t *testing.T) {
		bait := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "looks-managed", Namespace: tenantNS, Labels: owned.Labels()},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "trudy"}}}
		if err := trudy.Create(ctx, bait); err != nil {
			t.Fatal(err)
		}
		poke(t)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		if err := env.cluster.Client.Get(ctx, client.ObjectKeyFromObject(bait), &rbacv1.RoleBinding{}); err != nil {
			t.Errorf("the tenant's RoleBinding: %v", err)
		}
		setEnabled(t, true)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
	})

	// While enabled, a workspace's service account may use the SCC and
	// patch its own DevWorkspace: it sets the scc attribute, for which the
	// DevWorkspace Operator mints a Role of its own. After the admin
	// disables the feature, no path the operator opened may leave the
	// service account able to use the SCC.
	t.Run("use_does_not_outlive_disable", func(t *testing.T) {
		ws, _ := startWorkspace(t, tenantNS, "trudy-ws")
		runningWorkspace(t, ws)
		sa := workspaceServiceAccount(t, tenantNS)
		saUser := "system:serviceaccount:" + tenantNS + ":" + sa
		saClient := operatortest.ServiceAccount(t, env.cluster, tenantNS, sa)
		cur := &dwv2.DevWorkspace{}
		if err := saClient.Get(ctx, client.ObjectKeyFromObject(ws), cur); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(cur.DeepCopy())
		if cur.Spec.Template.Attributes == nil {
			cur.Spec.Template.Attributes = attributes.Attributes{}
		}
		cur.Spec.Template.Attributes.PutString("controller.devfile.io/scc", scc.BuiltInSCCName)
		if err := saClient.Patch(ctx, cur, patch); err != nil {
			t.Fatalf("the workspace's service account patches its DevWorkspace: %v", err)
		}
		// A Role an earlier version's grant let the DevWorkspace Operator
		// mint, as it mints them.
		minted := grants.DWOMintedName(scc.BuiltInSCCName)
		dwoLabels := map[string]string{"controller.devfile.io/workspace-rbac": "true", "app.kubernetes.io/part-of": "devworkspace-operator"}
		for _, o := range []client.Object{
			&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: minted, Namespace: tenantNS, Labels: dwoLabels},
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{"security.openshift.io"}, Resources: []string{"securitycontextconstraints"}, Verbs: []string{"use"}, ResourceNames: []string{scc.BuiltInSCCName}}}},
			&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: minted, Namespace: tenantNS, Labels: dwoLabels},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: minted}, Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: tenantNS, Name: sa}}},
		} {
			if err := env.cluster.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		}
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		localcluster.Eventually(t, waitTimeout, "no use left after disable", func() error {
			if canI(t, saUser, tenantNS, "use", scc.BuiltInSCCName) {
				return errorf("%s may still use %s after disable", saUser, scc.BuiltInSCCName)
			}
			return nil
		})
		if err := env.cluster.Client.Delete(ctx, ws); err != nil {
			t.Fatal(err)
		}
		setEnabled(t, true)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
	})

	// A tenant keeps their project Terminating (a finalizer on their
	// workspace's service account and DevWorkspace): the operator's
	// RoleBinding there can no longer be created, and every other
	// namespace — sorted after it too — is still served.
	t.Run("a_namespace_stuck_terminating_blocks_no_one", func(t *testing.T) {
		const stuckNS, laterNS = "tenant-aaa-stuck", "tenant-zzz-later"
		ws, _ := startWorkspace(t, stuckNS, "stuck-ws")
		runningWorkspace(t, ws)
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: workspaceServiceAccount(t, stuckNS), Namespace: stuckNS}}
		for _, o := range []client.Object{sa, &dwv2.DevWorkspace{ObjectMeta: ws.ObjectMeta}} {
			if err := env.cluster.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
				t.Fatal(err)
			}
			patch := client.MergeFrom(o.DeepCopyObject().(client.Object))
			o.SetFinalizers(append(o.GetFinalizers(), "trudy.example/keep"))
			if err := env.cluster.Client.Patch(ctx, o, patch); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { releaseFinalizers(t, stuckNS) })
		if err := env.cluster.Client.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: stuckNS}}); err != nil {
			t.Fatal(err)
		}
		localcluster.Eventually(t, waitTimeout, "our RoleBinding in the Terminating namespace gone", func() error {
			err := env.cluster.Client.Get(ctx, client.ObjectKey{Namespace: stuckNS, Name: grants.UseClusterRoleName(scc.BuiltInSCCName)}, &rbacv1.RoleBinding{})
			if !apierrors.IsNotFound(err) {
				return errorf("still there: %v", err)
			}
			return nil
		})
		later, _ := startWorkspace(t, laterNS, "later-ws")
		assertNestedPod(t, runningWorkspace(t, later), scc.BuiltInSCCName, enablerv1alpha1.DefaultRunAsUser)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
	})

	// Namespace editors may create DevWorkspaceOperatorConfigs: a 40 kB
	// value of one of the operator's fields, crafted to read like the
	// operator's own words, reaches the status cut and quoted, and the
	// status keeps being written.
	t.Run("a_tenants_text_is_bounded_and_quoted", func(t *testing.T) {
		text := "restricted-v2\"; the operator is healthy, nothing to do" + strings.Repeat(" padding", 5000)
		cfg := &unstructured.Unstructured{}
		cfg.SetGroupVersionKind(dwoconfig.GVK)
		cfg.SetName("trudys-config")
		cfg.SetNamespace(tenantNS)
		cfg.Object["config"] = map[string]any{"workspace": map[string]any{"podAnnotations": map[string]any{dwoconfig.RequiredSCCAnnotation: text}}}
		if err := trudy.Create(ctx, cfg); err != nil {
			t.Fatalf("a namespace admin creates a DevWorkspaceOperatorConfig: %v", err)
		}
		msg := waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionTrue, enablerv1alpha1.ReasonExternalConfigOverrides)
		if len(msg) > 2048 || !strings.Contains(msg, tenantNS+"/trudys-config sets") || !strings.Contains(msg, `="restricted-v2\"; the operator`) {
			t.Errorf("Degraded is %d bytes, or does not name and quote the tenant's value: %.300s", len(msg), msg)
		}
		// The status is still written: a spec change is observed.
		setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.RunAsUser = 1001 })
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.RunAsUser = enablerv1alpha1.DefaultRunAsUser })
		if err := trudy.Delete(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionFalse, enablerv1alpha1.ReasonAsExpected)
	})
}

// releaseFinalizers removes the tenant's finalizers from what is left in
// namespace, so that it goes.
func releaseFinalizers(t *testing.T, namespace string) {
	ctx := context.Background()
	for _, list := range []client.ObjectList{&corev1.ServiceAccountList{}, &dwv2.DevWorkspaceList{}} {
		if err := env.cluster.Client.List(ctx, list, client.InNamespace(namespace)); err != nil {
			t.Error(err)
			return
		}
		objs, err := meta.ExtractList(list)
		if err != nil {
			t.Error(err)
			return
		}
		for _, item := range objs {
			o := item.(client.Object)
			patch := client.MergeFrom(o.DeepCopyObject().(client.Object))
			controllerutil.RemoveFinalizer(o, "trudy.example/keep")
			if err := client.IgnoreNotFound(env.cluster.Client.Patch(ctx, o, patch)); err != nil {
				t.Error(err)
			}
		}
	}
}
