package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

const (
	openshiftAPIModule = "github.com/openshift/api"
	dwoModule          = "github.com/devfile/devworkspace-operator"
)

// OpenShift CRD manifests, relative to the openshift/api module.
var openshiftCRDFiles = []string{
	"payload-manifests/crds/0000_03_config-operator_01_securitycontextconstraints.crd.yaml",
	"config/v1/zz_generated.crd-manifests/0000_00_cluster-version-operator_01_clusterversions-Default.crd.yaml",
	"config/v1/zz_generated.crd-manifests/0000_10_config-operator_01_featuregates.crd.yaml",
	// The DevWorkspace Operator takes a cluster for OpenShift when routes are
	// served, and reads the cluster-wide proxy there.
	"route/v1/zz_generated.crd-manifests/routes.crd.yaml",
	"payload-manifests/crds/0000_03_config-operator_01_proxies.crd.yaml",
}

// DevWorkspace CRD manifests, relative to the DevWorkspace Operator module.
var devWorkspaceCRDFiles = []string{
	"deploy/deployment/kubernetes/objects/devworkspaceoperatorconfigs.controller.devfile.io.CustomResourceDefinition.yaml",
	"deploy/deployment/kubernetes/objects/devworkspaceroutings.controller.devfile.io.CustomResourceDefinition.yaml",
	"deploy/deployment/kubernetes/objects/devworkspaces.workspace.devfile.io.CustomResourceDefinition.yaml",
	"deploy/deployment/kubernetes/objects/devworkspacetemplates.workspace.devfile.io.CustomResourceDefinition.yaml",
}

// SCCCRDName is the name of the SecurityContextConstraints CRD.
const SCCCRDName = "securitycontextconstraints.security.openshift.io"

// OpenShiftCRDs returns the SecurityContextConstraints, ClusterVersion,
// FeatureGate, Route and Proxy CRDs as shipped in the openshift/api module.
func OpenShiftCRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	return readModuleCRDs(openshiftAPIModule, openshiftCRDFiles)
}

// DevWorkspaceCRDs returns the DevWorkspace Operator's CRDs as shipped in its
// module. The DevWorkspace and DevWorkspaceTemplate CRDs name a conversion
// webhook served by the operator's own Deployment, which does not run here;
// their conversion strategy is set to None. Only v1alpha2 objects are used.
func DevWorkspaceCRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	crds, err := readModuleCRDs(dwoModule, devWorkspaceCRDFiles)
	if err != nil {
		return nil, err
	}
	for _, crd := range crds {
		crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}
	}
	return crds, nil
}

func readModuleCRDs(module string, files []string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	dir, err := moduleDir(module)
	if err != nil {
		return nil, err
	}
	crds := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(files))
	for _, f := range files {
		crd, err := ReadCRDFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		crds = append(crds, crd)
	}
	return crds, nil
}

// ReadCRDFile reads one CustomResourceDefinition from a YAML file.
func ReadCRDFile(path string) (*apiextensionsv1.CustomResourceDefinition, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CRD manifest: %w", err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(data, crd); err != nil {
		if err2 := yaml.Unmarshal(data, crd); err2 != nil {
			return nil, fmt.Errorf("parse CRD manifest %s: %w", path, err2)
		}
	}
	if crd.Kind != "CustomResourceDefinition" || crd.Name == "" {
		return nil, fmt.Errorf("%s is not a CustomResourceDefinition", path)
	}
	return crd, nil
}

// InstallCRDs creates CRDs on a running cluster, as installing an operator
// later would, and waits until each is served.
func (c *Cluster) InstallCRDs(ctx context.Context, crds []*apiextensionsv1.CustomResourceDefinition) error {
	for _, crd := range crds {
		if err := c.Client.Create(ctx, crd.DeepCopy()); err != nil {
			return fmt.Errorf("install CRD %s: %w", crd.Name, err)
		}
	}
	for _, crd := range crds {
		if err := waitForCRDEstablished(ctx, c.Client, crd.Name); err != nil {
			return err
		}
	}
	return nil
}
