package localcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	securityv1 "github.com/openshift/api/security/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The feature gates nested workspaces need, as OpenShift names them.
const (
	GateUserNamespacesSupport              configv1.FeatureGateName = "UserNamespacesSupport"
	GateUserNamespacesPodSecurityStandards configv1.FeatureGateName = "UserNamespacesPodSecurityStandards"
	GateProcMountType                      configv1.FeatureGateName = "ProcMountType"
)

// Scenario describes the OpenShift release a local cluster should look like.
type Scenario struct {
	Name string
	// OpenShift false means plain Kubernetes: config.openshift.io is not
	// served. Start the cluster without Options.OpenShift for it.
	OpenShift bool
	// Version is written to ClusterVersion status.history (Completed) and
	// status.desired, and to the FeatureGate status entry.
	Version    string
	FeatureSet configv1.FeatureSet
	// Enabled and Disabled are the gates listed in FeatureGate
	// status.featureGates for Version. A gate in neither list is absent.
	Enabled, Disabled []configv1.FeatureGateName
	// SCCWithoutUserNamespaceLevel makes the SCC CRD prune
	// userNamespaceLevel, as the 4.19 Default (and older) CRD does.
	SCCWithoutUserNamespaceLevel bool
	// Nodes is the number of nodes whose runtime reports user namespace
	// support; NodesWithoutUserNamespaces the number whose runtime does not.
	Nodes, NodesWithoutUserNamespaces int
	// ReleaseSCCs are the files of openshift/releases with the SCCs (and
	// their RBAC) the release ships beside the ten every release has, as
	// that z-stream shipped them.
	ReleaseSCCs []string
	// ImageVolumes: every default SCC allows the image volume type
	// (release-4.20 from 2026-02-05, release-4.21 from 2026-02-04, 4.22 on).
	ImageVolumes bool
}

var nestedGates = []configv1.FeatureGateName{GateUserNamespacesSupport, GateUserNamespacesPodSecurityStandards, GateProcMountType}

// Otherwise-unrelated gates listed so the FeatureGate looks like a real one.
var backgroundEnabled = []configv1.FeatureGateName{"AdminNetworkPolicy", "NetworkLiveMigration"}
var backgroundDisabled = []configv1.FeatureGateName{"Example", "GatewayAPI"}

func gates(names ...configv1.FeatureGateName) []configv1.FeatureGateName { return names }

