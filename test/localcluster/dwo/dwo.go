// Package dwo runs the real DevWorkspace controller (the DevWorkspace
// Operator's own reconcilers, from its Go module) in-process against a
// cluster, so tests and the demo see the exact Deployments DWO renders and
// how it reacts to its configuration.
//
// DWO keeps its configuration and cluster type in package-level state, so a
// process can run one controller, once.
package dwo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	dwv1 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha1"
	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	controllerv1alpha1 "github.com/devfile/devworkspace-operator/apis/controller/v1alpha1"
	"github.com/devfile/devworkspace-operator/controllers/controller/devworkspacerouting"
	"github.com/devfile/devworkspace-operator/controllers/controller/devworkspacerouting/solvers"
	workspacecontroller "github.com/devfile/devworkspace-operator/controllers/workspace"
	dwocache "github.com/devfile/devworkspace-operator/pkg/cache"
	dwoconfig "github.com/devfile/devworkspace-operator/pkg/config"
	"github.com/devfile/devworkspace-operator/pkg/constants"
	"github.com/devfile/devworkspace-operator/pkg/infrastructure"
	kubesync "github.com/devfile/devworkspace-operator/pkg/library/kubernetes"
	configv1 "github.com/openshift/api/config/v1"
	oauthv1 "github.com/openshift/api/oauth/v1"
	routev1 "github.com/openshift/api/route/v1"
	securityv1 "github.com/openshift/api/security/v1"
	templatev1 "github.com/openshift/api/template/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Defaults matching an OLM install of the DevWorkspace Operator on OpenShift.
const (
	DefaultNamespace   = "openshift-operators"
	ServiceAccountName = "devworkspace-controller-serviceaccount"
	DefaultHostSuffix  = "apps.nested.local"
)

// deploymentEnv is the environment DWO v0.43.0's own Deployment gives it.
var deploymentEnv = map[string]string{
	"MAX_CONCURRENT_RECONCILES":           "5",
	"RELATED_IMAGE_project_clone":         "quay.io/devfile/project-clone:v0.43.0",
	"RELATED_IMAGE_project_backup":        "quay.io/devfile/project-backup:v0.43.0",
	"RELATED_IMAGE_pvc_cleanup_job":       "registry.access.redhat.com/ubi9/ubi-micro:9.5-1733126338",
	"RELATED_IMAGE_async_storage_server":  "quay.io/eclipse/che-workspace-data-sync-storage:0.0.1",
	"RELATED_IMAGE_async_storage_sidecar": "quay.io/eclipse/che-sidecar-workspace-data-sync:0.0.1",
	"OPERATOR_NAME":                       "devworkspace-operator",
}

// Options configures the controller.
type Options struct {
	// Namespace the operator runs in; its DevWorkspaceOperatorConfig
	// "devworkspace-operator-config" there is the global configuration.
	Namespace string
	// ClusterHostSuffix is the routing suffix DWO needs on clusters without
	// a router to discover it from.
	ClusterHostSuffix string
	// WatchNamespaces, when set, limits what the controller sees to these
	// namespaces and its own (the benchmark keeps thousands of synthetic
	// DevWorkspaces elsewhere, which the real controller would otherwise
	// start provisioning).
	WatchNamespaces []string
	// ControllerConfig, when set, is what the controller acts as (its own
	// service account with its own ClusterRole: Cluster.InstallDWOIdentity);
	// otherwise it acts with the config Start is given, which also sets up
	// its namespace and configuration.
	ControllerConfig *rest.Config
}

// Controller is a running DevWorkspace controller.
type Controller struct {
	Namespace string
	done      chan error
	cancel    context.CancelFunc
}

var started sync.Mutex
var startedOnce bool

