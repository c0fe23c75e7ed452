// Package workspaces knows the cluster's DevWorkspaces as the operator
// needs them, in a few bytes each: which exist (only their service
// accounts are granted the SCC, only their Deployments are counted), which
// workspace Deployments are nested-capable and running, and which
// workspaces fail to start and why.
//
// It lists page by page and then watches DevWorkspaces, workspace
// Deployments and workspace service accounts itself, keeping a small state
// per object instead of the objects (an informer's first list decodes
// everything at once, and a cache holds every template): memory stays a
// small constant per workspace. Workspace Deployments are only read: the
// DevWorkspace Operator owns them.
package workspaces
