package operator

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Whether a DevWorkspace controls a service account (metadata only).
// +kubebuilder:rbac:groups=workspace.devfile.io,resources=devworkspaces,verbs=get;list;watch

// optionalWatches starts the watches on kinds the DevWorkspace Operator
// and Dev Spaces serve once they are served: either may be installed after
// this operator.
// Each reconcile calls ensure, so the watch starts at the first reconcile
// after DWO's CRDs appear (a missing DWO is rechecked periodically).
type optionalWatches struct {
	mgr        manager.Manager
	controller controller.Controller

	mu      sync.Mutex
	started map[schema.GroupVersionKind]bool
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
	for _, gvk := range []schema.GroupVersionKind{DWOConfigGVK, DevWorkspaceGVK, CheClusterGVK} {
		if w.started[gvk] {
			continue
		}
		if _, err := w.mgr.GetRESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			continue
		}
		var obj client.Object
		var preds []predicate.Predicate
		if gvk == DevWorkspaceGVK {
			// Only whether one exists matters (its UID, for grants).
			m := &metav1.PartialObjectMetadata{}
			m.SetGroupVersionKind(gvk)
			obj, preds = m, []predicate.Predicate{createOrDelete}
		} else {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(gvk)
			obj = u
		}
		if err := w.controller.Watch(source.Kind(w.mgr.GetCache(), obj, toCluster, preds...)); err != nil {
			return err
		}
		w.started[gvk] = true
	}
	return nil
}
