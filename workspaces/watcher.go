package workspaces

import (
	"context"
	"slices"
	"strings"
	"sync"
	"unique"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/dwoconfig"
	"github.com/nested-workspaces/enabler/internal/bounded"
	"github.com/nested-workspaces/enabler/scc"
)

// Read only: DevWorkspaces (which exist, and whether they failed to
// start), their Deployments and service accounts.
// +kubebuilder:rbac:groups=workspace.devfile.io,resources=devworkspaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch

// Page sizes: a Deployment decodes to ~20 KiB, a DevWorkspace's devfile is
// skipped, a service account is metadata.
const (
	deploymentPage     = 100
	devWorkspacePage   = 100
	serviceAccountPage = 500
)

// MaxMessageLength bounds what is kept of a failing workspace's message:
// the DevWorkspace Operator writes it from admission, kubelet events and
// postStart output, so it may hold a tenant's text.
const MaxMessageLength = 512

// deploymentState is what is kept of a workspace Deployment.
type deploymentState struct {
	// workspace is the UID of the DevWorkspace that controls it, and name
	// its own: only the Deployment a DevWorkspace that exists names as its
	// own is counted, one per workspace.
	workspace        uid
	name             string
	nested, running  bool
	pinnedToOurs     bool
	withinOurs       bool
	replicaFailure   string // the ReplicaFailure condition's message, cut
	replicaFailureOn bool
	// replicaFailureSCC: SCC admission refused its pods (judged on the
	// whole message, before it is cut).
	replicaFailureSCC bool
}

type devWorkspaceState struct {
	// namespace is interned: a namespace holds several workspaces, and
	// its service accounts name it again.
	namespace unique.Handle[string]
	name      string
	// id is the workspace's ID, which names its Deployment.
	id      string
	failed  bool
	message string // when failed, cut
	// refusedBySCC: it failed because SCC admission refused its pods
	// (judged on the whole message, before it is cut).
	refusedBySCC bool
}

type serviceAccountState struct {
	namespace unique.Handle[string]
	name      string
	workspace uid // its controller, when a DevWorkspace
}

// Watcher keeps the workspace states (manager.Runnable). Events gets one
// event whenever they change (coalesced: a full channel means a reconcile
// is already due).
type Watcher struct {
	Events chan event.GenericEvent

	deployments     *tracker[deploymentState]
	devWorkspaces   *tracker[devWorkspaceState]
	serviceAccounts *tracker[serviceAccountState]

	mu        sync.Mutex
	ctx       context.Context
	dwStarted bool
}

// Scheme is what the watcher decodes: Deployments, service account
// metadata and the DevWorkspace's status.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	// Only what it decodes: registering every built-in kind again would
	// cost the operator half a MiB for nothing.
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	gv := DevWorkspaceGVK.GroupVersion()
	s.AddKnownTypeWithName(DevWorkspaceGVK, &devWorkspace{})
	s.AddKnownTypeWithName(gv.WithKind(DevWorkspaceGVK.Kind+"List"), &devWorkspaceList{})
	metav1.AddToGroupVersion(s, gv)
	return s, nil
}

// NewWatcher watches through cfg with its own client (of Scheme), mapping
// kinds with mapper.
func NewWatcher(cfg *rest.Config, mapper meta.RESTMapper) (*Watcher, error) {
	s, err := Scheme()
	if err != nil {
		return nil, err
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: s, Mapper: mapper})
	if err != nil {
		return nil, err
	}
	return NewWatcherFor(c), nil
}

// NewWatcherFor watches through c, whose scheme must be Scheme's.
func NewWatcherFor(c client.WithWatch) *Watcher {
	w := &Watcher{Events: make(chan event.GenericEvent, 1)}
	w.deployments = &tracker[deploymentState]{
		kind: "workspace Deployments", client: c, pageSize: deploymentPage, changed: w.notify,
		newList: func() client.ObjectList { return &appsv1.DeploymentList{} },
		opts:    []client.ListOption{client.HasLabels{IDLabel}},
		state:   func(o client.Object) deploymentState { return deploymentStateOf(o.(*appsv1.Deployment)) },
	}
	w.devWorkspaces = &tracker[devWorkspaceState]{
		kind: "DevWorkspaces", client: c, pageSize: devWorkspacePage, changed: w.notify,
		newList: func() client.ObjectList { return &devWorkspaceList{} },
		state:   func(o client.Object) devWorkspaceState { return devWorkspaceStateOf(o.(*devWorkspace)) },
	}
	w.serviceAccounts = &tracker[serviceAccountState]{
		kind: "workspace service accounts", client: c, pageSize: serviceAccountPage, changed: w.notify,
		newList: func() client.ObjectList {
			l := &metav1.PartialObjectMetadataList{}
			l.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ServiceAccountList"))
			return l
		},
		opts:  []client.ListOption{client.HasLabels{IDLabel}},
		state: func(o client.Object) serviceAccountState { return serviceAccountStateOf(o) },
	}
	return w
}

