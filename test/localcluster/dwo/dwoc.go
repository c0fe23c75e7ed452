package dwo

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ConfigName is the global DevWorkspaceOperatorConfig's name.
const ConfigName = "devworkspace-operator-config"

func hostSuffixConfig(namespace, suffix string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "controller.devfile.io/v1alpha1",
		"kind":       "DevWorkspaceOperatorConfig",
		"metadata":   map[string]any{"name": ConfigName, "namespace": namespace},
		"config": map[string]any{
			"routing": map[string]any{"clusterHostSuffix": suffix},
		},
	}}
}
