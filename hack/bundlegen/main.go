// Command bundlegen writes the OLM bundle in manifests/bundle/ from the
// kustomize manifests, which stay the single source of truth:
//
//   - manifests/crd/enabler.nested-workspaces.io_nestedcontainers.yaml is
//     copied into the bundle and described under customresourcedefinitions.owned
//     (spec and status descriptors come from the CRD's own descriptions);
//   - manifests/rbac/role.yaml becomes the CSV's clusterPermissions and the
//     Role in manifests/rbac/leader_election_role.yaml its permissions, both
//     for the service account in manifests/rbac/service_account.yaml;
//   - manifests/manager/deployment.yaml becomes the install deployment;
//   - manifests/samples/nestedcontainers.yaml becomes alm-examples and the
//     initialization-resource (decoded strictly into the Go type first);
//   - manifests/manager/namespace.yaml becomes the suggested namespace
//     template (its labels turn on OpenShift's platform monitoring);
//   - the metrics Service, the metrics reader role and manifests/monitoring
//     ship as bundle objects (objects.go).
//
// Only what no input carries (display text, icon, links, version) lives
// here. The output is deterministic: createdAt is a constant, so
// `go run ./hack/bundlegen -out <dir>` reproduces the committed bundle byte
// for byte, which manifests/bundle_test.go checks.
//
// The version and the operator image are the Makefile's VERSION (from the
// VERSION file) and IMAGE: the CSV's version, name, containerImage, install
// Deployment and relatedImages, and the images override of the kustomize
// install (manifests/default/kustomization.yaml, written here too), all
// come from them, so they never disagree. With -image-digest the CSV names
// the image by digest and claims disconnected support; by tag it does not
// (a mirror cannot map a tag), which is what the committed bundle says.
// -arches (the Makefile's ARCHES, which the image build builds) become the
// CSV's operatorframework.io/arch labels.
//
// Usage (from the module root; `make manifests` runs it):
//
//	go run ./hack/bundlegen -version 0.1.0 -image quay.io/nested-workspaces/enabler \
//	    -arches "amd64 arm64 ppc64le s390x" [-image-digest sha256:...] \
//	    [-out manifests/bundle] [-kustomization manifests/default/kustomization.yaml]
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/operator-framework/api/pkg/lib/version"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const (
	packageName = "nested-workspaces-enabler"
	// createdAt is fixed so that regenerating the bundle is reproducible.
	createdAt = "2026-11-24T00:00:00Z"
	channel   = "alpha"
	// openshiftVersions is the lowest OpenShift the bundle is offered on
	// (4.19 needs TechPreviewNoUpgrade; see the description).
	openshiftVersions = "v4.19"
	minKubeVersion    = "1.32.0"
	repository        = "https://github.com/nested-workspaces/enabler"
	license           = "Apache-2.0"
	// PLACEHOLDER: the project has no published contact yet. example.com is
	// reserved for examples (RFC 2606): replace both before publishing to
	// an OperatorHub catalog.
	maintainerName  = "nested-workspaces maintainers (placeholder contact)"
	maintainerEmail = "maintainers@example.com"

	// The inputs, relative to the module root.
	crdFile            = "manifests/crd/enabler.nested-workspaces.io_nestedcontainers.yaml"
	clusterRoleFile    = "manifests/rbac/role.yaml"
	leaderElectionFile = "manifests/rbac/leader_election_role.yaml"
	serviceAccountFile = "manifests/rbac/service_account.yaml"
	deploymentFile     = "manifests/manager/deployment.yaml"
	namespaceFile      = "manifests/manager/namespace.yaml"
	sampleFile         = "manifests/samples/nestedcontainers.yaml"
)

// icon is a small cube-in-a-cube: a container inside a workspace.
const icon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">` +
	`<rect x="4" y="4" width="56" height="56" rx="8" fill="#1f4e79"/>` +
	`<rect x="18" y="18" width="28" height="28" rx="4" fill="none" stroke="#ffffff" stroke-width="4"/>` +
	`<rect x="27" y="27" width="10" height="10" fill="#f0ab00"/>` +
	`</svg>`

