package operator_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	configv1 "github.com/openshift/api/config/v1"
	securityv1 "github.com/openshift/api/security/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/grants"
	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/operatortest"
	"github.com/nested-workspaces/enabler/workspaces"
)

// A shared cluster, tried as a hostile tenant and as an admin on a bad day.
func TestSharedCluster(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) {
		s.Enabled, s.SCC.BuiltIn = false, enablerv1alpha1.BuiltInAuto
	})
	waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)

	const victimNS, bystanderNS = "tenant-mallory", "tenant-bob"
	victim, _ := startWorkspace(t, victimNS, "mallory-ws")
	bystander, _ := startWorkspace(t, bystanderNS, "bob-ws")
	runningWorkspace(t, victim)
	runningWorkspace(t, bystander)
	mallory := tenantClient(t, "mallory", victimNS)

	t.Run("a_tenants_rolebinding_of_our_name_blocks_only_its_namespace", func(t *testing.T) {
		squatter := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: grants.UseClusterRoleName(scc.BuiltInSCCName), Namespace: victimNS},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"}},
		}
		if err := mallory.Create(ctx, squatter); err != nil {
			t.Fatal(err)
		}
		setEnabled(t, true)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		msg := waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionTrue, enablerv1alpha1.ReasonGrantBlocked)
		if !strings.Contains(msg, victimNS+"/"+squatter.Name) {
			t.Errorf("Degraded does not name the tenant's object: %s", msg)
		}
		pod := rolledOrRestarted(t, bystander, func(a admission) bool { return a.nested })
		assertNestedPod(t, pod, scc.BuiltInSCCName, enablerv1alpha1.DefaultRunAsUser)
		got := &rbacv1.RoleBinding{}
		if err := env.cluster.Client.Get(ctx, client.ObjectKeyFromObject(squatter), got); err != nil {
			t.Fatal(err)
		}
		if got.RoleRef.Name != "view" || len(got.Subjects) != 1 || got.Subjects[0].Name != "mallory" {
			t.Errorf("the tenant's RoleBinding was changed: %+v", got)
		}
		sa := workspaceServiceAccount(t, victimNS)
		if canI(t, "system:serviceaccount:"+victimNS+":"+sa, victimNS, "use", scc.BuiltInSCCName) {
			t.Errorf("workspace service account in the blocked namespace may use the SCC")
		}
		// The victim's workspace, restarted onto the pin, is refused by SCC
		// admission: it shows up as failing, with admission's answer, and
		// as the operator's configuration's fault (its grant is missing).
		setStarted(t, victim, false)
		setStarted(t, victim, true)
		localcluster.Eventually(t, waitTimeout, "the refused workspace counted as failing", func() error {
			w := getNC(t).Status.Workspaces
			for _, f := range w.FailingSample {
				if f.Namespace == victimNS && f.Cause == enablerv1alpha1.FailureCauseOurConfiguration && strings.Contains(f.Message, "not usable by user or serviceaccount") {
					return nil
				}
			}
			return errorf("failing %d, sample %+v", w.Failing, w.FailingSample)
		})
		if c := meta.FindStatusCondition(getNC(t).Status.Conditions, enablerv1alpha1.ConditionDegraded); c == nil || !strings.Contains(c.Message, "SCC admission refuses the pods of 1 workspaces") {
			t.Errorf("Degraded does not say the pinned workspace is refused: %+v", c)
		}
		if err := mallory.Delete(ctx, squatter); err != nil {
			t.Fatal(err)
		}
		localcluster.Eventually(t, waitTimeout, "the freed namespace is served", func() error {
			if !canI(t, "system:serviceaccount:"+victimNS+":"+sa, victimNS, "use", scc.BuiltInSCCName) {
				return errorf("workspace service account in %s still may not use %s", victimNS, scc.BuiltInSCCName)
			}
			return nil
		})
		// Once the cause is gone, the restarted workspace runs and leaves
		// the count.
		pod = restartWorkspace(t, victim)
		assertNestedPod(t, pod, scc.BuiltInSCCName, enablerv1alpha1.DefaultRunAsUser)
		// Only the victim's namespace is judged: a workspace an earlier test
		// of this package left refused elsewhere stays counted, as it should.
		localcluster.Eventually(t, waitTimeout, "no workspace failing in "+victimNS, func() error {
			w := getNC(t).Status.Workspaces
			for _, f := range w.FailingSample {
				if f.Namespace == victimNS {
					return errorf("failing %d: %+v", w.Failing, w.FailingSample)
				}
			}
			if int(w.Failing) > len(w.FailingSample) {
				return errorf("failing %d, more than the sample shows: %+v", w.Failing, w.FailingSample)
			}
			return nil
		})
		waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionFalse, enablerv1alpha1.ReasonAsExpected)
	})

	t.Run("a_label_alone_earns_no_use", func(t *testing.T) {
		labelled := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "looks-like-a-workspace", Namespace: victimNS,
			Labels: map[string]string{workspaces.IDLabel: "workspace0000000000000000"}}}
		forged := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "owned-by-nothing", Namespace: victimNS,
			Labels: map[string]string{workspaces.IDLabel: "workspace0000000000000001"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "workspace.devfile.io/v1alpha2", Kind: "DevWorkspace",
				Name: "gone", UID: types.UID("00000000-0000-0000-0000-000000000000"), Controller: ptrTrue()}}}}
		for _, sa := range []*corev1.ServiceAccount{labelled, forged} {
			if err := mallory.Create(ctx, sa); err != nil {
				t.Fatal(err)
			}
		}
		// The operator has seen them once a poke is reconciled with no write.
		poke(t)
		quietWrites(t)
		for _, sa := range []*corev1.ServiceAccount{labelled, forged} {
			if canI(t, "system:serviceaccount:"+victimNS+":"+sa.Name, victimNS, "use", scc.BuiltInSCCName) {
				t.Errorf("service account %s may use %s with no DevWorkspace behind it", sa.Name, scc.BuiltInSCCName)
			}
		}
		if sa := workspaceServiceAccount(t, victimNS); !canI(t, "system:serviceaccount:"+victimNS+":"+sa, victimNS, "use", scc.BuiltInSCCName) {
			t.Errorf("the real workspace service account %s lost use", sa)
		}
	})

	// Each transition is a list of steps that stops at the first failure:
	// with the DevWorkspaceOperatorConfig write failing, nothing that a
	// workspace pinned by it needs may go.
	t.Run("disable_stops_at_a_failed_step", func(t *testing.T) {
		block := denyDWOConfigWrites(t)
		setEnabled(t, false)
		msg := waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonCleanupFailed)
		if !strings.Contains(msg, "DevWorkspaceOperatorConfig") {
			t.Errorf("Ready does not say which step failed: %s", msg)
		}
		waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionTrue, enablerv1alpha1.ReasonCleanupFailed)
		if got := pinnedSCC(t); got != scc.BuiltInSCCName {
			t.Fatalf("DWOC pins %q; the injected failure did not hold", got)
		}
		sa := workspaceServiceAccount(t, bystanderNS)
		if !canI(t, "system:serviceaccount:"+bystanderNS+":"+sa, bystanderNS, "use", scc.BuiltInSCCName) {
			t.Errorf("grants were removed while the DevWorkspaceOperatorConfig still pins %s", scc.BuiltInSCCName)
		}
		block()
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		localcluster.Eventually(t, waitTimeout, "grants removed after the pin", func() error {
			if pinnedSCC(t) != "" {
				return errorf("DWOC still pins an SCC")
			}
			if canI(t, "system:serviceaccount:"+bystanderNS+":"+sa, bystanderNS, "use", scc.BuiltInSCCName) {
				return errorf("workspace service account still may use %s", scc.BuiltInSCCName)
			}
			return nil
		})
	})

	t.Run("switching_scc_keeps_the_old_one_until_the_pin_moves", func(t *testing.T) {
		setEnabled(t, true)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		sa := workspaceServiceAccount(t, bystanderNS)
		block := denyDWOConfigWrites(t)
		setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.SCC.BuiltIn = enablerv1alpha1.BuiltInNever })
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonApplyFailed)
		if got := pinnedSCC(t); got != scc.BuiltInSCCName {
			t.Fatalf("DWOC pins %q; the injected failure did not hold", got)
		}
		if !canI(t, "system:serviceaccount:"+bystanderNS+":"+sa, bystanderNS, "use", scc.BuiltInSCCName) {
			t.Errorf("use of %s was removed while the DevWorkspaceOperatorConfig still pins it", scc.BuiltInSCCName)
		}
		block()
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		localcluster.Eventually(t, waitTimeout, "the old SCC's grants released after the pin moved", func() error {
			if got := pinnedSCC(t); got != enablerv1alpha1.DefaultSCCName {
				return errorf("DWOC pins %q", got)
			}
			if canI(t, "system:serviceaccount:"+bystanderNS+":"+sa, bystanderNS, "use", scc.BuiltInSCCName) {
				return errorf("use of %s still granted", scc.BuiltInSCCName)
			}
			if !canI(t, "system:serviceaccount:"+bystanderNS+":"+sa, bystanderNS, "use", enablerv1alpha1.DefaultSCCName) {
				return errorf("use of %s not granted", enablerv1alpha1.DefaultSCCName)
			}
			return nil
		})
		setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.SCC.BuiltIn = enablerv1alpha1.BuiltInAuto })
		localcluster.Eventually(t, waitTimeout, "our SCC removed once the pin moved back", func() error {
			if sccExists(t, enablerv1alpha1.DefaultSCCName) || pinnedSCC(t) != scc.BuiltInSCCName {
				return errorf("%s still there or not pinned to %s", enablerv1alpha1.DefaultSCCName, scc.BuiltInSCCName)
			}
			return nil
		})
	})

	// Mid-upgrade the FeatureGate may not yet list the new version: the
	// verdict is Unsupported for a moment, which must not tear down what
	// works.
	t.Run("a_passing_unsupported_verdict_keeps_the_configuration", func(t *testing.T) {
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		fg := &configv1.FeatureGate{}
		if err := env.cluster.Client.Get(ctx, client.ObjectKey{Name: "cluster"}, fg); err != nil {
			t.Fatal(err)
		}
		fg.Status.FeatureGates[0].Version = "4.21.0"
		if err := env.cluster.Client.Status().Update(ctx, fg); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := env.cluster.Simulate(ctx, localcluster.OCP420); err != nil {
				t.Fatal(err)
			}
			waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		}()
		msg := waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonKeptLastGood)
		waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionTrue, enablerv1alpha1.ReasonDetectionInconclusive)
		if c := meta.FindStatusCondition(getNC(t).Status.Conditions, enablerv1alpha1.ConditionSupported); c == nil || c.Status != metav1.ConditionUnknown {
			t.Errorf("Supported = %+v, want Unknown", c)
		}
		if !strings.Contains(msg, "keeping") {
			t.Errorf("Ready message: %s", msg)
		}
		if got := pinnedSCC(t); got != scc.BuiltInSCCName {
			t.Errorf("DWOC pins %q after a passing Unsupported verdict", got)
		}
	})

	// An admin on a bad day edits what the operator owns: each is corrected
	// or reported without waiting for anything but the watch.
	t.Run("admin_edits_are_corrected_or_reported", func(t *testing.T) {
		setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.SCC.BuiltIn = enablerv1alpha1.BuiltInNever })
		defer setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) { s.SCC.BuiltIn = enablerv1alpha1.BuiltInAuto })
		localcluster.Eventually(t, waitTimeout, "our SCC pinned", func() error {
			if pinnedSCC(t) != enablerv1alpha1.DefaultSCCName {
				return errorf("DWOC pins %q", pinnedSCC(t))
			}
			return nil
		})

		ours := &securityv1.SecurityContextConstraints{}
		if err := env.cluster.Client.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.DefaultSCCName}, ours); err != nil {
			t.Fatal(err)
		}
		ours.AllowedCapabilities = append(ours.AllowedCapabilities, "SYS_ADMIN")
		ours.AllowPrivilegeEscalation = ptrFalse()
		if err := env.cluster.Client.Update(ctx, ours); err != nil {
			t.Fatal(err)
		}
		localcluster.Eventually(t, waitTimeout, "the edited SCC is put back", func() error {
			got := &securityv1.SecurityContextConstraints{}
			if err := env.cluster.Client.Get(ctx, client.ObjectKeyFromObject(ours), got); err != nil {
				return err
			}
			if len(got.AllowedCapabilities) != 2 || got.AllowPrivilegeEscalation == nil || !*got.AllowPrivilegeEscalation {
				return errorf("SCC still edited: caps %v, allowPrivilegeEscalation %v", got.AllowedCapabilities, got.AllowPrivilegeEscalation)
			}
			return nil
		})

		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: bystanderNS, Name: grants.UseClusterRoleName(enablerv1alpha1.DefaultSCCName)}}
		if err := env.cluster.Client.Delete(ctx, rb); err != nil {
			t.Fatal(err)
		}
		sa := workspaceServiceAccount(t, bystanderNS)
		localcluster.Eventually(t, waitTimeout, "the deleted RoleBinding is back", func() error {
			if !canI(t, "system:serviceaccount:"+bystanderNS+":"+sa, bystanderNS, "use", enablerv1alpha1.DefaultSCCName) {
				return errorf("workspace service account may not use %s", enablerv1alpha1.DefaultSCCName)
			}
			return nil
		})

		// kubectl edit of one of our DWOC fields takes it over: the operator
		// does not fight another manager, it says who holds what.
		cfg := getDWOConfig(t)
		if err := unstructured.SetNestedField(cfg.Object, true, "config", "workspace", "hostUsers"); err != nil {
			t.Fatal(err)
		}
		if err := env.cluster.Client.Update(ctx, cfg, client.FieldOwner("kubectl-edit")); err != nil {
			t.Fatal(err)
		}
		msg := waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDWOConfigConflict)
		if !strings.Contains(msg, "hostUsers") {
			t.Errorf("Ready does not name the field: %s", msg)
		}
		// With hostUsers no longer false, the capabilities must not stay.
		localcluster.Eventually(t, waitTimeout, "our fields withdrawn", func() error {
			ws, _, _ := unstructured.NestedMap(getDWOConfig(t).Object, "config", "workspace")
			if _, ok := ws["containerSecurityContext"]; ok {
				return errorf("capabilities still configured beside the admin's hostUsers: %v", ws)
			}
			if ws["hostUsers"] != true {
				return errorf("the admin's hostUsers was touched: %v", ws)
			}
			return nil
		})
		// Handing the field back (removing the admin's value) lets the
		// operator apply it again.
		cfg = getDWOConfig(t)
		unstructured.RemoveNestedField(cfg.Object, "config", "workspace", "hostUsers")
		if err := env.cluster.Client.Update(ctx, cfg, client.FieldOwner("kubectl-edit")); err != nil {
			t.Fatal(err)
		}
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
	})

	t.Run("finalizer_only_once_something_was_written", func(t *testing.T) {
		setEnabled(t, false)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		deleteNC(t)
		nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
		if err := env.cluster.Client.Create(ctx, nc); err != nil {
			t.Fatal(err)
		}
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
		if fs := getNC(t).Finalizers; len(fs) != 0 {
			t.Errorf("finalizers %v on a resource that never had anything written", fs)
		}
		deleteNC(t)
	})

	t.Run("deleting_the_resource_while_enabled_removes_everything", func(t *testing.T) {
		setEnabled(t, true)
		waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionTrue, enablerv1alpha1.ReasonConfigured)
		if fs := getNC(t).Finalizers; len(fs) != 1 || fs[0] != operator.Finalizer {
			t.Errorf("finalizers = %v, want %s once configured", fs, operator.Finalizer)
		}
		deleteNC(t)
		assertNothingOfOurs(t)
	})
}

