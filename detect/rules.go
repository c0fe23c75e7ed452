package detect

import (
	"fmt"
	"strings"

	configv1 "github.com/openshift/api/config/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// Reason codes. Unsupported:
const (
	ReasonNotOpenShift              = "NotOpenShift"
	ReasonClusterVersionMissing     = "ClusterVersionMissing"
	ReasonClusterVersionUnknown     = "ClusterVersionUnknown"
	ReasonVersionUnparsable         = "VersionUnparsable"
	ReasonOpenShiftTooOld           = "OpenShiftTooOld"
	ReasonFeatureGateMissing        = "FeatureGateMissing"
	ReasonFeatureGateVersionMissing = "FeatureGateVersionMissing"
	ReasonFeatureGatesNotEnabled    = "FeatureGatesNotEnabled"
)

// Reason codes. Degraded:
const (
	ReasonNoUserNamespaceNodes        = "NoUserNamespaceNodes"
	ReasonDevWorkspaceOperatorMissing = "DevWorkspaceOperatorMissing"
	ReasonDevWorkspaceOperatorTooOld  = "DevWorkspaceOperatorTooOld"
	ReasonSCCUserNamespaceLevelPruned = "SCCUserNamespaceLevelPruned"
)

// Names of the objects detection reads.
const (
	ClusterVersionName   = "version"
	FeatureGateName      = "cluster"
	DWOConfigCRDName     = "devworkspaceoperatorconfigs.controller.devfile.io"
	SCCCRDName           = "securitycontextconstraints.security.openshift.io"
	OpenShiftConfigGroup = "config.openshift.io"
)

// Inputs is everything the rules look at. A nil object is one that does not
// exist.
type Inputs struct {
	// OpenShift: the config.openshift.io API group is served.
	OpenShift             bool
	KubernetesVersion     string
	ClusterVersion        *configv1.ClusterVersion
	FeatureGate           *configv1.FeatureGate
	Nodes                 []corev1.Node
	DevWorkspaceConfigCRD *apiextensionsv1.CustomResourceDefinition
	// SCCCRD is also nil when it could not be read.
	SCCCRD *apiextensionsv1.CustomResourceDefinition
}

// Evaluate applies the detection rules to the inputs.
func Evaluate(in Inputs) *Report {
	r := &Report{OpenShift: in.OpenShift, KubernetesVersion: in.KubernetesVersion}
	r.Nodes = CountNodes(in.Nodes)
	r.DevWorkspace = DevWorkspaceFromCRD(in.DevWorkspaceConfigCRD)
	r.Degraded = append(r.Degraded, nodeFindings(r.Nodes)...)
	r.Degraded = append(r.Degraded, devWorkspaceFindings(r.DevWorkspace)...)
	if in.OpenShift {
		r.SCC = SCCFromCRD(in.SCCCRD)
		r.Reasons = openShiftFindings(r, in)
	} else {
		r.Reasons = []Reason{{ReasonNotOpenShift, "the config.openshift.io API group is not served, so this is not OpenShift: " +
			"nested containers need OpenShift 4.20 or newer (or 4.19 with the user namespace feature gates enabled) " +
			"for its SecurityContextConstraints and pod user namespaces"}}
	}
	if len(r.Reasons) == 0 {
		r.Verdict = Supported
		if p := r.SCC.UserNamespaceLevelInSchema; p != nil && !*p {
			r.Degraded = append(r.Degraded, Reason{ReasonSCCUserNamespaceLevelPruned, fmt.Sprintf(
				"the %s CRD has no userNamespaceLevel, so the API server would drop RequirePodLevel from the SCC "+
					"and let pods without user namespaces use it: check the cluster's config operator and feature set", SCCCRDName)})
		}
	} else {
		r.Verdict = Unsupported
	}
	return r
}

// openShiftFindings fills the version, feature set and gates of r and
// returns why the cluster is unsupported, if it is.
func openShiftFindings(r *Report, in Inputs) []Reason {
	if in.FeatureGate != nil {
		r.FeatureSet = string(in.FeatureGate.Spec.FeatureSet)
		if r.FeatureSet == "" {
			r.FeatureSet = "Default"
		}
	}
	if in.ClusterVersion == nil {
		return []Reason{{ReasonClusterVersionMissing, fmt.Sprintf(
			"ClusterVersion %q does not exist although config.openshift.io is served, so the OpenShift version is unknown: "+
				"check that the cluster finished installing (oc get clusterversion)", ClusterVersionName)}}
	}
	raw, ok := CurrentVersion(in.ClusterVersion)
	if !ok {
		return []Reason{{ReasonClusterVersionUnknown, fmt.Sprintf(
			"ClusterVersion %q has no Completed entry in status.history and no status.desired.version, so the OpenShift version is unknown: "+
				"wait for the installation or update to complete (oc get clusterversion)", ClusterVersionName)}}
	}
	r.OpenShiftVersion = raw
	v, err := ParseVersion(raw)
	if err != nil {
		return []Reason{{ReasonVersionUnparsable, fmt.Sprintf(
			"ClusterVersion %q reports version %q, which is not a version like 4.20.1: check status.history and status.desired of the ClusterVersion (%v)",
			ClusterVersionName, raw, err)}}
	}
	entry := FeatureGateEntry(in.FeatureGate, raw)
	r.FeatureGates = GateStates(entry, v)
	if !v.AtLeast(4, 19) {
		return []Reason{{ReasonOpenShiftTooOld, fmt.Sprintf(
			"OpenShift %s does not support pod user namespaces: upgrade to OpenShift 4.20 or newer "+
				"(4.19 works only with TechPreviewNoUpgrade or CustomNoUpgrade)", raw)}}
	}
	missing := notEnabled(r.FeatureGates)
	if len(missing) == 0 {
		return nil
	}
	switch {
	case in.FeatureGate == nil:
		return []Reason{{ReasonFeatureGateMissing, fmt.Sprintf(
			"FeatureGate %q does not exist, so %s cannot be confirmed enabled on OpenShift %s: "+
				"check the cluster's config operator (oc get featuregate cluster)", FeatureGateName, strings.Join(missing, ", "), raw)}}
	case entry == nil:
		return []Reason{{ReasonFeatureGateVersionMissing, fmt.Sprintf(
			"FeatureGate %q lists no gates for version %s (it lists %s), so %s cannot be confirmed enabled: "+
				"wait until the cluster finishes updating and status.featureGates includes %s",
			FeatureGateName, raw, listedVersions(in.FeatureGate), strings.Join(missing, ", "), raw)}}
	}
	return []Reason{{ReasonFeatureGatesNotEnabled, gatesMessage(raw, v, r.FeatureSet, missing, r.FeatureGates)}}
}

// gatesMessage says how to enable the missing gates for the feature set.
func gatesMessage(raw string, v Version, featureSet string, missing []string, states map[string]GateState) string {
	prefix := fmt.Sprintf("OpenShift %s with featureSet %s: ", raw, featureSet)
	switch {
	case featureSet == string(configv1.CustomNoUpgrade):
		var disabled []string
		for _, g := range missing {
			if states[g] == GateDisabled {
				disabled = append(disabled, g)
			}
		}
		msg := prefix + fmt.Sprintf("%s not enabled: add %s to spec.customNoUpgrade.enabled of FeatureGate %q",
			gateNoun(missing), strings.Join(missing, ", "), FeatureGateName)
		if len(disabled) > 0 {
			msg += fmt.Sprintf(" and remove %s from spec.customNoUpgrade.disabled", strings.Join(disabled, ", "))
		}
		return msg
	case !v.AtLeast(4, 20) && featureSet != string(configv1.TechPreviewNoUpgrade):
		return prefix + "enable TechPreviewNoUpgrade or CustomNoUpgrade with " + strings.Join(RequiredGates(), ", ") +
			" (neither can be undone and both block upgrades), or upgrade to OpenShift 4.20 or newer"
	default:
		return prefix + fmt.Sprintf("%s not enabled in the status of FeatureGate %q for this version: "+
			"check spec.featureSet and the config operator (oc get featuregate cluster -o yaml)", gateNoun(missing), FeatureGateName)
	}
}

func gateNoun(gates []string) string {
	if len(gates) == 1 {
		return "feature gate " + gates[0] + " is"
	}
	return "feature gates " + strings.Join(gates, ", ") + " are"
}

func listedVersions(fg *configv1.FeatureGate) string {
	var vs []string
	for _, e := range fg.Status.FeatureGates {
		vs = append(vs, fmt.Sprintf("%q", e.Version))
	}
	if len(vs) == 0 {
		return "none"
	}
	return strings.Join(vs, ", ")
}

// CountNodes counts the nodes whose default runtime handler (name "")
// reports user namespace support.
func CountNodes(nodes []corev1.Node) NodeCounts {
	c := NodeCounts{Total: len(nodes)}
	for i := range nodes {
		for _, h := range nodes[i].Status.RuntimeHandlers {
			if h.Name == "" && h.Features != nil && h.Features.UserNamespaces != nil && *h.Features.UserNamespaces {
				c.UserNamespaces++
				break
			}
		}
	}
	return c
}

func nodeFindings(c NodeCounts) []Reason {
	if c.UserNamespaces > 0 {
		return nil
	}
	msg := "the cluster lists no nodes, so no workspace pod can start: add worker nodes"
	if c.Total > 0 {
		msg = fmt.Sprintf("none of the %d nodes reports user namespace support "+
			"(status.runtimeHandlers, default handler, features.userNamespaces), so workspace pods with hostUsers: false cannot start: "+
			"run nodes whose kubelet and CRI-O support user namespaces (OpenShift 4.19 or newer)", c.Total)
	}
	return []Reason{{ReasonNoUserNamespaceNodes, msg}}
}

// DevWorkspaceFromCRD reads what the DevWorkspaceOperatorConfig CRD (nil:
// absent) offers: hostUsers in config.workspace of any served version.
func DevWorkspaceFromCRD(crd *apiextensionsv1.CustomResourceDefinition) DevWorkspaceSupport {
	if crd == nil {
		return DevWorkspaceSupport{}
	}
	s := DevWorkspaceSupport{Installed: true}
	for _, v := range crd.Spec.Versions {
		if v.Served && hasProperty(v.Schema, "config", "workspace", "hostUsers") {
			s.HostUsersSupported = true
		}
	}
	return s
}

func devWorkspaceFindings(s DevWorkspaceSupport) []Reason {
	switch {
	case !s.Installed:
		return []Reason{{ReasonDevWorkspaceOperatorMissing, fmt.Sprintf(
			"DevWorkspace Operator not installed (no CRD %s): install OpenShift Dev Spaces or the DevWorkspace Operator 0.37 or newer", DWOConfigCRDName)}}
	case !s.HostUsersSupported:
		return []Reason{{ReasonDevWorkspaceOperatorTooOld, fmt.Sprintf(
			"DevWorkspace Operator 0.37 or newer required: the installed one's %s CRD has no config.workspace.hostUsers; upgrade it", DWOConfigCRDName)}}
	}
	return nil
}

// SCCFromCRD reads whether the SCC CRD (nil: absent or unreadable) keeps
// userNamespaceLevel.
func SCCFromCRD(crd *apiextensionsv1.CustomResourceDefinition) SCCSupport {
	if crd == nil {
		return SCCSupport{}
	}
	has := false
	for _, v := range crd.Spec.Versions {
		if v.Served && hasProperty(v.Schema, "userNamespaceLevel") {
			has = true
		}
	}
	return SCCSupport{UserNamespaceLevelInSchema: &has}
}

// hasProperty walks nested object properties of a CRD version's schema.
func hasProperty(v *apiextensionsv1.CustomResourceValidation, path ...string) bool {
	if v == nil || v.OpenAPIV3Schema == nil {
		return false
	}
	props := v.OpenAPIV3Schema.Properties
	for i, name := range path {
		p, ok := props[name]
		if !ok {
			return false
		}
		if i == len(path)-1 {
			return true
		}
		props = p.Properties
	}
	return false
}
