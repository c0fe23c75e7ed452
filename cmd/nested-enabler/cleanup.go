package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/nested-workspaces/enabler/operator"
)

// newCleanupCommand removes what the operator wrote when the operator no
// longer runs to do it.
func newCleanupCommand() *cobra.Command {
	var cluster clusterFlags
	var dwoNamespace string
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove everything the operator wrote (after an uninstall in the wrong order)",
		Long: `Remove what the nested-workspaces operator wrote, as disabling does and in
the same order: its fields of the global DevWorkspaceOperatorConfig (so no
new workspace is pinned to its SCC), then the RoleBindings, ClusterRoleBindings
and ClusterRoles that grant use of the SCC, then its own SCC; then the
finalizer of the NestedContainers resource, so that it can be deleted.

Use it when the operator was uninstalled (e.g. through OLM) before the
NestedContainers resource was deleted. Run it as a cluster admin. It stops at
the first step that fails and can be run again. Objects without the label
app.kubernetes.io/managed-by=nested-workspaces-enabler are never touched.

The cluster is found from ` + kubeconfigOrder + `;
--as and --as-group impersonate a cluster admin as oc does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cluster.restConfig()
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			scheme, err := operator.NewScheme()
			if err != nil {
				return err
			}
			c, err := client.New(cfg, client.Options{Scheme: scheme})
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			if err := operator.Uninstall(cmd.Context(), c, dwoNamespace); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "removed everything the nested-workspaces operator wrote")
			return nil
		},
	}
	cluster.bindConnection(cmd.Flags(), defaultRequestTimeout)
	cmd.Flags().StringVar(&dwoNamespace, "dwo-namespace", operator.DefaultDWONamespace, "namespace of the global DevWorkspaceOperatorConfig")
	return cmd
}
