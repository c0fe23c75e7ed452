package main

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// The CSV claims disconnected support exactly when it names the operator
// image by digest, which a mirror can map; by tag it does not.
func TestDisconnectedFollowsTheImageReference(t *testing.T) {
	t.Chdir("../..") // bundlegen reads its inputs relative to the module root
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := readYAML(crdFile, crd); err != nil {
		t.Fatal(err)
	}
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name, digest, wantImage, wantClaim string
	}{
		{"by_tag_no_claim", "", "registry.example.com/enabler:v9.9.9", "false"},
		{"by_digest_claims_disconnected", digest, "registry.example.com/enabler@" + digest, "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release.version, release.image, release.digest, release.arches = "9.9.9", "registry.example.com/enabler", tc.digest, []string{"amd64"}
			csv, err := buildCSV(crd)
			if err != nil {
				t.Fatal(err)
			}
			if got := csv.Annotations["features.operators.openshift.io/disconnected"]; got != tc.wantClaim {
				t.Errorf("disconnected %q, want %q", got, tc.wantClaim)
			}
			images := []string{csv.Annotations["containerImage"]}
			for _, r := range csv.Spec.RelatedImages {
				images = append(images, r.Image)
			}
			for _, d := range csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
				for _, c := range d.Spec.Template.Spec.Containers {
					images = append(images, c.Image)
				}
			}
			for _, img := range images {
				if img != tc.wantImage {
					t.Errorf("CSV names %q, want %q everywhere (%s)", img, tc.wantImage, strings.Join(images, ", "))
				}
			}
		})
	}
}
