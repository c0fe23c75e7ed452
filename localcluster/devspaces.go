package localcluster

import (
	"context"
	_ "embed"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

var (
	//go:embed openshift/devspaces/checluster-crd.yaml
	cheClusterCRD []byte
	//go:embed openshift/devspaces/container-run-scc.yaml
	containerRunSCC []byte
)

// Dev Spaces as the simulation has it.
const (
	DevSpacesNamespace = "openshift-devspaces"
	CheClusterName     = "devspaces"
	CheDWOConfigName   = "devworkspace-config"
	CheContainerRunSCC = "container-run"
	cheFieldManager    = "che-operator"
)

// DevSpaces installs Dev Spaces' CheCluster kind and a CheCluster with
// container run on or off, and does to the DevWorkspace Operator's
// configuration what che-operator does for that spec: with run on, the
// container-run SCC and, in its own DevWorkspaceOperatorConfig
// devworkspace-config, hostUsers false, procMount Unmasked, privilege
// escalation, SETGID/SETUID/CHOWN and the CRI-O devices annotation. It can
// be called again to switch container run.
func (c *Cluster) DevSpaces(ctx context.Context, containerRun bool) error {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(cheClusterCRD, crd); err != nil {
		return err
	}
	if err := c.Client.Get(ctx, client.ObjectKeyFromObject(crd), &apiextensionsv1.CustomResourceDefinition{}); apierrors.IsNotFound(err) {
		if err := c.InstallCRDs(ctx, []*apiextensionsv1.CustomResourceDefinition{crd}); err != nil {
			return err
		}
	}
	if err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: DevSpacesNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	cc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "org.eclipse.che/v2", "kind": "CheCluster",
		"metadata": map[string]any{"name": CheClusterName, "namespace": DevSpacesNamespace},
		"spec":     map[string]any{"devEnvironments": map[string]any{"disableContainerRunCapabilities": !containerRun}},
	}}
	if err := c.Client.Patch(ctx, cc, client.Apply, client.FieldOwner("devspaces-admin"), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply CheCluster: %w", err)
	}
	return c.cheOperatorReconcile(ctx, containerRun)
}

// cheOperatorReconcile writes Che's DevWorkspaceOperatorConfig and SCC as
// che-operator does for the CheCluster's container run setting.
func (c *Cluster) cheOperatorReconcile(ctx context.Context, containerRun bool) error {
	ws := map[string]any{}
	if containerRun {
		s := map[string]any{}
		if err := yaml.Unmarshal(containerRunSCC, &s); err != nil {
			return err
		}
		if err := c.applyDefault(ctx, &unstructured.Unstructured{Object: s}); err != nil {
			return err
		}
		ws = map[string]any{
			"hostUsers": false,
			"containerSecurityContext": map[string]any{
				"allowPrivilegeEscalation": true,
				"procMount":                "Unmasked",
				"capabilities":             map[string]any{"add": []any{"SETGID", "SETUID", "CHOWN"}},
			},
			"podAnnotations": map[string]any{"io.kubernetes.cri-o.Devices": "/dev/fuse,/dev/net/tun"},
		}
	}
	dwoc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "controller.devfile.io/v1alpha1", "kind": "DevWorkspaceOperatorConfig",
		"metadata": map[string]any{"name": CheDWOConfigName, "namespace": DevSpacesNamespace},
		"config":   map[string]any{"workspace": ws},
	}}
	if err := c.Client.Patch(ctx, dwoc, client.Apply, client.FieldOwner(cheFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply Che's DevWorkspaceOperatorConfig: %w", err)
	}
	return nil
}
