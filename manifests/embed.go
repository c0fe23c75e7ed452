// Package manifests holds what gets deployed: kustomize bases for the CRD,
// RBAC and operator Deployment, and the OLM bundle. It also gives Go code
// the generated NestedContainers CRD, so tests, the demo and the operator
// install exactly the schema that ships.
package manifests

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// NestedContainersCRDFile is the generated CRD's path relative to this
// package; hack/generate.sh writes it.
const NestedContainersCRDFile = "crd/enabler.nested-workspaces.io_nestedcontainers.yaml"

//go:embed crd/enabler.nested-workspaces.io_nestedcontainers.yaml
var nestedContainersCRD []byte

// NestedContainersCRD returns a fresh copy of the generated NestedContainers
// CustomResourceDefinition.
func NestedContainersCRD() (*apiextensionsv1.CustomResourceDefinition, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(nestedContainersCRD, crd); err != nil {
		return nil, fmt.Errorf("parse embedded %s (regenerate it with `make manifests`): %w", NestedContainersCRDFile, err)
	}
	return crd, nil
}

//go:embed rbac/role.yaml
var operatorRole []byte

//go:embed rbac/role_binding.yaml
var operatorRoleBinding []byte

//go:embed policy/fence.yaml
var fence []byte

// OperatorRole returns the operator's ClusterRole, as generated from its
// RBAC markers, and the ClusterRoleBinding that gives it to the operator's
// service account in namespace.
func OperatorRole(namespace string) (*rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding, error) {
	role, binding := &rbacv1.ClusterRole{}, &rbacv1.ClusterRoleBinding{}
	if err := yaml.UnmarshalStrict(operatorRole, role); err != nil {
		return nil, nil, fmt.Errorf("parse embedded rbac/role.yaml: %w", err)
	}
	if err := yaml.UnmarshalStrict(operatorRoleBinding, binding); err != nil {
		return nil, nil, fmt.Errorf("parse embedded rbac/role_binding.yaml: %w", err)
	}
	for i := range binding.Subjects {
		binding.Subjects[i].Namespace = namespace
	}
	return role, binding, nil
}

// Fence returns the admission policy objects of policy/fence.yaml.
func Fence() ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(fence), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("parse embedded policy/fence.yaml: %w", err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}
