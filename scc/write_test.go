package scc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/scc"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

func getSCC(t *testing.T, name string) *securityv1.SecurityContextConstraints {
	t.Helper()
	s := &securityv1.SecurityContextConstraints{}
	if err := cluster.Client.Get(context.Background(), client.ObjectKey{Name: name}, s); err != nil {
		t.Fatalf("get SCC %s: %v", name, err)
	}
	return s
}

func sccExists(t *testing.T, name string) bool {
	t.Helper()
	err := cluster.Client.Get(context.Background(), client.ObjectKey{Name: name}, &securityv1.SecurityContextConstraints{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// foreignSCC is an SCC an admin created, without our label.
func foreignSCC(name string) *securityv1.SecurityContextConstraints {
	return &securityv1.SecurityContextConstraints{
		ObjectMeta:          metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": "platform"}},
		AllowedCapabilities: []corev1.Capability{"NET_BIND_SERVICE"},
		RunAsUser:           securityv1.RunAsUserStrategyOptions{Type: securityv1.RunAsUserStrategyMustRunAsRange},
		SELinuxContext:      securityv1.SELinuxContextStrategyOptions{Type: securityv1.SELinuxStrategyMustRunAs},
		FSGroup:             securityv1.FSGroupStrategyOptions{Type: securityv1.FSGroupStrategyMustRunAs},
		SupplementalGroups:  securityv1.SupplementalGroupsStrategyOptions{Type: securityv1.SupplementalGroupsStrategyRunAsAny},
	}
}

// policyEqual compares everything but metadata.
func policyEqual(a, b *securityv1.SecurityContextConstraints) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	a.ObjectMeta, b.ObjectMeta = metav1.ObjectMeta{}, metav1.ObjectMeta{}
	a.TypeMeta, b.TypeMeta = metav1.TypeMeta{}, metav1.TypeMeta{}
	return equality.Semantic.DeepEqual(a, b)
}

func TestApplySCC(t *testing.T) {
	requireCluster(t)
	ctx := context.Background()
	const name = "apply-test"
	desired := scc.NestedPodmanSCC(name, 1000, []string{"SETUID", "SETGID"})

	t.Run("absent_scc_is_created_as_built", func(t *testing.T) {
		changed, err := scc.Apply(ctx, cluster.Client, nil, desired)
		if err != nil || !changed {
			t.Fatalf("Apply = %t, %v; want changed", changed, err)
		}
		got := getSCC(t, name)
		if !policyEqual(got, desired) || !owned.Labelled(got) {
			t.Errorf("stored SCC differs from the builder's:\n%+v\n%+v", got, desired)
		}
		if got.UserNamespaceLevel != securityv1.NamespaceLevelRequirePod {
			t.Errorf("userNamespaceLevel = %q, want RequirePodLevel", got.UserNamespaceLevel)
		}
	})

	t.Run("unchanged_scc_gets_no_write", func(t *testing.T) {
		before := getSCC(t, name).ResourceVersion
		c, counter := countingClient(t)
		changed, err := scc.Apply(ctx, c, c, desired)
		if err != nil || changed {
			t.Fatalf("Apply = %t, %v; want no change", changed, err)
		}
		if w := counter.WritesSince(nil); len(w) > 0 {
			t.Errorf("writes on an unchanged SCC: %v", w)
		}
		if after := getSCC(t, name).ResourceVersion; after != before {
			t.Errorf("resourceVersion %s -> %s", before, after)
		}
	})

	t.Run("drift_is_corrected_and_others_labels_kept", func(t *testing.T) {
		drifted := getSCC(t, name)
		drifted.AllowedCapabilities = append(drifted.AllowedCapabilities, "SYS_ADMIN")
		drifted.AllowPrivilegedContainer = true
		drifted.AllowHostNetwork = true
		drifted.Priority = ptr.To[int32](10)
		drifted.Users = []string{"system:serviceaccount:default:builder"}
		drifted.RunAsUser = securityv1.RunAsUserStrategyOptions{Type: securityv1.RunAsUserStrategyRunAsAny}
		drifted.UserNamespaceLevel = securityv1.NamespaceLevelAllowHost
		drifted.Labels["admin-note"] = "keep"
		if err := cluster.Client.Update(ctx, drifted); err != nil {
			t.Fatal(err)
		}
		changed, err := scc.Apply(ctx, cluster.Client, nil, desired)
		if err != nil || !changed {
			t.Fatalf("Apply = %t, %v; want changed", changed, err)
		}
		got := getSCC(t, name)
		if !policyEqual(got, desired) {
			t.Errorf("drift not corrected: %+v", got)
		}
		if got.Labels["admin-note"] != "keep" || !owned.Labelled(got) {
			t.Errorf("labels = %v", got.Labels)
		}
	})

	t.Run("changed_settings_are_applied", func(t *testing.T) {
		settings := scc.NestedPodmanSCC(name, 2000, []string{"SETUID", "SETGID", "CHOWN"})
		if changed, err := scc.Apply(ctx, cluster.Client, nil, settings); err != nil || !changed {
			t.Fatalf("Apply = %t, %v; want changed", changed, err)
		}
		if got := getSCC(t, name); *got.RunAsUser.UID != 2000 || len(got.AllowedCapabilities) != 3 {
			t.Errorf("settings not applied: %+v", got)
		}
	})

	deleteSCC(t, name)
}

func deleteSCC(t *testing.T, name string) {
	t.Helper()
	s := &securityv1.SecurityContextConstraints{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := client.IgnoreNotFound(cluster.Client.Delete(context.Background(), s)); err != nil {
		t.Fatal(err)
	}
}

// Release deletes our SCCs: labelled AND named ours. An SCC that only
// carries our label (anyone who may create SCCs may set it) or only has our
// name (an admin's) is not ours and stays.
func TestRelease(t *testing.T) {
	requireCluster(t)
	ctx := context.Background()
	ours := scc.NestedPodmanSCC(enablerv1alpha1.DefaultSCCName, 1000, nil)
	labelledOnly := scc.NestedPodmanSCC("labelled-by-someone", 1000, nil)
	for _, s := range []*securityv1.SecurityContextConstraints{ours, labelledOnly} {
		if err := cluster.Client.Create(ctx, s.DeepCopy()); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { deleteSCC(t, labelledOnly.Name) })
	t.Run("keep_keeps_ours", func(t *testing.T) {
		if err := scc.Release(ctx, cluster.Client, enablerv1alpha1.DefaultSCCName); err != nil {
			t.Fatal(err)
		}
		if !sccExists(t, ours.Name) {
			t.Error("the SCC to keep was deleted")
		}
	})
	t.Run("ours_goes_the_labelled_stranger_stays", func(t *testing.T) {
		if err := scc.Release(ctx, cluster.Client, ""); err != nil {
			t.Fatal(err)
		}
		if sccExists(t, ours.Name) {
			t.Error("our SCC still exists")
		}
		if !sccExists(t, labelledOnly.Name) {
			t.Error("an SCC that only carries our label was deleted")
		}
	})
	t.Run("an_admins_scc_of_our_name_stays", func(t *testing.T) {
		admins := foreignSCC(enablerv1alpha1.DefaultSCCName)
		if err := cluster.Client.Create(ctx, admins); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { deleteSCC(t, admins.Name) })
		if err := scc.Release(ctx, cluster.Client, ""); err != nil {
			t.Fatal(err)
		}
		if !sccExists(t, admins.Name) {
			t.Error("an admin's SCC of our name was deleted")
		}
	})
}

func TestForeignSCCIsNeverTouched(t *testing.T) {
	requireCluster(t)
	ctx := context.Background()
	const name = "admins-own"
	foreign := foreignSCC(name)
	if err := cluster.Client.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Client.Delete(ctx, foreign) })
	desired := scc.NestedPodmanSCC(name, 1000, nil)

	// The operator reads SCCs through a cache that holds only ours, with an
	// uncached reader to look past it; without that reader the API server's
	// refusal to create a duplicate is what reveals the foreign SCC.
	cached := ourCachedClient(t)
	readers := []struct {
		name string
		c    client.Client
		live client.Reader
	}{
		{"uncached_client", cluster.Client, nil},
		{"our_label_cache_and_a_live_reader", cached, cluster.Client},
		{"our_label_cache_alone", cached, nil},
	}
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			_, err := scc.Apply(ctx, r.c, r.live, desired)
			var fe *scc.ForeignSCCError
			if !errors.As(err, &fe) || fe.Name != name || !errors.Is(err, owned.ErrNotOurs) {
				t.Fatalf("Apply on an admin's SCC: %v, want a *ForeignSCCError", err)
			}
			for _, want := range []string{name, "builtIn", owned.ManagedByLabel} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message does not mention %q: %v", want, err)
				}
			}
			if got := getSCC(t, name); got.ResourceVersion != foreign.ResourceVersion {
				t.Errorf("admin's SCC was modified: %+v", got)
			}
		})
	}
}

