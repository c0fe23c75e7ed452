package dwoconfig_test

import (
	"context"
	"flag"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

var shared localcluster.Shared

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(shared.Main(m, localcluster.Options{OpenShift: true, DevWorkspace: true}, localcluster.OCP420))
}

var settings = dwoconfig.WorkspaceSettings{SCCName: "nested-container", RunAsUser: 1000, Capabilities: []string{"SETUID", "SETGID"}, Devices: []string{"/dev/fuse", "/dev/net/tun"}}

func global(t *testing.T, c client.Client, ns string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(dwoconfig.GVK)
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: dwoconfig.Name}, u); err != nil {
		t.Fatal(err)
	}
	return u
}

// The operator's fields of the global configuration, written and released
// on the real API server: exactly ours, never another manager's.
func TestApplyAndRelease(t *testing.T) {
	c := shared.Require(t)
	ctx := context.Background()
	const ns = "dwo-apply"
	if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// The admin's own setting, which must survive everything.
	admins := &unstructured.Unstructured{Object: map[string]any{"config": map[string]any{"workspace": map[string]any{"imagePullPolicy": "Always"}}}}
	admins.SetGroupVersionKind(dwoconfig.GVK)
	admins.SetNamespace(ns)
	admins.SetName(dwoconfig.Name)
	if err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(admins), client.FieldOwner("cluster-admin")); err != nil {
		t.Fatal(err)
	}

	t.Run("applied_exactly_ours", func(t *testing.T) {
		if o := dwoconfig.Apply(ctx, c.Client, ns, settings); o.Err != nil || o.Conflict != nil || o.NotServed {
			t.Fatalf("Apply = %+v", o)
		}
		ws, _, _ := unstructured.NestedMap(global(t, c.Client, ns).Object, "config", "workspace")
		if ws["hostUsers"] != false || ws["imagePullPolicy"] != "Always" {
			t.Errorf("config.workspace = %v", ws)
		}
		if got, _, _ := unstructured.NestedString(ws, "podAnnotations", dwoconfig.RequiredSCCAnnotation); got != "nested-container" {
			t.Errorf("pinned to %q", got)
		}
	})
	t.Run("a_second_apply_writes_nothing", func(t *testing.T) {
		counting, counter := c.CountingClient(t)
		if o := dwoconfig.Apply(ctx, counting, ns, settings); o.Err != nil {
			t.Fatal(o.Err)
		}
		if w := counter.WritesSince(nil); len(w) > 0 {
			t.Errorf("writes when nothing changed: %v", w)
		}
	})
	t.Run("another_managers_field_withdraws_all_of_ours", func(t *testing.T) {
		takeover := &unstructured.Unstructured{Object: map[string]any{"config": map[string]any{"workspace": map[string]any{"hostUsers": true}}}}
		takeover.SetGroupVersionKind(dwoconfig.GVK)
		takeover.SetNamespace(ns)
		takeover.SetName(dwoconfig.Name)
		if err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(takeover), client.FieldOwner("someone-else"), client.ForceOwnership); err != nil {
			t.Fatal(err)
		}
		changed := settings
		changed.RunAsUser = 2000 // something to write, so that the conflict shows
		t.Cleanup(func() {
			// The other manager lets go of the field.
			takeover.Object["config"] = map[string]any{}
			_ = c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(takeover), client.FieldOwner("someone-else"), client.ForceOwnership)
		})
		o := dwoconfig.Apply(ctx, c.Client, ns, changed)
		if o.Conflict == nil || o.Err != nil {
			t.Fatalf("Apply = %+v, want a conflict", o)
		}
		ws, _, _ := unstructured.NestedMap(global(t, c.Client, ns).Object, "config", "workspace")
		if _, ok := ws["containerSecurityContext"]; ok || ws["hostUsers"] != true || ws["imagePullPolicy"] != "Always" {
			t.Errorf("after the conflict config.workspace = %v: want ours withdrawn, theirs kept", ws)
		}
	})
	t.Run("release_removes_only_ours", func(t *testing.T) {
		if o := dwoconfig.Apply(ctx, c.Client, ns, settings); o.Err != nil {
			t.Fatal(o.Err) // ours back (the other manager's hostUsers is false again below)
		}
		if err := dwoconfig.Release(ctx, c.Client, ns); err != nil {
			t.Fatal(err)
		}
		ws, _, _ := unstructured.NestedMap(global(t, c.Client, ns).Object, "config", "workspace")
		if ws["imagePullPolicy"] != "Always" {
			t.Errorf("the admin's field went: %v", ws)
		}
		if _, ok := ws["podAnnotations"]; ok {
			t.Errorf("our fields stayed: %v", ws)
		}
	})
}