// NeedLeaderElection: only the leader reconciles, so only it watches.
func (w *Watcher) NeedLeaderElection() bool { return true }

// Start watches Deployments and service accounts until ctx ends, and
// DevWorkspaces once WatchDevWorkspaces is called (manager.Runnable).
func (w *Watcher) Start(ctx context.Context) error {
	w.mu.Lock()
	w.ctx = ctx
	startDW := w.dwStarted
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, run := range []func(context.Context){w.deployments.run, w.serviceAccounts.run} {
		wg.Add(1)
		go func() { defer wg.Done(); run(ctx) }()
	}
	if startDW {
		go w.devWorkspaces.run(ctx)
	}
	wg.Wait()
	return nil
}

// WatchDevWorkspaces starts the DevWorkspace watch, once their kind is
// served (the DevWorkspace Operator may be installed after this operator).
// It may be called any number of times.
func (w *Watcher) WatchDevWorkspaces() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dwStarted {
		return
	}
	w.dwStarted = true
	if w.ctx != nil {
		go w.devWorkspaces.run(w.ctx)
	}
}

func (w *Watcher) notify() {
	nc := &enablerv1alpha1.NestedContainers{}
	nc.Name = enablerv1alpha1.ClusterName
	select {
	case w.Events <- event.GenericEvent{Object: nc}:
	default: // a reconcile is already due
	}
}

func deploymentStateOf(d *appsv1.Deployment) deploymentState {
	s := deploymentState{
		name:    d.Name,
		nested:  IsNested(&d.Spec.Template),
		running: d.Spec.Replicas == nil || *d.Spec.Replicas > 0,
	}
	if ref := metav1.GetControllerOfNoCopy(d); ref != nil && ref.Kind == DevWorkspaceGVK.Kind {
		s.workspace = compactUID(ref.UID)
	}
	pinned := d.Spec.Template.Annotations[dwoconfig.RequiredSCCAnnotation]
	s.pinnedToOurs = s.nested && slices.Contains(scc.PinnableNames(), pinned)
	if s.pinnedToOurs {
		s.withinOurs = withinOurEnvelope(&d.Spec.Template.Spec)
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue {
			s.replicaFailureOn, s.replicaFailure = true, bounded.Cut(c.Message, MaxMessageLength)
			s.replicaFailureSCC = refusedBySCC(c.Message)
		}
	}
	return s
}

// withinOurEnvelope tells whether the operator's own SCC, allowing every
// capability it may, admits a pod of this spec: then a refusal of it is the
// pinned SCC's or the grants' doing, not the workspace's own (a devfile's
// pod-overrides can ask for anything).
func withinOurEnvelope(spec *corev1.PodSpec) bool {
	uid := int64(0)
	if spec.SecurityContext != nil && spec.SecurityContext.RunAsUser != nil {
		uid = *spec.SecurityContext.RunAsUser
	}
	envelope := scc.NestedPodmanSCC(enablerv1alpha1.DefaultSCCName, uid, []string{"SETUID", "SETGID", "CHOWN"})
	return len(scc.Refusals(envelope, spec)) == 0
}

func devWorkspaceStateOf(d *devWorkspace) devWorkspaceState {
	s := devWorkspaceState{namespace: unique.Make(d.Namespace), name: d.Name, id: d.Status.DevWorkspaceID}
	if d.Status.Phase == phaseFailed || d.Status.Phase == phaseFailing {
		s.failed, s.message = true, bounded.Cut(d.Status.Message, MaxMessageLength)
		s.refusedBySCC = refusedBySCC(d.Status.Message)
	}
	return s
}

func serviceAccountStateOf(o client.Object) serviceAccountState {
	s := serviceAccountState{namespace: unique.Make(o.GetNamespace()), name: o.GetName()}
	if ref := metav1.GetControllerOfNoCopy(o); ref != nil && ref.Kind == DevWorkspaceGVK.Kind &&
		strings.HasPrefix(ref.APIVersion, DevWorkspaceGVK.Group+"/") {
		s.workspace = compactUID(ref.UID)
	}
	return s
}
