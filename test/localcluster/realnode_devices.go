package localcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// OpenShift's CRI-O gives a pod the devices its io.kubernetes.cri-o.Devices
// annotation names. containerd ignores that annotation and the kubelet does
// not pass pod annotations to the runtime, so the real node emulates it: an
// admission webhook turns the annotation into requests for extended
// resources, and a device plugin serves each request with the device node,
// which the kubelet hands to containerd. The pod sees what CRI-O would
// give it: the device, usable by its users.
const (
	devicesAnnotation = "io.kubernetes.cri-o.Devices"
	// DeviceResourcePrefix names the extended resources, one per device:
	// devices.nested-workspaces.test/fuse, .../tun.
	DeviceResourcePrefix = "devices.nested-workspaces.test/"
	crioWebhookName      = "crio-devices-emulation.localcluster.nested-workspaces.io"
)

// emulatedDevices maps what the annotation may name to a resource name.
var emulatedDevices = map[string]string{"/dev/fuse": "fuse", "/dev/net/tun": "tun"}

// devicePlugin offers one device to any number of containers.
type devicePlugin struct {
	pluginapi.UnimplementedDevicePluginServer
	path string // the device node, the same inside the container
}

func (p *devicePlugin) GetDevicePluginOptions(context.Context, *pluginapi.Empty) (*pluginapi.DevicePluginOptions, error) {
	return &pluginapi.DevicePluginOptions{}, nil
}

func (p *devicePlugin) ListAndWatch(_ *pluginapi.Empty, s grpc.ServerStreamingServer[pluginapi.ListAndWatchResponse]) error {
	devs := make([]*pluginapi.Device, 0, 64)
	for i := range 64 {
		devs = append(devs, &pluginapi.Device{ID: fmt.Sprintf("%s-%d", filepath.Base(p.path), i), Health: pluginapi.Healthy})
	}
	if err := s.Send(&pluginapi.ListAndWatchResponse{Devices: devs}); err != nil {
		return err
	}
	<-s.Context().Done()
	return nil
}

func (p *devicePlugin) Allocate(_ context.Context, req *pluginapi.AllocateRequest) (*pluginapi.AllocateResponse, error) {
	resp := &pluginapi.AllocateResponse{}
	for range req.ContainerRequests {
		resp.ContainerResponses = append(resp.ContainerResponses, &pluginapi.ContainerAllocateResponse{
			Devices: []*pluginapi.DeviceSpec{{ContainerPath: p.path, HostPath: p.path, Permissions: "rwm"}},
		})
	}
	return resp, nil
}

// startDevicePlugin serves one device plugin per emulated device and
// registers it with the kubelet, then waits until the node offers them.
func (n *RealNode) startDevicePlugin(ctx context.Context) error {
	for dev, name := range emulatedDevices {
		sock := filepath.Join(pluginapi.DevicePluginPath, "nested-workspaces-"+name+".sock")
		_ = os.Remove(sock)
		lis, err := net.Listen("unix", sock)
		if err != nil {
			return err
		}
		srv := grpc.NewServer()
		pluginapi.RegisterDevicePluginServer(srv, &devicePlugin{path: dev})
		go func() { _ = srv.Serve(lis) }()
		n.stopExtra = append(n.stopExtra, srv.Stop)

		conn, err := grpc.NewClient("unix://"+pluginapi.KubeletSocket, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		_, err = pluginapi.NewRegistrationClient(conn).Register(ctx, &pluginapi.RegisterRequest{
			Version: pluginapi.Version, Endpoint: filepath.Base(sock), ResourceName: DeviceResourcePrefix + name,
		})
		conn.Close()
		if err != nil {
			return fmt.Errorf("register the %s device plugin with the kubelet: %w", dev, err)
		}
	}
	return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		node := &corev1.Node{}
		if err := n.c.Client.Get(ctx, client.ObjectKey{Name: n.Name}, node); err != nil {
			return false, nil
		}
		for _, name := range emulatedDevices {
			if q, ok := node.Status.Allocatable[corev1.ResourceName(DeviceResourcePrefix+name)]; !ok || q.IsZero() {
				return false, nil
			}
		}
		return true, nil
	})
}

// emulateCRIODevices serves the webhook that turns the annotation into
// device requests and registers it for pod creation.
func (n *RealNode) emulateCRIODevices(ctx context.Context) error {
	certFile, keyFile, caPEM, err := writeServingCert(n.dir)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(serveDevicesEmulation), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ServeTLS(lis, certFile, keyFile) }()
	n.stopExtra = append(n.stopExtra, func() { _ = srv.Close() })

	none := admissionregistrationv1.SideEffectClassNone
	fail := admissionregistrationv1.Fail
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: crioWebhookName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: crioWebhookName,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				URL: ptr.To("https://" + lis.Addr().String() + "/devices"), CABundle: caPEM,
			},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			SideEffects: &none, FailurePolicy: &fail, AdmissionReviewVersions: []string{"v1"},
		}},
	}
	return n.c.Client.Create(ctx, cfg)
}

func serveDevicesEmulation(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	review := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(body, review); err != nil || review.Request == nil {
		http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
		return
	}
	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	pod := &corev1.Pod{}
	if err := json.Unmarshal(review.Request.Object.Raw, pod); err == nil {
		if patch := devicesPatch(pod); patch != nil {
			pt := admissionv1.PatchTypeJSONPatch
			resp.Patch, resp.PatchType = patch, &pt
		}
	}
	review.Response, review.Request = resp, nil
	out, _ := json.Marshal(review)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// devicesPatch is the JSON patch that gives every container of pod one of
// each device its CRI-O devices annotation names (unknown devices are
// ignored, as CRI-O ignores devices it is not allowed to add).
func devicesPatch(pod *corev1.Pod) []byte {
	var names []string
	for _, d := range strings.Split(pod.Annotations[devicesAnnotation], ",") {
		if name, ok := emulatedDevices[strings.TrimSpace(d)]; ok {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	var ops []op
	for i := range pod.Spec.Containers {
		res := pod.Spec.Containers[i].Resources.DeepCopy()
		if res.Limits == nil {
			res.Limits = corev1.ResourceList{}
		}
		if res.Requests == nil {
			res.Requests = corev1.ResourceList{}
		}
		for _, name := range names {
			one := resource.MustParse("1")
			res.Limits[corev1.ResourceName(DeviceResourcePrefix+name)] = one
			res.Requests[corev1.ResourceName(DeviceResourcePrefix+name)] = one
		}
		ops = append(ops, op{"add", fmt.Sprintf("/spec/containers/%d/resources", i), res})
	}
	out, _ := json.Marshal(ops)
	return out
}
