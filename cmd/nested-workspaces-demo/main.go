// Command nested-workspaces-demo runs the whole product on an embedded local
// control plane, for people trying it: a real kube-apiserver made to look
// like OpenShift 4.20 (OpenShift's SCC admission, controller manager,
// scheduler, kwok nodes), the real DevWorkspace controller and the operator;
// where the machine allows, a real node on which podman runs inside the
// nested workspace. It is its own binary so that the operator,
// nested-enabler, links no test harness and no DevWorkspace controller.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nested-workspaces/enabler/test/demo"
)

func main() {
	keep := flag.Bool("keep", false, "leave the control plane running (prints a kubeconfig) until Ctrl-C; simulated nodes only")
	simulated := flag.Bool("simulated-only", false, "show the simulated nodes only, even where a real node can run")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), `Usage: nested-workspaces-demo [--keep] [--simulated-only]

Start a real kube-apiserver, etcd, kube-controller-manager, kube-scheduler
and kwok on this machine, make them look like OpenShift 4.20 (with
OpenShift's own SCC admission), run the DevWorkspace controller and this
operator, start a sample DevWorkspace, turn the toggle on, and print under
which SCC and as which UID the workspace pod was admitted before and after.

As root on Linux 6.3 or newer with user namespaces, the workspace runs on a
real node (kubelet and containerd, in private namespaces), and the demo
types podman run, podman build and podman-compose in it.

`)
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := demo.Main(ctx, demo.Options{Out: os.Stdout, Keep: *keep, SimulatedOnly: *simulated})
	stop()
	os.Exit(code)
}