// The clusters the tests and the demo simulate, each with the default SCCs
// its z-stream shipped (openshift/cluster-kube-apiserver-operator,
// bindata/bootkube/scc-manifests on the release branch, read 2026-12-06;
// the files in openshift/releases say which commit each shape comes from).
// Where the z-stream number that first carried a fix could not be read
// from the sources here, the scenario is a nightly of the release branch
// built after the fix merged, and its version says so.
var (
	OCP418 = Scenario{Name: "4.18", OpenShift: true, Version: "4.18.20", FeatureSet: configv1.Default,
		Disabled: nestedGates, SCCWithoutUserNamespaceLevel: true, Nodes: 3}
	OCP419Default = Scenario{Name: "4.19-default", OpenShift: true, Version: "4.19.3", FeatureSet: configv1.Default,
		Disabled: nestedGates, SCCWithoutUserNamespaceLevel: true, Nodes: 3, ReleaseSCCs: []string{HostmountAnyUIDV2}}
	// OCP419TechPreview: the gates on by featureSet; no nested-container yet.
	OCP419TechPreview = Scenario{Name: "4.19.3-techpreview", OpenShift: true, Version: "4.19.3", FeatureSet: configv1.TechPreviewNoUpgrade,
		Enabled: nestedGates, Nodes: 3, ReleaseSCCs: []string{HostmountAnyUIDV2}}
	OCP419CustomTwoGates = Scenario{Name: "4.19-custom-two-gates", OpenShift: true, Version: "4.19.3", FeatureSet: configv1.CustomNoUpgrade,
		Enabled: gates(GateUserNamespacesSupport, GateUserNamespacesPodSecurityStandards), Disabled: gates(GateProcMountType), Nodes: 3,
		ReleaseSCCs: []string{HostmountAnyUIDV2}}
	// OCP4201: nested-container and restricted-v3 without a UID range (the
	// API drops the `ranges` key they shipped with), restricted-v3 granted
	// to no one.
	OCP4201 = Scenario{Name: "4.20.1", OpenShift: true, Version: "4.20.1", FeatureSet: configv1.Default,
		Enabled: nestedGates, Nodes: 3, ReleaseSCCs: []string{HostmountAnyUIDV2, RestrictedV3As4200, NestedContainerAs4200}}
	// OCP420: release-4.20 after nested-container's fix (2026-08-10,
	// OCPBUGS-98555), with restricted-v3 fixed and granted and the image
	// volume type.
	OCP420 = Scenario{Name: "4.20-after-OCPBUGS-98555", OpenShift: true, Version: "4.20.0-0.nightly-2026-08-11-041521", FeatureSet: configv1.Default,
		Enabled: nestedGates, Nodes: 3, ReleaseSCCs: []string{HostmountAnyUIDV2, RestrictedV3, NestedContainer}, ImageVolumes: true}
	// OCP4210: restricted-v3 fixed and granted, nested-container still
	// without a UID range (fixed on release-4.21 on 2026-07-13).
	OCP4210 = Scenario{Name: "4.21.0", OpenShift: true, Version: "4.21.0", FeatureSet: configv1.Default,
		Enabled: nestedGates, Nodes: 3, ReleaseSCCs: []string{HostmountAnyUIDV2, RestrictedV3, NestedContainerAs4200}, ImageVolumes: true}
	// OCP422: ProcMountType is GA and gone from the FeatureGate.
	OCP422 = Scenario{Name: "4.22.0", OpenShift: true, Version: "4.22.0", FeatureSet: configv1.Default,
		Enabled: gates(GateUserNamespacesSupport, GateUserNamespacesPodSecurityStandards), Nodes: 3,
		ReleaseSCCs: []string{HostmountAnyUIDV2, RestrictedV3, NestedContainer}, ImageVolumes: true}
	// OCP423: the user namespace gates are GA and gone too.
	OCP423 = Scenario{Name: "4.23.0", OpenShift: true, Version: "4.23.0", FeatureSet: configv1.Default,
		Nodes: 3, ReleaseSCCs: []string{HostmountAnyUIDV2, RestrictedV3, NestedContainer}, ImageVolumes: true}
	Kubernetes = Scenario{Name: "kubernetes", OpenShift: false, Nodes: 1}
)

// Scenarios lists every predefined scenario.
func Scenarios() []Scenario {
	return []Scenario{OCP418, OCP419Default, OCP419TechPreview, OCP419CustomTwoGates, OCP4201, OCP420, OCP4210, OCP422, OCP423, Kubernetes}
}

// FieldReleases are the releases clusters run that can do nested
// containers, each z-stream shape once: what e2e proves the operator on.
func FieldReleases() []Scenario {
	return []Scenario{OCP419TechPreview, OCP4201, OCP420, OCP4210, OCP422, OCP423}
}

// Simulate makes the cluster look like the scenario: it writes the
// ClusterVersion and FeatureGate, shapes the SCC CRD, and replaces the nodes.
// It can be called again with another OpenShift scenario on the same cluster.
func (c *Cluster) Simulate(ctx context.Context, s Scenario) error {
	served, err := c.servesOpenShiftConfig(ctx)
	if err != nil {
		return err
	}
	if s.OpenShift != served {
		return fmt.Errorf("scenario %s needs a cluster started with Options.OpenShift=%t", s.Name, s.OpenShift)
	}
	if s.OpenShift {
		if err := c.shapeSCCCRD(ctx, !s.SCCWithoutUserNamespaceLevel); err != nil {
			return err
		}
		if err := c.installDefaultSCCs(ctx, s); err != nil {
			return err
		}
		if err := c.writeClusterVersion(ctx, s.Version); err != nil {
			return err
		}
		if err := c.writeFeatureGate(ctx, s); err != nil {
			return err
		}
	}
	return c.SetNodes(ctx, s.Nodes, s.NodesWithoutUserNamespaces)
}

