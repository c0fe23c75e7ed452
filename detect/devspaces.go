package detect

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Dev Spaces' CheClusters (the operator watches them) and Che's
// DevWorkspaceOperatorConfig (read with all of them, see operator/dwoconfig.go).
// +kubebuilder:rbac:groups=org.eclipse.che,resources=checlusters,verbs=get;list;watch

// Reason codes about OpenShift Dev Spaces. Degraded:
const (
	// ReasonDevSpacesContainerRunUnsupported: a CheCluster has container
	// run on where pods cannot get a user namespace; its workspaces fail to
	// start.
	ReasonDevSpacesContainerRunUnsupported = "DevSpacesContainerRunUnsupported"
	// ReasonDevSpacesConfigContradicts: with container run on, Dev Spaces'
	// own DevWorkspaceOperatorConfig sets a field that takes away what
	// nested containers need.
	ReasonDevSpacesConfigContradicts = "DevSpacesConfigContradicts"
)

// Dev Spaces' (Eclipse Che's) kinds and names, as che-operator 7.111+
// (Dev Spaces 3.25+) has them.
var (
	CheClusterGVK = schema.GroupVersionKind{Group: "org.eclipse.che", Version: "v2", Kind: "CheCluster"}
	// DWOConfigGVK is the DevWorkspace Operator's configuration kind.
	DWOConfigGVK = schema.GroupVersionKind{Group: "controller.devfile.io", Version: "v1alpha1", Kind: "DevWorkspaceOperatorConfig"}
)

const (
	// CheWorkspaceConfigName is the DevWorkspaceOperatorConfig che-operator
	// writes in its CheCluster's namespace; the dashboard points every
	// workspace at it, and DWO merges it over the global one.
	CheWorkspaceConfigName     = "devworkspace-config"
	defaultContainerRunSCC     = "container-run"
	defaultContainerBuildSCC   = "container-build"
	disableContainerRunField   = "disableContainerRunCapabilities"
	disableContainerBuildField = "disableContainerBuildCapabilities"
)

// DevSpaces is what one CheCluster decides about containers in its
// workspaces.
type DevSpaces struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// ContainerRun: spec.devEnvironments.disableContainerRunCapabilities is
	// false. Dev Spaces then makes its own workspaces nested (hostUsers
	// false, procMount Unmasked, SETUID/SETGID/CHOWN) under ContainerRunSCC.
	ContainerRun    bool   `json:"containerRun"`
	ContainerRunSCC string `json:"containerRunSCC"`
	// ContainerBuild: spec.devEnvironments.disableContainerBuildCapabilities
	// is false (its default). Without container run, Dev Spaces' workspaces
	// then get SETUID/SETGID and privilege escalation under
	// ContainerBuildSCC, in the host's user namespace.
	ContainerBuild    bool   `json:"containerBuild"`
	ContainerBuildSCC string `json:"containerBuildSCC"`
	// WorkspaceConfig is "namespace/name" of Che's DevWorkspaceOperatorConfig,
	// empty when it does not exist (yet).
	WorkspaceConfig string `json:"workspaceConfig,omitempty"`
	// Contradictions are fields of that configuration that take away what
	// nested containers need, whoever makes the workspaces nested.
	Contradictions []ConfigField `json:"contradictions,omitempty"`
}

// Key is "namespace/name" of the CheCluster.
func (d DevSpaces) Key() string { return d.Namespace + "/" + d.Name }

// ConfigField is one field under config.workspace of a
// DevWorkspaceOperatorConfig, and why it matters.
type ConfigField struct {
	Field string `json:"field"`
	Value string `json:"value"`
	Why   string `json:"why"`
}

func (f ConfigField) String() string {
	return fmt.Sprintf("config.workspace.%s=%s %s", f.Field, f.Value, f.Why)
}

// ReadDevSpaces lists the CheClusters and reads Che's configuration beside
// each. Dev Spaces not installed is no error: the list is empty. reader may
// be a cache.
func ReadDevSpaces(ctx context.Context, reader client.Reader) ([]DevSpaces, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(CheClusterGVK.GroupVersion().WithKind(CheClusterGVK.Kind + "List"))
	err := reader.List(ctx, list)
	switch {
	case meta.IsNoMatchError(err):
		return nil, nil
	case apierrors.IsForbidden(err):
		return nil, &PermissionError{Verb: "list", Group: CheClusterGVK.Group, Resource: "checlusters", Err: err}
	case err != nil:
		return nil, fmt.Errorf("list CheClusters: %w", err)
	}
	out := make([]DevSpaces, 0, len(list.Items))
	for i := range list.Items {
		cc := &list.Items[i]
		cfg := &unstructured.Unstructured{}
		cfg.SetGroupVersionKind(DWOConfigGVK)
		err := reader.Get(ctx, client.ObjectKey{Namespace: cc.GetNamespace(), Name: CheWorkspaceConfigName}, cfg)
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			cfg = nil
		case apierrors.IsForbidden(err):
			return nil, &PermissionError{Verb: "get", Group: DWOConfigGVK.Group, Resource: "devworkspaceoperatorconfigs", Name: CheWorkspaceConfigName, Err: err}
		case err != nil:
			return nil, fmt.Errorf("get DevWorkspaceOperatorConfig %s/%s: %w", cc.GetNamespace(), CheWorkspaceConfigName, err)
		}
		out = append(out, DevSpacesFrom(cc, cfg))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, nil
}

