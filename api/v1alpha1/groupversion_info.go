package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of NestedContainers.
var GroupVersion = schema.GroupVersion{Group: "enabler.nested-workspaces.io", Version: "v1alpha1"}

// AddToScheme registers NestedContainers and NestedContainersList with s.
// It is a plain function rather than a SchemeBuilder filled by init(), so
// importing the package registers nothing anywhere.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &NestedContainers{}, &NestedContainersList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
