package operator

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// TestWorkspaceCounterEvents: each watch event moves the counts, and only a
// change of what is counted asks for a reconcile.
func TestWorkspaceCounterEvents(t *testing.T) {
	nestedTpl := template(ptr.To(false), corev1.UnmaskedProcMount, "SETUID", "SETGID")
	plainTpl := template(nil, "")
	dep := func(uid string, replicas int32, tpl corev1.PodTemplateSpec) *appsv1.Deployment {
		d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Template: tpl}}
		d.UID = types.UID(uid)
		return d
	}
	type counts struct{ wantNested, wantPlain WorkspaceCounts }
	w := NewWorkspaceCounter(nil)
	w.states, w.synced = map[types.UID]workspaceState{}, true
	steps := []struct {
		name       string
		event      watch.EventType
		d          *appsv1.Deployment
		wantChange bool
		want       counts
	}{
		{"a running plain workspace arrives", watch.Added, dep("a", 1, plainTpl), true,
			counts{WorkspaceCounts{Total: 1, PendingRestart: 1}, WorkspaceCounts{Total: 1}}},
		{"a stopped nested one arrives", watch.Added, dep("b", 0, nestedTpl), true,
			counts{WorkspaceCounts{Total: 2, Nested: 1, PendingRestart: 1}, WorkspaceCounts{Total: 2, Nested: 1}}},
		{"a status-only update changes nothing", watch.Modified, dep("a", 1, plainTpl), false,
			counts{WorkspaceCounts{Total: 2, Nested: 1, PendingRestart: 1}, WorkspaceCounts{Total: 2, Nested: 1}}},
		{"the nested one starts", watch.Modified, dep("b", 1, nestedTpl), true,
			counts{WorkspaceCounts{Total: 2, Nested: 1, PendingRestart: 1}, WorkspaceCounts{Total: 2, Nested: 1, PendingRestart: 1}}},
		{"the plain one is re-rendered nested", watch.Modified, dep("a", 1, nestedTpl), true,
			counts{WorkspaceCounts{Total: 2, Nested: 2}, WorkspaceCounts{Total: 2, Nested: 2, PendingRestart: 2}}},
		{"one goes", watch.Deleted, dep("a", 1, nestedTpl), true,
			counts{WorkspaceCounts{Total: 1, Nested: 1}, WorkspaceCounts{Total: 1, Nested: 1, PendingRestart: 1}}},
		{"a delete of one never seen changes nothing", watch.Deleted, dep("zzz", 1, nestedTpl), false,
			counts{WorkspaceCounts{Total: 1, Nested: 1}, WorkspaceCounts{Total: 1, Nested: 1, PendingRestart: 1}}},
	}
	for _, st := range steps {
		if got := w.apply(st.event, st.d); got != st.wantChange {
			t.Errorf("%s: changed %t, want %t", st.name, got, st.wantChange)
		}
		for _, c := range []struct {
			nestedWanted bool
			want         WorkspaceCounts
		}{{true, st.want.wantNested}, {false, st.want.wantPlain}} {
			got, synced := w.Counts(c.nestedWanted)
			if !synced || got != c.want {
				t.Errorf("%s: Counts(nested wanted %t) = %+v (synced %t), want %+v", st.name, c.nestedWanted, got, synced, c.want)
			}
		}
	}
}

func TestWorkspaceCounterNotSyncedUntilListed(t *testing.T) {
	w := NewWorkspaceCounter(nil)
	if _, synced := w.Counts(true); synced {
		t.Error("counts reported synced before any list")
	}
	w.notify()
	w.notify() // coalesced: a full channel is enough
	if n := len(w.Events); n != 1 {
		t.Errorf("%d reconcile events queued, want 1", n)
	}
}
