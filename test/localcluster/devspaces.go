package localcluster

import (
	"context"
	_ "embed"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
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
	//go:embed openshift/devspaces/container-build-scc.yaml
	containerBuildSCC []byte
)

// Dev Spaces as the simulation has it.
const (
	DevSpacesNamespace   = "openshift-devspaces"
	CheClusterName       = "devspaces"
	CheDWOConfigName     = "devworkspace-config"
	CheContainerRunSCC   = "container-run"
	CheContainerBuildSCC = "container-build"
	cheFieldManager      = "che-operator"
)

// DevSpacesSettings are the CheCluster's spec.devEnvironments switches.
type DevSpacesSettings struct {
	// ContainerRun is !disableContainerRunCapabilities (che-operator's
	// default: off).
	ContainerRun bool
	// ContainerBuild is !disableContainerBuildCapabilities (default: on).
	ContainerBuild bool
}

// DashboardSCC is the SCC Dev Spaces' dashboard names on the workspaces it
// creates for these settings: container-run when run is on, else
// container-build when build is on, else none.
func (s DevSpacesSettings) DashboardSCC() string {
	switch {
	case s.ContainerRun:
		return CheContainerRunSCC
	case s.ContainerBuild:
		return CheContainerBuildSCC
	}
	return ""
}

// DevSpaces installs Dev Spaces' CheCluster kind and a CheCluster with
// these settings, and does what che-operator does for them: with run on,
// the container-run SCC and, in its own DevWorkspaceOperatorConfig
// devworkspace-config, hostUsers false, procMount Unmasked, privilege
// escalation, SETGID/SETUID/CHOWN and the CRI-O devices annotation; with
// only build on, the container-build SCC and privilege escalation with
// SETGID/SETUID. It can be called again to change the settings.
func (c *Cluster) DevSpaces(ctx context.Context, s DevSpacesSettings) error {
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
		"spec": map[string]any{"devEnvironments": map[string]any{
			"disableContainerRunCapabilities":   !s.ContainerRun,
			"disableContainerBuildCapabilities": !s.ContainerBuild,
		}},
	}}
	if err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(cc), client.FieldOwner("devspaces-admin"), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply CheCluster: %w", err)
	}
	return c.cheOperatorReconcile(ctx, s)
}

// RemoveDevSpaces deletes the CheCluster, Che's DevWorkspaceOperatorConfig
// and Che's SCCs (the CheCluster kind stays, as after uninstalling Dev
// Spaces' operand).
func (c *Cluster) RemoveDevSpaces(ctx context.Context) error {
	cc := &unstructured.Unstructured{}
	cc.SetAPIVersion("org.eclipse.che/v2")
	cc.SetKind("CheCluster")
	cc.SetNamespace(DevSpacesNamespace)
	cc.SetName(CheClusterName)
	cfg := &unstructured.Unstructured{}
	cfg.SetAPIVersion("controller.devfile.io/v1alpha1")
	cfg.SetKind("DevWorkspaceOperatorConfig")
	cfg.SetNamespace(DevSpacesNamespace)
	cfg.SetName(CheDWOConfigName)
	objs := []client.Object{cc, cfg}
	for _, name := range []string{CheContainerRunSCC, CheContainerBuildSCC} {
		grant := metav1.ObjectMeta{Name: "dev-workspace-" + name}
		objs = append(objs, sccObject(name), &rbacv1.ClusterRoleBinding{ObjectMeta: grant}, &rbacv1.ClusterRole{ObjectMeta: grant})
	}
	for _, o := range objs {
		if err := c.Client.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete %s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
		}
	}
	return nil
}

func sccObject(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("security.openshift.io/v1")
	u.SetKind("SecurityContextConstraints")
	u.SetName(name)
	return u
}

// The DevWorkspace controller's service account and the namespace it runs
// in (in the harness, operator.DefaultDWONamespace), which che-operator
// grants Che's SCCs.
const (
	dwoServiceAccount          = "devworkspace-controller-serviceaccount"
	dwoServiceAccountNamespace = "openshift-operators"
)

// cheOperatorReconcile writes Che's DevWorkspaceOperatorConfig and SCCs as
// che-operator does for the CheCluster's settings, and what lets the
// DevWorkspace controller grant Che's SCC to a workspace through the
// controller.devfile.io/scc attribute the dashboard sets: a ClusterRole
// allowing get, update and use of that SCC, bound to the controller's
// service account (che-operator pkg/deploy/container-capabilities,
// dev-workspace-container-run and dev-workspace-container-build).
func (c *Cluster) cheOperatorReconcile(ctx context.Context, s DevSpacesSettings) error {
	for _, scc := range []struct {
		on   bool
		name string
		yaml []byte
	}{{s.ContainerRun, CheContainerRunSCC, containerRunSCC}, {s.ContainerBuild, CheContainerBuildSCC, containerBuildSCC}} {
		grant := "dev-workspace-" + scc.name
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: grant}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"security.openshift.io"}, Resources: []string{"securitycontextconstraints"},
			Verbs: []string{"get", "update", "use"}, ResourceNames: []string{scc.name}}}}
		binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: grant},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: grant},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: dwoServiceAccountNamespace, Name: dwoServiceAccount}}}
		if !scc.on {
			for _, o := range []client.Object{sccObject(scc.name), binding, role} {
				if err := c.Client.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
					return fmt.Errorf("delete %s: %w", o.GetName(), err)
				}
			}
			continue
		}
		for _, o := range []client.Object{role, binding} {
			if err := c.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("grant the DevWorkspace controller SCC %s: %w", scc.name, err)
			}
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(scc.yaml, &obj); err != nil {
			return err
		}
		err := c.applyDefault(ctx, &unstructured.Unstructured{Object: obj})
		if err != nil && strings.Contains(err.Error(), ".userNamespaceLevel: field not declared in schema") {
			// Before 4.19 OpenShift's SCC API drops the field, as here.
			delete(obj, "userNamespaceLevel")
			err = c.applyDefault(ctx, &unstructured.Unstructured{Object: obj})
		}
		if err != nil {
			return err
		}
	}
	// che-operator always writes some workspace settings (here the start
	// timeout of spec.devEnvironments.startTimeoutSeconds' default).
	ws := map[string]any{"progressTimeout": "300s"}
	switch {
	case s.ContainerRun:
		maps.Copy(ws, map[string]any{
			"hostUsers": false,
			"containerSecurityContext": map[string]any{
				"allowPrivilegeEscalation": true,
				"procMount":                "Unmasked",
				"capabilities":             map[string]any{"add": []any{"SETGID", "SETUID", "CHOWN"}},
			},
			"podAnnotations": map[string]any{"io.kubernetes.cri-o.Devices": "/dev/fuse,/dev/net/tun"},
		})
	case s.ContainerBuild:
		ws["containerSecurityContext"] = map[string]any{
			"allowPrivilegeEscalation": true,
			"capabilities":             map[string]any{"add": []any{"SETGID", "SETUID"}},
		}
	}
	dwoc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "controller.devfile.io/v1alpha1", "kind": "DevWorkspaceOperatorConfig",
		"metadata": map[string]any{"name": CheDWOConfigName, "namespace": DevSpacesNamespace},
		"config":   map[string]any{"workspace": ws},
	}}
	if err := c.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(dwoc), client.FieldOwner(cheFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply Che's DevWorkspaceOperatorConfig: %w", err)
	}
	return nil
}