const description = `The Nested Workspaces Enabler lets users of OpenShift Dev Spaces and the
DevWorkspace Operator run ` + "`podman`" + ` and ` + "`podman-compose`" + ` **inside** their
workspaces, safely, through Linux user namespaces.

## What it does

- Detects whether the cluster can run nested containers: the OpenShift
  version and user namespace feature gates, nodes whose container runtime
  supports user namespaces, and a DevWorkspace Operator that can set
  ` + "`hostUsers`" + `.
- When an administrator turns the toggle on, pins workspace pods to
  OpenShift's own ` + "`nested-container`" + ` SCC (4.20 and newer) or creates its
  ` + "`nested-podman`" + ` SCC at run time (4.19; bundles cannot carry SCCs), with
  the pod running as ` + "`spec.runAsUser`" + `, and grants use of it only to the
  service accounts of existing DevWorkspaces and the DevWorkspace controller.
- Configures the DevWorkspace Operator so that workspace pods get
  ` + "`hostUsers: false`" + `, ` + "`procMount: Unmasked`" + `, ` + "`SETUID`/`SETGID`" + ` and
  the ` + "`/dev/fuse`" + ` and ` + "`/dev/net/tun`" + ` devices. It never edits workspace
  Deployments directly.

## Requirements

- OpenShift 4.20 or newer, or OpenShift 4.19 with the ` + "`TechPreviewNoUpgrade`" + `
  feature set (or ` + "`CustomNoUpgrade`" + ` enabling ` + "`UserNamespacesSupport`" + `,
  ` + "`UserNamespacesPodSecurityStandards`" + ` and ` + "`ProcMountType`" + `).
- OpenShift Dev Spaces or the DevWorkspace Operator 0.37 or newer, installed
  in ` + "`openshift-operators`" + `.

## Enabling nested containers

After installing, create the cluster-scoped ` + "`NestedContainers`" + ` resource named
` + "`cluster`" + ` with ` + "`enabled: true`" + `:

` + "```yaml" + `
apiVersion: enabler.nested-workspaces.io/v1alpha1
kind: NestedContainers
metadata:
  name: cluster
spec:
  enabled: true
` + "```" + `

The operator then configures the DevWorkspace Operator. New workspaces get
the new pod settings; running ones are restarted onto them when the
DevWorkspace Operator next reconciles them, and
` + "`status.workspaces.pendingRestart`" + ` counts those not yet restarted. Setting
` + "`enabled: false`" + ` (or deleting the resource) undoes it, in order.

## After installing

- Apply the admission policies that fence the operator's writes to what it
  writes itself (OLM bundles cannot carry them): ` + "`oc apply -k manifests/policy`" + `
  from the project's repository.
- Install into the suggested namespace, ` + "`nested-workspaces-enabler`" + `: it is
  labelled for OpenShift's platform monitoring, which then scrapes the
  operator's metrics (ServiceMonitor, service CA certificate) and raises its
  alerts (Degraded for 15 minutes, workspaces failing to start, restarts
  pending for hours).
- Delete the ` + "`NestedContainers`" + ` resource before uninstalling; if the
  operator was removed first, ` + "`nested-enabler cleanup`" + ` removes what it wrote.

The administrator's guide: ` + repository + `/blob/main/docs/admin.md
`

// descriptor is how the OpenShift console shows one field of the
// NestedContainers resource in its form (spec) and details (status) views.
// The description comes from the CRD schema, so a path that is not in the
// schema is an error.
type descriptor struct {
	path, displayName string
	x                 []string
}

const (
	xAdvanced = "urn:alm:descriptor:com.tectonic.ui:advanced"
	xText     = "urn:alm:descriptor:text"
)

