package detect_test

import (
	"sync"
	"testing"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/test/localcluster"
)

var allGates = detect.RequiredGates()

// clusterVersion has one Completed history entry and the same desired.
func clusterVersion(version string) *configv1.ClusterVersion {
	done := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	return &configv1.ClusterVersion{
		ObjectMeta: metav1.ObjectMeta{Name: "version"},
		Status: configv1.ClusterVersionStatus{
			Desired: configv1.Release{Version: version},
			History: []configv1.UpdateHistory{{State: configv1.CompletedUpdate, Version: version, CompletionTime: &done}},
		},
	}
}

func featureGate(version string, set configv1.FeatureSet, enabled, disabled []string) *configv1.FeatureGate {
	fg := &configv1.FeatureGate{ObjectMeta: metav1.ObjectMeta{Name: "cluster"}}
	fg.Spec.FeatureSet = set
	fg.Status.FeatureGates = []configv1.FeatureGateDetails{{Version: version, Enabled: attrs(enabled), Disabled: attrs(disabled)}}
	return fg
}

func attrs(names []string) []configv1.FeatureGateAttributes {
	out := []configv1.FeatureGateAttributes{{Name: "SomethingElse"}}
	for _, n := range names {
		out = append(out, configv1.FeatureGateAttributes{Name: configv1.FeatureGateName(n)})
	}
	return out
}

func nodes(withUserNS, without int) []corev1.Node {
	var out []corev1.Node
	for i := 0; i < withUserNS+without; i++ {
		out = append(out, corev1.Node{Status: corev1.NodeStatus{RuntimeHandlers: []corev1.NodeRuntimeHandler{
			{Name: "", Features: &corev1.NodeRuntimeHandlerFeatures{UserNamespaces: ptr.To(i < withUserNS)}},
		}}})
	}
	return out
}

// The module CRDs are parsed once; each use gets a copy.
var (
	moduleDWOCRDs       = sync.OnceValues(localcluster.DevWorkspaceCRDs)
	moduleOpenShiftCRDs = sync.OnceValues(localcluster.OpenShiftCRDs)
)

func dwoCRD(t testing.TB, hostUsers bool) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crds, err := moduleDWOCRDs()
	if err != nil {
		t.Fatal(err)
	}
	for _, crd := range crds {
		crd = crd.DeepCopy()
		if crd.Name != detect.DWOConfigCRDName {
			continue
		}
		if !hostUsers {
			for _, v := range crd.Spec.Versions {
				delete(v.Schema.OpenAPIV3Schema.Properties["config"].Properties["workspace"].Properties, "hostUsers")
			}
		}
		return crd
	}
	t.Fatalf("no %s in the DevWorkspace Operator module", detect.DWOConfigCRDName)
	return nil
}

func sccCRD(t testing.TB, userNamespaceLevel bool) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crds, err := moduleOpenShiftCRDs()
	if err != nil {
		t.Fatal(err)
	}
	for _, crd := range crds {
		crd = crd.DeepCopy()
		if crd.Name != detect.SCCCRDName {
			continue
		}
		props := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties
		if userNamespaceLevel {
			props["userNamespaceLevel"] = apiextensionsv1.JSONSchemaProps{Type: "string"}
		} else {
			delete(props, "userNamespaceLevel")
		}
		return crd
	}
	t.Fatalf("no %s in the openshift/api module", detect.SCCCRDName)
	return nil
}

// healthy is an OpenShift cluster at version whose nodes, DWO and SCC API
// are all fine; cases change what they test.
func healthy(t testing.TB, version string, set configv1.FeatureSet, enabled, disabled []string) detect.Inputs {
	return detect.Inputs{
		OpenShift:             true,
		KubernetesVersion:     "v1.33.13",
		ClusterVersion:        clusterVersion(version),
		FeatureGate:           featureGate(version, set, enabled, disabled),
		Nodes:                 nodes(3, 0),
		DevWorkspaceConfigCRD: dwoCRD(t, true),
		SCCCRD:                sccCRD(t, true),
	}
}
