package main

import (
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nested-workspaces/enabler/demo"
)

// newDemoCommand runs the whole product on an embedded local control plane.
func newDemoCommand() *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run everything on an embedded local control plane (no cluster needed)",
		Long: `Start a real kube-apiserver and etcd on this machine, make them look like
OpenShift 4.20, run the DevWorkspace controller and this operator, turn the
toggle on, create a sample DevWorkspace and print the detect report, the SCC,
the NestedContainers status and the workspace pod's security settings.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return demo.Run(ctx, demo.Options{Out: cmd.OutOrStdout(), Keep: keep})
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "leave the control plane running (prints a kubeconfig) until Ctrl-C")
	return cmd
}
