package localcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/streaming/pkg/httpstream"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RealNodeBinaries are what hack/build-node-bins.sh builds.
var RealNodeBinaries = []string{"kubelet", "containerd", "ctr", "containerd-shim-runc-v2", "runc"}

// RealNodeCrun is the name of crun in the node's binaries directory
// (hack/build-node-crun.sh: Debian trixie's crun 1.21 with a private loader).
// Where it is there, pods run with crun by default, as on RHCOS (9: crun by
// default; 10: no runc), and with runc through the RuntimeClass of
// RuncHandler.
const RealNodeCrun = "crun"

// Runtime handlers of the real node, as containerd names them; the pod's
// default ("") is crun where the node has it, else runc.
const (
	RuncHandler = "runc"
	CrunHandler = "crun"
)

// LinkNodeBinaries makes dir a node binaries directory: links to every
// RealNodeBinaries file in bins and, when crunDir is set, to crunDir/crun.
func LinkNodeBinaries(dir, bins, crunDir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, b := range RealNodeBinaries {
		if err := os.Symlink(filepath.Join(bins, b), filepath.Join(dir, b)); err != nil {
			return err
		}
	}
	if crunDir != "" {
		return os.Symlink(filepath.Join(crunDir, RealNodeCrun), filepath.Join(dir, RealNodeCrun))
	}
	return nil
}

// PauseImage is the sandbox image of the real node: busybox sleeping.
const PauseImage = "localhost/nested-workspaces/pause:1"

// RealNode is a kubelet with containerd and runc, registered with the
// cluster as node "realnode", inside the namespaces RunIsolated made.
type RealNode struct {
	Name string
	// DefaultRuntime is the runtime handler pods get without a
	// RuntimeClass: CrunHandler where the node has crun, else RuncHandler.
	DefaultRuntime string
	c              *Cluster
	dir            string
	bins           string
	sock           string
	// processes in start order; stopped in reverse.
	processes []*process
	stopExtra []func()
}

// StartRealNode starts containerd (importing the images RunIsolated's
// host side prepared), the kubelet, a device plugin offering /dev/fuse and
// /dev/net/tun, and an admission webhook that emulates CRI-O's
// io.kubernetes.cri-o.Devices annotation with it (containerd ignores the
// annotation). It returns once the node is Ready and reports user
// namespace support from its runtime.
func (c *Cluster) StartRealNode(ctx context.Context) (*RealNode, error) {
	if os.Getenv(isolatedEnv) == "" {
		return nil, fmt.Errorf("a real node runs only inside the namespaces localcluster.RunIsolated makes")
	}
	bins := os.Getenv(nodeBinsEnv)
	n := &RealNode{Name: realNodeName, c: c, dir: filepath.Join(c.dir, "realnode"), bins: bins}
	if err := os.MkdirAll(filepath.Join(n.dir, "cni"), 0o755); err != nil {
		return nil, err
	}
	// containerd finds its shim on PATH.
	if err := os.Setenv("PATH", bins+string(os.PathListSeparator)+os.Getenv("PATH")); err != nil {
		return nil, err
	}
	steps := []struct {
		what string
		run  func(context.Context) error
	}{
		{"start containerd", n.startContainerd},
		{"import the images", n.importImages},
		{"start the kubelet", n.startKubelet},
		{"offer /dev/fuse and /dev/net/tun", n.startDevicePlugin},
		{"emulate CRI-O's devices annotation", n.emulateCRIODevices},
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			n.Stop()
			return nil, fmt.Errorf("real node: %s: %w", s.what, err)
		}
	}
	return n, nil
}

// Stop stops the node's processes. Everything else (mounts, links, the
// files in its tmpfs) goes with the namespaces when the test binary exits.
func (n *RealNode) Stop() {
	for i := len(n.stopExtra) - 1; i >= 0; i-- {
		n.stopExtra[i]()
	}
	_ = stopAll(n.processes...)
}

// LogTail is the end of one of the node's logs (kubelet, containerd).
func (n *RealNode) LogTail(name string) string {
	return tail(filepath.Join(n.dir, name+".log"), 3000)
}

const containerdConfig = `version = 3
root = "/var/lib/containerd"
state = "/run/containerd"

[grpc]
  address = "@SOCK@"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "@PAUSE@"

[plugins.'io.containerd.cri.v1.runtime']
  # This kind of VM lacks CAP_SYS_RESOURCE: runc init cannot lower
  # oom_score_adj otherwise.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "@DEFAULT_RUNTIME@"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "@RUNC@"
        SystemdCgroup = false
@CRUN_RUNTIME@  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "@CNI@"

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`

// crunRuntime is crun's entry in containerd's configuration: the same shim,
// crun instead of runc.
const crunRuntime = `    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.crun]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.crun.options]
        BinaryName = "@CRUN@"
        SystemdCgroup = false
`

