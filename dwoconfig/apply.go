package dwoconfig

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/owned"
)

// DevWorkspaceOperatorConfigs: read all (Che's and others' may override
// ours), create and apply to the global one only.
// +kubebuilder:rbac:groups=controller.devfile.io,resources=devworkspaceoperatorconfigs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=controller.devfile.io,resources=devworkspaceoperatorconfigs,resourceNames=devworkspace-operator-config,verbs=patch;update

// Outcome is what Apply found and did.
type Outcome struct {
	// Conflict is set when another field manager owns one of our fields:
	// all of ours were withdrawn (half a configuration is never safe, e.g.
	// the capabilities without hostUsers: false).
	Conflict error
	// NotServed: DevWorkspaceOperatorConfig is not served (the DevWorkspace
	// Operator is not installed).
	NotServed bool
	// Overrides are other configurations that set our fields differently.
	Overrides []Override
	// Err is a failure to read or write; retried.
	Err error
}

// Apply puts exactly our fields for s on the global configuration in
// namespace (no write when they are already there) and lists the other
// configurations that override them.
func Apply(ctx context.Context, c client.Client, namespace string, s WorkspaceSettings) Outcome {
	var o Outcome
	desired := Desired(namespace, s)
	current, err := get(ctx, c, namespace)
	if err != nil {
		o.Err = err
		return o
	}
	if !inStep(current, desired) {
		err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(desired), client.FieldOwner(owned.FieldManager))
		switch {
		case apierrors.IsConflict(err):
			o.Conflict = err
			o.Err = Release(ctx, c, namespace)
			return o
		case meta.IsNoMatchError(err):
			o.NotServed = true
			return o
		case err != nil:
			o.Err = fmt.Errorf("apply DevWorkspaceOperatorConfig %s/%s: %w", namespace, Name, err)
			return o
		}
	}
	all := &unstructured.UnstructuredList{}
	all.SetGroupVersionKind(GVK.GroupVersion().WithKind(GVK.Kind + "List"))
	if err := c.List(ctx, all); err != nil {
		o.Err = fmt.Errorf("list DevWorkspaceOperatorConfigs: %w", err)
		return o
	}
	o.Overrides = FindOverrides(all.Items, namespace, desired)
	return o
}

// Release removes exactly the fields we own from the global configuration
// in namespace.
func Release(ctx context.Context, c client.Client, namespace string) error {
	current, err := get(ctx, c, namespace)
	if err != nil || current == nil || !managedBy(current, owned.FieldManager) {
		return err
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(empty(namespace)), client.FieldOwner(owned.FieldManager)); err != nil && !meta.IsNoMatchError(err) {
		return fmt.Errorf("remove our fields from DevWorkspaceOperatorConfig %s/%s: %w", namespace, Name, err)
	}
	return nil
}

// Pinned is the SCC the global configuration in namespace pins workspaces
// to under our field manager, "" for none.
func Pinned(ctx context.Context, c client.Reader, namespace string) (string, error) {
	current, err := get(ctx, c, namespace)
	if err != nil || current == nil || !managedBy(current, owned.FieldManager) {
		return "", err
	}
	name, _, _ := unstructured.NestedString(current.Object, "config", "workspace", "podAnnotations", RequiredSCCAnnotation)
	return name, nil
}

func get(ctx context.Context, c client.Reader, namespace string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(GVK)
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: Name}, u)
	if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get DevWorkspaceOperatorConfig %s/%s: %w", namespace, Name, err)
	}
	return u, nil
}
