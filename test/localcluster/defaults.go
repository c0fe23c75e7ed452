package localcluster

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io"
	"slices"

	securityv1 "github.com/openshift/api/security/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What OpenShift itself ships: the default SCCs every release has and who
// may use them (sccs.yaml, rbac.yaml), and those that changed from release
// to release and z-stream to z-stream (releases/, each file saying which).
var (
	//go:embed openshift/sccs.yaml
	defaultSCCs []byte
	//go:embed openshift/rbac.yaml
	defaultSCCRBAC []byte
	//go:embed openshift/releases/*.yaml
	releaseSCCs embed.FS
)

// SCC sets of a release, by file in openshift/releases.
const (
	HostmountAnyUIDV2     = "hostmount-anyuid-v2.yaml"
	RestrictedV3As4200    = "restricted-v3-4.20.0.yaml"
	RestrictedV3          = "restricted-v3.yaml"
	NestedContainerAs4200 = "nested-container-4.20.0.yaml"
	NestedContainer       = "nested-container.yaml"
	openShiftFieldManager = "cluster-kube-apiserver-operator"
	releaseDirectory      = "openshift/releases/"
)

// releaseSCCNames are the SCCs that come and go with a release: switching
// to a release without one removes it.
var releaseSCCNames = []string{"hostmount-anyuid-v2", "restricted-v3", "nested-container"}

// installDefaultSCCs makes the cluster's SCCs and their RBAC those of the
// scenario's release: the ten every release has, and the scenario's
// release files. Switching to a release without one of the release SCCs
// removes it.
func (c *Cluster) installDefaultSCCs(ctx context.Context, s Scenario) error {
	docs := [][]byte{defaultSCCs, defaultSCCRBAC}
	for _, f := range s.ReleaseSCCs {
		b, err := releaseSCCs.ReadFile(releaseDirectory + f)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", s.Name, err)
		}
		docs = append(docs, b)
	}
	objs, err := decodeAll(docs...)
	if err != nil {
		return err
	}
	installed := map[string]bool{}
	for _, obj := range objs {
		if obj.GetKind() == "SecurityContextConstraints" {
			if obj, err = asOpenShiftApplies(obj, s.ImageVolumes); err != nil {
				return err
			}
		}
		if err := c.applyDefault(ctx, obj); err != nil {
			return err
		}
		installed[obj.GetKind()+"/"+obj.GetName()] = true
	}
	for _, name := range releaseSCCNames {
		if installed["SecurityContextConstraints/"+name] {
			continue
		}
		gone := &securityv1.SecurityContextConstraints{}
		gone.Name = name
		if err := c.Client.Delete(ctx, gone); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("remove SCC %s, which release %s does not ship: %w", name, s.Name, err)
		}
	}
	if !installed["ClusterRoleBinding/system:openshift:scc:restricted-v3"] {
		gone := &unstructured.Unstructured{}
		gone.SetAPIVersion("rbac.authorization.k8s.io/v1")
		gone.SetKind("ClusterRoleBinding")
		gone.SetName("system:openshift:scc:restricted-v3")
		if err := c.Client.Delete(ctx, gone); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// asOpenShiftApplies is an SCC manifest as cluster-kube-apiserver-operator
// applies it: decoded into the typed object first, which drops keys that
// are not fields (nested-container's runAsUser.ranges in 4.20.0), with the
// image volume type added where the release allows it for all SCCs.
func asOpenShiftApplies(obj *unstructured.Unstructured, imageVolumes bool) (*unstructured.Unstructured, error) {
	s := &securityv1.SecurityContextConstraints{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, s); err != nil {
		return nil, fmt.Errorf("decode SCC %s: %w", obj.GetName(), err)
	}
	if imageVolumes && !slices.Contains(s.Volumes, securityv1.FSTypeImage) && !slices.Contains(s.Volumes, securityv1.FSTypeAll) {
		s.Volumes = append(s.Volumes, securityv1.FSTypeImage)
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(s)
	if err != nil {
		return nil, err
	}
	out := &unstructured.Unstructured{Object: u}
	out.SetAPIVersion(securityv1.GroupVersion.String())
	out.SetKind("SecurityContextConstraints")
	unstructured.RemoveNestedField(out.Object, "metadata", "creationTimestamp")
	return out, nil
}

func (c *Cluster) applyDefault(ctx context.Context, obj *unstructured.Unstructured) error {
	obj = obj.DeepCopy()
	if err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(openShiftFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("install OpenShift's %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return nil
}

// ReleaseSCC is the SCC name as the cluster of release file f holds it:
// for the model's table tests, which judge the shapes releases shipped.
func ReleaseSCC(f, name string, imageVolumes bool) (*securityv1.SecurityContextConstraints, error) {
	b, err := releaseSCCs.ReadFile(releaseDirectory + f)
	if err != nil {
		return nil, err
	}
	objs, err := decodeAll(b)
	if err != nil {
		return nil, err
	}
	for _, obj := range objs {
		if obj.GetKind() != "SecurityContextConstraints" || obj.GetName() != name {
			continue
		}
		held, err := asOpenShiftApplies(obj, imageVolumes)
		if err != nil {
			return nil, err
		}
		s := &securityv1.SecurityContextConstraints{}
		return s, runtime.DefaultUnstructuredConverter.FromUnstructured(held.Object, s)
	}
	return nil, fmt.Errorf("%s has no SCC %s", f, name)
}

func decodeAll(docs ...[]byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, doc := range docs {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(doc), 4096)
		for {
			u := &unstructured.Unstructured{}
			err := dec.Decode(&u.Object)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("decode OpenShift defaults: %w", err)
			}
			if len(u.Object) > 0 {
				out = append(out, u)
			}
		}
	}
	return out, nil
}
