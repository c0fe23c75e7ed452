package v1alpha1_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

// cluster is the real API server the validation tests run against; nil
// under -short.
var cluster *localcluster.Cluster

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testing.Short() {
		return m.Run()
	}
	c, err := localcluster.Start(context.Background(), localcluster.Options{
		NestedContainers: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	cluster = c
	return m.Run()
}

func requireCluster(t *testing.T) client.Client {
	t.Helper()
	if cluster == nil {
		t.Skip("needs the real API server (not started with -short)")
	}
	return cluster.Client
}

// object parses a NestedContainers manifest as an admin would write it, so
// zero values (runAsUser: 0) reach the API server instead of being omitted.
func object(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte("apiVersion: enabler.nested-workspaces.io/v1alpha1\nkind: NestedContainers\n"+manifest), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestValidation(t *testing.T) {
	c := requireCluster(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		manifest string
		// wantErr are substrings the rejection must contain; none means
		// the object is accepted.
		wantErr []string
	}{
		{name: "empty_spec_is_accepted", manifest: "metadata: {name: cluster}\nspec: {}"},
		{name: "missing_spec_is_accepted", manifest: "metadata: {name: cluster}"},
		{name: "full_spec_is_accepted", manifest: `
metadata: {name: cluster}
spec:
  enabled: true
  scc: {builtIn: Auto}
  runAsUser: 1000
  capabilities: [SETUID, SETGID]
  devices: [/dev/fuse, /dev/net/tun]`},
		{name: "capabilities_in_any_case_with_or_without_cap_prefix_are_accepted", manifest: `
metadata: {name: cluster}
spec: {capabilities: [cap_setuid, Setgid, CAP_CHOWN]}`},
		{name: "the_same_capability_twice_is_accepted", manifest: `
metadata: {name: cluster}
spec: {capabilities: [SETUID, CAP_SETUID, SETGID]}`},
		{name: "builtin_never_is_accepted", manifest: `
metadata: {name: cluster}
spec: {scc: {builtIn: Never}}`},
		{name: "runasuser_1_is_accepted", manifest: "metadata: {name: cluster}\nspec: {runAsUser: 1}"},
		{name: "runasuser_65535_is_accepted", manifest: "metadata: {name: cluster}\nspec: {runAsUser: 65535}"},
		{name: "one_device_is_accepted", manifest: "metadata: {name: cluster}\nspec: {devices: [/dev/fuse]}"},

		{name: "other_name_is_rejected", manifest: "metadata: {name: default}\nspec: {}",
			wantErr: []string{"metadata.name must be cluster"}},
		{name: "net_admin_is_rejected", manifest: "metadata: {name: cluster}\nspec: {capabilities: [NET_ADMIN]}",
			wantErr: []string{"spec.capabilities[0]", "capability NET_ADMIN is not allowed"}},
		{name: "cap_sys_admin_is_rejected", manifest: "metadata: {name: cluster}\nspec: {capabilities: [SETUID, CAP_SYS_ADMIN]}",
			wantErr: []string{"spec.capabilities[1]", "capability CAP_SYS_ADMIN is not allowed"}},
		{name: "doubled_cap_prefix_is_rejected", manifest: "metadata: {name: cluster}\nspec: {capabilities: [CAP_CAP_SETUID]}",
			wantErr: []string{"spec.capabilities[0]"}},
		{name: "no_capabilities_is_rejected", manifest: "metadata: {name: cluster}\nspec: {capabilities: []}",
			wantErr: []string{"spec.capabilities"}},
		{name: "dev_kvm_is_rejected", manifest: "metadata: {name: cluster}\nspec: {devices: [/dev/kvm]}",
			wantErr: []string{"spec.devices[0]", `"/dev/kvm"`, "/dev/fuse", "/dev/net/tun"}},
		{name: "a_device_twice_is_rejected", manifest: "metadata: {name: cluster}\nspec: {devices: [/dev/fuse, /dev/fuse]}",
			wantErr: []string{"spec.devices[1]", "Duplicate value"}},
		{name: "runasuser_0_is_rejected", manifest: "metadata: {name: cluster}\nspec: {runAsUser: 0}",
			wantErr: []string{"spec.runAsUser", "greater than or equal to 1"}},
		{name: "runasuser_70000_is_rejected", manifest: "metadata: {name: cluster}\nspec: {runAsUser: 70000}",
			wantErr: []string{"spec.runAsUser", "less than or equal to 65535"}},
		{name: "unknown_builtin_mode_is_rejected", manifest: "metadata: {name: cluster}\nspec: {scc: {builtIn: Always}}",
			wantErr: []string{"spec.scc.builtIn", "Auto", "Never"}},
		// There is no SCC name to set (the RBAC could never follow it): as
		// kubectl sends it (strict field validation), it is refused by name.
		{name: "an_scc_name_is_refused_as_unknown", manifest: "metadata: {name: cluster}\nspec: {scc: {name: team-a}}",
			wantErr: []string{"spec.scc.name", "unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Create(ctx, object(t, tt.manifest), client.DryRunAll, client.FieldValidation("Strict"))
			switch {
			case len(tt.wantErr) == 0 && err != nil:
				t.Fatalf("rejected: %v", err)
			case len(tt.wantErr) > 0 && err == nil:
				t.Fatalf("accepted, want a rejection mentioning %q", tt.wantErr)
			}
			if err != nil {
				t.Logf("rejected as expected: %v", err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("rejection does not mention %q: %v", want, err)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := requireCluster(t)
	ctx := context.Background()
	for _, manifest := range []string{"metadata: {name: cluster}", "metadata: {name: cluster}\nspec: {}", "metadata: {name: cluster}\nspec: {scc: {}}"} {
		u := object(t, manifest)
		if err := c.Create(ctx, u, client.DryRunAll); err != nil {
			t.Fatal(err)
		}
		nc := &enablerv1alpha1.NestedContainers{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, nc); err != nil {
			t.Fatal(err)
		}
		want := enablerv1alpha1.NestedContainersSpec{
			Enabled:      false,
			SCC:          enablerv1alpha1.SCCSettings{BuiltIn: enablerv1alpha1.BuiltInAuto},
			RunAsUser:    enablerv1alpha1.DefaultRunAsUser,
			Capabilities: enablerv1alpha1.DefaultCapabilities(),
			Devices:      enablerv1alpha1.DefaultDevices(),
		}
		if !specEqual(nc.Spec, want) {
			t.Errorf("%q defaulted to %+v, want %+v", manifest, nc.Spec, want)
		}
	}
}

func specEqual(a, b enablerv1alpha1.NestedContainersSpec) bool {
	return a.Enabled == b.Enabled && a.SCC == b.SCC && a.RunAsUser == b.RunAsUser &&
		slices.Equal(a.Capabilities, b.Capabilities) && slices.Equal(a.Devices, b.Devices)
}

// Go clients build the object from the types: zero values are omitted and
// take the CRD defaults, and status goes through the status subresource.
func TestGoTypesRoundTrip(t *testing.T) {
	c := requireCluster(t)
	ctx := context.Background()
	nc := &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
	nc.Spec.Enabled = true
	if err := c.Create(ctx, nc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(ctx, nc) })
	if nc.Spec.RunAsUser != enablerv1alpha1.DefaultRunAsUser || nc.Spec.SCC.BuiltIn != enablerv1alpha1.BuiltInAuto ||
		!slices.Equal(nc.NormalizedCapabilities(), []string{"SETUID", "SETGID"}) || strings.Join(nc.NormalizedDevices(), ",") != "/dev/fuse,/dev/net/tun" {
		t.Errorf("created object not defaulted: %+v", nc.Spec)
	}

	nc.Status = enablerv1alpha1.NestedContainersStatus{
		ObservedGeneration: nc.Generation,
		Cluster: enablerv1alpha1.ClusterFacts{OpenShiftVersion: "4.20.1", KubernetesVersion: "v1.33.13", FeatureSet: "Default",
			FeatureGates: map[string]bool{"UserNamespacesSupport": true, "ProcMountType": true}},
		Nodes:      enablerv1alpha1.NodeCounts{Total: 3, UserNamespaces: 3},
		Workspaces: enablerv1alpha1.WorkspaceCounts{Total: 2, Nested: 1, PendingRestart: 1},
	}
	meta.SetStatusCondition(&nc.Status.Conditions, metav1.Condition{Type: enablerv1alpha1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: enablerv1alpha1.ReasonConfigured, Message: "ok", ObservedGeneration: nc.Generation})
	if err := c.Status().Update(ctx, nc); err != nil {
		t.Fatal(err)
	}
	got := &enablerv1alpha1.NestedContainers{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(nc), got); err != nil {
		t.Fatal(err)
	}
	if !meta.IsStatusConditionTrue(got.Status.Conditions, enablerv1alpha1.ConditionReady) || got.Status.Workspaces.PendingRestart != 1 ||
		!got.Status.Cluster.FeatureGates["ProcMountType"] || got.Status.Cluster.OpenShiftVersion != "4.20.1" {
		t.Errorf("status did not round-trip: %+v", got.Status)
	}

	// Changing spec through the main resource leaves status alone.
	got.Spec.RunAsUser = 2000
	if err := c.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.RunAsUser != 2000 || got.Status.Nodes.Total != 3 {
		t.Errorf("spec update: runAsUser %d, status %+v", got.Spec.RunAsUser, got.Status)
	}
}
