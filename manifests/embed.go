// Package manifests holds what gets deployed: kustomize bases for the CRD,
// RBAC and operator Deployment, and the OLM bundle. It also gives Go code
// the generated NestedContainers CRD, so tests, the demo and the operator
// install exactly the schema that ships.
package manifests

import (
	_ "embed"
	"fmt"

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
