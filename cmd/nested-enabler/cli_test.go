package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/nested-workspaces/enabler/version"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := execute(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// unreachableKubeconfig writes a kubeconfig whose server is
// https://127.0.0.1:<port> (nothing listens on ports 1-3), so that which
// file was read shows in the error.
func unreachableKubeconfig(t *testing.T, path, port string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:`+port+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}, {name: other, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// asMainEnv makes the test binary run main() with the arguments after
// "--" (client-go reads $HOME once, when it starts: a test of
// ~/.kube/config needs a process of its own).
const asMainEnv = "NESTED_ENABLER_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{binaryName}, os.Args[i+1:]...)
				main()
			}
		}
	}
	os.Exit(m.Run())
}

// runAsProcess runs the CLI as a process of its own with env added.
func runAsProcess(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(append(os.Environ(), asMainEnv+"=1"), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// Every command finds the cluster in the order its help states, as oc
// does: --kubeconfig, $KUBECONFIG, ~/.kube/config.
func TestKubeconfigOrder(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	unreachableKubeconfig(t, filepath.Join(home, ".kube", "config"), "1")
	fromEnv := unreachableKubeconfig(t, filepath.Join(dir, "env"), "2")
	fromFlag := unreachableKubeconfig(t, filepath.Join(dir, "flag"), "3")
	cases := []struct {
		name       string
		kubeconfig string
		args       []string
		wantServer string
	}{
		{"flag_wins_over_environment", fromEnv, []string{"--kubeconfig", fromFlag}, "127.0.0.1:3"},
		{"environment_wins_over_home", fromEnv, nil, "127.0.0.1:2"},
		{"home_when_nothing_else", "", nil, "127.0.0.1:1"},
	}
	for _, command := range [][]string{{"detect"}, {"status"}, {"cleanup"}, {"gather", "--dest", filepath.Join(dir, "g.tar.gz")}} {
		for _, tc := range cases {
			t.Run(command[0]+"/"+tc.name, func(t *testing.T) {
				args := append(append(append([]string{}, command...), tc.args...), "--request-timeout", "2s")
				code, out := runAsProcess(t, []string{"HOME=" + home, "KUBECONFIG=" + tc.kubeconfig, "KUBERNETES_SERVICE_HOST="}, args...)
				if command[0] == "gather" {
					// gather notes what it cannot read and still writes the archive.
					if code != 0 || !strings.Contains(listArchive(t, filepath.Join(dir, "g.tar.gz"))["errors.txt"], tc.wantServer) {
						t.Errorf("gather exit %d, errors.txt lacks %s\n%s", code, tc.wantServer, out)
					}
					return
				}
				if code != exitFailure || !strings.Contains(out, tc.wantServer) {
					t.Errorf("exit %d, want %d naming %s:\n%s", code, exitFailure, tc.wantServer, out)
				}
			})
		}
	}
}

// The help of every command that talks to the cluster states the order
// the code follows (run's once said in-cluster came first).
func TestHelpStatesTheKubeconfigOrder(t *testing.T) {
	for _, name := range []string{"run", "detect", "status", "gather", "cleanup"} {
		code, stdout, _ := run(t, name, "--help")
		if code != 0 || !strings.Contains(strings.Join(strings.Fields(stdout), " "), kubeconfigOrder) {
			t.Errorf("%s --help (exit %d) does not state %q:\n%s", name, code, kubeconfigOrder, stdout)
		}
		for _, flag := range []string{"--kubeconfig", "--context", "--as ", "--as-group"} {
			if !strings.Contains(stdout, flag) {
				t.Errorf("%s has no %s flag", name, flag)
			}
		}
	}
	for _, name := range []string{"run", "gather"} {
		if _, stdout, _ := run(t, name, "--help"); !strings.Contains(stdout, "-n, --namespace") {
			t.Errorf("%s has no -n/--namespace", name)
		}
	}
	for _, name := range []string{"detect", "status", "gather", "cleanup"} {
		if _, stdout, _ := run(t, name, "--help"); !strings.Contains(stdout, "--request-timeout") {
			t.Errorf("%s has no --request-timeout", name)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	want := version.Get()
	for _, format := range []string{"json", "yaml", "table"} {
		t.Run(format, func(t *testing.T) {
			code, stdout, stderr := run(t, "version", "-o", format)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var got version.Info
			switch format {
			case "json":
				if err := json.Unmarshal([]byte(stdout), &got); err != nil {
					t.Fatalf("%v:\n%s", err, stdout)
				}
			case "yaml":
				if err := yaml.UnmarshalStrict([]byte(stdout), &got); err != nil {
					t.Fatalf("%v:\n%s", err, stdout)
				}
			default:
				if !strings.Contains(stdout, "Version:   "+want.Version) || !strings.Contains(stdout, want.Platform) {
					t.Fatalf("table:\n%s", stdout)
				}
				return
			}
			if got != want {
				t.Errorf("version -o %s = %+v, want %+v", format, got, want)
			}
		})
	}
	if code, _, stderr := run(t, "version", "-o", "xml"); code != exitFailure || !strings.Contains(stderr, `--output "xml"`) {
		t.Errorf("version -o xml: exit %d, %s", code, stderr)
	}
}

func TestCommandNameAsAPlugin(t *testing.T) {
	for argv0, want := range map[string]string{
		"/usr/local/bin/nested-enabler":               "nested-enabler",
		"/home/me/bin/kubectl-nested_enabler":         "kubectl nested-enabler",
		"oc-nested_enabler":                           "oc nested-enabler",
		"./bin/nested-enabler-linux-amd64":            "nested-enabler",
		"/opt/kubectl-plugins/kubectl-nested_enabler": "kubectl nested-enabler",
	} {
		if got := commandName(argv0); got != want {
			t.Errorf("commandName(%q) = %q, want %q", argv0, got, want)
		}
	}
	var stdout bytes.Buffer
	if code := executeAs(context.Background(), "kubectl nested-enabler", []string{"--help"}, &stdout, &stdout); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stdout.String(), "kubectl nested-enabler [command]") {
		t.Errorf("help as a plugin does not name kubectl nested-enabler:\n%s", stdout.String())
	}
}

// An OLM Subscription can set the operator's environment, not its
// arguments: the DevWorkspace Operator settings come from either, a flag
// given on the command line first.
func TestDWOSettingsFromTheEnvironment(t *testing.T) {
	cases := []struct {
		name, env string
		args      []string
		want      string
	}{
		{"default", "", nil, "openshift-operators"},
		{"environment", "my-dwo", nil, "my-dwo"},
		{"flag_wins", "my-dwo", []string{"--dwo-namespace", "flagged"}, "flagged"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envDWONamespace, tc.env)
			var value string
			cmd := &cobra.Command{}
			cmd.Flags().StringVar(&value, "dwo-namespace", "openshift-operators", "")
			if err := cmd.Flags().Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			fromEnvironment(cmd, "dwo-namespace", envDWONamespace, &value)
			if value != tc.want {
				t.Errorf("dwo namespace %q, want %q", value, tc.want)
			}
		})
	}
	// run names the variables in its flags' help.
	_, stdout, _ := run(t, "run", "--help")
	for _, env := range []string{envDWONamespace} {
		if !strings.Contains(stdout, "env "+env) {
			t.Errorf("run --help does not mention %s", env)
		}
	}
}

// listArchive returns the files of a gather archive by their path under
// its top directory.
func listArchive(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		_, rel, _ := strings.Cut(hdr.Name, "/")
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[rel] = string(data)
	}
}

// --request-timeout bounds each request: against a server that accepts
// the connection and never answers, detect gives up in about that time.
func TestRequestTimeoutBoundsEachRequest(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, never answered
		}
	}()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	_, port, _ := net.SplitHostPort(l.Addr().String())
	unreachableKubeconfig(t, kubeconfig, port)
	start := time.Now()
	code, _, stderr := run(t, "detect", "--kubeconfig", kubeconfig, "--request-timeout", "1s")
	if code != exitFailure || time.Since(start) > 5*time.Second {
		t.Errorf("detect against a silent server: exit %d after %s, want %d within 5 s (the TLS handshake alone would wait 10 s): %s", code, time.Since(start), exitFailure, stderr)
	}
}
