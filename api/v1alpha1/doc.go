// Package v1alpha1 is the NestedContainers API: the cluster-wide switch that
// makes DevWorkspace (Dev Spaces) workspaces able to run podman inside their
// pods, and the status that tells an admin whether the cluster can do it.
//
// There is exactly one NestedContainers object, named "cluster". Its spec is
// validated by the CRD schema and CEL rules (allow-lists for capabilities and
// devices, the runAsUser range, the singleton name); the helpers here turn
// accepted values into the canonical form the operator writes elsewhere.
//
// +kubebuilder:object:generate=true
// +groupName=enabler.nested-workspaces.io
package v1alpha1
