package operator

import "github.com/nested-workspaces/enabler/detect"

// CheClusterGVK is OpenShift Dev Spaces' (Eclipse Che's) cluster resource.
// The operator watches it, and reads it with Che's own
// DevWorkspaceOperatorConfig through detect.ReadDevSpaces.
var CheClusterGVK = detect.CheClusterGVK
