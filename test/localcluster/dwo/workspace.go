package dwo

import (
	"context"
	"fmt"
	"time"

	dwv2 "github.com/devfile/api/v2/pkg/apis/workspaces/v1alpha2"
	"github.com/devfile/api/v2/pkg/attributes"
	"github.com/devfile/devworkspace-operator/pkg/constants"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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

// WaitForRunning waits until the DevWorkspace reports phase Running, which
// DWO sets once its Deployment's pod is ready, and returns the workspace.
func WaitForRunning(ctx context.Context, c client.Client, ws *dwv2.DevWorkspace, timeout time.Duration) (*dwv2.DevWorkspace, error) {
	cur := &dwv2.DevWorkspace{}
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(ws), cur); err != nil {
			return false, fmt.Errorf("get DevWorkspace: %w", err)
		}
		return cur.Status.Phase == dwv2.DevWorkspaceStatusRunning, nil
	})
	if wait.Interrupted(err) && ctx.Err() == nil {
		return nil, fmt.Errorf("DevWorkspace %s/%s not Running after %s: phase %q, message %q",
			ws.Namespace, ws.Name, timeout, cur.Status.Phase, cur.Status.Message)
	}
	return cur, err
}

// RunningPod returns the workspace's Running pod, if it has one.
func RunningPod(ctx context.Context, c client.Client, ws *dwv2.DevWorkspace) (*corev1.Pod, error) {
	cur := &dwv2.DevWorkspace{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ws), cur); err != nil {
		return nil, fmt.Errorf("get DevWorkspace: %w", err)
	}
	if cur.Status.DevWorkspaceId == "" {
		return nil, nil
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(ws.Namespace), client.MatchingLabels{constants.DevWorkspaceIDLabel: cur.Status.DevWorkspaceId}); err != nil {
		return nil, fmt.Errorf("list workspace pods: %w", err)
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			return p, nil
		}
	}
	return nil, nil
}

// EffectiveUID is the UID a container runs as: its own runAsUser, else the
// pod's; nil when neither says (the image decides).
func EffectiveUID(pod *corev1.Pod, container *corev1.Container) *int64 {
	if sc := container.SecurityContext; sc != nil && sc.RunAsUser != nil {
		return sc.RunAsUser
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		return psc.RunAsUser
	}
	return nil
}

// DashboardWorkspace is SampleWorkspace as Dev Spaces' dashboard creates
// it: pointing at Che's DevWorkspaceOperatorConfig, which DWO merges over
// the global one, and naming the SCC Che uses for container run (DWO then
// grants the workspace's service account use of it); scc is empty when
// Dev Spaces has container run and build off.
func DashboardWorkspace(namespace, name, cheNamespace, cheConfig, scc string) *dwv2.DevWorkspace {
	ws := SampleWorkspace(namespace, name)
	attrs := ws.Spec.Template.Attributes
	if scc != "" {
		attrs.PutString(constants.WorkspaceSCCAttribute, scc)
	}
	attrs.Put(constants.ExternalDevWorkspaceConfiguration, map[string]string{"name": cheConfig, "namespace": cheNamespace}, nil)
	ws.Spec.Template.Attributes = attrs
	return ws
}

// StoppedWorkspaceDeployment is a Deployment labelled as DWO labels a
// workspace's, with no replicas (no pod to admit), for tests of what counts
// workspaces: the name doubles as the workspace id's suffix.
func StoppedWorkspaceDeployment(namespace, name string) *appsv1.Deployment {
	replicas := int32(0)
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{constants.DevWorkspaceIDLabel: "workspace-" + name}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
}
