package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/api/pkg/manifests"
)

const (
	committedBundle  = "../../manifests/bundle"
	committedCatalog = "../../catalog/nested-workspaces-enabler/catalog.yaml"
)

func readCatalog(t *testing.T, file string) *Catalog {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return c
}

// checkShape checks what OLM needs of a package's catalog: one
// olm.package whose default channel exists; channels whose entries name
// bundles of the catalog and form one upgrade chain to a single head; each
// bundle with its image, its version and the API it provides.
func checkShape(t *testing.T, c *Catalog) (head map[string]string) {
	t.Helper()
	pkg := c.Package
	if pkg.Schema != schemaPackage || pkg.Name == "" || pkg.DefaultChannel == "" || pkg.Icon == nil || len(pkg.Icon.Data) == 0 {
		t.Errorf("olm.package %+v: want schema, name, defaultChannel and an icon", pkg)
	}
	bundles := map[string]semver.Version{}
	for _, b := range c.Bundles {
		if b.Schema != schemaBundle || b.Package != pkg.Name || b.Image == "" {
			t.Errorf("olm.bundle %s: schema %q, package %q, image %q", b.Name, b.Schema, b.Package, b.Image)
		}
		v, err := bundleVersion(b)
		if err != nil {
			t.Error(err)
			continue
		}
		if b.Name != pkg.Name+".v"+v.String() {
			t.Errorf("bundle %s has version %s: its name should be %s.v%s", b.Name, v, pkg.Name, v)
		}
		bundles[b.Name] = v
		types := map[string]int{}
		for _, p := range b.Properties {
			types[p.Type]++
			var anyValue any
			if err := json.Unmarshal(p.Value, &anyValue); err != nil {
				t.Errorf("bundle %s property %s: %v", b.Name, p.Type, err)
			}
		}
		if types[propertyPackage] != 1 || types[propertyGVK] == 0 || types[propertyCSVMetadata] != 1 {
			t.Errorf("bundle %s properties %v: want one %s, an %s per API, one %s", b.Name, types, propertyPackage, propertyGVK, propertyCSVMetadata)
		}
		if len(b.RelatedImages) == 0 || b.RelatedImages[0].Image != b.Image {
			t.Errorf("bundle %s relatedImages %+v: want the bundle image first", b.Name, b.RelatedImages)
		}
	}
	head = map[string]string{}
	foundDefault := false
	for _, ch := range c.Channels {
		foundDefault = foundDefault || ch.Name == pkg.DefaultChannel
		if ch.Schema != schemaChannel || ch.Package != pkg.Name || len(ch.Entries) == 0 {
			t.Errorf("olm.channel %+v", ch)
			continue
		}
		replaced := map[string]bool{}
		inChannel := map[string]bool{}
		for _, e := range ch.Entries {
			inChannel[e.Name] = true
		}
		for _, e := range ch.Entries {
			v, ok := bundles[e.Name]
			if !ok {
				t.Errorf("channel %s names %s, which is not a bundle of the catalog", ch.Name, e.Name)
				continue
			}
			if e.Replaces != "" {
				if !inChannel[e.Replaces] {
					t.Errorf("channel %s: %s replaces %s, which is not in the channel", ch.Name, e.Name, e.Replaces)
				}
				replaced[e.Replaces] = true
			}
			r, err := semver.ParseRange(e.SkipRange)
			if err != nil {
				t.Errorf("channel %s: %s skipRange %q: %v", ch.Name, e.Name, e.SkipRange, err)
				continue
			}
			if r(v) {
				t.Errorf("channel %s: %s skips its own version (skipRange %q)", ch.Name, e.Name, e.SkipRange)
			}
			for other, ov := range bundles {
				if inChannel[other] && ov.LT(v) && !r(ov) {
					t.Errorf("channel %s: %s's skipRange %q leaves %s without a direct upgrade", ch.Name, e.Name, e.SkipRange, other)
				}
			}
		}
		var heads []string
		for _, e := range ch.Entries {
			if !replaced[e.Name] {
				heads = append(heads, e.Name)
			}
		}
		if len(heads) != 1 {
			t.Errorf("channel %s has heads %v, want exactly one", ch.Name, heads)
		} else {
			head[ch.Name] = heads[0]
		}
	}
	if !foundDefault {
		t.Errorf("default channel %q has no olm.channel", pkg.DefaultChannel)
	}
	return head
}

