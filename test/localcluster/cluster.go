package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	dwocv1alpha1 "github.com/devfile/devworkspace-operator/apis/controller/v1alpha1"
	configv1 "github.com/openshift/api/config/v1"
	securityv1 "github.com/openshift/api/security/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/manifests"
)

// Binaries are what Start runs with these options, from the assets
// directory hack/build-bins.sh fills (which also builds kubectl, for tests
// and `make install-yaml`; a cluster does not need it).
func (o Options) Binaries() []string {
	bins := []string{"kube-apiserver", "etcd"}
	if o.OpenShift {
		bins = append(bins, "openshift-admission")
	}
	if o.Workloads {
		bins = append(bins, "kube-controller-manager", "kube-scheduler")
		if !o.RealNodeOnly {
			bins = append(bins, "kwok")
		}
	}
	return bins
}

// Versions of the control plane that hack/build-bins.sh builds, as
// hack/versions.sh sets them (TestVersionsAgree). The cache directory name
// must match the script's.
const (
	KubernetesVersion = "1.33.13"
	EtcdVersion       = "3.6.16"
)

// apiServerFeatureGates are the pod-level user namespace features a nested
// workspace pod relies on. They are beta in 1.33; naming them keeps the
// API server's behaviour independent of defaults.
const apiServerFeatureGates = "UserNamespacesSupport=true,UserNamespacesPodSecurityStandards=true,ProcMountType=true"

// Options says what the local control plane should serve.
type Options struct {
	// OpenShift installs the SecurityContextConstraints, ClusterVersion and
	// FeatureGate CRDs, which makes config.openshift.io served: the cluster is
	// then taken for OpenShift by detection. It also puts OpenShift's own SCC
	// admission in front of every pod and gives namespaces their UID range
	// and SELinux level (hack/openshift-admission). Pick the release, and with
	// it the default SCCs, with Simulate.
	OpenShift bool
	// Workloads runs kube-controller-manager, kube-scheduler and kwok, so
	// that Deployments become pods that are admitted and reported Running on
	// the simulated nodes. Pods then get their service account as on a real
	// cluster (the ServiceAccount admission plugin is on).
	Workloads bool
	// RealNodeOnly, with Workloads, runs no kwok: pods run on a real node
	// (StartRealNode) and on no simulated one.
	RealNodeOnly bool
	// DevWorkspace installs the DevWorkspace Operator's CRDs.
	DevWorkspace bool
	// NestedContainers installs this project's CRD, as generated, and
	// registers its types with the client scheme.
	NestedContainers bool
	// CRDs are installed in addition, e.g. the project's own.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// AddToScheme registers further types with the cluster's client scheme.
	AddToScheme []func(*runtime.Scheme) error
	// AssetsDir holds kube-apiserver and etcd; default KUBEBUILDER_ASSETS,
	// then the cache directory hack/build-bins.sh writes.
	AssetsDir string
}

// Cluster is a running local control plane.
type Cluster struct {
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
	// KubeconfigPath is a kubeconfig file for kubectl and for the CLIs.
	KubeconfigPath string

	env       *envtest.Environment
	dir       string
	assets    string
	processes []*process
}

// NewScheme returns a scheme with the Kubernetes, OpenShift (config,
// security) and DevWorkspace types.
func NewScheme(extra ...func(*runtime.Scheme) error) (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	adders := []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		apiextensionsv1.AddToScheme,
		configv1.Install,
		securityv1.Install,
		dwocv1alpha1.AddToScheme,
		dwv2.AddToScheme,
	}
	for _, add := range append(adders, extra...) {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("build scheme: %w", err)
		}
	}
	return s, nil
}

// DefaultAssetsDir is where hack/build-bins.sh caches the binaries.
func DefaultAssetsDir() string {
	base := os.Getenv("NESTED_BINS_CACHE")
	if base == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		base = filepath.Join(cache, "nested-workspaces", "k8s-bins")
	}
	return filepath.Join(base, fmt.Sprintf("k8s-v%s_etcd-v%s", KubernetesVersion, EtcdVersion))
}

// MissingBinaries lists those of bins that dir lacks.
func MissingBinaries(dir string, bins []string) []string {
	var missing []string
	for _, bin := range bins {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			missing = append(missing, bin)
		}
	}
	return missing
}

