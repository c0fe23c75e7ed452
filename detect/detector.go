package detect

import (
	"context"
	"fmt"

	configv1 "github.com/openshift/api/config/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What detection reads (the operator watches them).
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=config.openshift.io,resources=clusterversions;featuregates,verbs=get;list;watch
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch

// nodePageSize bounds one node list response on large clusters.
const nodePageSize = 500

// Detector gathers the inputs of the detection rules from the API server.
// It reads objects as unstructured, so Reader's scheme need not know the
// OpenShift or apiextensions types; Reader should not be a cache (use a
// manager's GetAPIReader), so that no informers are started for them.
type Detector struct {
	Reader    client.Reader
	Discovery discovery.DiscoveryInterface
	// Nodes, when set, lists the nodes instead of a paginated LIST through
	// Reader: the operator passes its node cache, so that detection costs
	// the same however many nodes the cluster has.
	Nodes func(ctx context.Context) ([]corev1.Node, error)
	// Watched, when set, reads the ClusterVersion and FeatureGate (typed)
	// instead of Reader: the operator passes its cache, which its watches of
	// both keep current, so that a reconcile asks the API server for neither.
	Watched client.Reader
}

// NewDetector builds a Detector for cfg. reader may be nil; then a client
// for cfg is created.
func NewDetector(cfg *rest.Config, reader client.Reader) (*Detector, error) {
	if cfg == nil {
		return nil, fmt.Errorf("detect: no rest config")
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create discovery client for %s: %w", cfg.Host, err)
	}
	// Only group names are needed: the legacy group list is a small
	// fraction of the aggregated document with every resource.
	disc.UseLegacyDiscovery = true
	if reader == nil {
		c, err := client.New(cfg, client.Options{Scheme: runtime.NewScheme()})
		if err != nil {
			return nil, fmt.Errorf("create client for %s: %w", cfg.Host, err)
		}
		reader = c
	}
	return &Detector{Reader: reader, Discovery: disc}, nil
}

// Detect reads the cluster and applies the rules. An error means the
// cluster could not be read (unreachable, or not permitted: see
// IsPermission); what the cluster lacks is in the Report.
func (d *Detector) Detect(ctx context.Context) (*Report, error) {
	in, err := d.Gather(ctx)
	if err != nil {
		return nil, err
	}
	return Evaluate(in), nil
}

// Gather reads the rules' inputs.
func (d *Detector) Gather(ctx context.Context) (Inputs, error) {
	var in Inputs
	var err error
	if in.OpenShift, err = d.servesGroup(OpenShiftConfigGroup); err != nil {
		return in, err
	}
	if !in.OpenShift {
		in.OpenShift = d.servesClusterVersions(ctx)
	}
	sv, err := d.Discovery.ServerVersion()
	if err != nil {
		return in, discoveryError("/version", err)
	}
	in.KubernetesVersion = sv.GitVersion

	if in.OpenShift {
		cv := &configv1.ClusterVersion{}
		if found, err := d.getConfig(ctx, "ClusterVersion", "clusterversions", ClusterVersionName, cv); err != nil {
			return in, err
		} else if found {
			in.ClusterVersion = cv
		}
		fg := &configv1.FeatureGate{}
		if found, err := d.getConfig(ctx, "FeatureGate", "featuregates", FeatureGateName, fg); err != nil {
			return in, err
		} else if found {
			in.FeatureGate = fg
		}
		scc := &apiextensionsv1.CustomResourceDefinition{}
		// Only refines the report; the operator's role may not grant it.
		if found, err := d.get(ctx, crdGVK, "customresourcedefinitions", SCCCRDName, scc); err != nil && !IsPermission(err) {
			return in, err
		} else if found && err == nil {
			in.SCCCRD = scc
		}
	}
	dwoc := &apiextensionsv1.CustomResourceDefinition{}
	if found, err := d.get(ctx, crdGVK, "customresourcedefinitions", DWOConfigCRDName, dwoc); err != nil {
		return in, err
	} else if found {
		in.DevWorkspaceConfigCRD = dwoc
	}
	listNodes := d.listNodes
	if d.Nodes != nil {
		listNodes = d.Nodes
	}
	if in.Nodes, err = listNodes(ctx); err != nil {
		return in, err
	}
	return in, nil
}

var crdGVK = apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition")

func (d *Detector) servesGroup(group string) (bool, error) {
	groups, err := d.Discovery.ServerGroups()
	if err != nil {
		return false, discoveryError("/apis", err)
	}
	for _, g := range groups.Groups {
		if g.Name == group {
			return true, nil
		}
	}
	return false, nil
}

// servesClusterVersions asks for the ClusterVersions themselves. Right after
// an API server starts, discovery lists the groups its CRDs serve only once
// its discovery controller has caught up (seen to take up to a minute and
// more on a loaded machine), while the CRDs' resources are served as soon
// as the API server is ready: a cluster must not be taken for "not
// OpenShift" meanwhile. On a cluster without the group this is one 404.
func (d *Detector) servesClusterVersions(ctx context.Context) bool {
	rc := d.Discovery.RESTClient()
	if rc == nil {
		return false
	}
	return rc.Get().AbsPath("/apis", OpenShiftConfigGroup, "v1", "clusterversions").Param("limit", "1").Do(ctx).Error() == nil
}

func discoveryError(url string, err error) error {
	if apierrors.IsForbidden(err) {
		return &PermissionError{Verb: "get", Resource: "non-resource URL " + url, Err: err}
	}
	return fmt.Errorf("discover the API server (%s): %w", url, err)
}

// getConfig reads a config.openshift.io singleton: from Watched when set,
// else from the API server.
func (d *Detector) getConfig(ctx context.Context, kind, resource, name string, into client.Object) (found bool, err error) {
	if d.Watched == nil {
		return d.get(ctx, configv1.GroupVersion.WithKind(kind), resource, name, into)
	}
	err = d.Watched.Get(ctx, client.ObjectKey{Name: name}, into)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("get %s %q from the cache: %w", resource, name, err)
	}
	return true, nil
}

// get reads one cluster-scoped object into a typed into. found is false when
// it or its API does not exist.
func (d *Detector) get(ctx context.Context, gvk schema.GroupVersionKind, resource, name string, into any) (found bool, err error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err = d.Reader.Get(ctx, client.ObjectKey{Name: name}, u)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return false, nil
	case apierrors.IsForbidden(err):
		return false, &PermissionError{Verb: "get", Group: gvk.Group, Resource: resource, Name: name, Err: err}
	case err != nil:
		return false, fmt.Errorf("get %s %q: %w", gvk.Kind, name, err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		return false, fmt.Errorf("decode %s %q: %w", gvk.Kind, name, err)
	}
	return true, nil
}

func (d *Detector) listNodes(ctx context.Context) ([]corev1.Node, error) {
	var nodes []corev1.Node
	cont := ""
	for {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
		err := d.Reader.List(ctx, list, client.Limit(nodePageSize), client.Continue(cont))
		switch {
		case apierrors.IsForbidden(err):
			return nil, &PermissionError{Verb: "list", Resource: "nodes", Err: err}
		case err != nil:
			return nil, fmt.Errorf("list nodes: %w", err)
		}
		for i := range list.Items {
			var n corev1.Node
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[i].Object, &n); err != nil {
				return nil, fmt.Errorf("decode node %q: %w", list.Items[i].GetName(), err)
			}
			nodes = append(nodes, n)
		}
		if cont = list.GetContinue(); cont == "" {
			return nodes, nil
		}
	}
}
