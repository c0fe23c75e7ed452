// Package operator decides and writes: it turns the NestedContainers toggle
// and what detect says about the cluster into the nested-podman SCC, the
// RBAC that grants its use, and the DevWorkspace Operator configuration that
// makes workspace pods nested-capable, and reports the outcome in the
// NestedContainers status.
//
// Workspace Deployments are only read. The DevWorkspace Operator overwrites
// any change made to them, so the one supported way in is its own
// configuration, written with server-side apply under our field manager so
// that other managers' fields are never touched and disabling removes only
// ours.
package operator
