package workspaces

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// tracker keeps a small state S per object of one kind, from its own paged
// list and then a watch from the list's resource version; when the watch
// expires it lists again. It never holds the objects themselves: at most
// pageSize of them are decoded at once.
type tracker[S comparable] struct {
	kind     string
	client   client.WithWatch
	newList  func() client.ObjectList
	opts     []client.ListOption
	pageSize int64
	// state reduces an object to what is kept of it.
	state func(client.Object) S
	// changed is told that the states changed.
	changed func()

	mu     sync.Mutex
	states map[uid]S
	synced bool
}

// retryPause is the pause after a failed list or watch.
const retryPause = 2 * time.Second

// run lists and watches until ctx ends.
func (t *tracker[S]) run(ctx context.Context) {
	logger := log.FromContext(ctx).WithName("workspaces").WithValues("kind", t.kind)
	for ctx.Err() == nil {
		rv, err := t.list(ctx)
		if err == nil {
			err = t.watch(ctx, rv)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			logger.Info("listing or watching failed; starting over", "error", err.Error())
			select {
			case <-ctx.Done():
			case <-time.After(retryPause):
			}
		}
	}
}

// list reads every object page by page and replaces the states; it returns
// the resource version to watch from.
func (t *tracker[S]) list(ctx context.Context) (string, error) {
	states := map[uid]S{}
	cont, rv := "", ""
	for {
		page := t.newList()
		opts := append([]client.ListOption{client.Limit(t.pageSize), client.Continue(cont)}, t.opts...)
		if err := t.client.List(ctx, page, opts...); err != nil {
			return "", fmt.Errorf("list %s: %w", t.kind, err)
		}
		objs, err := meta.ExtractList(page)
		if err != nil {
			return "", err
		}
		for _, o := range objs {
			if obj, ok := o.(client.Object); ok {
				states[compactUID(obj.GetUID())] = t.state(obj)
			}
		}
		rv, cont = page.GetResourceVersion(), page.GetContinue()
		if cont == "" {
			break
		}
	}
	t.mu.Lock()
	changed := !t.synced || !sameStates(t.states, states)
	t.states, t.synced = states, true
	t.mu.Unlock()
	if changed {
		t.changed()
	}
	return rv, nil
}

func sameStates[S comparable](a, b map[uid]S) bool {
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
// has expired returns, so that run lists again.
func (t *tracker[S]) watch(ctx context.Context, rv string) error {
	for {
		opts := append([]client.ListOption{&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}}}, t.opts...)
		wi, err := t.client.Watch(ctx, t.newList(), opts...)
		if err != nil {
			return fmt.Errorf("watch %s: %w", t.kind, err)
		}
		rv, err = t.drain(ctx, wi, rv)
		wi.Stop()
		if err != nil || ctx.Err() != nil {
			return err
		}
	}
}

// errWatchExpired: the resource version to resume from is gone; list again.
var errWatchExpired = errors.New("watch expired")

// drain applies one watch's events and returns the last resource version.
func (t *tracker[S]) drain(ctx context.Context, wi watch.Interface, rv string) (string, error) {
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
				return rv, fmt.Errorf("watch %s: %v", t.kind, apierrors.FromObject(ev.Object))
			}
			obj, ok := ev.Object.(client.Object)
			if !ok {
				continue
			}
			rv = obj.GetResourceVersion()
			if ev.Type == watch.Bookmark {
				continue
			}
			if t.apply(ev.Type, obj) {
				t.changed()
			}
		}
	}
}

// apply records one event and reports whether the states changed.
func (t *tracker[S]) apply(typ watch.EventType, obj client.Object) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := compactUID(obj.GetUID())
	old, had := t.states[key]
	if typ == watch.Deleted {
		delete(t.states, key)
		return had
	}
	s := t.state(obj)
	t.states[key] = s
	return !had || old != s
}

// size is how many states the tracker holds.
func (t *tracker[S]) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.states)
}

// each calls f with every state, under the tracker's lock; false when the
// first list has not completed.
func (t *tracker[S]) each(f func(uid, S)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for u, s := range t.states {
		f(u, s)
	}
	return t.synced
}
