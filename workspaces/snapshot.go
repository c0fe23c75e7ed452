package workspaces

import (
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// MaxFailingSample bounds how many failing workspaces a Snapshot names.
const MaxFailingSample = 5

// Counts summarises the workspaces' Deployments.
type Counts struct {
	Total, Nested, Failing int32
	// RunningNested and RunningPlain count the running workspaces that are
	// and are not nested-capable: those that need a restart to match the
	// toggle are one or the other (PendingRestart).
	RunningNested, RunningPlain int32
}

// PendingRestart counts the running workspaces that need a restart to be
// as nestedWanted says (the DevWorkspace Operator applies its
// configuration when it next renders a workspace, not to running ones).
func (c Counts) PendingRestart(nestedWanted bool) int32 {
	if nestedWanted {
		return c.RunningPlain
	}
	return c.RunningNested
}

// Failure is a workspace that failed to start, and why.
type Failure struct {
	Namespace, Name string
	// Message is the DevWorkspace's status message or its Deployment's
	// ReplicaFailure, cut to MaxMessageLength: it may hold a tenant's text.
	Message string
	// RefusedBySCC: SCC admission refused its pod.
	RefusedBySCC bool
	// OurConfiguration: the refused pod was pinned to an SCC the operator
	// pins and asked for nothing the operator's own SCC would not allow,
	// so the pin or the grants are at fault, not the workspace.
	OurConfiguration bool
}

// Snapshot is the workspaces as one reconcile sees them.
type Snapshot struct {
	Counts Counts
	// Failing names at most MaxFailingSample failing workspaces, by
	// namespace and name.
	Failing []Failure
	// RefusedByOurConfiguration counts failing workspaces whose Failure
	// says OurConfiguration.
	RefusedByOurConfiguration int32
	// ServiceAccounts are, by namespace, the service accounts a
	// DevWorkspace that exists controls (a label is not enough: anyone who
	// may create a service account can set one), sorted by name.
	ServiceAccounts map[string][]rbacv1.Subject
}

// Snapshot computes the snapshot; false until every watch has listed once.
func (w *Watcher) Snapshot() (Snapshot, bool) {
	// Sized up front: a map grown step by step holds its old and new
	// buckets at once, and at every reconcile this is one entry per
	// workspace.
	workspaces := make(map[uid]devWorkspaceState, w.devWorkspaces.size())
	w.mu.Lock()
	dwWatched := w.dwStarted
	w.mu.Unlock()
	synced := true
	if dwWatched {
		synced = w.devWorkspaces.each(func(u uid, s devWorkspaceState) { workspaces[u] = s })
	}
	var snap Snapshot
	snap.ServiceAccounts = map[string][]rbacv1.Subject{}
	synced = w.serviceAccounts.each(func(_ uid, s serviceAccountState) {
		if ws, ok := workspaces[s.workspace]; ok && ws.namespace == s.namespace {
			ns := s.namespace.Value()
			snap.ServiceAccounts[ns] = append(snap.ServiceAccounts[ns], rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: s.name})
		}
	}) && synced
	for ns := range snap.ServiceAccounts {
		sort.Slice(snap.ServiceAccounts[ns], func(i, j int) bool { return snap.ServiceAccounts[ns][i].Name < snap.ServiceAccounts[ns][j].Name })
	}
	// Each workspace's own Deployment is counted once; only those a
	// failure report needs are kept.
	counted := make(map[uid]struct{}, len(workspaces))
	deployments := map[uid]deploymentState{}
	synced = w.deployments.each(func(_ uid, d deploymentState) {
		// Only a workspace's own: anyone may label a Deployment, or name a
		// DevWorkspace of theirs its controller.
		ws, ok := workspaces[d.workspace]
		if !ok || ws.id == "" || ws.id != d.name {
			return
		}
		if _, seen := counted[d.workspace]; seen {
			return
		}
		counted[d.workspace] = struct{}{}
		snap.Counts.Total++
		if d.nested {
			snap.Counts.Nested++
		}
		switch {
		case d.running && d.nested:
			snap.Counts.RunningNested++
		case d.running:
			snap.Counts.RunningPlain++
		}
		if ws.failed || d.replicaFailureOn {
			deployments[d.workspace] = d
		}
	}) && synced
	var failing []Failure
	for u, ws := range workspaces {
		d, hasDeployment := deployments[u]
		f := Failure{Namespace: ws.namespace.Value(), Name: ws.name}
		switch {
		case ws.failed:
			f.Message, f.RefusedBySCC = ws.message, ws.refusedBySCC
		case hasDeployment && d.replicaFailureOn:
			f.Message, f.RefusedBySCC = d.replicaFailure, d.replicaFailureSCC
		default:
			continue
		}
		f.OurConfiguration = f.RefusedBySCC && hasDeployment && d.pinnedToOurs && d.withinOurs
		if f.OurConfiguration {
			snap.RefusedByOurConfiguration++
		}
		failing = append(failing, f)
	}
	snap.Counts.Failing = int32(len(failing))
	sort.Slice(failing, func(i, j int) bool {
		if failing[i].OurConfiguration != failing[j].OurConfiguration {
			return failing[i].OurConfiguration // the admin's own first
		}
		if failing[i].Namespace != failing[j].Namespace {
			return failing[i].Namespace < failing[j].Namespace
		}
		return failing[i].Name < failing[j].Name
	})
	snap.Failing = failing[:min(len(failing), MaxFailingSample)]
	return snap, synced
}

// refusedBySCC tells an SCC admission refusal (openshift/apiserver-library-go
// sccadmission: "unable to validate against any security context
// constraint", "required scc/X ...") from other failures.
func refusedBySCC(msg string) bool {
	return strings.Contains(msg, "security context constraint") || strings.Contains(msg, "required scc/")
}