// specDescriptors put the toggle first as a switch; the rest are advanced
// (folded away in the form): the defaults are right for almost everyone.
var specDescriptors = []descriptor{
	{"enabled", "Enabled", []string{"urn:alm:descriptor:com.tectonic.ui:booleanSwitch"}},
	{"scc", "Security Context Constraints", []string{xAdvanced, "urn:alm:descriptor:com.tectonic.ui:fieldGroup:scc"}},
	{"scc.builtIn", "Use OpenShift's nested-container SCC", []string{xAdvanced, "urn:alm:descriptor:com.tectonic.ui:fieldGroup:scc",
		"urn:alm:descriptor:com.tectonic.ui:select:Auto", "urn:alm:descriptor:com.tectonic.ui:select:Never"}},
	{"runAsUser", "Run As User", []string{xAdvanced, "urn:alm:descriptor:com.tectonic.ui:number"}},
	{"capabilities", "Capabilities", []string{xAdvanced}},
	{"devices", "Devices", []string{xAdvanced}},
}

// statusDescriptors show the conditions as conditions, and the facts an
// admin looks for first as text.
var statusDescriptors = []descriptor{
	{"conditions", "Conditions", []string{"urn:alm:descriptor:io.kubernetes.conditions"}},
	{"cluster", "Cluster", nil},
	{"cluster.openshiftVersion", "OpenShift Version", []string{xText}},
	{"cluster.featureSet", "Feature Set", []string{xText}},
	{"nodes", "Nodes", nil},
	{"nodes.total", "Nodes", []string{xText}},
	{"nodes.userNamespaces", "Nodes With User Namespaces", []string{xText}},
	{"workspaces", "Workspaces", nil},
	{"workspaces.total", "Workspaces", []string{xText}},
	{"workspaces.nested", "Nested Workspaces", []string{xText}},
	{"workspaces.pendingRestart", "Workspaces Pending Restart", []string{xText}},
	{"workspaces.failing", "Workspaces Failing To Start", []string{xText}},
	{"workspaces.failingSample", "Failing Workspaces", nil},
	{"scc", "SCC", nil},
	{"scc.name", "Pinned SCC", []string{xText}},
	{"scc.builtIn", "OpenShift's Own SCC", []string{xText}},
	{"scc.builtInPassedOver", "Why OpenShift's SCC Is Not Used", []string{xText}},
	{"observedGeneration", "Observed Generation", nil},
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bundlegen: ")
	out := flag.String("out", "manifests/bundle", "directory to write the bundle into")
	kustomization := flag.String("kustomization", "manifests/default/kustomization.yaml", `the kustomize install to write with the image override ("" for none)`)
	flag.StringVar(&release.version, "version", "", "the operator's version, e.g. 0.1.0 (make manifests passes VERSION)")
	flag.StringVar(&release.image, "image", "", "the operator image without its tag, e.g. quay.io/nested-workspaces/enabler (make manifests passes IMAGE)")
	flag.StringVar(&release.digest, "image-digest", "", "the operator image's digest (sha256:...), to name it by digest and claim disconnected support")
	arches := flag.String("arches", "", "the architectures the image is built for, space-separated (make manifests passes ARCHES)")
	flag.Parse()
	if release.version == "" || release.image == "" || strings.Contains(release.image[strings.LastIndex(release.image, "/")+1:], ":") {
		log.Fatal("-version and -image (a repository without a tag) are required: run `make manifests`, which passes VERSION and IMAGE")
	}
	release.arches = strings.Fields(*arches)
	if len(release.arches) == 0 {
		log.Fatal("-arches is required: run `make manifests`, which passes ARCHES")
	}
	if release.digest != "" && !digestPattern.MatchString(release.digest) {
		log.Fatalf("-image-digest %q: want sha256: and 64 lowercase hex digits, as podman manifest push --digestfile writes", release.digest)
	}
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
	if *kustomization != "" {
		if err := os.WriteFile(*kustomization, kustomizationYAML(), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// release is what -version, -image, -image-digest and -arches say.
var release struct {
	version, image, digest string
	arches                 []string
}

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// imageRef is the operator image by digest when -image-digest is given,
// else by its tag, v<version>.
func imageRef() string {
	if release.digest != "" {
		return release.image + "@" + release.digest
	}
	return release.image + ":v" + release.version
}

// pinnedByDigest says whether ref names one image whatever a registry's
// tags later say: what a disconnected cluster's mirror can map.
func pinnedByDigest(ref string) bool { return strings.Contains(ref, "@sha256:") }

// kustomizationYAML is the kustomize install, with the image override that
// makes its Deployment run imageRef.
func kustomizationYAML() []byte {
	return []byte(`# Generated by hack/bundlegen (make manifests) from VERSION and the
# Makefile's IMAGE; do not edit.
# kubectl apply -k manifests/default installs the operator; then apply
# manifests/samples to turn the toggle on. To install your own build, see
# "Your own build" in docs/admin.md (make install-yaml IMAGE=...).
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../crd
  - ../manager
  - ../rbac
  - ../monitoring
  - ../policy
images:
  - name: ` + deploymentImageName + `
    newName: ` + release.image + `
    newTag: v` + release.version + `
`)
}

// deploymentImageName is the image manifests/manager/deployment.yaml names;
// the kustomize override and bundlegen replace it.
const deploymentImageName = "quay.io/nested-workspaces/enabler"

func run(out string) error {
	crdBytes, err := os.ReadFile(crdFile)
	if err != nil {
		return err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(crdBytes, crd); err != nil {
		return fmt.Errorf("%s: %w", crdFile, err)
	}
	csv, err := buildCSV(crd)
	if err != nil {
		return err
	}
	csvBytes, err := marshalCSV(csv)
	if err != nil {
		return err
	}

	files := map[string][]byte{
		filepath.Join("manifests", packageName+".clusterserviceversion.yaml"): csvBytes,
		filepath.Join("manifests", filepath.Base(crdFile)):                    crdBytes,
		filepath.Join("metadata", "annotations.yaml"):                         annotationsYAML(),
		"bundle.Dockerfile": dockerfile(),
	}
	objects, err := readBundleObjects(bundleObjectFiles)
	if err != nil {
		return err
	}
	for _, o := range objects {
		files[filepath.Join("manifests", o.file)] = o.data
	}
	for _, dir := range []string{"manifests", "metadata"} {
		if err := os.MkdirAll(filepath.Join(out, dir), 0o755); err != nil {
			return err
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func buildCSV(crd *apiextensionsv1.CustomResourceDefinition) (*v1alpha1.ClusterServiceVersion, error) {
	clusterRole := &rbacv1.ClusterRole{}
	if err := readYAML(clusterRoleFile, clusterRole); err != nil {
		return nil, err
	}
	leaderRole := &rbacv1.Role{}
	if err := readYAML(leaderElectionFile, leaderRole); err != nil {
		return nil, err
	}
	sa := &corev1.ServiceAccount{}
	if err := readYAML(serviceAccountFile, sa); err != nil {
		return nil, err
	}
	deploy := &appsv1.Deployment{}
	if err := readYAML(deploymentFile, deploy); err != nil {
		return nil, err
	}
	if got := deploy.Spec.Template.Spec.ServiceAccountName; got != sa.Name {
		return nil, fmt.Errorf("%s runs as service account %q, %s defines %q", deploymentFile, got, serviceAccountFile, sa.Name)
	}
	if len(deploy.Spec.Template.Spec.Containers) == 0 {
		return nil, fmt.Errorf("%s: no containers", deploymentFile)
	}
	if got := deploy.Spec.Template.Spec.Containers[0].Image; got != deploymentImageName {
		return nil, fmt.Errorf("%s runs image %q; it must name %q, which the kustomize override and the bundle replace", deploymentFile, got, deploymentImageName)
	}
	image := imageRef()
	deploy.Spec.Template.Spec.Containers[0].Image = image

	sampleBytes, err := os.ReadFile(sampleFile)
	if err != nil {
		return nil, err
	}
	sample, err := readSample(sampleFile, sampleBytes)
	if err != nil {
		return nil, err
	}
	almExamples, err := json.MarshalIndent([]any{sample}, "", "  ")
	if err != nil {
		return nil, err
	}
	initResource, err := json.Marshal(sample)
	if err != nil {
		return nil, err
	}
	namespaceTemplate, err := namespaceTemplate()
	if err != nil {
		return nil, err
	}
	suggestedNamespace := deploy.Namespace

	owned, err := ownedCRD(crd)
	if err != nil {
		return nil, err
	}

	var related []v1alpha1.RelatedImage
	disconnected := "true"
	for _, c := range deploy.Spec.Template.Spec.Containers {
		related = append(related, v1alpha1.RelatedImage{Name: c.Name, Image: c.Image})
		if !pinnedByDigest(c.Image) {
			disconnected = "false"
		}
	}
	labels := map[string]string{"operatorframework.io/os.linux": "supported"}
	for _, arch := range release.arches {
		labels["operatorframework.io/arch."+arch] = "supported"
	}

	var ver version.OperatorVersion
	if err := ver.UnmarshalJSON([]byte(`"` + release.version + `"`)); err != nil {
		return nil, fmt.Errorf("version %q: %w", release.version, err)
	}
	return &v1alpha1.ClusterServiceVersion{
		TypeMeta: metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: v1alpha1.ClusterServiceVersionKind},
		ObjectMeta: metav1.ObjectMeta{
			Name:   packageName + ".v" + release.version,
			Labels: labels,
			Annotations: map[string]string{
				"alm-examples": string(almExamples),
				// The console offers to create the singleton right after
				// installing.
				"operatorframework.io/initialization-resource":      string(initResource),
				"operatorframework.io/suggested-namespace-template": namespaceTemplate,
				"operatorframework.io/suggested-namespace":          suggestedNamespace,
				// Any earlier release upgrades straight to this one.
				"olm.skipRange":  skipRange(release.version),
				"capabilities":   "Basic Install",
				"categories":     "Developer Tools,Security",
				"containerImage": image,
				"createdAt":      createdAt,
				"description":    "Run podman inside OpenShift Dev Spaces workspaces through user namespaces.",
				"repository":     repository,
				"support":        "nested-workspaces",
				"features.operators.openshift.io/disconnected":     disconnected,
				"features.operators.openshift.io/fips-compliant":   "false",
				"features.operators.openshift.io/proxy-aware":      "false",
				"features.operators.openshift.io/tls-profiles":     "false",
				"features.operators.openshift.io/token-auth-aws":   "false",
				"features.operators.openshift.io/token-auth-azure": "false",
				"features.operators.openshift.io/token-auth-gcp":   "false",
				"features.operators.openshift.io/cnf":              "false",
				"features.operators.openshift.io/cni":              "false",
				"features.operators.openshift.io/csi":              "false",
			},
		},
		Spec: v1alpha1.ClusterServiceVersionSpec{
			DisplayName: "Nested Workspaces Enabler",
			Description: description,
			Icon: []v1alpha1.Icon{{
				Data:      base64.StdEncoding.EncodeToString([]byte(icon)),
				MediaType: "image/svg+xml",
			}},
			Version:        ver,
			Maturity:       channel,
			MinKubeVersion: minKubeVersion,
			Keywords:       []string{"dev spaces", "devworkspace", "podman", "nested containers", "user namespaces", "scc"},
			Maintainers:    []v1alpha1.Maintainer{{Name: maintainerName, Email: maintainerEmail}},
			Provider:       v1alpha1.AppLink{Name: "nested-workspaces", URL: repository},
			Links: []v1alpha1.AppLink{
				{Name: "Source Code", URL: repository},
				{Name: "Administrator's Guide", URL: repository + "/blob/main/docs/admin.md"},
				{Name: "License (" + license + ")", URL: repository + "/blob/main/LICENSE"},
			},
			InstallModes: []v1alpha1.InstallMode{
				{Type: v1alpha1.InstallModeTypeOwnNamespace, Supported: false},
				{Type: v1alpha1.InstallModeTypeSingleNamespace, Supported: false},
				{Type: v1alpha1.InstallModeTypeMultiNamespace, Supported: false},
				{Type: v1alpha1.InstallModeTypeAllNamespaces, Supported: true},
			},
			CustomResourceDefinitions: v1alpha1.CustomResourceDefinitions{Owned: []v1alpha1.CRDDescription{owned}},
			RelatedImages:             related,
			InstallStrategy: v1alpha1.NamedInstallStrategy{
				StrategyName: v1alpha1.InstallStrategyNameDeployment,
				StrategySpec: v1alpha1.StrategyDetailsDeployment{
					DeploymentSpecs: []v1alpha1.StrategyDeploymentSpec{{
						Name:  deploy.Name,
						Label: deploy.Labels,
						Spec:  deploy.Spec,
					}},
					ClusterPermissions: []v1alpha1.StrategyDeploymentPermissions{{ServiceAccountName: sa.Name, Rules: clusterRole.Rules}},
					Permissions:        []v1alpha1.StrategyDeploymentPermissions{{ServiceAccountName: sa.Name, Rules: leaderRole.Rules}},
				},
			},
		},
	}, nil
}

// ownedCRD describes crd's single served storage version, with a descriptor
// for each top-level spec and status field taken from the schema.
func ownedCRD(crd *apiextensionsv1.CustomResourceDefinition) (v1alpha1.CRDDescription, error) {
	var v *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Storage {
			v = &crd.Spec.Versions[i]
		}
	}
	if v == nil || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return v1alpha1.CRDDescription{}, fmt.Errorf("%s: no storage version with a schema", crdFile)
	}
	root := v.Schema.OpenAPIV3Schema
	d := v1alpha1.CRDDescription{
		Name:        crd.Name,
		Version:     v.Name,
		Kind:        crd.Spec.Names.Kind,
		DisplayName: "Nested Containers",
		Description: firstSentence(root.Description),
		Resources:   ownedResources,
	}
	for _, sd := range specDescriptors {
		desc, err := describe(root, "spec", sd.path)
		if err != nil {
			return d, err
		}
		d.SpecDescriptors = append(d.SpecDescriptors, v1alpha1.SpecDescriptor{
			Path: sd.path, DisplayName: sd.displayName, Description: desc, XDescriptors: sd.x,
		})
	}
	for _, sd := range statusDescriptors {
		desc, err := describe(root, "status", sd.path)
		if err != nil {
			return d, err
		}
		d.StatusDescriptors = append(d.StatusDescriptors, v1alpha1.StatusDescriptor{
			Path: sd.path, DisplayName: sd.displayName, Description: desc, XDescriptors: sd.x,
		})
	}
	return d, nil
}

// describe returns the first sentence of the schema's description of
// section.path, or an error naming a path the schema does not have.
func describe(root *apiextensionsv1.JSONSchemaProps, section, path string) (string, error) {
	props := root.Properties[section]
	for _, name := range strings.Split(path, ".") {
		p, ok := props.Properties[name]
		if !ok {
			return "", fmt.Errorf("descriptor %s.%s: the CRD schema has no such field; fix the descriptor list in hack/bundlegen", section, path)
		}
		props = p
	}
	return firstSentence(props.Description), nil
}

// firstSentence returns s up to and including its first full stop, on one
// line.
func firstSentence(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// readYAML decodes the first document of file into obj, strictly.
func readYAML(file string, obj any) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	docs := bytes.Split(data, []byte("\n---"))
	if err := yaml.UnmarshalStrict(docs[0], obj); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// marshalCSV renders csv as YAML without the empty status and null
// creationTimestamps the Go types would otherwise add.
func marshalCSV(csv *v1alpha1.ClusterServiceVersion) ([]byte, error) {
	j, err := json.Marshal(csv)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	prune(m)
	return yaml.Marshal(m)
}

// prunable are the fields the Go types render as `{}` when unset; other
// empty objects (emptyDir: {}) mean something and stay.
var prunable = map[string]bool{"strategy": true, "resources": true, "status": true, "apiservicedefinitions": true}

// prune drops null creationTimestamp fields and the empty prunable objects
// from marshalled Kubernetes types.
func prune(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			prune(e)
			if e == nil && k == "creationTimestamp" {
				delete(v, k)
			}
			if em, ok := e.(map[string]any); ok && len(em) == 0 && prunable[k] {
				delete(v, k)
			}
		}
	case []any:
		for _, e := range v {
			prune(e)
		}
	}
}

var bundleLabels = [][2]string{
	{"operators.operatorframework.io.bundle.mediatype.v1", "registry+v1"},
	{"operators.operatorframework.io.bundle.manifests.v1", "manifests/"},
	{"operators.operatorframework.io.bundle.metadata.v1", "metadata/"},
	{"operators.operatorframework.io.bundle.package.v1", packageName},
	{"operators.operatorframework.io.bundle.channels.v1", channel},
	{"operators.operatorframework.io.bundle.channel.default.v1", channel},
	{"com.redhat.openshift.versions", openshiftVersions},
}

func annotationsYAML() []byte {
	var b strings.Builder
	b.WriteString("# Generated by hack/bundlegen; do not edit.\nannotations:\n")
	for _, l := range bundleLabels {
		fmt.Fprintf(&b, "  %s: %q\n", l[0], l[1])
	}
	return []byte(b.String())
}

func dockerfile() []byte {
	var b strings.Builder
	b.WriteString("# Generated by hack/bundlegen; do not edit.\nFROM scratch\n\n")
	for _, l := range bundleLabels {
		fmt.Fprintf(&b, "LABEL %s=%q\n", l[0], l[1])
	}
	fmt.Fprintf(&b, "LABEL org.opencontainers.image.licenses=%q\n", license)
	b.WriteString("\nCOPY manifests /manifests/\nCOPY metadata /metadata/\n")
	return []byte(b.String())
}

// namespaceTemplate is manifests/manager/namespace.yaml as the JSON the
// console's suggested-namespace-template annotation takes: the namespace
// OperatorHub proposes is created with its labels (restricted pod
// security; openshift.io/cluster-monitoring, which makes the platform
// Prometheus read the ServiceMonitor and PrometheusRule there).
func namespaceTemplate() (string, error) {
	ns := &corev1.Namespace{}
	if err := readYAML(namespaceFile, ns); err != nil {
		return "", err
	}
	ns.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}
	data, err := json.Marshal(map[string]any{"apiVersion": ns.APIVersion, "kind": ns.Kind,
		"metadata": map[string]any{"name": ns.Name, "labels": ns.Labels}})
	return string(data), err
}

// skipRange lets OLM upgrade from any earlier release straight to version
// (the catalog's channel entry carries the same range, hack/catalog).
func skipRange(version string) string { return "<" + version }

// ownedResources are the kinds the operator creates for the
// NestedContainers resource, which the console lists under it.
var ownedResources = []v1alpha1.APIResourceReference{
	{Name: "securitycontextconstraints", Kind: "SecurityContextConstraints", Version: "v1"},
	{Name: "clusterroles", Kind: "ClusterRole", Version: "v1"},
	{Name: "clusterrolebindings", Kind: "ClusterRoleBinding", Version: "v1"},
	{Name: "rolebindings", Kind: "RoleBinding", Version: "v1"},
	{Name: "devworkspaceoperatorconfigs", Kind: "DevWorkspaceOperatorConfig", Version: "v1alpha1"},
}
