package operator_test

import (
	"context"
	"strings"
	"testing"

	securityv1 "github.com/openshift/api/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

// The operator's service account may create SCCs (RBAC cannot limit create
// by name). The shipped admission policy keeps a stolen token from turning
// that into cluster-admin: tried here as that service account, on the API
// server, with dry runs.
func TestOperatorCannotWriteDangerousSCCs(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	op := operatorClient(t)
	ours := func(change func(*securityv1.SecurityContextConstraints)) *securityv1.SecurityContextConstraints {
		s := scc.NestedPodmanSCC("fence-probe", enablerv1alpha1.DefaultRunAsUser, []string{"SETUID", "SETGID"})
		change(s)
		return s
	}
	// The policy takes effect a moment after it is created.
	localcluster.Eventually(t, waitTimeout, "the fence is in force", func() error {
		err := op.Create(ctx, ours(func(s *securityv1.SecurityContextConstraints) { s.AllowPrivilegedContainer = true }), client.DryRunAll)
		if err == nil {
			return errorf("a privileged SCC was admitted")
		}
		return nil
	})
	for _, tc := range []struct {
		name    string
		scc     *securityv1.SecurityContextConstraints
		allowed bool
		want    string
	}{
		{"its_own_nested_scc_is_allowed", ours(func(*securityv1.SecurityContextConstraints) {}), true, ""},
		{"privileged_is_refused", ours(func(s *securityv1.SecurityContextConstraints) { s.AllowPrivilegedContainer = true }), false, "privileged"},
		{"host_network_is_refused", ours(func(s *securityv1.SecurityContextConstraints) { s.AllowHostNetwork = true }), false, "host"},
		{"host_paths_are_refused", ours(func(s *securityv1.SecurityContextConstraints) { s.AllowHostDirVolumePlugin = true }), false, "host"},
		{"naming_a_user_is_refused", ours(func(s *securityv1.SecurityContextConstraints) { s.Users = []string{"system:admin"} }), false, "users or groups"},
		{"naming_a_group_is_refused", ours(func(s *securityv1.SecurityContextConstraints) { s.Groups = []string{"system:authenticated"} }), false, "users or groups"},
		{"host_user_namespace_is_refused", ours(func(s *securityv1.SecurityContextConstraints) {
			s.UserNamespaceLevel = securityv1.NamespaceLevelAllowHost
		}), false, "user namespace"},
		{"other_capabilities_are_refused", ours(func(s *securityv1.SecurityContextConstraints) {
			s.AllowedCapabilities = append(s.AllowedCapabilities, "SYS_ADMIN")
		}), false, "SETUID, SETGID and CHOWN"},
		{"an_scc_not_labelled_ours_is_refused", ours(func(s *securityv1.SecurityContextConstraints) { s.Labels = nil }), false, "labelled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := op.Create(ctx, tc.scc, client.DryRunAll)
			switch {
			case tc.allowed && err != nil:
				t.Errorf("refused: %v", err)
			case !tc.allowed && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want a refusal mentioning %q", err, tc.want)
			}
		})
	}

	t.Run("taking_over_an_admins_scc_by_label_is_refused", func(t *testing.T) {
		admin := &securityv1.SecurityContextConstraints{}
		if err := env.cluster.Client.Get(ctx, client.ObjectKey{Name: "restricted-v2"}, admin); err != nil {
			t.Fatal(err)
		}
		admin.Labels = owned.Labels()
		if err := op.Update(ctx, admin, client.DryRunAll); err == nil {
			t.Errorf("the operator relabelled restricted-v2")
		}
	})
	t.Run("deleting_openshifts_scc_is_refused", func(t *testing.T) {
		builtIn := &securityv1.SecurityContextConstraints{ObjectMeta: metav1.ObjectMeta{Name: scc.BuiltInSCCName}}
		if err := op.Delete(ctx, builtIn, client.DryRunAll); err == nil {
			t.Errorf("the operator deleted %s", scc.BuiltInSCCName)
		}
	})
}
