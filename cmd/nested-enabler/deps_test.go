package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The shipped binaries link only product packages: no test control plane,
// no harness under test/, no DevWorkspace controller; and not the API
// server's libraries (with their gRPC and OpenTelemetry), which the metrics
// endpoint's authentication once pulled in at 20 MB (operator/metricsauth.go).
func TestShippedBinariesLinkNoHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbidden := []string{
		"github.com/nested-workspaces/enabler/test/",
		"github.com/nested-workspaces/enabler/e2e",
		"sigs.k8s.io/controller-runtime/pkg/envtest",
		"github.com/devfile/devworkspace-operator/controllers",
		"k8s.io/apiserver/",
		"google.golang.org/grpc",
		"go.opentelemetry.io/",
	}
	for _, bin := range []string{"github.com/nested-workspaces/enabler/cmd/nested-enabler", "github.com/nested-workspaces/enabler/cmd/udi-setup"} {
		out, err := exec.Command("go", "list", "-deps", bin).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", bin, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list -deps %s listed only %v", bin, deps)
		}
		for _, d := range deps {
			for _, f := range forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s links %s", bin, d)
				}
			}
		}
	}
}
