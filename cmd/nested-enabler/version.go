package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nested-workspaces/enabler/version"
)

func newVersionCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of this binary",
		Long: `Print the release (from the VERSION file, stamped in at build time; "devel"
for a plain go build), the source revision when known, and the Go version
and platform it was built with. The operator logs the same at start and
serves it as the metric nested_workspaces_build_info.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			info := version.Get()
			if output != outputTable {
				return writeStructured(cmd.OutOrStdout(), output, info)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Version:   %s\n", info.Version)
			if info.Revision != "" {
				fmt.Fprintf(w, "Revision:  %s\n", info.Revision)
			}
			fmt.Fprintf(w, "Go:        %s\n", info.GoVersion)
			fmt.Fprintf(w, "Platform:  %s\n", info.Platform)
			return nil
		},
	}
	bindOutput(cmd.Flags(), &output)
	return cmd
}
