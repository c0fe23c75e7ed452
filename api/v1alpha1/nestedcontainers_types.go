package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ClusterName is the only name a NestedContainers object may have.
const ClusterName = "cluster"

// DefaultSCCName is the SCC the operator creates when OpenShift's own
// nested-container SCC is not used.
const DefaultSCCName = "nested-podman"

// DefaultRunAsUser is the UID workspace containers run as. It leaves UIDs on
// both sides of it free in the pod's 65536-ID user namespace for the
// subordinate IDs nested containers map.
const DefaultRunAsUser int64 = 1000

// Capabilities a workspace container may be given, in canonical form.
const (
	CapabilitySetUID = "SETUID"
	CapabilitySetGID = "SETGID"
	CapabilityChown  = "CHOWN"
)

// Devices CRI-O may hand to a workspace container.
const (
	DeviceFuse   = "/dev/fuse"
	DeviceNetTun = "/dev/net/tun"
)

// BuiltInMode says whether OpenShift's own nested-container SCC is used
// when the cluster has it.
// +kubebuilder:validation:Enum=Auto;Never
type BuiltInMode string

const (
	// BuiltInAuto uses OpenShift's nested-container SCC on 4.20 and newer,
	// and creates the operator's own SCC, nested-podman, elsewhere.
	BuiltInAuto BuiltInMode = "Auto"
	// BuiltInNever always creates and uses nested-podman.
	BuiltInNever BuiltInMode = "Never"
)

// Condition types of NestedContainers.
const (
	// ConditionSupported is True when the cluster can run nested containers
	// (OpenShift version, feature gates, nodes).
	ConditionSupported = "Supported"
	// ConditionReady is True when new and restarted workspaces are made
	// nested-capable.
	ConditionReady = "Ready"
	// ConditionDegraded is True when something works less well than it
	// should; the message says what to do.
	ConditionDegraded = "Degraded"
)

// Condition reasons. Each names a situation an admin can act on; the
// condition message says how.
const (
	// Supported.
	ReasonClusterSupported   = "ClusterSupported"
	ReasonClusterUnsupported = "ClusterUnsupported"

	// Ready.
	ReasonConfigured               = "Configured"
	ReasonDisabled                 = "Disabled"
	ReasonDetectionFailed          = "DetectionFailed"
	ReasonApplyFailed              = "ApplyFailed"
	ReasonSCCNotOwned              = "SCCNotOwned"
	ReasonUserNamespaceLevelPruned = "UserNamespaceLevelPruned"
	ReasonDWOConfigConflict        = "DWOConfigConflict"
	ReasonDevWorkspaceMissing      = "DevWorkspaceMissing"
	ReasonDevWorkspaceTooOld       = "DevWorkspaceTooOld"
	// ReasonCleanupFailed: disabling (or switching SCC) stopped at a step
	// that failed; what was not yet removed is kept so that no workspace is
	// pinned to an SCC it cannot use.
	ReasonCleanupFailed = "CleanupFailed"
	// ReasonKeptLastGood: detection cannot tell right now (e.g. mid-upgrade
	// the FeatureGate has no entry for the new version); the configuration
	// in place is kept rather than torn down.
	ReasonKeptLastGood = "KeptLastGoodConfiguration"

	// Degraded.
	ReasonAsExpected              = "AsExpected"
	ReasonExternalConfigOverrides = "ExternalConfigOverrides"
	// ReasonGrantBlocked: in some namespaces an object of the name the
	// operator's RoleBinding needs exists and is not the operator's; those
	// namespaces are skipped (their workspaces cannot use the SCC), every
	// other namespace is served.
	ReasonGrantBlocked = "GrantBlocked"
	// ReasonDetectionInconclusive goes with ReasonKeptLastGood.
	ReasonDetectionInconclusive = "DetectionInconclusive"
	// ReasonGrantFailed: in some namespaces the RoleBinding that lets
	// workspaces use the SCC could not be written (retried); every other
	// namespace is served.
	ReasonGrantFailed = "GrantFailed"
	// ReasonWorkspacesRefusedBySCC: SCC admission refuses pods of
	// workspaces the operator pinned, which ask for nothing the operator's
	// own SCC would not allow: the pin or the grants are at fault.
	ReasonWorkspacesRefusedBySCC = "WorkspacesRefusedBySCC"
	// ReasonFenceMissing: no admission policy keeps the operator's service
	// account to what the operator itself writes (manifests/policy).
	ReasonFenceMissing = "FenceMissing"
)

