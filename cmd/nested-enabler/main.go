// Command nested-enabler is the nested-workspaces operator binary and its
// admin CLI: `run` runs the operator; `detect` reports what a cluster
// supports, `status` shows the NestedContainers resource, `gather`
// collects what a support case needs, `cleanup` removes what the operator
// wrote, `version` says which build this is. The demo on an embedded local
// control plane is its own command, cmd/nested-workspaces-demo, so that
// this binary links no test harness.
//
// Installed as kubectl-nested_enabler (or oc-nested_enabler) somewhere on
// PATH, it is also `kubectl nested-enabler` and `oc nested-enabler`
// through their plugin mechanism, and its help says so.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes. Subcommands return an *exitError for anything but exitFailure.
const (
	exitOK          = 0
	exitUnsupported = 1 // detect: the cluster cannot run nested containers
	exitFailure     = 2 // the command failed: bad flags, unreachable cluster, no permission
)

func main() {
	os.Exit(executeAs(context.Background(), commandName(os.Args[0]), os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs the CLI with args and returns the process exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return executeAs(ctx, binaryName, args, stdout, stderr)
}

// binaryName is the command's name when run as itself.
const binaryName = "nested-enabler"

// commandName is how the user invoked the binary: "kubectl nested-enabler"
// or "oc nested-enabler" when it was found as a plugin (kubectl and oc run
// kubectl-nested_enabler for `kubectl nested-enabler`), else binaryName.
func commandName(argv0 string) string {
	base := filepath.Base(argv0)
	for _, cli := range []string{"kubectl", "oc"} {
		if plugin, ok := strings.CutPrefix(base, cli+"-"); ok {
			return cli + " " + strings.ReplaceAll(plugin, "_", "-")
		}
	}
	return binaryName
}

// executeAs runs the CLI, its help naming it name.
func executeAs(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	if name != binaryName {
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: name}
	}
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
		Use:           binaryName,
		Short:         "Run podman inside OpenShift Dev Spaces workspaces, safely, through user namespaces",
		SilenceUsage:  true,
		SilenceErrors: true, // execute prints them, once
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())
	})
	root.AddCommand(newRunCommand(), newDetectCommand(), newStatusCommand(), newGatherCommand(), newCleanupCommand(), newVersionCommand())
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
