package operator_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
	"github.com/nested-workspaces/enabler/test/localcluster/dwo"
	"github.com/nested-workspaces/enabler/workspaces"
)

// devSpacesNS holds the workspaces of the Dev Spaces tests.
const devSpacesNS = "carol-devspaces"

// TestWithDevSpaces walks Dev Spaces' settings × our toggle on OpenShift
// 4.20 and proves, for a workspace as Dev Spaces' dashboard creates it
// (Che's DevWorkspaceOperatorConfig merged over ours, Che's SCC named) and
// for one outside Dev Spaces, under which SCC SCC admission admits its pod,
// as which UID, and that it runs. This is the table of "With OpenShift Dev
// Spaces" in docs/admin.md.
func TestWithDevSpaces(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	ensureNamespace(t, devSpacesNS)
	t.Cleanup(func() { removeDevSpaces(t) })

	nestedAs := func(sccName string, uid int64) func(admission) error {
		return func(a admission) error {
			if want := (admission{scc: sccName, uid: uid, seLinuxType: "container_engine_t", nested: true}); a != want {
				return fmt.Errorf("admitted as %+v, want %+v", a, want)
			}
			return nil
		}
	}
	hostUsersAs := func(sccName string) func(admission) error {
		return func(a admission) error {
			if a.scc != sccName || a.uid < 1000000000 || a.nested {
				return fmt.Errorf("admitted as %+v, want %s with a namespace-range UID and no nested settings", a, sccName)
			}
			return nil
		}
	}
	run := localcluster.DevSpacesSettings{ContainerRun: true, ContainerBuild: true}
	build := localcluster.DevSpacesSettings{ContainerBuild: true}
	for _, tc := range []struct {
		name    string
		che     localcluster.DevSpacesSettings
		enabled bool
		// wantSaid is in the Ready message: who manages what.
		wantSaid string
		// Dev Spaces' workspace, and one outside Dev Spaces (nil: not tried).
		cheWS, plainWS func(admission) error
		cheCaps        []string
	}{
		{"container_run_on_toggle_on", run, true,
			"Dev Spaces' container run is on in CheCluster openshift-devspaces/devspaces: its workspaces keep this pin and add CHOWN",
			nestedAs(enablerv1alpha1.DefaultSCCName, enablerv1alpha1.DefaultRunAsUser), nestedAs(enablerv1alpha1.DefaultSCCName, enablerv1alpha1.DefaultRunAsUser),
			[]string{"CHOWN", "SETGID", "SETUID"}},
		{"container_run_on_toggle_off", run, false,
			"Dev Spaces' container run (CheCluster openshift-devspaces/devspaces) makes its own workspaces nested under SCC container-run",
			nestedAs(localcluster.CheContainerRunSCC, 1000), hostUsersAs("restricted-v2"),
			[]string{"CHOWN", "SETGID", "SETUID"}},
		{"container_build_only_toggle_off", build, false, "spec.enabled is false",
			hostUsersAs(localcluster.CheContainerBuildSCC), nil,
			[]string{"SETGID", "SETUID"}},
		{"container_build_only_toggle_on", build, true,
			"Dev Spaces' container run is off in CheCluster openshift-devspaces/devspaces: this operator makes its workspaces nested-capable too",
			nestedAs(scc.BuiltInSCCName, enablerv1alpha1.DefaultRunAsUser), nil,
			[]string{"SETGID", "SETUID"}},
		{"container_run_and_build_off_toggle_on", localcluster.DevSpacesSettings{}, true,
			"this operator makes its workspaces nested-capable too",
			nestedAs(scc.BuiltInSCCName, enablerv1alpha1.DefaultRunAsUser), nil,
			[]string{"SETGID", "SETUID"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := env.cluster.DevSpaces(ctx, tc.che); err != nil {
				t.Fatal(err)
			}
			setEnabled(t, tc.enabled)
			readyReason := enablerv1alpha1.ReasonConfigured
			if !tc.enabled {
				readyReason = enablerv1alpha1.ReasonDisabled
			}
			localcluster.Eventually(t, waitTimeout, "Ready says who manages Dev Spaces' workspaces", func() error {
				c := meta.FindStatusCondition(getNC(t).Status.Conditions, enablerv1alpha1.ConditionReady)
				if c == nil || c.Reason != readyReason || !strings.Contains(c.Message, tc.wantSaid) {
					return errorf("Ready = %+v, want %s saying %q", c, readyReason, tc.wantSaid)
				}
				return nil
			})
			// Che's configuration adds to ours, it does not undo it.
			waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionFalse, enablerv1alpha1.ReasonAsExpected)

			short := strings.NewReplacer("container_", "", "_toggle", "", "_", "-").Replace(tc.name)
			ws := dwo.DashboardWorkspace(devSpacesNS, "che-"+short, localcluster.DevSpacesNamespace, localcluster.CheDWOConfigName, tc.che.DashboardSCC())
			if err := env.cluster.Client.Create(ctx, ws); err != nil {
				t.Fatal(err)
			}
			pod := runningWorkspace(t, ws)
			if err := tc.cheWS(admitted(t, pod)); err != nil {
				t.Errorf("Dev Spaces' workspace: %v", err)
			}
			if got := addedCapabilities(pod); !slices.Equal(got, tc.cheCaps) {
				t.Errorf("Dev Spaces' workspace adds capabilities %v, want Che's %v", got, tc.cheCaps)
			}
			if tc.plainWS != nil {
				plain, _ := startWorkspace(t, devSpacesNS, "plain-"+short)
				pod := runningWorkspace(t, plain)
				if err := tc.plainWS(admitted(t, pod)); err != nil {
					t.Errorf("workspace outside Dev Spaces: %v", err)
				}
				if slices.Contains(addedCapabilities(pod), "CHOWN") {
					t.Errorf("a workspace outside Dev Spaces got CHOWN")
				}
			}
			deleteWorkspaces(t, devSpacesNS, false)
			assertInvariant(t)
		})
	}
}

