package operator

import (
	"context"
	"fmt"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	securityv1 "github.com/openshift/api/security/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/owned"
	"github.com/nested-workspaces/enabler/workspaces"
)

// Options configures the operator's manager.
type Options struct {
	Config *rest.Config
	// DWONamespace holds the global DevWorkspaceOperatorConfig; on OpenShift
	// DWO installed by OLM runs in openshift-operators.
	DWONamespace string
	// MetricsAddr and ProbeAddr are listen addresses; "0" disables.
	// Metrics are served over HTTPS to callers the API server authenticates
	// (TokenReview) and authorizes (SubjectAccessReview, get on /metrics),
	// unless MetricsInsecure, for local runs.
	MetricsAddr, ProbeAddr string
	MetricsInsecure        bool
	// MetricsCertDir holds the metrics serving certificate, tls.crt and
	// tls.key: on OpenShift the service CA's, from the Secret its
	// serving-cert annotation on the metrics Service makes. Empty: a
	// self-signed one is generated at start.
	MetricsCertDir string
	// PprofAddr serves Go's /debug/pprof (plain HTTP, no authentication:
	// bind it to localhost); empty disables.
	PprofAddr               string
	LeaderElection          bool
	LeaderElectionNamespace string
	// Detector overrides cluster detection (default: detect on Config).
	Detector ClusterDetector
	// SeveralPerProcess allows more than one manager in a process over its
	// life (tests start one per cluster); controller-runtime otherwise
	// refuses a second controller of the same name.
	SeveralPerProcess bool
}

// Defaults for Options.
const (
	DefaultDWONamespace = "openshift-operators"
	LeaderElectionID    = "nested-workspaces-enabler.enabler.nested-workspaces.io"
)

// NewScheme registers the types the operator reads and writes.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, enablerv1alpha1.AddToScheme, securityv1.Install, configv1.Install, apiextensionsv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("build scheme: %w", err)
		}
	}
	return s, nil
}

// NewManager wires the reconciler into a controller-runtime manager whose
// caches hold only what the operator needs: every SCC, our own RBAC (by our
// label), and nodes stripped to their runtime handlers. The DevWorkspaces,
// their Deployments and service accounts are kept by workspaces.Watcher, a
// few bytes each.
func NewManager(o Options) (ctrl.Manager, error) {
	if o.DWONamespace == "" {
		o.DWONamespace = DefaultDWONamespace
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	// No default transform: the DevWorkspaceOperatorConfig's managedFields
	// tell which of its fields are ours. Nodes are trimmed to what
	// detection reads, and managedFields are dropped from the rest.
	ours := labels.SelectorFromSet(owned.Labels())

	mgr, err := ctrl.NewManager(o.Config, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOptions(o),
		HealthProbeBindAddress:  o.ProbeAddr,
		PprofBindAddress:        o.PprofAddr,
		LeaderElection:          o.LeaderElection,
		LeaderElectionID:        LeaderElectionID,
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		Cache: cache.Options{
			ByObject: map[client.Object]cache.ByObject{
				// DevWorkspaces, their Deployments and service accounts are not
				// cached: workspaces.Watcher keeps a few bytes of each from its
				// own paged lists and watches (a Deployment informer's first
				// list decodes every template at once: measured peak RSS
				// +30-60 MiB at 5,000 workspaces).
				// Every SCC: a cluster has a few dozen, and OpenShift's own
				// nested-container must be seen to come and go.
				// managedFields dropped where nothing reads them: a
				// RoleBinding per namespace with workspaces adds up.
				&rbacv1.ClusterRole{}:                    {Label: ours, Transform: stripManagedFields},
				&rbacv1.ClusterRoleBinding{}:             {Label: ours, Transform: stripManagedFields},
				&rbacv1.RoleBinding{}:                    {Label: ours, Transform: stripManagedFields},
				&securityv1.SecurityContextConstraints{}: {Transform: stripManagedFields},
				&corev1.Node{}:                           {Transform: keepRuntimeHandlers},
			},
		},
		Client:     client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		Controller: ctrlconfig.Controller{SkipNameValidation: &o.SeveralPerProcess},
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	if o.ProbeAddr != "0" && o.ProbeAddr != "" {
		if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
			return nil, err
		}
		if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
			return nil, err
		}
	}
	detector := o.Detector
	if detector == nil {
		d, err := detect.NewDetector(o.Config, mgr.GetAPIReader())
		if err != nil {
			return nil, err
		}
		// Nodes come from the watched cache (trimmed to their runtime
		// handlers), not a live paginated LIST per reconcile.
		cached := mgr.GetClient()
		// ClusterVersion and FeatureGate too: both are watched, typed.
		d.Watched = cached
		d.Nodes = func(ctx context.Context) ([]corev1.Node, error) {
			list := &corev1.NodeList{}
			if err := cached.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil { // read only
				return nil, fmt.Errorf("list nodes from the cache: %w", err)
			}
			return list.Items, nil
		}
		detector = d
	}
	watcher, err := workspaces.NewWatcher(o.Config, mgr.GetRESTMapper())
	if err != nil {
		return nil, fmt.Errorf("create the workspaces' watcher: %w", err)
	}
	if err := mgr.Add(watcher); err != nil {
		return nil, err
	}
	c := withWriteLog(mgr.GetClient())
	r := &Reconciler{
		Workspaces:   watcher,
		Client:       c,
		APIReader:    mgr.GetAPIReader(),
		Detector:     detector,
		Events:       mgr.GetEventRecorder("nested-workspaces-enabler"),
		DWONamespace: o.DWONamespace,
		fence:        &fenceProbe{client: c, namespace: o.DWONamespace},
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	registerMetrics()
	return mgr, nil
}

func metricsOptions(o Options) metricsserver.Options {
	if o.MetricsInsecure {
		return metricsserver.Options{BindAddress: o.MetricsAddr}
	}
	return securedMetricsOptions(o.MetricsAddr, o.MetricsCertDir)
}

// toCluster maps every watched object to the one NestedContainers.
var toCluster = handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: enablerv1alpha1.ClusterName}}}
})