// Minor is the OpenShift minor version, e.g. 20 for 4.20.1; 0 when the
// scenario is not OpenShift.
func (s Scenario) Minor() int {
	var major, minor int
	if _, err := fmt.Sscanf(s.Version, "%d.%d", &major, &minor); err != nil {
		return 0
	}
	return minor
}

func (c *Cluster) servesOpenShiftConfig(ctx context.Context) (bool, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	err := c.Client.Get(ctx, client.ObjectKey{Name: "clusterversions.config.openshift.io"}, crd)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func (c *Cluster) writeClusterVersion(ctx context.Context, version string) error {
	cv := &configv1.ClusterVersion{ObjectMeta: metav1.ObjectMeta{Name: "version"}}
	if err := c.Client.Get(ctx, client.ObjectKeyFromObject(cv), cv); apierrors.IsNotFound(err) {
		cv.Spec = configv1.ClusterVersionSpec{ClusterID: "0a6b8c3e-4f2d-4f0b-9d3c-1f5e8a7b6c5d", Channel: "stable-" + majorMinor(version)}
		if err := c.Client.Create(ctx, cv); err != nil {
			return fmt.Errorf("create ClusterVersion: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("get ClusterVersion: %w", err)
	}
	now := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	image := "quay.io/openshift-release-dev/ocp-release@sha256:" + fmt.Sprintf("%064x", len(version))
	cv.Status = configv1.ClusterVersionStatus{
		Desired:            configv1.Release{Version: version, Image: image},
		ObservedGeneration: cv.Generation,
		VersionHash:        "simulated",
		AvailableUpdates:   nil,
		History: []configv1.UpdateHistory{{
			State: configv1.CompletedUpdate, Version: version, Image: image,
			StartedTime: now, CompletionTime: &now, Verified: true,
		}},
	}
	if err := c.Client.Status().Update(ctx, cv); err != nil {
		return fmt.Errorf("write ClusterVersion status: %w", err)
	}
	return nil
}

func (c *Cluster) writeFeatureGate(ctx context.Context, s Scenario) error {
	fg := &configv1.FeatureGate{ObjectMeta: metav1.ObjectMeta{Name: "cluster"}}
	err := c.Client.Get(ctx, client.ObjectKeyFromObject(fg), fg)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("get FeatureGate: %w", err)
	}
	if err == nil {
		// OpenShift forbids leaving TechPreviewNoUpgrade/CustomNoUpgrade by
		// update (CEL on the CRD); a simulated cluster switches release by
		// replacing the object.
		if err := c.Client.Delete(ctx, fg); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("replace FeatureGate: %w", err)
		}
	}
	fg = &configv1.FeatureGate{ObjectMeta: metav1.ObjectMeta{Name: "cluster"}}
	fg.Spec.FeatureSet = s.FeatureSet
	if s.FeatureSet == configv1.CustomNoUpgrade {
		fg.Spec.CustomNoUpgrade = &configv1.CustomFeatureGates{Enabled: s.Enabled, Disabled: s.Disabled}
	}
	if err := createFresh(ctx, c.Client, fg); err != nil {
		return fmt.Errorf("create FeatureGate: %w", err)
	}
	fg.Status = configv1.FeatureGateStatus{FeatureGates: []configv1.FeatureGateDetails{{
		Version:  s.Version,
		Enabled:  attributes(append(append([]configv1.FeatureGateName{}, backgroundEnabled...), s.Enabled...)),
		Disabled: attributes(append(append([]configv1.FeatureGateName{}, backgroundDisabled...), s.Disabled...)),
	}}}
	if err := c.Client.Status().Update(ctx, fg); err != nil {
		return fmt.Errorf("write FeatureGate status: %w", err)
	}
	return nil
}

func attributes(names []configv1.FeatureGateName) []configv1.FeatureGateAttributes {
	out := make([]configv1.FeatureGateAttributes, 0, len(names))
	for _, n := range names {
		out = append(out, configv1.FeatureGateAttributes{Name: n})
	}
	return out
}

func majorMinor(v string) string {
	dots := 0
	for i, r := range v {
		if r == '.' {
			dots++
			if dots == 2 {
				return v[:i]
			}
		}
	}
	return v
}

// shapeSCCCRD adds or removes userNamespaceLevel from the SCC CRD schema and
// waits until the API server applies the change (it then prunes the field
// from SCCs written while it is absent, as a 4.19 Default cluster does).
func (c *Cluster) shapeSCCCRD(ctx context.Context, withUserNamespaceLevel bool) error {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Client.Get(ctx, client.ObjectKey{Name: SCCCRDName}, crd); err != nil {
		return fmt.Errorf("get SCC CRD: %w", err)
	}
	props := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties
	_, has := props["userNamespaceLevel"]
	if has == withUserNamespaceLevel {
		return nil
	}
	if withUserNamespaceLevel {
		props["userNamespaceLevel"] = apiextensionsv1.JSONSchemaProps{
			Type:        "string",
			Default:     &apiextensionsv1.JSON{Raw: []byte(`"AllowHostLevel"`)},
			Enum:        []apiextensionsv1.JSON{{Raw: []byte(`"AllowHostLevel"`)}, {Raw: []byte(`"RequirePodLevel"`)}},
			Description: "userNamespaceLevel determines if the policy allows host users in containers.",
		}
	} else {
		delete(props, "userNamespaceLevel")
	}
	crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties = props
	if err := c.Client.Update(ctx, crd); err != nil {
		return fmt.Errorf("update SCC CRD schema: %w", err)
	}
	if err := waitForCRDEstablished(ctx, c.Client, SCCCRDName); err != nil {
		return err
	}
	return c.waitForUserNamespaceLevel(ctx, withUserNamespaceLevel)
}

// waitForUserNamespaceLevel waits until the API server applies the SCC
// schema change (asynchronously, after Established): a dry-run SCC keeps
// userNamespaceLevel exactly when kept is true.
func (c *Cluster) waitForUserNamespaceLevel(ctx context.Context, kept bool) error {
	var got bool
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		probe := &securityv1.SecurityContextConstraints{
			ObjectMeta:         metav1.ObjectMeta{Name: "localcluster-schema-probe"},
			UserNamespaceLevel: securityv1.NamespaceLevelRequirePod,
			RunAsUser:          securityv1.RunAsUserStrategyOptions{Type: securityv1.RunAsUserStrategyMustRunAsRange},
			SELinuxContext:     securityv1.SELinuxContextStrategyOptions{Type: securityv1.SELinuxStrategyMustRunAs},
			FSGroup:            securityv1.FSGroupStrategyOptions{Type: securityv1.FSGroupStrategyMustRunAs},
			SupplementalGroups: securityv1.SupplementalGroupsStrategyOptions{Type: securityv1.SupplementalGroupsStrategyRunAsAny},
		}
		if err := c.Client.Create(ctx, probe, client.DryRunAll); err != nil {
			return false, nil
		}
		got = probe.UserNamespaceLevel == securityv1.NamespaceLevelRequirePod
		return got == kept, nil
	})
	if err != nil {
		return fmt.Errorf("the SCC schema change did not take effect (userNamespaceLevel kept=%t, want %t): %w", got, kept, err)
	}
	return nil
}

