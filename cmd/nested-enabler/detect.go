package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/nested-workspaces/enabler/detect"
)

type detectOptions struct {
	kubeconfig string
	output     string
	timeout    time.Duration
}

func reportWriter(format string) (func(io.Writer, *detect.Report) error, bool) {
	switch format {
	case "table":
		return detect.WriteTable, true
	case "json":
		return detect.WriteJSON, true
	}
	return nil, false
}

func newDetectCommand() *cobra.Command {
	opts := detectOptions{}
	cmd := &cobra.Command{
		Use:   "detect",
		Short: "Report whether the cluster can run nested containers in workspaces",
		Long: `Read the OpenShift version, FeatureGate, nodes, the DevWorkspace Operator's
CRD and Dev Spaces' CheClusters with their workspace configuration, and say
whether workspaces can run podman in pod user namespaces, and if not, what to
change. For each CheCluster it shows container run and build, their SCCs, and
any field of Che's configuration that contradicts nested containers.

Exit status: 0 supported, 1 unsupported, 2 the cluster could not be read
(unreachable, or a read is not permitted: the message names the permission).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDetect(cmd.Context(), opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.kubeconfig, "kubeconfig", "", "path to a kubeconfig (default: $KUBECONFIG, then in-cluster, then ~/.kube/config)")
	f.StringVarP(&opts.output, "output", "o", "table", "output format: table or json")
	f.DurationVar(&opts.timeout, "timeout", 30*time.Second, "timeout of each request to the API server")
	return cmd
}

// runDetect prints the report; its error carries the exit code.
func runDetect(ctx context.Context, opts detectOptions, out io.Writer) error {
	write, ok := reportWriter(opts.output)
	if !ok {
		return &exitError{code: exitFailure, err: fmt.Errorf("--output %q: use table or json", opts.output)}
	}
	cfg, err := restConfig(opts.kubeconfig)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = opts.timeout
	rest.AddUserAgent(cfg, "nested-enabler-detect")
	d, err := detect.NewDetector(cfg, nil)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	report, err := d.Detect(ctx)
	if err != nil {
		return &exitError{code: exitFailure, err: explainReadError(cfg.Host, err)}
	}
	devSpaces, err := detect.ReadDevSpaces(ctx, d.Reader)
	if err != nil {
		return &exitError{code: exitFailure, err: explainReadError(cfg.Host, err)}
	}
	report.AddDevSpaces(devSpaces)
	if err := write(out, report); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if report.Verdict != detect.Supported {
		return &exitError{code: exitUnsupported} // the report says why
	}
	return nil
}

// explainReadError says which of the usual causes kept the cluster from
// being read.
func explainReadError(host string, err error) error {
	switch {
	case detect.IsPermission(err):
		return fmt.Errorf("permission denied on %s for the kubeconfig's user: %w", host, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the API server at %s rejected the credentials: log in again or fix the kubeconfig: %w", host, err)
	}
	return fmt.Errorf("cannot read the cluster at %s: check that it is reachable and that the kubeconfig points at it: %w", host, err)
}
