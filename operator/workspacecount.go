package operator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
)

// WorkspaceCounter keeps the workspace counts up to date from a watch of the
// workspace Deployments, holding two booleans per workspace instead of the
// Deployments: a reconcile reads the counts without a request, however many
// workspaces there are. It lists page by page (workspacePageSize
// Deployments decoded at a time, never the whole list at once, which an
// informer's first list does), then watches from the list's resource
// version; when the watch expires it lists again.
//
// It triggers a reconcile (Events) when a workspace comes, goes, or changes
// between nested and not, or running and stopped: not on every Deployment
// update.
type WorkspaceCounter struct {
	client client.WithWatch
	// Events gets one event whenever the counts change (coalesced: a full
	// channel means a reconcile is already due).
	Events chan event.GenericEvent

	mu     sync.Mutex
	states map[types.UID]workspaceState
	synced bool
}

// workspaceState is what the counts need of a workspace Deployment.
type workspaceState struct{ nested, running bool }

func stateOf(d *appsv1.Deployment) workspaceState {
	return workspaceState{nested: IsNested(&d.Spec.Template), running: d.Spec.Replicas == nil || *d.Spec.Replicas > 0}
}

// NewWorkspaceCounter counts through c, which must be able to watch.
func NewWorkspaceCounter(c client.WithWatch) *WorkspaceCounter {
	return &WorkspaceCounter{client: c, Events: make(chan event.GenericEvent, 1)}
}

// Counts returns the counts for the toggle's wish, and false until the first
// list has completed.
func (w *WorkspaceCounter) Counts(nestedWanted bool) (WorkspaceCounts, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var c WorkspaceCounts
	for _, s := range w.states {
		c.Total++
		if s.nested {
			c.Nested++
		}
		if s.running && s.nested != nestedWanted {
			c.PendingRestart++
		}
	}
	return c, w.synced
}

// NeedLeaderElection: only the leader reconciles, so only it counts.
func (w *WorkspaceCounter) NeedLeaderElection() bool { return true }

// counterRetry is the pause after a failed list or watch.
const counterRetry = 2 * time.Second

// Start lists and watches until ctx ends (manager.Runnable).
func (w *WorkspaceCounter) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("workspace-counter")
	for ctx.Err() == nil {
		rv, err := w.list(ctx)
		if err == nil {
			err = w.watch(ctx, rv)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			logger.Info("listing or watching workspace Deployments failed; starting over", "error", err.Error())
			select {
			case <-ctx.Done():
			case <-time.After(counterRetry):
			}
		}
	}
	return nil
}

// list reads every workspace Deployment page by page and replaces the
// states; it returns the resource version to watch from.
func (w *WorkspaceCounter) list(ctx context.Context) (string, error) {
	states := map[types.UID]workspaceState{}
	cont, rv := "", ""
	for {
		page := &appsv1.DeploymentList{}
		if err := w.client.List(ctx, page, client.HasLabels{WorkspaceIDLabel}, client.Limit(workspacePageSize), client.Continue(cont)); err != nil {
			return "", fmt.Errorf("list workspace Deployments: %w", err)
		}
		for i := range page.Items {
			states[page.Items[i].UID] = stateOf(&page.Items[i])
		}
		rv = page.ResourceVersion
		if cont = page.Continue; cont == "" {
			break
		}
	}
	w.mu.Lock()
	changed := !w.synced || !sameStates(w.states, states)
	w.states, w.synced = states, true
	w.mu.Unlock()
	if changed {
		w.notify()
	}
	return rv, nil
}

func sameStates(a, b map[types.UID]workspaceState) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// watch applies events from rv on until the watch ends. A watch the server
// closes resumes from the last event's resource version; one whose version
// has expired returns, so that Start lists again.
func (w *WorkspaceCounter) watch(ctx context.Context, rv string) error {
	for {
		wi, err := w.client.Watch(ctx, &appsv1.DeploymentList{}, client.HasLabels{WorkspaceIDLabel},
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})
		if err != nil {
			return fmt.Errorf("watch workspace Deployments: %w", err)
		}
		rv, err = w.drain(ctx, wi, rv)
		wi.Stop()
		if err != nil || ctx.Err() != nil {
			return err
		}
	}
}

// errWatchExpired: the resource version to resume from is gone; list again.
var errWatchExpired = errors.New("watch of workspace Deployments expired")

// drain applies one watch's events and returns the last resource version.
func (w *WorkspaceCounter) drain(ctx context.Context, wi watch.Interface, rv string) (string, error) {
	for {
		select {
		case <-ctx.Done():
			return rv, nil
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return rv, nil
			}
			if ev.Type == watch.Error {
				if st := apierrors.FromObject(ev.Object); apierrors.IsResourceExpired(st) || apierrors.IsGone(st) {
					return rv, errWatchExpired
				}
				return rv, fmt.Errorf("watch workspace Deployments: %v", apierrors.FromObject(ev.Object))
			}
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok {
				continue
			}
			rv = d.ResourceVersion
			if ev.Type == watch.Bookmark {
				continue
			}
			if w.apply(ev.Type, d) {
				w.notify()
			}
		}
	}
}

// apply records one event and reports whether the counts changed.
func (w *WorkspaceCounter) apply(t watch.EventType, d *appsv1.Deployment) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	old, had := w.states[d.UID]
	if t == watch.Deleted {
		delete(w.states, d.UID)
		return had
	}
	s := stateOf(d)
	w.states[d.UID] = s
	return !had || old != s
}

func (w *WorkspaceCounter) notify() {
	nc := &enablerv1alpha1.NestedContainers{}
	nc.Name = enablerv1alpha1.ClusterName
	select {
	case w.Events <- event.GenericEvent{Object: nc}:
	default: // a reconcile is already due
	}
}
