package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/nested-workspaces/enabler/operator"
	"github.com/nested-workspaces/enabler/version"
)

// The environment variable that stands in for --dwo-namespace: an OLM
// Subscription's spec.config.env can set it in the operator's Deployment,
// never its arguments. A flag given on the command line wins.
const envDWONamespace = "DWO_NAMESPACE"

// newRunCommand runs the operator: the manager with leader election,
// health and readiness probes and Prometheus metrics.
func newRunCommand() *cobra.Command {
	opts := operator.Options{}
	var cluster clusterFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the operator (what the Deployment runs)",
		Long: `Run the nested-workspaces operator. It watches the cluster-scoped
NestedContainers resource named "cluster" and, when it is enabled and the
cluster supports pod user namespaces, pins workspaces to an SCC that
requires a pod user namespace (OpenShift's nested-container where it admits
them, else its own nested-podman), grants its use to workspace service
accounts, and configures the DevWorkspace Operator so that workspaces start
nested-capable.

The cluster is found from ` + kubeconfigOrder + `.
--dwo-namespace may also come from the environment variable ` + envDWONamespace + `
(what an OLM Subscription's spec.config.env sets); a flag given wins.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zap.Options{})))
			log := ctrl.Log.WithName("setup")
			fromEnvironment(cmd, "dwo-namespace", envDWONamespace, &opts.DWONamespace)
			v := version.Get()
			log.Info("starting the nested-workspaces operator", "version", v.Version, "revision", v.Revision,
				"goVersion", v.GoVersion, "platform", v.Platform,
				"dwoNamespace", opts.DWONamespace)
			cfg, err := cluster.restConfig()
			if err != nil {
				return err
			}
			opts.Config = cfg
			if opts.LeaderElectionNamespace == "" {
				opts.LeaderElectionNamespace = cluster.operatorNamespace()
			}
			mgr, err := operator.NewManager(opts)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return mgr.Start(ctx)
		},
	}
	f := cmd.Flags()
	// No --request-timeout: it would cut the operator's watches.
	cluster.bindConnection(f, "")
	cluster.bindNamespace(f, "where its leader election Lease is kept")
	f.StringVar(&opts.DWONamespace, "dwo-namespace", operator.DefaultDWONamespace, "namespace of the DevWorkspace Operator and its global DevWorkspaceOperatorConfig (env "+envDWONamespace+")")
	f.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8443", "Prometheus metrics address, HTTPS for callers allowed to get /metrics (\"0\" disables)")
	f.StringVar(&opts.MetricsCertDir, "metrics-cert-dir", "", "directory with the metrics serving certificate, tls.crt and tls.key, reloaded when they change (the Deployment mounts the service CA's there); empty: self-signed")
	f.BoolVar(&opts.MetricsInsecure, "metrics-insecure", false, "serve metrics over plain HTTP without authentication (local runs only)")
	f.StringVar(&opts.ProbeAddr, "health-probe-bind-address", ":8081", "healthz/readyz address (\"0\" disables)")
	f.StringVar(&opts.PprofAddr, "pprof-bind-address", "", "Go's /debug/pprof on this address, plain HTTP without authentication, for diagnosing memory or CPU (e.g. 127.0.0.1:6060 and oc port-forward); empty disables")
	f.BoolVar(&opts.LeaderElection, "leader-elect", true, "elect a leader so that only one replica writes")
	f.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election Lease (default: the operator's namespace, -n)")
	return cmd
}

// fromEnvironment sets *value from the environment variable env unless the
// flag was given.
func fromEnvironment(cmd *cobra.Command, flag, env string, value *string) {
	if cmd.Flags().Changed(flag) {
		return
	}
	if v := os.Getenv(env); v != "" {
		*value = v
	}
}
