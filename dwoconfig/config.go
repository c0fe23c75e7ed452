package dwoconfig

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/nested-workspaces/enabler/detect"
	"github.com/nested-workspaces/enabler/internal/bounded"
	"github.com/nested-workspaces/enabler/owned"
)

// DevWorkspaceOperatorConfigs: read all (Che's and others' may override
// ours), create and apply to the global one only.
// +kubebuilder:rbac:groups=controller.devfile.io,resources=devworkspaceoperatorconfigs,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=controller.devfile.io,resources=devworkspaceoperatorconfigs,resourceNames=devworkspace-operator-config,verbs=patch;update

// The global DevWorkspaceOperatorConfig, and the annotations we give pods.
const (
	Name                  = "devworkspace-operator-config"
	DevicesAnnotation     = "io.kubernetes.cri-o.Devices"
	RequiredSCCAnnotation = "openshift.io/required-scc"
)

// GVK is the DevWorkspaceOperatorConfig kind.
var GVK = detect.DWOConfigGVK

// WorkspaceSettings is what a nested-capable workspace pod needs.
type WorkspaceSettings struct {
	SCCName string
	// RunAsUser is the pod's UID, set explicitly: an SCC whose runAsUser is
	// a range starting at 0 (OpenShift's nested-container) would otherwise
	// give the pod UID 0, which DWO's runAsNonRoot refuses to start.
	RunAsUser    int64
	Capabilities []string // normalised: SETUID, SETGID[, CHOWN]
	Devices      []string // /dev/fuse, /dev/net/tun
}

// ourConfigPaths are the field paths under .config.workspace that we own.
var ourConfigPaths = [][]string{
	{"hostUsers"},
	{"podSecurityContext", "runAsUser"},
	{"containerSecurityContext", "allowPrivilegeEscalation"},
	{"containerSecurityContext", "procMount"},
	{"containerSecurityContext", "capabilities", "add"},
}

// Desired is the apply configuration for the global
// DevWorkspaceOperatorConfig: exactly the fields nested workspaces need.
// hostUsers false is always applied together with the capabilities, so no
// workspace gets SETUID/SETGID from us outside a pod user namespace.
func Desired(namespace string, s WorkspaceSettings) *unstructured.Unstructured {
	u := empty(namespace)
	caps := make([]any, 0, len(s.Capabilities))
	for _, c := range s.Capabilities {
		caps = append(caps, c)
	}
	u.Object["config"] = map[string]any{
		"workspace": map[string]any{
			"hostUsers": false,
			// DWO merges this over its own pod security context (strategic
			// merge), keeping what it sets there.
			"podSecurityContext": map[string]any{"runAsUser": s.RunAsUser},
			"containerSecurityContext": map[string]any{
				"allowPrivilegeEscalation": true,
				"procMount":                "Unmasked",
				"capabilities":             map[string]any{"add": caps},
			},
			"podAnnotations": map[string]any{
				DevicesAnnotation:     strings.Join(s.Devices, ","),
				RequiredSCCAnnotation: s.SCCName,
			},
		},
	}
	return u
}

// empty, applied under our field manager, releases every field we own and
// leaves the rest of the object to its other managers.
func empty(namespace string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(GVK)
	u.SetName(Name)
	u.SetNamespace(namespace)
	return u
}

// inStep reports whether current already carries the desired values under
// our field manager, so that applying would change nothing.
func inStep(current, desired *unstructured.Unstructured) bool {
	return current != nil && managedBy(current, owned.FieldManager) && len(differingFields(current, desired, true)) == 0
}

// fieldValue is one of our fields as cfg has it.
type fieldValue struct{ field, value string }

// differingFields lists our fields (paths under config.workspace, then
// pod annotations by key) whose value in cfg is not the desired one. A field
// cfg does not set counts only when absentDiffers.
func differingFields(cfg, desired *unstructured.Unstructured, absentDiffers bool) []fieldValue {
	var out []fieldValue
	for _, p := range ourConfigPaths {
		path := append([]string{"config", "workspace"}, p...)
		got, found, _ := unstructured.NestedFieldNoCopy(cfg.Object, path...)
		if !found && !absentDiffers {
			continue
		}
		want, _, _ := unstructured.NestedFieldNoCopy(desired.Object, path...)
		// Another configuration adding more capabilities than ours (Dev
		// Spaces' container run adds CHOWN) does not contradict nested
		// containers; one adding fewer does.
		if !absentDiffers && p[len(p)-1] == "add" && containsAll(normaliseJSON(got), normaliseJSON(want)) {
			continue
		}
		if !reflect.DeepEqual(normaliseJSON(want), normaliseJSON(got)) {
			out = append(out, fieldValue{strings.Join(p, "."), fmt.Sprint(got)})
		}
	}
	gotAnn, _, _ := unstructured.NestedStringMap(cfg.Object, "config", "workspace", "podAnnotations")
	wantAnn, _, _ := unstructured.NestedStringMap(desired.Object, "config", "workspace", "podAnnotations")
	keys := make([]string, 0, len(wantAnn))
	for k := range wantAnn {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := gotAnn[k]
		if (ok || absentDiffers) && v != wantAnn[k] {
			out = append(out, fieldValue{"podAnnotations." + k, v})
		}
	}
	return out
}

func managedBy(obj *unstructured.Unstructured, manager string) bool {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager == manager && mf.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

func normaliseJSON(v any) any {
	if l, ok := v.([]any); ok {
		out := make([]string, 0, len(l))
		for _, e := range l {
			out = append(out, fmt.Sprint(e))
		}
		sort.Strings(out)
		return out
	}
	return v
}

// Override is a DevWorkspaceOperatorConfig other than the global one that
// sets one of our fields differently. DWO merges such an external
// configuration (e.g. Che's devworkspace-config) over the global one for
// the workspaces that reference it, so it can undo what we configure.
// Namespace editors may create DevWorkspaceOperatorConfigs: every string
// here may be a tenant's, and Value is cut to MaxValueLength.
type Override struct {
	Namespace, Name, Field, Value string
}

// MaxValueLength bounds an Override's Value (tenant text).
const MaxValueLength = 64

// String names the object and field, with the value quoted.
func (o Override) String() string {
	return fmt.Sprintf("%s/%s sets config.workspace.%s=%q", o.Namespace, o.Name, o.Field, o.Value)
}

// FindOverrides lists the fields of other DWOCs that contradict desired.
func FindOverrides(configs []unstructured.Unstructured, globalNamespace string, desired *unstructured.Unstructured) []Override {
	var out []Override
	for i := range configs {
		cfg := &configs[i]
		if cfg.GetName() == Name && cfg.GetNamespace() == globalNamespace {
			continue
		}
		for _, d := range differingFields(cfg, desired, false) {
			out = append(out, Override{Namespace: cfg.GetNamespace(), Name: cfg.GetName(), Field: d.field, Value: bounded.Cut(d.value, MaxValueLength)})
		}
	}
	return out
}

// containsAll tells whether the normalised list have holds every entry of
// the normalised list want.
func containsAll(have, want any) bool {
	h, ok1 := have.([]string)
	w, ok2 := want.([]string)
	if !ok1 || !ok2 {
		return false
	}
	for _, x := range w {
		if !slices.Contains(h, x) {
			return false
		}
	}
	return true
}