// Dev Spaces' container run on a cluster that cannot give pods a user
// namespace: its workspaces would fail at every start, so the operator is
// Degraded naming the CheCluster and the fix, whatever the toggle.
func TestDevSpacesContainerRunWhereItCannotWork(t *testing.T) {
	requireE2E(t)
	ctx := context.Background()
	t.Cleanup(func() { removeDevSpaces(t) })
	if err := env.cluster.DevSpaces(ctx, localcluster.DevSpacesSettings{ContainerRun: true, ContainerBuild: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scenario localcluster.Scenario
		says     string
	}{
		{localcluster.OCP418, "OpenShift 4.18.20 does not support pod user namespaces"},
		{localcluster.OCP419Default, "featureSet Default"},
	} {
		t.Run(tc.scenario.Name, func(t *testing.T) {
			if err := env.cluster.Simulate(ctx, tc.scenario); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := env.cluster.Simulate(ctx, localcluster.OCP420); err != nil {
					t.Fatal(err)
				}
			}()
			for _, enabled := range []bool{false, true} {
				setEnabled(t, enabled)
				localcluster.Eventually(t, waitTimeout, "Degraded names the CheCluster and the fix", func() error {
					c := meta.FindStatusCondition(getNC(t).Status.Conditions, enablerv1alpha1.ConditionDegraded)
					if c == nil || c.Status != metav1.ConditionTrue || c.Reason != detect.ReasonDevSpacesContainerRunUnsupported {
						return errorf("Degraded = %+v", c)
					}
					for _, s := range []string{"CheCluster openshift-devspaces/devspaces has container run on", tc.says,
						"set disableContainerRunCapabilities to true in the CheCluster"} {
						if !strings.Contains(c.Message, s) {
							return errorf("Degraded message %q lacks %q", c.Message, s)
						}
					}
					return nil
				})
				if sccExists(t, enablerv1alpha1.DefaultSCCName) {
					t.Errorf("SCC created on an unsupported cluster (toggle %t)", enabled)
				}
			}
			setEnabled(t, false)
		})
	}
	// Container run turned off: nothing is degraded any more.
	if err := env.cluster.DevSpaces(ctx, localcluster.DevSpacesSettings{ContainerBuild: true}); err != nil {
		t.Fatal(err)
	}
	if err := env.cluster.Simulate(ctx, localcluster.OCP418); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := env.cluster.Simulate(ctx, localcluster.OCP420); err != nil {
			t.Fatal(err)
		}
	}()
	poke(t)
	waitCondition(t, enablerv1alpha1.ConditionDegraded, metav1.ConditionFalse, enablerv1alpha1.ReasonAsExpected)
}

func addedCapabilities(pod *corev1.Pod) []string {
	sc := pod.Spec.Containers[0].SecurityContext
	if sc == nil || sc.Capabilities == nil {
		return nil
	}
	var out []string
	for _, c := range sc.Capabilities.Add {
		out = append(out, string(c))
	}
	slices.Sort(out)
	return out
}

// deleteWorkspaces deletes the DevWorkspaces of namespace, and with wait
// until their Deployments are gone.
func deleteWorkspaces(t *testing.T, namespace string, wait bool) {
	t.Helper()
	ctx := context.Background()
	if err := env.cluster.Client.DeleteAllOf(ctx, &dwv2.DevWorkspace{}, client.InNamespace(namespace)); err != nil {
		t.Error(err)
	}
	if !wait {
		return
	}
	localcluster.Eventually(t, runTimeout, "the workspaces are gone", func() error {
		deps := &appsv1.DeploymentList{}
		if err := env.cluster.Client.List(ctx, deps, client.InNamespace(namespace), client.HasLabels{workspaces.IDLabel}); err != nil {
			return err
		}
		if len(deps.Items) > 0 {
			return errorf("%d workspace Deployments left in %s", len(deps.Items), namespace)
		}
		return nil
	})
}

// removeDevSpaces leaves the other tests a cluster without Dev Spaces,
// its workspaces, or our toggle on.
func removeDevSpaces(t *testing.T) {
	deleteWorkspaces(t, devSpacesNS, true)
	setEnabled(t, false)
	waitCondition(t, enablerv1alpha1.ConditionReady, metav1.ConditionFalse, enablerv1alpha1.ReasonDisabled)
	if err := env.cluster.RemoveDevSpaces(context.Background()); err != nil {
		t.Error(err)
	}
}
