// Command nested-enabler is the nested-workspaces operator binary: `run`
// runs the operator, `detect` reports what a cluster supports. The demo on
// an embedded local control plane is its own command,
// cmd/nested-workspaces-demo, so that this binary links no test harness.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
)

// Exit codes. Subcommands return an *exitError for anything but exitFailure.
const (
	exitOK          = 0
	exitUnsupported = 1 // detect: the cluster cannot run nested containers
	exitFailure     = 2 // the command failed: bad flags, unreachable cluster, no permission
)

func main() {
	os.Exit(execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs the CLI with args and returns the process exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitFailure
	var coded *exitError
	if errors.As(err, &coded) {
		code, err = coded.code, coded.err
	}
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
	}
	return code
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "nested-enabler",
		Short:         "Run podman inside OpenShift Dev Spaces workspaces, safely, through user namespaces",
		SilenceUsage:  true,
		SilenceErrors: true, // execute prints them, once
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())
	})
	root.AddCommand(newRunCommand(), newDetectCommand(), newCleanupCommand())
	return root
}

// exitError makes the process exit with code; err, if any, is printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// restConfig loads --kubeconfig when given, else what controller-runtime
// finds: KUBECONFIG, the in-cluster config, ~/.kube/config.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
		}
		if cfg.QPS == 0 {
			// As controller-runtime's own loader does: no client-side rate
			// limit (the API server's priority and fairness applies), so
			// that granting 1,000 namespaces does not take minutes.
			cfg.QPS = -1
		}
		return cfg, nil
	}
	cfg, err := ctrlconfig.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("find a kubeconfig (pass --kubeconfig or set KUBECONFIG): %w", err)
	}
	return cfg, nil
}
