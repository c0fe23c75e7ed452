package operator_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

// On every release clusters run, with the default SCCs as that z-stream
// shipped them, and builtIn Auto and Never: the default install either runs
// a nested workspace, admitted by OpenShift's SCC admission under the SCC
// the status names as spec.runAsUser, or says why not. Where OpenShift's
// nested-container has no UID range (4.20 and 4.21 z-streams before their
// fixes), Auto passes it over for the operator's own SCC and says why.
func TestFieldReleases(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	t.Cleanup(func() {
		if err := env.cluster.Simulate(ctx, localcluster.OCP420); err != nil {
			t.Error(err)
		}
		setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) {
			s.Enabled, s.SCC.BuiltIn = false, enablerv1alpha1.BuiltInAuto
		})
	})
	for _, release := range localcluster.FieldReleases() {
		for _, mode := range []enablerv1alpha1.BuiltInMode{enablerv1alpha1.BuiltInAuto, enablerv1alpha1.BuiltInNever} {
			t.Run(release.Name+"/"+string(mode), func(t *testing.T) {
				if err := env.cluster.Simulate(ctx, release); err != nil {
					t.Fatal(err)
				}
				setSpec(t, func(s *enablerv1alpha1.NestedContainersSpec) {
					s.Enabled, s.SCC.BuiltIn, s.RunAsUser = true, mode, enablerv1alpha1.DefaultRunAsUser
				})
				wantSCC, passedOver := enablerv1alpha1.DefaultSCCName, ""
				switch {
				case mode == enablerv1alpha1.BuiltInNever || release.Minor() < 20:
				case slices.Contains(release.ReleaseSCCs, localcluster.NestedContainerAs4200):
					passedOver = "runAsUser"
				default:
					wantSCC = scc.BuiltInSCCName
				}
				localcluster.Eventually(t, waitTimeout, "configured for "+release.Name, func() error {
					nc := getNC(t)
					ready := meta.FindStatusCondition(nc.Status.Conditions, enablerv1alpha1.ConditionReady)
					if ready == nil || ready.Reason != enablerv1alpha1.ReasonConfigured || ready.ObservedGeneration != nc.Generation ||
						nc.Status.Cluster.OpenShiftVersion != release.Version {
						return errorf("Ready %+v on %s", ready, nc.Status.Cluster.OpenShiftVersion)
					}
					if nc.Status.SCC.Name != wantSCC {
						return errorf("status.scc %+v, want %s", nc.Status.SCC, wantSCC)
					}
					if passedOver != "" && (!strings.Contains(nc.Status.SCC.BuiltInPassedOver, passedOver) || !strings.Contains(ready.Message, "passed over")) {
						return errorf("status does not say why nested-container was passed over: %+v; %s", nc.Status.SCC, ready.Message)
					}
					return nil
				})
				ns := fmt.Sprintf("release-%s-%s", strings.NewReplacer(".", "-").Replace(strings.ToLower(release.Name)), strings.ToLower(string(mode)))
				ws, _ := startWorkspace(t, ns, "ws")
				pod := runningWorkspace(t, ws)
				assertNestedPod(t, pod, getNC(t).Status.SCC.Name, enablerv1alpha1.DefaultRunAsUser)
				assertInvariant(t)
				if err := env.cluster.Client.Delete(ctx, ws); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
