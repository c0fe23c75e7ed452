package manifests_test

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// releaseVars are the Makefile's VERSION (the VERSION file) and IMAGE
// default, which tag the images and feed the manifests.
func releaseVars(t *testing.T) (version, image string) {
	t.Helper()
	v, err := os.ReadFile("../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^IMAGE \?= (\S+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile has no `IMAGE ?= ...` line")
	}
	return strings.TrimSpace(string(v)), string(m[1])
}

func readOrEmpty(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// The image the release builds, the image the kustomize install runs and
// the image and version the CSV names must be one and the same.
func TestReleaseImageAgreesEverywhere(t *testing.T) {
	version, image := releaseVars(t)
	want := image + ":v" + version

	var k struct {
		Images []struct{ Name, NewName, NewTag string } `json:"images"`
	}
	if err := yaml.Unmarshal([]byte(readOrEmpty("default/kustomization.yaml")), &k); err != nil {
		t.Fatal(err)
	}
	var dep struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct{ Image string } `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(readOrEmpty("manager/deployment.yaml")), &dep); err != nil {
		t.Fatal(err)
	}
	if len(k.Images) != 1 || len(dep.Spec.Template.Spec.Containers) == 0 ||
		k.Images[0].Name != dep.Spec.Template.Spec.Containers[0].Image || k.Images[0].NewName+":"+k.Images[0].NewTag != want {
		t.Errorf("kustomize install: images %+v over deployment image %+v, want %s", k.Images, dep.Spec.Template.Spec.Containers, want)
	}

	csv := loadBundle(t).CSV
	if got := csv.Annotations["containerImage"]; got != want {
		t.Errorf("CSV containerImage %q, want %q", got, want)
	}
	if got := csv.Spec.Version.String(); got != version {
		t.Errorf("CSV version %q, want %q", got, version)
	}
	if !strings.HasSuffix(csv.Name, ".v"+version) {
		t.Errorf("CSV name %q does not end in .v%s", csv.Name, version)
	}
	for _, d := range csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Image != want {
				t.Errorf("CSV install Deployment runs %q, want %q", c.Image, want)
			}
		}
	}
	for _, r := range csv.Spec.RelatedImages {
		if r.Image != want {
			t.Errorf("CSV relatedImages has %q, want %q", r.Image, want)
		}
	}
}

// makeVar is the default of a `NAME ?= ...` line of the Makefile.
func makeVar(t *testing.T, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` \?= (.+)$`).FindStringSubmatch(readOrEmpty("../Makefile"))
	if m == nil {
		t.Fatalf("the Makefile has no `%s ?= ...` line", name)
	}
	return strings.TrimSpace(m[1])
}

// OLM shows an operator only on the architectures its CSV labels; they
// must be the ones the image build builds.
func TestCSVArchLabelsAreTheBuiltArchitectures(t *testing.T) {
	csv := loadBundle(t).CSV
	var labelled []string
	for k, v := range csv.Labels {
		if arch, ok := strings.CutPrefix(k, "operatorframework.io/arch."); ok && v == "supported" {
			labelled = append(labelled, arch)
		}
	}
	built := strings.Fields(makeVar(t, "ARCHES"))
	slices.Sort(labelled)
	slices.Sort(built)
	if !slices.Equal(labelled, built) {
		t.Errorf("CSV arch labels %v, the Makefile's ARCHES %v", labelled, built)
	}
	if csv.Labels["operatorframework.io/os.linux"] != "supported" {
		t.Errorf("CSV has no operatorframework.io/os.linux label: %v", csv.Labels)
	}
}

// A disconnected cluster mirrors images by digest: the CSV may claim
// disconnected support only when every image it runs is named by digest.
func TestDisconnectedClaimMatchesDigests(t *testing.T) {
	csv := loadBundle(t).CSV
	pinned := len(csv.Spec.RelatedImages) > 0
	for _, r := range csv.Spec.RelatedImages {
		pinned = pinned && strings.Contains(r.Image, "@sha256:")
	}
	for _, d := range csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		for _, c := range d.Spec.Template.Spec.Containers {
			pinned = pinned && strings.Contains(c.Image, "@sha256:")
		}
	}
	claim := csv.Annotations["features.operators.openshift.io/disconnected"]
	if want := strconv.FormatBool(pinned); claim != want {
		t.Errorf("CSV claims disconnected %q, but its images pinned by digest: %v", claim, pinned)
	}
}
