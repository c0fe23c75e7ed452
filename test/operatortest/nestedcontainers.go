package operatortest

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

// NestedContainers reads the cluster's NestedContainers resource.
func NestedContainers(t testing.TB, c client.Client) *enablerv1alpha1.NestedContainers {
	t.Helper()
	nc := &enablerv1alpha1.NestedContainers{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc); err != nil {
		t.Fatal(err)
	}
	return nc
}

// SetSpec changes the NestedContainers spec, creating the resource if it
// does not exist.
func SetSpec(t testing.TB, c client.Client, change func(*enablerv1alpha1.NestedContainersSpec)) {
	t.Helper()
	ctx := context.Background()
	nc := &enablerv1alpha1.NestedContainers{}
	err := c.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc)
	if apierrors.IsNotFound(err) {
		nc = &enablerv1alpha1.NestedContainers{ObjectMeta: metav1.ObjectMeta{Name: enablerv1alpha1.ClusterName}}
		change(&nc.Spec)
		if err := c.Create(ctx, nc); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(nc.DeepCopy())
	change(&nc.Spec)
	if err := c.Patch(ctx, nc, patch); err != nil {
		t.Fatal(err)
	}
}

// WaitCondition waits until the condition has the status and reason for
// the resource's current generation, and returns its message.
func WaitCondition(t testing.TB, c client.Client, timeout time.Duration, condType string, status metav1.ConditionStatus, reason string) string {
	t.Helper()
	var msg string
	localcluster.Eventually(t, timeout, fmt.Sprintf("%s=%s (%s)", condType, status, reason), func() error {
		nc := &enablerv1alpha1.NestedContainers{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc); err != nil {
			return err
		}
		cond := meta.FindStatusCondition(nc.Status.Conditions, condType)
		if cond == nil {
			return fmt.Errorf("no %s condition: %+v", condType, nc.Status.Conditions)
		}
		if cond.Status != status || cond.Reason != reason || cond.ObservedGeneration != nc.Generation {
			return fmt.Errorf("%s=%s reason %s (gen %d of %d): %s", condType, cond.Status, cond.Reason, cond.ObservedGeneration, nc.Generation, cond.Message)
		}
		msg = cond.Message
		return nil
	})
	return msg
}

// Poke makes the operator reconcile without changing its input: an
// annotation change on the resource.
func Poke(t testing.TB, c client.Client) {
	t.Helper()
	nc := NestedContainers(t, c)
	patch := client.MergeFrom(nc.DeepCopy())
	if nc.Annotations == nil {
		nc.Annotations = map[string]string{}
	}
	nc.Annotations["test/poke"] = time.Now().Format(time.RFC3339Nano)
	if err := c.Patch(context.Background(), nc, patch); err != nil {
		t.Fatal(err)
	}
}
