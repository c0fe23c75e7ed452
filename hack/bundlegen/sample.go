package main

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
)

// readSample reads the NestedContainers sample that becomes the CSV's
// alm-examples and initialization-resource. It is decoded into the Go type
// as the API server decodes it with strict field validation (kubectl's
// default), so that a field the API no longer has fails here, naming the
// field, rather than in the console's "Create NestedContainers" form. The
// sample is returned as written (no defaults or empty status added).
func readSample(file string, data []byte) (map[string]any, error) {
	scheme := runtime.NewScheme()
	if err := enablerv1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	obj, gvk, err := decoder.Decode(data, nil, nil)
	if err != nil {
		if runtime.IsStrictDecodingError(err) {
			return nil, fmt.Errorf("%s: %w: remove the field from the sample (api/v1alpha1 defines what NestedContainers has)", file, err)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	nc, ok := obj.(*enablerv1alpha1.NestedContainers)
	if !ok {
		return nil, fmt.Errorf("%s: a %s, want a NestedContainers", file, gvk.Kind)
	}
	if nc.Name != enablerv1alpha1.ClusterName {
		return nil, fmt.Errorf("%s: metadata.name %q: the API server accepts only %q", file, nc.Name, enablerv1alpha1.ClusterName)
	}
	sample := map[string]any{}
	if err := yaml.Unmarshal(data, &sample); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return sample, nil
}
