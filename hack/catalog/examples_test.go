package main

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"
)

// docsOf decodes each document of an example file by kind, strictly into
// the struct given for that kind.
func docsOf(t *testing.T, file string, into map[string]any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var head struct{ Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if target, ok := into[head.Kind]; ok {
			if err := yaml.UnmarshalStrict(doc, target); err != nil {
				t.Errorf("%s: %s: %v", file, head.Kind, err)
			}
		}
	}
}

// The OLM examples name the package, a channel and the catalog image this
// project publishes. (manifests/apply_test.go applies the OLM v0 ones to a
// real API server; operator-controller's CRDs are not available here, so
// the OLM v1 ones are decoded strictly into the fields of its v1 API that
// they use: a typo'd field fails.)
func TestOLMExamplesNameThePackage(t *testing.T) {
	c := readCatalog(t, committedCatalog)
	channels := []string{}
	for _, ch := range c.Channels {
		channels = append(channels, ch.Name)
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	image := regexp.MustCompile(`(?m)^IMAGE \?= (\S+)$`).FindSubmatch(mk)
	if image == nil {
		t.Fatal("no IMAGE in the Makefile")
	}
	// hack/build-catalog-image.sh tags the catalog image :latest too.
	catalogImage := string(image[1]) + "-catalog:latest"

	type meta struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace,omitempty"`
	}
	var source struct {
		APIVersion, Kind string
		Metadata         meta `json:"metadata"`
		Spec             struct {
			Image string `json:"image"`
		} `json:"spec"`
	}
	var sub struct {
		Metadata meta `json:"metadata"`
		Spec     struct {
			Name, Channel, Source, SourceNamespace string
		} `json:"spec"`
	}
	sourceAny := map[string]any{}
	docsOf(t, "../../manifests/olm/catalogsource.yaml", map[string]any{"CatalogSource": &sourceAny})
	if err := remarshal(sourceAny, &source); err != nil {
		t.Fatal(err)
	}
	subAny := map[string]any{}
	docsOf(t, "../../manifests/olm/subscription.yaml", map[string]any{"Subscription": &subAny})
	if err := remarshal(subAny, &sub); err != nil {
		t.Fatal(err)
	}
	if source.Spec.Image != catalogImage {
		t.Errorf("CatalogSource image %q, want %q", source.Spec.Image, catalogImage)
	}
	if sub.Spec.Name != c.Package.Name || !slices.Contains(channels, sub.Spec.Channel) ||
		sub.Spec.Source != source.Metadata.Name || sub.Spec.SourceNamespace != source.Metadata.Namespace {
		t.Errorf("Subscription %+v does not name package %s, a channel of %v, and CatalogSource %s/%s",
			sub.Spec, c.Package.Name, channels, source.Metadata.Namespace, source.Metadata.Name)
	}

	// operator-controller's api/v1, the fields the example uses.
	var catalog struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   meta   `json:"metadata"`
		Spec       struct {
			Source struct {
				Type  string `json:"type"`
				Image struct {
					Ref                 string `json:"ref"`
					PollIntervalMinutes int    `json:"pollIntervalMinutes"`
				} `json:"image"`
			} `json:"source"`
		} `json:"spec"`
	}
	var ext struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   meta   `json:"metadata"`
		Spec       struct {
			Namespace      string `json:"namespace"`
			ServiceAccount struct {
				Name string `json:"name"`
			} `json:"serviceAccount"`
			Source struct {
				SourceType string `json:"sourceType"`
				Catalog    struct {
					PackageName string   `json:"packageName"`
					Channels    []string `json:"channels"`
				} `json:"catalog"`
			} `json:"source"`
		} `json:"spec"`
	}
	docsOf(t, "../../manifests/olm/v1/clusterextension.yaml", map[string]any{"ClusterCatalog": &catalog, "ClusterExtension": &ext})
	if catalog.APIVersion != "olm.operatorframework.io/v1" || catalog.Spec.Source.Type != "Image" || catalog.Spec.Source.Image.Ref != catalogImage {
		t.Errorf("ClusterCatalog %+v: want olm.operatorframework.io/v1, an Image source %s", catalog, catalogImage)
	}
	if ext.APIVersion != "olm.operatorframework.io/v1" || ext.Spec.Source.SourceType != "Catalog" || ext.Spec.Source.Catalog.PackageName != c.Package.Name || ext.Spec.Namespace == "" || ext.Spec.ServiceAccount.Name == "" {
		t.Errorf("ClusterExtension %+v does not install package %s from a catalog", ext.Spec, c.Package.Name)
	}
	for _, ch := range ext.Spec.Source.Catalog.Channels {
		if !slices.Contains(channels, ch) {
			t.Errorf("ClusterExtension channel %q is not one of %v", ch, channels)
		}
	}
}

func remarshal(in, out any) error {
	data, err := yaml.Marshal(in)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(data, out)
}
