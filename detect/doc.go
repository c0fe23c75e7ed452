// Package detect answers "what can this cluster do": whether workspaces on
// it can run podman inside pod user namespaces, and if not, what an admin
// has to change.
//
// The rules (Evaluate, CurrentVersion, ParseVersion, GateStates,
// CountNodes, DevWorkspaceFromCRD, SCCFromCRD) are pure functions of typed
// inputs. Detector gathers those inputs from the API server: discovery, the
// ClusterVersion and FeatureGate, the nodes and two CRDs. Nothing here
// writes to the cluster or runs a controller; the operator composes it.
package detect
