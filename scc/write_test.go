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
		res, err := scc.ApplySCC(ctx, cluster.Client, nil, desired)
		if err != nil || !res.Changed {
			t.Fatalf("ApplySCC = %+v, %v; want Changed", res, err)
		}
		got := getSCC(t, name)
		if !policyEqual(got, desired) || !scc.IsManaged(got) {
			t.Errorf("stored SCC differs from the builder's:\n%+v\n%+v", got, desired)
		}
		if got.UserNamespaceLevel != securityv1.NamespaceLevelRequirePod {
			t.Errorf("userNamespaceLevel = %q, want RequirePodLevel", got.UserNamespaceLevel)
		}
	})

	t.Run("unchanged_scc_gets_no_write", func(t *testing.T) {
		before := getSCC(t, name).ResourceVersion
		c, counter := countingClient(t)
		res, err := scc.ApplySCC(ctx, c, c, desired)
		if err != nil || res.Changed {
			t.Fatalf("ApplySCC = %+v, %v; want no change", res, err)
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
		res, err := scc.ApplySCC(ctx, cluster.Client, nil, desired)
		if err != nil || !res.Changed {
			t.Fatalf("ApplySCC = %+v, %v; want Changed", res, err)
		}
		got := getSCC(t, name)
		if !policyEqual(got, desired) {
			t.Errorf("drift not corrected: %+v", got)
		}
		if got.Labels["admin-note"] != "keep" || !scc.IsManaged(got) {
			t.Errorf("labels = %v", got.Labels)
		}
	})

	t.Run("changed_settings_are_applied", func(t *testing.T) {
		changed := scc.NestedPodmanSCC(name, 2000, []string{"SETUID", "SETGID", "CHOWN"})
		if res, err := scc.ApplySCC(ctx, cluster.Client, nil, changed); err != nil || !res.Changed {
			t.Fatalf("ApplySCC = %+v, %v; want Changed", res, err)
		}
		if got := getSCC(t, name); *got.RunAsUser.UID != 2000 || len(got.AllowedCapabilities) != 3 {
			t.Errorf("settings not applied: %+v", got)
		}
	})

	t.Run("delete_removes_ours", func(t *testing.T) {
		if err := scc.DeleteSCC(ctx, cluster.Client, name); err != nil {
			t.Fatal(err)
		}
		if sccExists(t, name) {
			t.Error("our SCC still exists")
		}
		if err := scc.DeleteSCC(ctx, cluster.Client, name); err != nil {
			t.Errorf("deleting an absent SCC: %v", err)
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
			_, err := scc.ApplySCC(ctx, r.c, r.live, desired)
			var fe *scc.ForeignSCCError
			if !errors.As(err, &fe) || fe.Name != name || !errors.Is(err, scc.ErrNotOurs) {
				t.Fatalf("ApplySCC on an admin's SCC: %v, want a *ForeignSCCError", err)
			}
			for _, want := range []string{name, "builtIn", scc.ManagedByLabel} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message does not mention %q: %v", want, err)
				}
			}
			if err := scc.DeleteSCC(ctx, r.c, name); err != nil {
				t.Errorf("DeleteSCC on an admin's SCC: %v, want nil (left alone)", err)
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
	if _, err := scc.ApplySCC(ctx, c.Client, nil, scc.NestedPodmanSCC(existing, 1000, nil)); err != nil {
		t.Fatal(err)
	}
	if err := c.Simulate(ctx, localcluster.OCP419Default); err != nil {
		t.Fatal(err)
	}

	t.Run("4.19_default_is_detected_and_nothing_is_left", func(t *testing.T) {
		res, err := scc.ApplySCC(ctx, c.Client, nil, scc.NestedPodmanSCC(fresh, 1000, nil))
		if !errors.Is(err, scc.ErrUserNamespaceLevelPruned) {
			t.Fatalf("ApplySCC = %+v, %v; want ErrUserNamespaceLevelPruned", res, err)
		}
		for _, want := range []string{fresh, "userNamespaceLevel", "4.20", "TechPreviewNoUpgrade"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message does not mention %q: %v", want, err)
			}
		}
		if res.Changed || sccExists(t, fresh) {
			t.Errorf("an SCC without userNamespaceLevel was written (Changed=%t)", res.Changed)
		}
	})

	t.Run("our_scc_that_lost_the_field_is_removed", func(t *testing.T) {
		if got := getSCC(t, existing); !scc.GrantsCapabilitiesWithoutUserNamespace(got) {
			t.Fatalf("precondition: the 4.19 Default schema should show our SCC without userNamespaceLevel: %+v", got)
		}
		res, err := scc.ApplySCC(ctx, c.Client, nil, scc.NestedPodmanSCC(existing, 1000, nil))
		if !errors.Is(err, scc.ErrUserNamespaceLevelPruned) || !res.Changed {
			t.Fatalf("ApplySCC = %+v, %v; want ErrUserNamespaceLevelPruned after deleting", res, err)
		}
		if sccExists(t, existing) {
			t.Error("our SCC that no longer requires pod user namespaces is still there")
		}
	})

	t.Run("4.20_keeps_the_field", func(t *testing.T) {
		if err := c.Simulate(ctx, localcluster.OCP420); err != nil {
			t.Fatal(err)
		}
		res, err := scc.ApplySCC(ctx, c.Client, nil, scc.NestedPodmanSCC(fresh, 1000, nil))
		if err != nil || !res.Changed {
			t.Fatalf("ApplySCC = %+v, %v", res, err)
		}
		if got := getSCC(t, fresh); got.UserNamespaceLevel != securityv1.NamespaceLevelRequirePod || scc.GrantsCapabilitiesWithoutUserNamespace(got) {
			t.Errorf("userNamespaceLevel = %q, want RequirePodLevel", got.UserNamespaceLevel)
		}
		if err := scc.DeleteSCC(ctx, c.Client, fresh); err != nil {
			t.Error(err)
		}
	})
}

func TestPreferBuiltIn(t *testing.T) {
	c := requireCluster(t)
	ctx := context.Background()
	// OpenShift's own nested-container SCC, as the 4.20 simulation installs
	// it (no label of ours).
	builtIn := getSCC(t, scc.BuiltInSCCName)
	check := func(t *testing.T, mode string, minor int, want string) {
		t.Helper()
		got, err := scc.PreferBuiltIn(ctx, c.Client, mode, minor)
		if err != nil || got != want {
			t.Errorf("PreferBuiltIn(%s, 4.%d) = %q, %v; want %q", mode, minor, got, err, want)
		}
	}

	if err := c.Client.Delete(ctx, builtIn); err != nil {
		t.Fatal(err)
	}
	t.Run("absent_built_in_scc_means_our_own", func(t *testing.T) {
		check(t, "Auto", 20, "")
	})
	builtIn.ResourceVersion, builtIn.UID, builtIn.CreationTimestamp, builtIn.ManagedFields = "", "", metav1.Time{}, nil
	if err := c.Client.Create(ctx, builtIn); err != nil {
		t.Fatal(err)
	}
	t.Run("auto_on_4.20_uses_it", func(t *testing.T) { check(t, "Auto", 20, scc.BuiltInSCCName) })
	t.Run("auto_on_4.22_uses_it", func(t *testing.T) { check(t, "Auto", 22, scc.BuiltInSCCName) })
	t.Run("auto_on_4.19_does_not", func(t *testing.T) { check(t, "Auto", 19, "") })
	t.Run("never_does_not", func(t *testing.T) { check(t, "Never", 20, "") })
	t.Run("built_in_scc_that_no_longer_requires_user_namespaces_is_not_used", func(t *testing.T) {
		modified := getSCC(t, scc.BuiltInSCCName)
		modified.UserNamespaceLevel = securityv1.NamespaceLevelAllowHost
		if err := c.Client.Update(ctx, modified); err != nil {
			t.Fatal(err)
		}
		check(t, "Auto", 20, "")
	})
}