// denyDWOConfigWrites makes the API server refuse the operator's writes to
// DevWorkspaceOperatorConfigs (a ValidatingAdmissionPolicy), as an outage
// or a misconfigured webhook would; the returned func lifts it.
func denyDWOConfigWrites(t *testing.T) func() {
	t.Helper()
	ctx := context.Background()
	user := fmt.Sprintf("system:serviceaccount:%s:%s", operatorNamespace, operatorSA)
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "test-deny-operator-dwoc-writes"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptrFail(),
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"controller.devfile.io"}, APIVersions: []string{"*"}, Resources: []string{"devworkspaceoperatorconfigs"}},
				}}}},
			Validations: []admissionregistrationv1.Validation{{
				Expression: fmt.Sprintf("request.userInfo.username != %q", user),
				Message:    "injected failure: DevWorkspaceOperatorConfig writes by the operator are refused",
			}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: policy.Name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy.Name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}},
	}
	for _, o := range []client.Object{policy, binding} {
		if err := env.cluster.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	lift := func() {
		for _, o := range []client.Object{binding, policy} {
			if err := env.cluster.Client.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
				t.Error(err)
			}
		}
	}
	t.Cleanup(lift) // also when the test fails before lifting it, or while waiting below
	// The policy takes effect asynchronously (and goes likewise: a lifted
	// one is waited out by the callers' conditions).: wait until a write is refused.
	localcluster.Eventually(t, waitTimeout, "the injected failure takes effect", func() error {
		probe := operatorClient(t)
		err := probe.Apply(ctx, client.ApplyConfigurationFromUnstructured(probeDWOC()), client.FieldOwner("injected-failure-probe"), client.ForceOwnership, client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), "injected failure") {
			return errorf("operator's DWOC write not refused yet: %v", err)
		}
		return nil
	})
	return lift
}

