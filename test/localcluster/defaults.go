package localcluster

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What OpenShift itself ships: the default SCCs and who may use them.
var (
	//go:embed openshift/sccs.yaml
	defaultSCCs []byte
	//go:embed openshift/rbac.yaml
	defaultSCCRBAC []byte
	//go:embed openshift/sccs-4.20.yaml
	userNamespaceSCCs []byte
	//go:embed openshift/rbac-4.20.yaml
	userNamespaceSCCRBAC []byte
)

// openShiftFieldManager writes the defaults, as OpenShift's operator does.
const openShiftFieldManager = "cluster-kube-apiserver-operator"

// installDefaultSCCs makes the cluster's SCCs those of the release: the ten
// every release has and, from 4.20 on, restricted-v3 and nested-container.
// Switching to an older release removes the newer ones.
func (c *Cluster) installDefaultSCCs(ctx context.Context, minor int) error {
	always, err := decodeAll(defaultSCCs, defaultSCCRBAC)
	if err != nil {
		return err
	}
	newer, err := decodeAll(userNamespaceSCCs, userNamespaceSCCRBAC)
	if err != nil {
		return err
	}
	for _, obj := range always {
		if err := c.applyDefault(ctx, obj); err != nil {
			return err
		}
	}
	for _, obj := range newer {
		if minor >= 20 {
			err = c.applyDefault(ctx, obj)
		} else if err = c.Client.Delete(ctx, obj); apierrors.IsNotFound(err) {
			err = nil
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	return nil
}

func (c *Cluster) applyDefault(ctx context.Context, obj *unstructured.Unstructured) error {
	obj = obj.DeepCopy()
	if err := c.Client.Patch(ctx, obj, client.Apply, client.FieldOwner(openShiftFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("install OpenShift's %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return nil
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
