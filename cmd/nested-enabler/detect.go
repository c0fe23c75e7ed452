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
	cluster clusterFlags
	output  string
	// timeout is the deprecated --timeout, kept for scripts.
	timeout time.Duration
}

// defaultRequestTimeout bounds each request of the admin commands
// (detect, status, gather, cleanup).
const defaultRequestTimeout = "30s"

func writeReport(w io.Writer, format string, r *detect.Report) error {
	if format == outputTable {
		return detect.WriteTable(w, r)
	}
	return writeStructured(w, format, r)
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

The cluster is found from ` + kubeconfigOrder + `.

Exit status: 0 supported, 1 unsupported, 2 the cluster could not be read
(unreachable, or a read is not permitted: the message names the permission).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("timeout") && !cmd.Flags().Changed("request-timeout") {
				opts.cluster.requestTimeout = opts.timeout.String()
			}
			return runDetect(cmd.Context(), opts, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	opts.cluster.bindConnection(f, defaultRequestTimeout)
	bindOutput(f, &opts.output)
	f.DurationVar(&opts.timeout, "timeout", 30*time.Second, "timeout of each request to the API server")
	_ = f.MarkDeprecated("timeout", "use --request-timeout, as oc")
	return cmd
}

// runDetect prints the report; its error carries the exit code.
func runDetect(ctx context.Context, opts detectOptions, out io.Writer) error {
	if err := checkOutput(opts.output); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	cfg, err := opts.cluster.restConfig()
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
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
	if err := writeReport(out, opts.output, report); err != nil {
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
