package dwo

import (
	"context"
	"fmt"
	"time"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	"github.com/devfile/api/v2/pkg/attributes"
	"github.com/devfile/devworkspace-operator/pkg/constants"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// UDIImage is the Universal Developer Image a sample workspace runs.
const UDIImage = "quay.io/devfile/universal-developer-image:ubi9-latest"

// SampleWorkspace is a started DevWorkspace with one UDI container and
// ephemeral storage, labelled as DWO's webhook would label it.
func SampleWorkspace(namespace, name string) *dwv2.DevWorkspace {
	attrs := attributes.Attributes{}
	attrs.PutString(constants.DevWorkspaceStorageTypeAttribute, constants.EphemeralStorageClassType)
	return &dwv2.DevWorkspace{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
			Labels: map[string]string{constants.DevWorkspaceCreatorLabel: "nested-workspaces-test-user"}},
		Spec: dwv2.DevWorkspaceSpec{
			Started: true,
			Template: dwv2.DevWorkspaceTemplateSpec{
				DevWorkspaceTemplateSpecContent: dwv2.DevWorkspaceTemplateSpecContent{
					Attributes: attrs,
					Components: []dwv2.Component{{
						Name: "tools",
						ComponentUnion: dwv2.ComponentUnion{Container: &dwv2.ContainerComponent{
							Container: dwv2.Container{Image: UDIImage, MemoryLimit: "4Gi", MountSources: boolPtr(false)},
						}},
					}},
				},
			},
		},
	}
}

func boolPtr(b bool) *bool { return &b }

// WaitForDeployment waits until DWO has rendered the workspace's Deployment.
func WaitForDeployment(ctx context.Context, c client.Client, ws *dwv2.DevWorkspace, timeout time.Duration) (*appsv1.Deployment, error) {
	var dep *appsv1.Deployment
	cur := &dwv2.DevWorkspace{}
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(ws), cur); err != nil {
			return false, fmt.Errorf("get DevWorkspace: %w", err)
		}
		id := cur.Status.DevWorkspaceId
		if id == "" {
			return false, nil
		}
		list := &appsv1.DeploymentList{}
		if err := c.List(ctx, list, client.InNamespace(ws.Namespace), client.MatchingLabels{constants.DevWorkspaceIDLabel: id}); err != nil {
			return false, fmt.Errorf("list workspace Deployments: %w", err)
		}
		if len(list.Items) == 0 {
			return false, nil
		}
		dep = &list.Items[0]
		return true, nil
	})
	if wait.Interrupted(err) && ctx.Err() == nil {
		return nil, fmt.Errorf("DevWorkspace %s/%s has no Deployment after %s: phase %q, message %q",
			ws.Namespace, ws.Name, timeout, cur.Status.Phase, cur.Status.Message)
	}
	return dep, err
}