// cniConfig is a bridge in the node's private network namespace: pods
// reach each other and the node; nothing is masqueraded.
const cniConfig = `{
  "cniVersion": "1.0.0",
  "name": "realnode",
  "plugins": [
    {"type": "bridge", "bridge": "nwcni0", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "dataDir": "/var/lib/cni/networks"}},
    {"type": "loopback"}
  ]
}
`

func (n *RealNode) startContainerd(ctx context.Context) error {
	n.sock = filepath.Join(n.dir, "containerd.sock")
	defaultRuntime, crun := RuncHandler, ""
	if _, err := os.Stat(filepath.Join(n.bins, RealNodeCrun)); err == nil {
		defaultRuntime, crun = CrunHandler, strings.ReplaceAll(crunRuntime, "@CRUN@", filepath.Join(n.bins, RealNodeCrun))
	}
	n.DefaultRuntime = defaultRuntime
	cfg := strings.NewReplacer("@SOCK@", n.sock, "@PAUSE@", PauseImage, "@RUNC@", filepath.Join(n.bins, "runc"),
		"@CNI@", filepath.Join(n.dir, "cni"), "@DEFAULT_RUNTIME@", defaultRuntime, "@CRUN_RUNTIME@", crun).Replace(containerdConfig)
	cfgPath := filepath.Join(n.dir, "containerd.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.dir, "cni", "10-realnode.conflist"), []byte(cniConfig), 0o644); err != nil {
		return err
	}
	p, err := startProcess(n.dir, filepath.Join(n.bins, "containerd"), "--config", cfgPath)
	if err != nil {
		return err
	}
	n.processes = append(n.processes, p)
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		if err := p.running(); err != nil {
			return false, err
		}
		_, err := os.Stat(n.sock)
		return err == nil, nil
	})
}

func (n *RealNode) importImages(ctx context.Context) error {
	for _, archive := range strings.Split(os.Getenv(nodeImagesEnv), string(os.PathListSeparator)) {
		if archive == "" {
			continue
		}
		cmd := exec.CommandContext(ctx, filepath.Join(n.bins, "ctr"), "--address", n.sock, "--namespace", "k8s.io", "images", "import", archive)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ctr images import %s: %v: %s", archive, err, out)
		}
	}
	return nil
}

