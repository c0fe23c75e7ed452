package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Exit codes of the paths that need no cluster. The e2e tests in e2e/
// cover every verdict against a real API server.
func TestDetectExitCodes(t *testing.T) {
	unreachable := filepath.Join(t.TempDir(), "unreachable")
	if err := os.WriteFile(unreachable, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"unknown_output_format_is_an_error", []string{"detect", "--kubeconfig", unreachable, "-o", "xml"}, nil, 2, `--output "xml": use table, json or yaml`},
		{"unknown_flag_points_at_help", []string{"detect", "--bogus"}, nil, 2, "see nested-enabler detect --help"},
		{"missing_kubeconfig_file", []string{"detect", "--kubeconfig", filepath.Join(t.TempDir(), "absent")}, nil, 2, "load kubeconfig"},
		{"no_kubeconfig_anywhere", []string{"detect"}, map[string]string{"KUBECONFIG": "", "HOME": t.TempDir(), "KUBERNETES_SERVICE_HOST": ""}, 2, "pass --kubeconfig or set KUBECONFIG"},
		{"unreachable_cluster", []string{"detect", "--kubeconfig", unreachable, "--request-timeout", "5s"}, nil, 2, "cannot read the cluster at https://127.0.0.1:1"},
		{"deprecated_timeout_still_works", []string{"detect", "--kubeconfig", unreachable, "--timeout", "5s"}, nil, 2, "cannot read the cluster at https://127.0.0.1:1"},
		{"kubeconfig_from_environment", []string{"detect", "--request-timeout", "5s"}, map[string]string{"KUBECONFIG": unreachable}, 2, "cannot read the cluster at https://127.0.0.1:1"},
		{"unknown_context_is_named", []string{"detect", "--kubeconfig", unreachable, "--context", "nope"}, nil, 2, `--context nope: context "nope" does not exist`},
		{"bad_request_timeout_is_named", []string{"detect", "--kubeconfig", unreachable, "--request-timeout", "soon"}, nil, 2, `--request-timeout "soon": use a duration`},
		{"as_group_needs_as", []string{"detect", "--kubeconfig", unreachable, "--as-group", "system:masters"}, nil, 2, "--as-group needs --as"},
		{"help_succeeds", []string{"detect", "--help"}, nil, 0, "Exit status: 0 supported, 1 unsupported, 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := execute(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String()+stderr.String(), tc.want) {
				t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", tc.want, stdout.String(), stderr.String())
			}
		})
	}
}

func TestRootCommandHasEverySubcommand(t *testing.T) {
	root := newRootCommand()
	for _, name := range []string{"run", "detect", "status", "gather", "cleanup", "version"} {
		if c, _, err := root.Find([]string{name}); err != nil || c.Name() != name {
			t.Errorf("subcommand %s: %v", name, err)
		}
	}
	// The demo is its own command: the operator binary links no harness.
	if c, _, err := root.Find([]string{"demo"}); err == nil && c.Name() == "demo" {
		t.Errorf("nested-enabler still has a demo subcommand")
	}
}
