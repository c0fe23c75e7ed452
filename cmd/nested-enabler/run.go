package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nested-workspaces/enabler/operator"
)

// newRunCommand runs the operator: the manager with leader election,
// health and readiness probes and Prometheus metrics.
func newRunCommand() *cobra.Command {
	opts := operator.Options{}
	var kubeconfig string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the operator (what the Deployment runs)",
		Long: `Run the nested-workspaces operator. It watches the cluster-scoped
NestedContainers resource named "cluster" and, when it is enabled and the
cluster supports pod user namespaces, pins workspaces to an SCC that
requires a pod user namespace (OpenShift's nested-container where it admits
them, else its own nested-podman), grants its use to workspace service
accounts, and configures the DevWorkspace Operator so that workspaces start
nested-capable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zap.Options{})))
			cfg, err := restConfig(kubeconfig)
			if err != nil {
				return err
			}
			opts.Config = cfg
			if opts.LeaderElectionNamespace == "" {
				opts.LeaderElectionNamespace = os.Getenv("POD_NAMESPACE")
			}
			mgr, err := operator.NewManager(opts)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			fmt.Fprintln(cmd.ErrOrStderr(), "nested-workspaces operator starting")
			return mgr.Start(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "path to a kubeconfig (default: in-cluster, then KUBECONFIG)")
	f.StringVar(&opts.DWONamespace, "dwo-namespace", operator.DefaultDWONamespace, "namespace of the DevWorkspace Operator and its global DevWorkspaceOperatorConfig")
	f.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8443", "Prometheus metrics address, HTTPS for callers allowed to get /metrics (\"0\" disables)")
	f.BoolVar(&opts.MetricsInsecure, "metrics-insecure", false, "serve metrics over plain HTTP without authentication (local runs only)")
	f.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "healthz/readyz address (\"0\" disables)")
	f.BoolVar(&opts.LeaderElection, "leader-elect", true, "elect a leader so that only one replica writes")
	f.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: $POD_NAMESPACE)")
	return cmd
}