func TestCommittedCatalogShape(t *testing.T) {
	c := readCatalog(t, committedCatalog)
	head := checkShape(t, c)
	b, err := manifests.GetBundleFromDir(committedBundle)
	if err != nil {
		t.Fatal(err)
	}
	if head[c.Package.DefaultChannel] != b.CSV.Name {
		t.Errorf("default channel's head is %s, want this release's bundle %s", head[c.Package.DefaultChannel], b.CSV.Name)
	}
	// The CSV's own skipRange and the channel entry's must agree: opm
	// render takes the entry's from the CSV.
	for _, ch := range c.Channels {
		for _, e := range ch.Entries {
			if e.Name == b.CSV.Name && e.SkipRange != b.CSV.Annotations["olm.skipRange"] {
				t.Errorf("channel %s entry skipRange %q, CSV olm.skipRange %q", ch.Name, e.SkipRange, b.CSV.Annotations["olm.skipRange"])
			}
		}
	}
}

// The committed catalog must be what `make catalog` makes of the committed
// bundle (for the Makefile's default BUNDLE_IMAGE, which it names).
func TestCommittedCatalogIsUpToDate(t *testing.T) {
	committed := readCatalog(t, committedCatalog)
	dir := t.TempDir()
	copyFile(t, committedCatalog, filepath.Join(dir, "nested-workspaces-enabler", "catalog.yaml"))
	var bundleImage string
	for _, b := range committed.Bundles {
		bundleImage = b.Image // the newest: bundles are kept oldest first
	}
	if err := Update(committedBundle, bundleImage, dir); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "nested-workspaces-enabler", "catalog.yaml"))
	got, _ := os.ReadFile(committedCatalog)
	if !bytes.Equal(got, want) {
		t.Errorf("catalog/nested-workspaces-enabler/catalog.yaml is stale: run `make catalog` and commit the result")
	}
}

// A second release joins the chain: it replaces the first and skips every
// earlier version, the first stays installable, and the channel's head is
// the newest; adding the same release again changes nothing.
func TestSecondReleaseUpgradesFromTheFirst(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, committedCatalog, filepath.Join(dir, "nested-workspaces-enabler", "catalog.yaml"))
	first, err := manifests.GetBundleFromDir(committedBundle)
	if err != nil {
		t.Fatal(err)
	}
	next := t.TempDir()
	copyTree(t, committedBundle, next)
	csvFile := filepath.Join(next, "manifests", "nested-workspaces-enabler.clusterserviceversion.yaml")
	data, err := os.ReadFile(csvFile)
	if err != nil {
		t.Fatal(err)
	}
	firstVersion := first.CSV.Spec.Version.String()
	v := semver.MustParse(firstVersion)
	v.Minor++
	second := v.String()
	data = []byte(strings.ReplaceAll(string(data), firstVersion, second))
	if err := os.WriteFile(csvFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := Update(next, "registry.example.com/enabler-bundle:v"+second, dir); err != nil {
			t.Fatal(err)
		}
	}
	c := readCatalog(t, filepath.Join(dir, "nested-workspaces-enabler", "catalog.yaml"))
	head := checkShape(t, c)
	secondName := "nested-workspaces-enabler.v" + second
	if head["alpha"] != secondName {
		t.Errorf("alpha's head %q, want %q", head["alpha"], secondName)
	}
	if len(c.Bundles) != 2 {
		t.Errorf("%d bundles, want the first and the second", len(c.Bundles))
	}
	for _, e := range c.Channels[0].Entries {
		if e.Name == secondName && (e.Replaces != first.CSV.Name || e.SkipRange != "<"+second) {
			t.Errorf("second release's entry %+v: want replaces %s, skipRange <%s", e, first.CSV.Name, second)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		copyFile(t, path, filepath.Join(to, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
