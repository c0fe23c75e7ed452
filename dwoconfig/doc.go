// Package dwoconfig owns the operator's fields of the DevWorkspace
// Operator's global configuration (DevWorkspaceOperatorConfig
// devworkspace-operator-config): the settings that make workspace pods
// nested-capable, applied by server-side apply under the operator's field
// manager so that other managers' fields are never touched and releasing
// removes only ours; the other configurations that override them; and
// the pod the DevWorkspace Operator renders from them (RenderedPod), which
// the SCC choice is judged on.
//
// Workspace Deployments are never written: the DevWorkspace Operator
// overwrites any change made to them, so its configuration is the one
// supported way in.
package dwoconfig
