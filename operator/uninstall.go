package operator

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
)

// Uninstall removes everything the operator wrote, as disabling does
// (RemoveAll), and then lets the NestedContainers resource go by removing
// its finalizer. It is for an operator that is not running any more, e.g.
// uninstalled through OLM before the resource was deleted, which leaves
// workspaces pinned to an SCC nobody maintains. c must not read through a
// cache, and act as a cluster admin; it touches only what is ours (our
// label and our names), however much more it may.
func Uninstall(ctx context.Context, c client.Client, dwoNamespace string) error {
	if err := RemoveAll(ctx, c, c, dwoNamespace, true); err != nil {
		return fmt.Errorf("nothing after this step was removed, run again once it is fixed: %w", err)
	}
	nc := &enablerv1alpha1.NestedContainers{}
	err := c.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get NestedContainers %s: %w", enablerv1alpha1.ClusterName, err)
	}
	return patchFinalizer(ctx, c, nc, false)
}
