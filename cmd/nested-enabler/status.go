package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	enablerv1alpha1 "github.com/nested-workspaces/enabler/api/v1alpha1"
	"github.com/nested-workspaces/enabler/operator"
)

func newStatusCommand() *cobra.Command {
	var cluster clusterFlags
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the NestedContainers resource: the toggle, its conditions and counts",
		Long: `Show the cluster-scoped NestedContainers resource "cluster": whether the
toggle is on, the Supported, Ready and Degraded conditions with their reasons
and messages (docs/admin.md says what to do about each), what detection found,
and how many workspaces are nested or wait for a restart. -o json or -o yaml
print the whole resource.

The cluster is found from ` + kubeconfigOrder + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := newClient(cluster)
			if err != nil {
				return err
			}
			nc, err := readNestedContainers(cmd.Context(), c)
			if err != nil {
				return err
			}
			if output != outputTable {
				nc.ManagedFields = nil
				return writeStructured(cmd.OutOrStdout(), output, nc)
			}
			return writeStatusTable(cmd.OutOrStdout(), nc)
		},
	}
	cluster.bindConnection(cmd.Flags(), defaultRequestTimeout)
	bindOutput(cmd.Flags(), &output)
	return cmd
}

// newClient is a client for the types the operator reads and writes.
func newClient(cluster clusterFlags) (client.Client, error) {
	cfg, err := cluster.restConfig()
	if err != nil {
		return nil, err
	}
	scheme, err := operator.NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.Host, err)
	}
	return c, nil
}

func readNestedContainers(ctx context.Context, c client.Client) (*enablerv1alpha1.NestedContainers, error) {
	nc := &enablerv1alpha1.NestedContainers{}
	err := c.Get(ctx, client.ObjectKey{Name: enablerv1alpha1.ClusterName}, nc)
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("NestedContainers %q not found: create it to turn nested containers on (oc apply -k manifests/samples, or Create NestedContainers in the console)", enablerv1alpha1.ClusterName)
	case err != nil:
		return nil, fmt.Errorf("read NestedContainers %q: %w", enablerv1alpha1.ClusterName, err)
	}
	return nc, nil
}

func writeStatusTable(w io.Writer, nc *enablerv1alpha1.NestedContainers) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	toggle := "off"
	if nc.Spec.Enabled {
		toggle = "on"
	}
	fmt.Fprintf(tw, "NestedContainers %s:\ttoggle %s\n", nc.Name, toggle)
	if nc.Status.ObservedGeneration != nc.Generation {
		fmt.Fprintf(tw, "\t(status describes generation %d, spec is at %d: the operator has not caught up, or is not running)\n", nc.Status.ObservedGeneration, nc.Generation)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "CONDITION\tSTATUS\tREASON\tMESSAGE")
	for _, c := range nc.Status.Conditions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	fmt.Fprintln(tw)
	facts := nc.Status.Cluster
	if facts.OpenShiftVersion != "" {
		fmt.Fprintf(tw, "OpenShift:\t%s (Kubernetes %s, featureSet %q)\n", facts.OpenShiftVersion, facts.KubernetesVersion, facts.FeatureSet)
	}
	fmt.Fprintf(tw, "Nodes:\t%d, %d with user namespaces\n", nc.Status.Nodes.Total, nc.Status.Nodes.UserNamespaces)
	ws := nc.Status.Workspaces
	fmt.Fprintf(tw, "Workspaces:\t%d, %d nested, %d pending restart\n", ws.Total, ws.Nested, ws.PendingRestart)
	return tw.Flush()
}
