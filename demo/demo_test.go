package demo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nested-workspaces/enabler/demo"
)

// The demo is what a newcomer runs first; it must get to the workspace
// pod's settings on the real local control plane.
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
		"userNamespaceLevel:                RequirePodLevel",
		"spec.template.spec.hostUsers:      false",
		"annotation io.kubernetes.cri-o.Devices: /dev/fuse,/dev/net/tun",
		"annotation openshift.io/required-scc: nested-podman",
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
