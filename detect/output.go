package detect

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report as JSON: %w", err)
	}
	return nil
}

// WriteTable writes the report as aligned lines for a human.
func WriteTable(w io.Writer, r *Report) error {
	// A fixed minimum width keeps the value column in place whichever
	// optional lines are printed.
	tw := tabwriter.NewWriter(w, 25, 4, 2, ' ', 0)
	line := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }

	line("Verdict:\t%s", r.Verdict)
	switch {
	case !r.OpenShift:
		line("Platform:\tKubernetes (not OpenShift)")
	case r.OpenShiftVersion == "":
		line("Platform:\tOpenShift, version unknown")
	default:
		line("Platform:\tOpenShift %s", r.OpenShiftVersion)
	}
	line("Kubernetes:\t%s", orUnknown(r.KubernetesVersion))
	if r.OpenShift {
		line("Feature set:\t%s", orUnknown(r.FeatureSet))
		for i, g := range r.GateNames() {
			label := ""
			if i == 0 {
				label = "Feature gates:"
			}
			line("%s\t%s\t%s", label, g, describeGate(r.FeatureGates[g]))
		}
	}
	line("Nodes:\t%d of %d with user namespace support", r.Nodes.UserNamespaces, r.Nodes.Total)
	line("DevWorkspace Operator:\t%s", describeDWO(r.DevWorkspace))
	if r.OpenShift {
		line("SCC userNamespaceLevel:\t%s", describeSCC(r.SCC))
	}
	writeDevSpaces(line, r.DevSpaces)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	// Reasons are long sentences: unaligned, one per line.
	if err := writeReasons(w, "Unsupported because:", r.Reasons); err != nil {
		return err
	}
	return writeReasons(w, "Degraded:", r.Degraded)
}

// writeDevSpaces says, per CheCluster, whether Dev Spaces runs and builds
// containers in its workspaces, under which SCCs, and what of its own
// configuration contradicts nested containers.
func writeDevSpaces(line func(string, ...any), cs []DevSpaces) {
	if len(cs) == 0 {
		line("Dev Spaces:\tnot installed (no CheCluster)")
		return
	}
	onOff := func(on bool, scc string) string {
		if on {
			return "on, SCC " + scc
		}
		return "off"
	}
	for _, c := range cs {
		line("Dev Spaces:\tCheCluster %s", c.Key())
		line("  container run:\t%s", onOff(c.ContainerRun, c.ContainerRunSCC))
		line("  container build:\t%s", onOff(c.ContainerBuild, c.ContainerBuildSCC))
		line("  workspace config:\t%s", orNone(c.WorkspaceConfig))
		for _, f := range c.Contradictions {
			line("  contradicts nesting:\tconfig.workspace.%s=%s", f.Field, f.Value)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func writeReasons(w io.Writer, title string, rs []Reason) error {
	if len(rs) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w, title); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	for _, r := range rs {
		if _, err := fmt.Fprintf(w, "  - %s: %s\n", r.Code, r.Message); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func describeGate(s GateState) string {
	switch s {
	case GateEnabled:
		return "enabled"
	case GateDisabled:
		return "disabled"
	case GateAbsentGA:
		return "enabled (GA, not listed)"
	case GateAbsentUnknown:
		return "not listed (not enabled)"
	}
	return string(s)
}

func describeDWO(s DevWorkspaceSupport) string {
	switch {
	case !s.Installed:
		return "not installed"
	case !s.HostUsersSupported:
		return "installed, too old (no config.workspace.hostUsers)"
	}
	return "installed, supports config.workspace.hostUsers"
}

func describeSCC(s SCCSupport) string {
	switch p := s.UserNamespaceLevelInSchema; {
	case p == nil:
		return "unknown (SCC CRD not readable)"
	case *p:
		return "kept by the SCC API"
	}
	return "pruned by the SCC API"
}