func waitForCRDEstablished(ctx context.Context, cl client.Client, name string) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := cl.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return false, err
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if wait.Interrupted(err) && ctx.Err() == nil {
		return fmt.Errorf("CRD %s not established after 30s", name)
	}
	return err
}

// NodeLabel marks nodes created by SetNodes.
const NodeLabel = "localcluster.nested-workspaces.io/simulated"

// SetNodes makes the simulated nodes withUserNS nodes whose default
// runtime handler reports user namespace support and without nodes that do
// not. Nodes that stay keep their pods; extra ones are deleted.
func (c *Cluster) SetNodes(ctx context.Context, withUserNS, without int) error {
	want := map[string]bool{}
	for i := 0; i < withUserNS+without; i++ {
		name := fmt.Sprintf("worker-%d", i)
		want[name] = true
		if err := c.writeNode(ctx, name, i < withUserNS); err != nil {
			return err
		}
	}
	nodes := &corev1.NodeList{}
	if err := c.Client.List(ctx, nodes, client.MatchingLabels{NodeLabel: "true"}); err != nil {
		return fmt.Errorf("list simulated nodes: %w", err)
	}
	for i := range nodes.Items {
		if n := &nodes.Items[i]; !want[n.Name] {
			if err := client.IgnoreNotFound(c.Client.Delete(ctx, n)); err != nil {
				return fmt.Errorf("delete simulated node %s: %w", n.Name, err)
			}
		}
	}
	return nil
}