// operatorClient is a client acting as the operator's service account.
func operatorClient(t *testing.T) client.Client {
	t.Helper()
	return actingAs(t, operatorNamespace)
}

// probeDWOC is a write the fence (manifests/policy) admits from the
// operator, one of its own fields, so that only an injected failure
// refuses it.
func probeDWOC() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(dwoconfig.GVK)
	u.SetName(dwoconfig.Name)
	u.SetNamespace(operator.DefaultDWONamespace)
	u.Object["config"] = map[string]any{"workspace": map[string]any{"hostUsers": false}}
	return u
}

// pinnedSCC is the SCC the global DWOC pins workspaces to, "" for none.
func pinnedSCC(t *testing.T) string {
	t.Helper()
	got, err := operatortest.PinnedSCC(context.Background(), env.cluster.Client, operator.DefaultDWONamespace)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func deleteNC(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
	if err := env.cluster.Client.Delete(ctx, nc); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	localcluster.Eventually(t, waitTimeout, "NestedContainers deleted", func() error {
		err := env.cluster.Client.Get(ctx, client.ObjectKeyFromObject(nc), nc)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return errorf("still there (finalizers %v, conditions %v): %v", nc.Finalizers, nc.Status.Conditions, err)
	})
}

// assertNothingOfOurs checks that no SCC, role, binding or DWOC field of
// the operator is left.
func assertNothingOfOurs(t *testing.T) {
	t.Helper()
	if err := operatortest.NothingOfOurs(context.Background(), env.cluster.Client, operator.DefaultDWONamespace); err != nil {
		t.Error(err)
	}
}

func ptrTrue() *bool  { b := true; return &b }
func ptrFalse() *bool { b := false; return &b }

func ptrFail() *admissionregistrationv1.FailurePolicyType {
	f := admissionregistrationv1.Fail
	return &f
}