// DevSpacesFrom reads a CheCluster and Che's DevWorkspaceOperatorConfig
// (nil when absent), with che-operator's defaults for what is not set.
func DevSpacesFrom(checluster, config *unstructured.Unstructured) DevSpaces {
	env := func(path ...string) []string { return append([]string{"spec", "devEnvironments"}, path...) }
	flag := func(field string, def bool) bool {
		v, found, err := unstructured.NestedBool(checluster.Object, env(field)...)
		if !found || err != nil {
			return def
		}
		return v
	}
	scc := func(config, def string) string {
		v, _, _ := unstructured.NestedString(checluster.Object, env(config, "openShiftSecurityContextConstraint")...)
		if v == "" {
			return def
		}
		return v
	}
	d := DevSpaces{
		Namespace:         checluster.GetNamespace(),
		Name:              checluster.GetName(),
		ContainerRun:      !flag(disableContainerRunField, true),
		ContainerRunSCC:   scc("containerRunConfiguration", defaultContainerRunSCC),
		ContainerBuild:    !flag(disableContainerBuildField, false),
		ContainerBuildSCC: scc("containerBuildConfiguration", defaultContainerBuildSCC),
	}
	if config != nil {
		d.WorkspaceConfig = config.GetNamespace() + "/" + config.GetName()
		d.Contradictions = NestedContradictions(config)
	}
	return d
}

// NestedContradictions lists the fields of a DevWorkspaceOperatorConfig
// that, merged by DWO over a nested-capable configuration, take away what
// nested containers need. DWO merges hostUsers and procMount as values and
// capabilities.add as a whole list, so each of these wins over the global
// configuration for the workspaces that use this one.
func NestedContradictions(config *unstructured.Unstructured) []ConfigField {
	ws := func(path ...string) (any, bool) {
		v, found, err := unstructured.NestedFieldNoCopy(config.Object, append([]string{"config", "workspace"}, path...)...)
		return v, found && err == nil
	}
	var out []ConfigField
	if v, ok := ws("hostUsers"); ok && v == true {
		out = append(out, ConfigField{"hostUsers", "true", "keeps the workspace pods in the node's user namespace, so SETUID and SETGID are refused them"})
	}
	if v, ok := ws("containerSecurityContext", "procMount"); ok && v != "Unmasked" {
		out = append(out, ConfigField{"containerSecurityContext.procMount", fmt.Sprint(v), "masks /proc, which podman needs to mount for its containers"})
	}
	if v, ok := ws("containerSecurityContext", "allowPrivilegeEscalation"); ok && v == false {
		out = append(out, ConfigField{"containerSecurityContext.allowPrivilegeEscalation", "false", "sets no_new_privs, so newuidmap and newgidmap lose the capabilities they need to map the user namespace"})
	}
	if v, ok := ws("containerSecurityContext", "privileged"); ok && v == true {
		out = append(out, ConfigField{"containerSecurityContext.privileged", "true", "is allowed by no nested SCC, so SCC admission rejects the workspace pods"})
	}
	if v, ok := ws("containerSecurityContext", "capabilities", "add"); ok {
		have := map[string]bool{}
		if l, isList := v.([]any); isList {
			for _, c := range l {
				have[strings.TrimPrefix(fmt.Sprint(c), "CAP_")] = true
			}
		}
		var missing []string
		for _, c := range []string{"SETUID", "SETGID"} {
			if !have[c] {
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 {
			out = append(out, ConfigField{"containerSecurityContext.capabilities.add", fmt.Sprint(v),
				"replaces the whole capability list and leaves out " + strings.Join(missing, " and ") + ", which podman needs in the user namespace"})
		}
	}
	return out
}

// AddDevSpaces records the CheClusters in the report, with what is
// degraded because of them: container run on where nested containers
// cannot run, and Che's configuration contradicting its own container run.
// Called again, it replaces what it recorded before.
func (r *Report) AddDevSpaces(cs []DevSpaces) {
	r.DevSpaces = cs
	r.Degraded = slices.DeleteFunc(r.Degraded, func(d Reason) bool {
		return d.Code == ReasonDevSpacesContainerRunUnsupported || d.Code == ReasonDevSpacesConfigContradicts
	})
	cannot := r.Verdict != Supported || (r.Nodes.Total > 0 && r.Nodes.UserNamespaces == 0)
	for _, c := range cs {
		if !c.ContainerRun {
			continue
		}
		if cannot {
			why := r.ReasonsMessage()
			if r.Verdict == Supported {
				why = "no node's container runtime supports user namespaces"
			}
			r.Degraded = append(r.Degraded, Reason{ReasonDevSpacesContainerRunUnsupported, fmt.Sprintf(
				"CheCluster %s has container run on (spec.devEnvironments.%s: false), but this cluster cannot give pods a user namespace (%s): "+
					"its workspaces fail to start; set %s to true in the CheCluster until the cluster supports nested containers",
				c.Key(), disableContainerRunField, why, disableContainerRunField)})
		}
		if len(c.Contradictions) > 0 {
			fields := make([]string, 0, len(c.Contradictions))
			for _, f := range c.Contradictions {
				fields = append(fields, f.String())
			}
			r.Degraded = append(r.Degraded, Reason{ReasonDevSpacesConfigContradicts, fmt.Sprintf(
				"CheCluster %s has container run on, but its DevWorkspaceOperatorConfig %s sets %s: remove the setting from the CheCluster's "+
					"spec.devEnvironments (security or containerRunConfiguration) so that che-operator stops writing it",
				c.Key(), c.WorkspaceConfig, strings.Join(fields, "; "))})
		}
	}
}