// SCCSettings chooses the SecurityContextConstraints workspace pods run
// under. There is no name to set: the operator's RBAC may change and delete
// exactly the SCCs it knows by name (nested-podman, and OpenShift's
// nested-container it only uses), which is what lets OperatorHub's
// validation pass and keeps a stolen operator token from rewriting any
// other SCC.
type SCCSettings struct {
	// builtIn Auto uses OpenShift's own nested-container SCC where the
	// cluster ships it (4.20 and newer) instead of creating one; Never
	// always creates and uses the operator's own SCC, nested-podman.
	// +kubebuilder:default=Auto
	// +optional
	BuiltIn BuiltInMode `json:"builtIn,omitempty"`
}

// NestedContainersSpec is the desired state: whether workspaces are made
// nested-capable, and with what.
type NestedContainersSpec struct {
	// enabled is the feature toggle. When true, new and restarted workspaces
	// get a pod user namespace and what podman needs inside it; when false,
	// everything this operator wrote is removed.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// scc selects the SecurityContextConstraints for workspace pods.
	// +kubebuilder:default={}
	// +optional
	SCC SCCSettings `json:"scc,omitempty"`

	// runAsUser is the UID workspace containers run as. It must lie inside
	// the pod's 65536-ID user namespace and leave room for subordinate IDs.
	// +kubebuilder:default=1000
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	RunAsUser int64 `json:"runAsUser,omitempty"`

	// capabilities added to workspace containers. Allowed: SETUID, SETGID,
	// CHOWN, with or without the CAP_ prefix and in any case ("cap_setuid"
	// means SETUID); duplicates are ignored.
	// +kubebuilder:default={SETUID,SETGID}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=6
	// +kubebuilder:validation:items:MaxLength=16
	// +kubebuilder:validation:items:XValidation:rule="self.upperAscii() in ['SETUID', 'SETGID', 'CHOWN', 'CAP_SETUID', 'CAP_SETGID', 'CAP_CHOWN']",messageExpression="'capability ' + self + ' is not allowed: use SETUID, SETGID or CHOWN (the CAP_ prefix and case do not matter)'"
	// +listType=atomic
	// +optional
	Capabilities []string `json:"capabilities,omitempty"`

	// devices CRI-O hands to workspace containers: /dev/fuse for
	// fuse-overlayfs, /dev/net/tun for rootless networking.
	// +kubebuilder:default={"/dev/fuse","/dev/net/tun"}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:validation:items:Enum="/dev/fuse";"/dev/net/tun"
	// +listType=set
	// +optional
	Devices []string `json:"devices,omitempty"`
}

// ClusterFacts is what detection found out about the cluster.
type ClusterFacts struct {
	// openshiftVersion is the completed OpenShift release, empty on plain
	// Kubernetes.
	// +optional
	OpenShiftVersion string `json:"openshiftVersion,omitempty"`
	// kubernetesVersion is the API server's version.
	// +optional
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// featureSet is the OpenShift FeatureGate featureSet ("" is Default).
	// +optional
	FeatureSet string `json:"featureSet,omitempty"`
	// featureGates are the gates nested containers depend on, and whether
	// each counts as enabled.
	// +optional
	FeatureGates map[string]bool `json:"featureGates,omitempty"`
}

// NodeCounts counts nodes by what their container runtime supports.
type NodeCounts struct {
	// total number of nodes.
	// +optional
	Total int32 `json:"total,omitempty"`
	// userNamespaces is the number of nodes whose default runtime handler
	// reports user namespace support.
	// +optional
	UserNamespaces int32 `json:"userNamespaces,omitempty"`
}

