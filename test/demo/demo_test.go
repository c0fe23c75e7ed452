package demo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nested-workspaces/enabler/test/demo"
)

// The demo is what a newcomer runs first; it must show the workspace pod
// admitted by OpenShift's SCC admission and running, before and after the
// toggle, on the real local control plane.
func TestDemoShowsANestedWorkspace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real control plane and DevWorkspace controller")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := demo.Run(ctx, demo.Options{Out: &out}); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"Verdict:",
		"Supported",
		"SecurityContextConstraints nested-container (OpenShift's own, used as is)",
		"userNamespaceLevel:                RequirePodLevel",
		"with the toggle off: DevWorkspace Running",
		"admitted under SCC (openshift.io/scc): restricted-v2",
		"with the toggle on: DevWorkspace Running",
		"admitted under SCC (openshift.io/scc): nested-container",
		"runs as UID:                       1000\n",
		"type=container_engine_t",
		"hostUsers:                         false",
		"annotation io.kubernetes.cri-o.Devices: /dev/fuse,/dev/net/tun",
		"annotation openshift.io/required-scc: nested-container",
		"procMount: Unmasked",
		"- SETUID",
		"- SETGID",
		"reason: Configured",
		"Stopping the local control plane",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