const kubeletConfig = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupRoot: "@CGROUP@"
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://@SOCK@
address: 0.0.0.0
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
featureGates:
  UserNamespacesSupport: true
  ProcMountType: true
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
resolvConf: ""
serializeImagePulls: false
`

func (n *RealNode) startKubelet(ctx context.Context) error {
	cfg := strings.NewReplacer("@CGROUP@", os.Getenv(nodeCgroupEnv), "@SOCK@", n.sock).Replace(kubeletConfig)
	cfgPath := filepath.Join(n.dir, "kubelet.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	p, err := startProcess(n.dir, filepath.Join(n.bins, "kubelet"), "--config", cfgPath, "--kubeconfig", n.c.KubeconfigPath,
		"--root-dir", "/var/lib/kubelet", "--hostname-override", n.Name, "--node-ip", realNodeIP, "--v=2")
	if err != nil {
		return err
	}
	n.processes = append(n.processes, p)
	var last string
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := p.running(); err != nil {
			return false, err
		}
		node := &corev1.Node{}
		if err := n.c.Client.Get(ctx, client.ObjectKey{Name: n.Name}, node); err != nil {
			last = err.Error()
			return false, nil
		}
		last = fmt.Sprintf("conditions %v, runtime handlers %v", node.Status.Conditions, node.Status.RuntimeHandlers)
		return nodeReady(node) && RuntimeSupportsUserNamespaces(node), nil
	})
	if err != nil {
		return fmt.Errorf("node %s not Ready with user namespace support: %v (last seen: %s); kubelet log ends with:\n%s",
			n.Name, err, last, n.LogTail("kubelet"))
	}
	return nil
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// RuntimeSupportsUserNamespaces tells whether the node's default runtime
// handler reports user namespace support, as the kubelet learns it from
// the container runtime.
func RuntimeSupportsUserNamespaces(node *corev1.Node) bool {
	for _, h := range node.Status.RuntimeHandlers {
		if h.Name == "" && h.Features != nil && h.Features.UserNamespaces != nil {
			return *h.Features.UserNamespaces
		}
	}
	return false
}

// Exec runs command in a container of a pod on the node, through the API
// server and the kubelet (as kubectl exec does, in-process), and returns
// its standard output and error. A command that exits non-zero returns an
// error with its exit status.
func (n *RealNode) Exec(ctx context.Context, namespace, pod, container string, command ...string) (stdout, stderr string, err error) {
	return n.ExecWithInput(ctx, nil, namespace, pod, container, command...)
}

// ExecWithInput is Exec with stdin fed from input (kubectl exec -i), as a
// user copies a file into a workspace.
func (n *RealNode) ExecWithInput(ctx context.Context, input io.Reader, namespace, pod, container string, command ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = n.c.ExecStream(ctx, namespace, pod, container, ExecOutput{Stdin: input, Stdout: &out, Stderr: &errOut}, command...)
	return out.String(), errOut.String(), err
}

// ExecOutput is where a command's output goes: Stdout and Stderr, or, with
// TTY, both into Stdout through a terminal, as a user at a terminal sees
// them (in the order they were written; lines end in "\r\n").
type ExecOutput struct {
	// Stdin, when not nil, is fed to the command (kubectl exec -i).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
}

// ExecStream runs command in a container of a pod, through the API server
// and the node's kubelet, writing its output as it comes. A command that
// exits non-zero returns a k8s.io/client-go/util/exec.ExitError.
func (c *Cluster) ExecStream(ctx context.Context, namespace, pod, container string, out ExecOutput, command ...string) error {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	u := cs.CoreV1().RESTClient().Post().Namespace(namespace).Resource("pods").Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdin: out.Stdin != nil, Stdout: true, Stderr: !out.TTY, TTY: out.TTY}, scheme.ParameterCodec).URL()
	// As kubectl: WebSockets, falling back to SPDY where the upgrade fails.
	spdy, err := remotecommand.NewSPDYExecutor(c.Config, "POST", u)
	if err != nil {
		return err
	}
	ws, err := remotecommand.NewWebSocketExecutor(c.Config, "GET", u.String())
	if err != nil {
		return err
	}
	executor, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	opts := remotecommand.StreamOptions{Stdin: out.Stdin, Stdout: out.Stdout, Stderr: out.Stderr, Tty: out.TTY}
	if out.TTY {
		opts.Stderr = nil
	}
	if err := executor.StreamWithContext(ctx, opts); err != nil {
		return fmt.Errorf("exec %q in %s/%s: %w", strings.Join(command, " "), namespace, pod, err)
	}
	return nil
}

// RuntimeOf names the OCI runtime binary (crun, runc) containerd ran a
// pod's container with, from the container's runtime options.
func (n *RealNode) RuntimeOf(ctx context.Context, namespace, pod, container string) (string, error) {
	ctr := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(n.bins, "ctr"), append([]string{"--address", n.sock, "--namespace", "k8s.io"}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("ctr %s: %w", strings.Join(args, " "), err)
		}
		return out, nil
	}
	ids, err := ctr("containers", "ls", "--quiet")
	if err != nil {
		return "", err
	}
	for _, id := range strings.Fields(string(ids)) {
		out, err := ctr("containers", "info", id)
		if err != nil {
			continue // gone meanwhile
		}
		var info struct {
			Labels  map[string]string
			Runtime struct {
				Name    string
				Options struct {
					// containerd.runc.v1.Options, protobuf-encoded.
					Value []byte `json:"value"`
				}
			}
		}
		if err := json.Unmarshal(out, &info); err != nil {
			return "", fmt.Errorf("ctr containers info %s: %w", id, err)
		}
		if info.Labels["io.kubernetes.pod.namespace"] == namespace && info.Labels["io.kubernetes.pod.name"] == pod &&
			info.Labels["io.kubernetes.container.name"] == container {
			binary := runcOptionsBinaryName(info.Runtime.Options.Value)
			if binary == "" {
				return "", fmt.Errorf("container %s: runtime %s names no binary", id, info.Runtime.Name)
			}
			return filepath.Base(binary), nil
		}
	}
	return "", fmt.Errorf("no container %s of pod %s/%s on the node", container, namespace, pod)
}

// runcOptionsBinaryName reads binary_name (field 6, a string) from
// containerd's runc shim options as protobuf bytes.
func runcOptionsBinaryName(b []byte) string {
	varint := func() (uint64, bool) {
		var v uint64
		for shift := 0; len(b) > 0 && shift < 64; shift += 7 {
			c := b[0]
			b = b[1:]
			v |= uint64(c&0x7f) << shift
			if c < 0x80 {
				return v, true
			}
		}
		return 0, false
	}
	for len(b) > 0 {
		tag, ok := varint()
		if !ok {
			return ""
		}
		switch tag & 7 {
		case 0:
			if _, ok := varint(); !ok {
				return ""
			}
		case 2:
			n, ok := varint()
			if !ok || n > uint64(len(b)) {
				return ""
			}
			if tag>>3 == 6 {
				return string(b[:n])
			}
			b = b[n:]
		default:
			return "" // no other wire types in these options
		}
	}
	return ""
}