func assetsDir(opts Options) (string, error) {
	dir := opts.AssetsDir
	if dir == "" {
		dir = os.Getenv("KUBEBUILDER_ASSETS")
	}
	if dir == "" {
		dir = DefaultAssetsDir()
	}
	if missing := MissingBinaries(dir, opts.Binaries()); len(missing) > 0 {
		return "", fmt.Errorf("control plane binaries %s not found in %s: run `make bins` (builds them from the Go module proxy, with progress; the README says how long)",
			strings.Join(missing, ", "), dir)
	}
	return dir, nil
}

// Start runs kube-apiserver and etcd and installs the requested CRDs. Call
// Stop when done; it also removes the temporary kubeconfig.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	assets, err := assetsDir(opts)
	if err != nil {
		return nil, err
	}
	addToScheme := opts.AddToScheme
	if opts.NestedContainers {
		addToScheme = append(addToScheme, enablerv1alpha1.AddToScheme)
	}
	scheme, err := NewScheme(addToScheme...)
	if err != nil {
		return nil, err
	}
	var crds []*apiextensionsv1.CustomResourceDefinition
	if opts.OpenShift {
		osCRDs, err := OpenShiftCRDs()
		if err != nil {
			return nil, err
		}
		crds = append(crds, osCRDs...)
	}
	if opts.DevWorkspace {
		dwCRDs, err := DevWorkspaceCRDs()
		if err != nil {
			return nil, err
		}
		crds = append(crds, dwCRDs...)
	}
	if opts.NestedContainers {
		crd, err := manifests.NestedContainersCRD()
		if err != nil {
			return nil, err
		}
		crds = append(crds, crd)
	}
	crds = append(crds, opts.CRDs...)

	env := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		Scheme:                   scheme,
		CRDs:                     crds,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	apiServer := env.ControlPlane.GetAPIServer().Configure()
	apiServer.Append("feature-gates", apiServerFeatureGates)
	// A real node (StartRealNode) is reached at its IP; its name resolves
	// nowhere.
	apiServer.Set("kubelet-preferred-address-types", "InternalIP,Hostname")
	if os.Getenv(isolatedEnv) != "" {
		// A private network namespace has no default route to pick an
		// address from.
		apiServer.Set("advertise-address", realNodeIP)
	}
	if opts.Workloads {
		// envtest turns the ServiceAccount admission plugin off because
		// nothing creates service accounts there; here the controller
		// manager does.
		apiServer.Disable("disable-admission-plugins")
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start local control plane from %s: %w", assets, err)
	}
	c := &Cluster{Config: cfg, Scheme: scheme, env: env, assets: assets}
	if err := c.finishStart(ctx, assets, opts); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) finishStart(ctx context.Context, assets string, opts Options) error {
	cl, err := client.New(c.Config, client.Options{Scheme: c.Scheme})
	if err != nil {
		return fmt.Errorf("client for local control plane: %w", err)
	}
	c.Client = cl
	c.dir, err = os.MkdirTemp("", "nested-localcluster-")
	if err != nil {
		return err
	}
	c.KubeconfigPath = filepath.Join(c.dir, "kubeconfig")
	if err := os.WriteFile(c.KubeconfigPath, c.env.KubeConfig, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	if opts.OpenShift {
		if err := c.startOpenShiftAdmission(ctx, assets); err != nil {
			return err
		}
	}
	if opts.DevWorkspace {
		if err := c.aggregateOwnedCRDRoles(ctx, devWorkspaceOwnedCRDs); err != nil {
			return err
		}
	}
	if opts.Workloads {
		if err := c.startWorkloads(ctx, assets, opts.RealNodeOnly); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops the control plane and removes its files.
func (c *Cluster) Stop() error {
	var errs []string
	if err := stopAll(c.processes...); err != nil {
		errs = append(errs, err.Error())
	}
	if c.env != nil {
		if err := c.env.Stop(); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if c.dir != "" {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("stop local control plane: %s", strings.Join(errs, "; "))
	}
	return nil
}

// AddUser returns a rest.Config authenticated as the given user and groups,
// for checking what RBAC lets a subject do.
func (c *Cluster) AddUser(name string, groups ...string) (*rest.Config, error) {
	u, err := c.env.AddUser(envtest.User{Name: name, Groups: groups}, c.Config)
	if err != nil {
		return nil, fmt.Errorf("add user %s: %w", name, err)
	}
	return u.Config(), nil
}

// AsServiceAccount returns a rest.Config authenticated as service account
// name in namespace, with the groups the API server gives its token.
func (c *Cluster) AsServiceAccount(namespace, name string) (*rest.Config, error) {
	return c.AddUser("system:serviceaccount:"+namespace+":"+name,
		"system:serviceaccounts", "system:serviceaccounts:"+namespace, "system:authenticated")
}