// Start runs the DevWorkspace and DevWorkspaceRouting reconcilers until ctx
// ends or Stop is called. It returns once the controller's caches synced.
func Start(ctx context.Context, cfg *rest.Config, opts Options) (*Controller, error) {
	started.Lock()
	defer started.Unlock()
	if startedOnce {
		return nil, errors.New("the DevWorkspace controller keeps its state in package globals: it can run once per process")
	}
	startedOnce = true
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.ClusterHostSuffix == "" {
		opts.ClusterHostSuffix = DefaultHostSuffix
	}

	openshift, err := servesRoutes(cfg)
	if err != nil {
		return nil, err
	}
	if openshift {
		infrastructure.InitializeForTesting(infrastructure.OpenShiftv4)
	} else {
		infrastructure.InitializeForTesting(infrastructure.Kubernetes)
	}
	// DWO reads its namespace and service account from the environment, as
	// its Deployment sets them.
	setDefaultEnv(infrastructure.WatchNamespaceEnvVar, opts.Namespace)
	setDefaultEnv(constants.ControllerServiceAccountNameEnvVar, ServiceAccountName)
	for key, value := range deploymentEnv {
		setDefaultEnv(key, value)
	}

	scheme, err := newScheme(openshift)
	if err != nil {
		return nil, err
	}
	if err := kubesync.InitializeDeserializer(scheme); err != nil {
		return nil, fmt.Errorf("DWO object decoder: %w", err)
	}
	direct, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	if err := ensureNamespace(ctx, direct, opts.Namespace); err != nil {
		return nil, err
	}
	if err := ensureHostSuffix(ctx, direct, opts); err != nil {
		return nil, err
	}

	cacheFunc, err := dwocache.GetCacheFunc()
	if err != nil {
		return nil, fmt.Errorf("DWO cache: %w", err)
	}
	if len(opts.WatchNamespaces) > 0 {
		inner, namespaces := cacheFunc, map[string]cache.Config{opts.Namespace: {}}
		for _, ns := range opts.WatchNamespaces {
			namespaces[ns] = cache.Config{}
		}
		cacheFunc = func(cfg *rest.Config, o cache.Options) (cache.Cache, error) {
			o.DefaultNamespaces = namespaces
			return inner(cfg, o)
		}
	}
	controllerCfg, controllerClient := cfg, direct
	if opts.ControllerConfig != nil {
		controllerCfg = opts.ControllerConfig
		if controllerClient, err = client.New(controllerCfg, client.Options{Scheme: scheme}); err != nil {
			return nil, err
		}
	}
	mgr, err := ctrl.NewManager(controllerCfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		NewCache:               cacheFunc,
		Controller:             ctrlconfig.Controller{SkipNameValidation: ptr.To(true)},
		Logger:                 ctrl.Log.WithName("devworkspace-operator"),
	})
	if err != nil {
		return nil, fmt.Errorf("DWO manager: %w", err)
	}
	if err := dwoconfig.MigrateConfigFromConfigMap(direct); err != nil {
		return nil, fmt.Errorf("DWO config migration: %w", err)
	}
	if err := dwoconfig.SetupControllerConfig(direct); err != nil {
		return nil, fmt.Errorf("DWO configuration: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &corev1.Event{}, "involvedObject.name", func(obj client.Object) []string {
		return []string{obj.(*corev1.Event).InvolvedObject.Name}
	}); err != nil {
		return nil, fmt.Errorf("DWO event index: %w", err)
	}
	if err := (&devworkspacerouting.DevWorkspaceRoutingReconciler{
		Client:       mgr.GetClient(),
		Log:          ctrl.Log.WithName("dwo").WithName("DevWorkspaceRouting"),
		Scheme:       mgr.GetScheme(),
		SolverGetter: &solvers.SolverGetter{},
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("DWO routing controller: %w", err)
	}
	if err := (&workspacecontroller.DevWorkspaceReconciler{
		Client:           mgr.GetClient(),
		NonCachingClient: controllerClient,
		Log:              ctrl.Log.WithName("dwo").WithName("DevWorkspace"),
		Scheme:           mgr.GetScheme(),
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("DWO workspace controller: %w", err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	c := &Controller{Namespace: opts.Namespace, done: make(chan error, 1), cancel: cancel}
	go func() { c.done <- mgr.Start(runCtx) }()
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		cancel()
		return nil, fmt.Errorf("DWO caches did not sync: %v", <-c.done)
	}
	return c, nil
}

// Stop stops the controller and waits for it to finish.
func (c *Controller) Stop() error {
	c.cancel()
	return <-c.done
}

func setDefaultEnv(key, value string) {
	if _, ok := os.LookupEnv(key); !ok {
		_ = os.Setenv(key, value)
	}
}

func servesRoutes(cfg *rest.Config) (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return false, err
	}
	groups, err := dc.ServerGroups()
	if err != nil {
		return false, fmt.Errorf("discover API groups: %w", err)
	}
	for _, g := range groups.Groups {
		if g.Name == routev1.GroupName {
			return true, nil
		}
	}
	return false, nil
}

func newScheme(openshift bool) (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	adders := []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, controllerv1alpha1.AddToScheme, dwv1.AddToScheme, dwv2.AddToScheme}
	if openshift {
		adders = append(adders, routev1.Install, templatev1.Install, oauthv1.Install, securityv1.Install, configv1.AddToScheme)
	}
	for _, add := range adders {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func ensureNamespace(ctx context.Context, c client.Client, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create DWO namespace %s: %w", name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ServiceAccountName, Namespace: name}}
	if err := c.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create DWO service account: %w", err)
	}
	return nil
}

// ensureHostSuffix sets routing.clusterHostSuffix in the global DWO config,
// with DWO's field manager, as an admin installing DWO on a cluster without
// a discoverable router would.
func ensureHostSuffix(ctx context.Context, c client.Client, opts Options) error {
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(hostSuffixConfig(opts.Namespace, opts.ClusterHostSuffix)), client.FieldOwner("devworkspace-admin"), client.ForceOwnership); err != nil {
		return fmt.Errorf("set DWO routing.clusterHostSuffix: %w", err)
	}
	return nil
}