func (c *Cluster) writeNode(ctx context.Context, name string, userNS bool) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		NodeLabel: "true", "node-role.kubernetes.io/worker": "",
	}}}
	existing := &corev1.Node{}
	err := c.Client.Get(ctx, client.ObjectKeyFromObject(node), existing)
	switch {
	case err == nil && existing.DeletionTimestamp.IsZero():
		node = existing
	case err == nil || apierrors.IsNotFound(err):
		if err := createFresh(ctx, c.Client, node); err != nil {
			return fmt.Errorf("create node %s: %w", name, err)
		}
	default:
		return fmt.Errorf("get node %s: %w", name, err)
	}
	status := corev1.NodeStatus{
		Phase:       corev1.NodeRunning,
		Capacity:    nodeResources,
		Allocatable: nodeResources,
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
			LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(), Reason: "KubeletReady"}},
		NodeInfo: corev1.NodeSystemInfo{ContainerRuntimeVersion: "cri-o://1.33.2", KubeletVersion: "v" + KubernetesVersion,
			OperatingSystem: "linux", Architecture: "amd64", KernelVersion: "5.14.0-570.el9.x86_64"},
		RuntimeHandlers: []corev1.NodeRuntimeHandler{
			{Name: "", Features: &corev1.NodeRuntimeHandlerFeatures{UserNamespaces: ptr.To(userNS), RecursiveReadOnlyMounts: ptr.To(true)}},
			{Name: "runc", Features: &corev1.NodeRuntimeHandlerFeatures{UserNamespaces: ptr.To(userNS), RecursiveReadOnlyMounts: ptr.To(true)}},
		},
	}
	// kwok heartbeats the node too: a merge patch of the status never
	// conflicts with it.
	patch, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	if err := c.Client.Status().Patch(ctx, node, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("write node %s status: %w", name, err)
	}
	return nil
}

// PodsPerNode is how many pods each simulated node takes.
const PodsPerNode = 500

// nodeResources is what each simulated node offers the scheduler.
var nodeResources = corev1.ResourceList{
	corev1.ResourceCPU:    resource.MustParse("32"),
	corev1.ResourceMemory: resource.MustParse("256Gi"),
	corev1.ResourcePods:   *resource.NewQuantity(PodsPerNode, resource.DecimalSI),
}

// createFresh creates obj, waiting out a deletion of the same name.
func createFresh(ctx context.Context, cl client.Client, obj client.Object) error {
	var err error
	pollErr := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		err = cl.Create(ctx, obj)
		return err == nil || !apierrors.IsAlreadyExists(err), nil
	})
	if pollErr != nil && !wait.Interrupted(pollErr) {
		return pollErr
	}
	return err
}