// WorkspaceCounts counts the Deployments of DevWorkspaces (a Deployment
// no DevWorkspace controls is not counted, whatever its labels), and the
// workspaces that fail to start.
type WorkspaceCounts struct {
	// total number of workspace Deployments.
	// +optional
	Total int32 `json:"total,omitempty"`
	// nested is the number already nested-capable.
	// +optional
	Nested int32 `json:"nested,omitempty"`
	// pendingRestart is the number that become nested-capable once
	// restarted.
	// +optional
	PendingRestart int32 `json:"pendingRestart,omitempty"`
	// failing is the number of workspaces that failed to start (their
	// DevWorkspace is Failed, or their pods are refused).
	// +optional
	Failing int32 `json:"failing,omitempty"`
	// failingSample names a few of them, and why; those the operator's own
	// configuration makes fail come first.
	// +kubebuilder:validation:MaxItems=5
	// +listType=atomic
	// +optional
	FailingSample []FailingWorkspace `json:"failingSample,omitempty"`
}

// FailingWorkspace is a workspace that failed to start.
type FailingWorkspace struct {
	// namespace of the DevWorkspace.
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
	// name of the DevWorkspace.
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// cause is SCCRefusedOurConfiguration (SCC admission refused a pod the
	// operator pinned that asks for nothing more than the operator's own
	// SCC allows), SCCRefused (refused for what the workspace itself asks),
	// or Other.
	// +kubebuilder:validation:Enum=SCCRefusedOurConfiguration;SCCRefused;Other
	Cause string `json:"cause"`
	// message is the DevWorkspace's status message, or its Deployment's
	// ReplicaFailure, cut short and quoted: it may hold the workspace
	// owner's text.
	// +kubebuilder:validation:MaxLength=512
	Message string `json:"message"`
}

// Causes of a FailingWorkspace.
const (
	FailureCauseOurConfiguration = "SCCRefusedOurConfiguration"
	FailureCauseSCCRefused       = "SCCRefused"
	FailureCauseOther            = "Other"
)

// SCCStatus names the SCC new workspaces are pinned to.
type SCCStatus struct {
	// name of the SCC; empty while workspaces are not pinned.
	// +optional
	Name string `json:"name,omitempty"`
	// builtIn is true when it is OpenShift's own, used as is.
	// +optional
	BuiltIn bool `json:"builtIn,omitempty"`
	// builtInPassedOver says why OpenShift's nested-container SCC, which
	// the cluster has, is not used with builtIn Auto: the field that keeps
	// it from admitting workspaces, or makes it less safe than the
	// operator's own, and the fix.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	BuiltInPassedOver string `json:"builtInPassedOver,omitempty"`
}

// NestedContainersStatus is what the operator observed and did.
type NestedContainersStatus struct {
	// conditions: Supported, Ready and Degraded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// cluster is what detection found.
	// +optional
	Cluster ClusterFacts `json:"cluster,omitempty"`
	// nodes counts nodes by user namespace support.
	// +optional
	Nodes NodeCounts `json:"nodes,omitempty"`
	// workspaces counts workspace Deployments.
	// +optional
	Workspaces WorkspaceCounts `json:"workspaces,omitempty"`
	// scc is the SCC new workspaces are pinned to.
	// +optional
	SCC SCCStatus `json:"scc,omitempty"`
	// observedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// NestedContainers is the cluster-wide switch for nested containers (podman
// inside Dev Spaces workspaces). Only one may exist, named "cluster".
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=nc
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'cluster'",message="NestedContainers is a singleton: metadata.name must be cluster; create it as `cluster`"
// +kubebuilder:printcolumn:name="Enabled",type=boolean,JSONPath=`.spec.enabled`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="SCC",type=string,JSONPath=`.status.scc.name`
// +kubebuilder:printcolumn:name="OpenShift",type=string,JSONPath=`.status.cluster.openshiftVersion`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Degraded",type=string,JSONPath=`.status.conditions[?(@.type=="Degraded")].status`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Degraded")].reason`,priority=1
// +kubebuilder:printcolumn:name="Pending Restart",type=integer,JSONPath=`.status.workspaces.pendingRestart`,priority=1
type NestedContainers struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state. Every field has a default, so an empty or
	// absent spec is valid and leaves the feature off.
	// +kubebuilder:default={}
	// +optional
	Spec NestedContainersSpec `json:"spec,omitempty"`
	// +optional
	Status NestedContainersStatus `json:"status,omitempty"`
}

// NestedContainersList is a list of NestedContainers.
//
// +kubebuilder:object:root=true
type NestedContainersList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NestedContainers `json:"items"`
}
