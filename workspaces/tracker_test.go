package workspaces

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// watcherWithSynced is a Watcher whose watches have listed nothing yet.
func watcherWithSynced() *Watcher {
	w := NewWatcherFor(nil)
	for _, t := range []interface{ markSynced() }{w.deployments, w.devWorkspaces, w.serviceAccounts} {
		t.markSynced()
	}
	w.WatchDevWorkspaces()
	return w
}

func (t *tracker[S]) markSynced() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.states, t.synced = map[uid]S{}, true
}

func workspace(ns, name, uid, phase, msg string) *devWorkspace {
	d := &devWorkspace{}
	d.Namespace, d.Name, d.UID = ns, name, types.UID(uid)
	d.Status.Phase, d.Status.Message, d.Status.DevWorkspaceID = phase, msg, "workspace"+uid
	return d
}

func controlledBy(uid string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: "workspace.devfile.io/v1alpha2", Kind: "DevWorkspace", Name: "w", UID: types.UID(uid), Controller: ptr.To(true)}}
}

// deployment is the Deployment of the workspace whose UID is owner, as DWO
// names it.
func deployment(ns, uid, owner string, replicas int32, tpl corev1.PodTemplateSpec, replicaFailure string) *appsv1.Deployment {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Template: tpl}}
	d.Namespace, d.Name, d.UID, d.OwnerReferences = ns, "workspace"+owner, types.UID(uid), controlledBy(owner)
	if replicaFailure != "" {
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: replicaFailure}}
	}
	return d
}

// pinned is a nested template pinned to nested-container, as DWO renders it
// under the operator's settings.
func pinned(extraCaps ...corev1.Capability) corev1.PodTemplateSpec {
	t := template(ptr.To(false), corev1.UnmaskedProcMount, append([]corev1.Capability{"SETUID", "SETGID"}, extraCaps...)...)
	t.Annotations = map[string]string{"openshift.io/required-scc": "nested-container"}
	t.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)}
	return t
}

// Each watch event moves the snapshot, and only a change of what is kept
// asks for a reconcile.
func TestWatcherEvents(t *testing.T) {
	w := watcherWithSynced()
	plain := template(nil, "")
	const refusal = `pods "w-1" is forbidden: unable to validate against any security context constraint: [provider "nested-container": Forbidden: not usable by user or serviceaccount]`
	steps := []struct {
		name       string
		apply      func() bool
		wantChange bool
		want       Counts
		wantOurs   int32
	}{
		{"a DevWorkspace arrives", func() bool { return w.devWorkspaces.apply(watch.Added, workspace("a", "ws-a", "A", "Starting", "")) },
			true, Counts{}, 0},
		{"its running plain Deployment arrives", func() bool {
			return w.deployments.apply(watch.Added, deployment("a", "dA", "A", 1, plain, ""))
		}, true, Counts{Total: 1, RunningPlain: 1}, 0},
		{"a status-only update changes nothing", func() bool {
			return w.deployments.apply(watch.Modified, deployment("a", "dA", "A", 1, plain, ""))
		}, false, Counts{Total: 1, RunningPlain: 1}, 0},
		{"a Deployment no DevWorkspace controls is not counted", func() bool {
			return w.deployments.apply(watch.Added, deployment("a", "dX", "nobody", 1, pinned(), ""))
		}, true, Counts{Total: 1, RunningPlain: 1}, 0},
		{"nor one that names a real DevWorkspace its controller", func() bool {
			d := deployment("a", "dY", "A", 1, pinned(), "")
			d.Name = "inflate-the-counts"
			return w.deployments.apply(watch.Added, d)
		}, true, Counts{Total: 1, RunningPlain: 1}, 0},
		{"a second workspace, nested and pinned, is refused by SCC admission", func() bool {
			w.devWorkspaces.apply(watch.Added, workspace("b", "ws-b", "B", "Starting", ""))
			return w.deployments.apply(watch.Added, deployment("b", "dB", "B", 1, pinned(), refusal))
		}, true, Counts{Total: 2, Nested: 1, Failing: 1, RunningNested: 1, RunningPlain: 1}, 1},
		{"a third asks for more than our SCC allows and is refused", func() bool {
			w.devWorkspaces.apply(watch.Added, workspace("c", "ws-c", "C", "Starting", ""))
			return w.deployments.apply(watch.Added, deployment("c", "dC", "C", 1, pinned("NET_ADMIN"), refusal))
		}, true, Counts{Total: 3, Nested: 2, Failing: 2, RunningNested: 2, RunningPlain: 1}, 1},
		{"DWO fails the first for a kubelet reason", func() bool {
			return w.devWorkspaces.apply(watch.Modified, workspace("a", "ws-a", "A", "Failed", "Detected unrecoverable event FailedMount: mount_setattr failed"))
		}, true, Counts{Total: 3, Nested: 2, Failing: 3, RunningNested: 2, RunningPlain: 1}, 1},
		{"the grant comes and the second starts", func() bool {
			return w.deployments.apply(watch.Modified, deployment("b", "dB", "B", 1, pinned(), ""))
		}, true, Counts{Total: 3, Nested: 2, Failing: 2, RunningNested: 2, RunningPlain: 1}, 0},
		{"the first is stopped and goes", func() bool {
			return w.devWorkspaces.apply(watch.Deleted, workspace("a", "ws-a", "A", "", ""))
		}, true, Counts{Total: 2, Nested: 2, Failing: 1, RunningNested: 2}, 0},
	}
	for _, st := range steps {
		if got := st.apply(); got != st.wantChange {
			t.Errorf("%s: changed %t, want %t", st.name, got, st.wantChange)
		}
		snap, synced := w.Snapshot()
		if !synced || snap.Counts != st.want || snap.RefusedByOurConfiguration != st.wantOurs {
			t.Errorf("%s: snapshot = %+v, %d by our configuration (synced %t); want %+v, %d", st.name, snap.Counts, snap.RefusedByOurConfiguration, synced, st.want, st.wantOurs)
		}
	}
}

