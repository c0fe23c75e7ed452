// Package grants owns the RBAC that lets workspaces use the SCC they are
// pinned to, end to end: the ClusterRole that allows `use` of that one SCC,
// a RoleBinding of it in each namespace with workspaces naming only the
// service accounts a DevWorkspace there controls, and their release.
//
// Each namespace stands alone: one that is being deleted is skipped, one
// where an object of the binding's name is someone else's is reported as
// blocked, one whose write fails is reported as failed, and every other
// namespace is served.
//
// Nothing grants the DevWorkspace controller itself `use`: it would let
// DevWorkspace Operator mint Roles for the `controller.devfile.io/scc`
// workspace attribute that outlive the operator's own grants. Roles it
// minted that way for an SCC the operator pins (while an earlier version
// granted it) are deleted on release (ReleaseDWOMinted).
package grants
