package operator

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// CheClusterGVK is OpenShift Dev Spaces' (Eclipse Che's) cluster resource.
var CheClusterGVK = schema.GroupVersionKind{Group: "org.eclipse.che", Version: "v2", Kind: "CheCluster"}

// cheContainerRun lists ("namespace/name") the CheClusters whose container
// run is on (spec.devEnvironments.disableContainerRunCapabilities false;
// absent means true). Dev Spaces then adds CHOWN to its workspaces through
// its own DevWorkspaceOperatorConfig, which DWO merges over ours: the SCC
// our pin names must allow it, or SCC admission rejects every Dev Spaces
// workspace.
func (r *Reconciler) cheContainerRun(ctx context.Context) ([]string, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(CheClusterGVK.GroupVersion().WithKind(CheClusterGVK.Kind + "List"))
	if err := r.Client.List(ctx, list); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, nil // Dev Spaces is not installed
		}
		return nil, fmt.Errorf("list CheClusters: %w", err)
	}
	var on []string
	for _, cc := range list.Items {
		disabled, found, _ := unstructured.NestedBool(cc.Object, "spec", "devEnvironments", "disableContainerRunCapabilities")
		if found && !disabled {
			on = append(on, cc.GetNamespace()+"/"+cc.GetName())
		}
	}
	sort.Strings(on)
	return on, nil
}