// SetupWithManager registers the watches. Every event funnels into the one
// reconcile key, so a burst of workspace events costs one reconcile.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named("nestedcontainers").
		For(&enablerv1alpha1.NestedContainers{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, deletionPredicate))).
		// The workspaces' states change: their watcher says so.
		WatchesRawSource(source.Channel(r.Workspaces.Events, toCluster)).
		// A change of an admission policy binding may take the fence away
		// or put it back: try it again once the change is in force.
		WatchesMetadata(&admissionregistrationv1.ValidatingAdmissionPolicyBinding{}, r.fenceBindingHandler()).
		Watches(&securityv1.SecurityContextConstraints{}, toCluster).
		Watches(&rbacv1.ClusterRole{}, toCluster).
		Watches(&rbacv1.ClusterRoleBinding{}, toCluster).
		Watches(&rbacv1.RoleBinding{}, toCluster).
		Watches(&corev1.Node{}, toCluster, builder.WithPredicates(runtimeHandlersChanged)).
		Watches(&configv1.ClusterVersion{}, toCluster).
		Watches(&configv1.FeatureGate{}, toCluster).
		// The CRDs of the kinds that may come later (DWO, Dev Spaces) and of
		// SCCs (their schema changes on upgrade): their arrival is a reason
		// to look again, and starts the optional watches.
		WatchesMetadata(&apiextensionsv1.CustomResourceDefinition{}, toCluster, builder.WithPredicates(watchedCRDs))
	c, err := b.Build(r)
	if err != nil {
		return err
	}
	r.watches = &optionalWatches{mgr: mgr, controller: c, workspaces: r.Workspaces}
	return nil
}

var deletionPredicate = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	return !e.ObjectNew.GetDeletionTimestamp().IsZero()
}}

// watchedCRDs passes events of the CRDs whose arrival or change matters.
var watchedCRDs = predicate.NewPredicateFuncs(func(o client.Object) bool {
	switch o.GetName() {
	case "devworkspaceoperatorconfigs.controller.devfile.io", "devworkspaces.workspace.devfile.io",
		"checlusters.org.eclipse.che", "securitycontextconstraints.security.openshift.io":
		return true
	}
	return false
})

var runtimeHandlersChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	o, n := e.ObjectOld.(*corev1.Node), e.ObjectNew.(*corev1.Node)
	return !equality.Semantic.DeepEqual(o.Status.RuntimeHandlers, n.Status.RuntimeHandlers)
}}

// stripManagedFields drops an object's managedFields before it is cached.
var stripManagedFields = cache.TransformStripManagedFields()

func keepRuntimeHandlers(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	n.ManagedFields = nil
	n.Annotations = nil
	n.Spec = corev1.NodeSpec{}
	n.Status = corev1.NodeStatus{RuntimeHandlers: n.Status.RuntimeHandlers, NodeInfo: n.Status.NodeInfo}
	return n, nil
}

// Whether the fence holds.
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingadmissionpolicybindings,verbs=get;list;watch

// fenceDelay is how long after a policy binding changes the fence is tried
// again: the API server takes a moment to enforce a change.
const fenceDelay = 3 * time.Second

// fenceBindingHandler reconciles on every change of a policy binding and
// makes the fence be tried again once the change is in force; the bindings
// the watch's first list finds are no change (the first reconcile tries
// the fence anyway).
func (r *Reconciler) fenceBindingHandler() handler.EventHandler {
	cluster := reconcile.Request{NamespacedName: client.ObjectKey{Name: enablerv1alpha1.ClusterName}}
	changed := func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		if r.fence != nil {
			r.fence.recheckIn(fenceDelay)
		}
		q.Add(cluster)
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if e.IsInInitialList {
				q.Add(cluster)
				return
			}
			changed(q)
		},
		UpdateFunc: func(_ context.Context, _ event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			changed(q)
		},
		DeleteFunc: func(_ context.Context, _ event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			changed(q)
		},
	}
}
