package operator

import (
	"context"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/workspaces"
)

// optionalWatches starts the watches on kinds the DevWorkspace Operator
// and Dev Spaces serve once they are served: either may be installed after
// this operator.
// Each reconcile calls ensure, so the watch starts at the first reconcile
// after DWO's CRDs appear (a missing DWO is rechecked periodically).
type optionalWatches struct {
	mgr        manager.Manager
	controller controller.Controller
	workspaces *workspaces.Watcher

	mu      sync.Mutex
	started map[schema.GroupVersionKind]bool
}

// CheClusterGVK is OpenShift Dev Spaces' (Eclipse Che's) cluster resource.
var CheClusterGVK = detect.CheClusterGVK

// optionalKinds are the kinds watched once their CRDs exist. DevWorkspaces
// are watched by workspaces.Watcher, the rest by the controller.
var optionalKinds = map[schema.GroupVersionKind]string{
	dwoconfig.GVK:              "devworkspaceoperatorconfigs.controller.devfile.io",
	workspaces.DevWorkspaceGVK: "devworkspaces.workspace.devfile.io",
	CheClusterGVK:              "checlusters.org.eclipse.che",
}

// serving tells whether the watch on gvk runs, i.e. its kind is served.
func (w *optionalWatches) serving(gvk schema.GroupVersionKind) bool {
	if w == nil {
		return true // no manager (tests that call the reconciler directly): ask
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.started[gvk]
}

// ensure starts every optional watch whose kind is now served.
func (w *optionalWatches) ensure(ctx context.Context) error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started == nil {
		w.started = map[schema.GroupVersionKind]bool{}
	}
	for gvk, crd := range optionalKinds {
		if w.started[gvk] {
			continue
		}
		// The CRDs are watched (metadata): asking the REST mapper about a
		// kind that is not served would cost a discovery request at every
		// reconcile.
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
		if err := w.mgr.GetClient().Get(ctx, client.ObjectKey{Name: crd}, m); err != nil {
			continue
		}
		if _, err := w.mgr.GetRESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			continue
		}
		if gvk == workspaces.DevWorkspaceGVK {
			w.workspaces.WatchDevWorkspaces()
			w.started[gvk] = true
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		if err := w.controller.Watch(source.Kind(w.mgr.GetCache(), client.Object(u), toCluster)); err != nil {
			return err
		}
		w.started[gvk] = true
	}
	return nil
}