// OpenShift 4.19 with featureSet Default prunes userNamespaceLevel: an SCC
// written there would allow SETUID/SETGID in the host user namespace.
func TestUserNamespaceLevelPruning(t *testing.T) {
	c := requireCluster(t)
	ctx := context.Background()
	t.Cleanup(func() {
		if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
			t.Error(err)
		}
	})
	const existing, fresh = "created-on-4-20", "created-on-4-19"
	if _, err := scc.Apply(ctx, c.Client, nil, scc.NestedPodmanSCC(existing, 1000, nil)); err != nil {
		t.Fatal(err)
	}
	if err := c.Simulate(ctx, localcluster.OCP419Default); err != nil {
		t.Fatal(err)
	}

	t.Run("4.19_default_is_detected_and_nothing_is_left", func(t *testing.T) {
		changed, err := scc.Apply(ctx, c.Client, nil, scc.NestedPodmanSCC(fresh, 1000, nil))
		if !errors.Is(err, scc.ErrUserNamespaceLevelPruned) {
			t.Fatalf("Apply = %t, %v; want ErrUserNamespaceLevelPruned", changed, err)
		}
		for _, want := range []string{fresh, "userNamespaceLevel", "4.20", "TechPreviewNoUpgrade"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message does not mention %q: %v", want, err)
			}
		}
		if changed || sccExists(t, fresh) {
			t.Errorf("an SCC without userNamespaceLevel was written (changed=%t)", changed)
		}
	})

	t.Run("our_scc_that_lost_the_field_is_removed", func(t *testing.T) {
		if got := getSCC(t, existing); len(scc.LessSafeThanOurs(got)) == 0 {
			t.Fatalf("precondition: the 4.19 Default schema should show our SCC without userNamespaceLevel: %+v", got)
		}
		changed, err := scc.Apply(ctx, c.Client, nil, scc.NestedPodmanSCC(existing, 1000, nil))
		if !errors.Is(err, scc.ErrUserNamespaceLevelPruned) || !changed {
			t.Fatalf("Apply = %t, %v; want ErrUserNamespaceLevelPruned after deleting", changed, err)
		}
		if sccExists(t, existing) {
			t.Error("our SCC that no longer requires pod user namespaces is still there")
		}
	})

	t.Run("4.20_keeps_the_field", func(t *testing.T) {
		if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
			t.Fatal(err)
		}
		changed, err := scc.Apply(ctx, c.Client, nil, scc.NestedPodmanSCC(fresh, 1000, nil))
		if err != nil || !changed {
			t.Fatalf("Apply = %t, %v", changed, err)
		}
		if got := getSCC(t, fresh); got.UserNamespaceLevel != securityv1.NamespaceLevelRequirePod || len(scc.LessSafeThanOurs(got)) > 0 {
			t.Errorf("userNamespaceLevel = %q, want RequirePodLevel", got.UserNamespaceLevel)
		}
		deleteSCC(t, fresh)
	})
}