// Whatever failing workspaces tell, the snapshot keeps a few, each message
// cut, and the operator's own first.
func TestFailingSampleIsBounded(t *testing.T) {
	w := watcherWithSynced()
	for i := range 50 {
		uid := fmt.Sprint(i)
		w.devWorkspaces.apply(watch.Added, workspace(fmt.Sprintf("ns-%02d", i), "ws", uid, "Failed", strings.Repeat("a tenant's postStart output ", 2000)))
	}
	w.devWorkspaces.apply(watch.Added, workspace("zz-last", "ws", "ours", "Starting", ""))
	w.deployments.apply(watch.Added, deployment("zz-last", "d", "ours", 1, pinned(), "unable to validate against any security context constraint: runAsUser"))
	snap, _ := w.Snapshot()
	if snap.Counts.Failing != 51 || len(snap.Failing) != MaxFailingSample {
		t.Fatalf("failing = %d, sample %d", snap.Counts.Failing, len(snap.Failing))
	}
	if f := snap.Failing[0]; f.Namespace != "zz-last" || !f.OurConfiguration {
		t.Errorf("the operator's own failure is not first: %+v", f)
	}
	for _, f := range snap.Failing {
		if len(f.Message) > MaxMessageLength+len("…") {
			t.Errorf("message of %s is %d bytes", f.Namespace, len(f.Message))
		}
	}
}

// Grants go only to service accounts a DevWorkspace that exists controls.
func TestServiceAccountsOfWorkspacesOnly(t *testing.T) {
	w := watcherWithSynced()
	w.devWorkspaces.apply(watch.Added, workspace("t", "ws", "W", "Running", ""))
	sa := func(ns, name, owner string) *metav1.PartialObjectMetadata {
		m := &metav1.PartialObjectMetadata{}
		m.Namespace, m.Name, m.UID = ns, name, types.UID(ns+"/"+name)
		if owner != "" {
			m.OwnerReferences = controlledBy(owner)
		}
		return m
	}
	for _, m := range []*metav1.PartialObjectMetadata{
		sa("t", "workspace-sa", "W"), sa("t", "labelled-only", ""), sa("t", "owned-by-a-gone-workspace", "GONE"), sa("other", "same-uid-elsewhere", "W"),
	} {
		w.serviceAccounts.apply(watch.Added, m)
	}
	snap, _ := w.Snapshot()
	if got := snap.ServiceAccounts; len(got) != 1 || len(got["t"]) != 1 || got["t"][0].Name != "workspace-sa" {
		t.Errorf("service accounts = %v, want t/workspace-sa only", got)
	}
}

func TestNotSyncedUntilListed(t *testing.T) {
	w := NewWatcherFor(nil)
	if _, synced := w.Snapshot(); synced {
		t.Error("reported synced before any list")
	}
	w.notify()
	w.notify() // coalesced: a full channel is enough
	if n := len(w.Events); n != 1 {
		t.Errorf("%d reconcile events queued, want 1", n)
	}
}

// A long message is cut, but judged whole: the DevWorkspace Operator puts
// the admission's answer after its own words.
func TestRefusalIsJudgedBeforeTheCut(t *testing.T) {
	w := watcherWithSynced()
	long := "Error creating DevWorkspace deployment: Detected unrecoverable deployment condition: FailedCreate " + strings.Repeat("admission webhook prefix ", 40) +
		`pods "w" is forbidden: unable to validate against any security context constraint: [provider "nested-container": Forbidden: not usable by user or serviceaccount]`
	w.devWorkspaces.apply(watch.Added, workspace("n", "ws", "W", "Failed", long))
	w.deployments.apply(watch.Added, deployment("n", "d", "W", 0, pinned(), ""))
	snap, _ := w.Snapshot()
	if len(snap.Failing) != 1 || !snap.Failing[0].RefusedBySCC || !snap.Failing[0].OurConfiguration || len(snap.Failing[0].Message) > MaxMessageLength+len("…") {
		t.Errorf("failing = %+v", snap.Failing)
	}
}
