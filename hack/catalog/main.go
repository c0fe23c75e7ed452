// Command catalog writes the operator's File-Based Catalog (FBC), what
// OLM reads packages, channels and bundles from: catalog/<package>/catalog.yaml
// with one olm.package, one olm.channel per channel and one olm.bundle per
// release. `make catalog` runs it; `make catalog-image` puts the result in
// an image OLM serves (hack/build-catalog-image.sh).
//
// The committed catalog is the record of released bundles: the bundle in
// -bundle (manifests/bundle, this release) is added to it or replaces the
// entry of the same version, and every other release stays as it was. In
// each channel the releases form one upgrade chain, each entry replacing
// the one before it and skipping every earlier version (skipRange, the
// CSV's olm.skipRange annotation), so that a cluster on any release upgrades
// straight to the newest. opm is not available here (the module proxy does
// not serve operator-registry): the schema is written from its published
// format, and hack/catalog's tests check the shape.
//
// Usage (from the module root):
//
//	go run ./hack/catalog -bundle manifests/bundle -bundle-image quay.io/nested-workspaces/enabler-bundle:v0.1.0 -out catalog
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/api/pkg/manifests"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The FBC schemas and property types (operator-registry's declcfg).
const (
	schemaPackage = "olm.package"
	schemaChannel = "olm.channel"
	schemaBundle  = "olm.bundle"

	propertyPackage     = "olm.package"
	propertyGVK         = "olm.gvk"
	propertyCSVMetadata = "olm.csv.metadata"
)

// Package is an olm.package blob.
type Package struct {
	Schema         string `json:"schema"`
	Name           string `json:"name"`
	DefaultChannel string `json:"defaultChannel"`
	Icon           *Icon  `json:"icon,omitempty"`
	Description    string `json:"description,omitempty"`
}

// Icon is a package's icon.
type Icon struct {
	Data      []byte `json:"base64data"`
	MediaType string `json:"mediatype"`
}

// Channel is an olm.channel blob.
type Channel struct {
	Schema  string         `json:"schema"`
	Package string         `json:"package"`
	Name    string         `json:"name"`
	Entries []ChannelEntry `json:"entries"`
}

// ChannelEntry is one bundle in a channel and the upgrade edges into it.
type ChannelEntry struct {
	Name      string   `json:"name"`
	Replaces  string   `json:"replaces,omitempty"`
	Skips     []string `json:"skips,omitempty"`
	SkipRange string   `json:"skipRange,omitempty"`
}

// Bundle is an olm.bundle blob.
type Bundle struct {
	Schema        string         `json:"schema"`
	Name          string         `json:"name"`
	Package       string         `json:"package"`
	Image         string         `json:"image"`
	Properties    []Property     `json:"properties"`
	RelatedImages []RelatedImage `json:"relatedImages,omitempty"`
}

// Property is one typed property of a bundle.
type Property struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// RelatedImage is an image a bundle runs or is ("" names the bundle image).
type RelatedImage struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// PackageProperty is the olm.package property's value.
type PackageProperty struct {
	PackageName string `json:"packageName"`
	Version     string `json:"version"`
}

// GVKProperty is the olm.gvk property's value: an API the bundle provides.
type GVKProperty struct {
	Group   string `json:"group"`
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

// CSVMetadata is the olm.csv.metadata property's value: what the console
// and OLM read of a CSV without pulling the bundle image.
type CSVMetadata struct {
	Annotations               map[string]string                  `json:"annotations,omitempty"`
	CustomResourceDefinitions v1alpha1.CustomResourceDefinitions `json:"crdDescriptions,omitempty"`
	Description               string                             `json:"description,omitempty"`
	DisplayName               string                             `json:"displayName,omitempty"`
	InstallModes              []v1alpha1.InstallMode             `json:"installModes,omitempty"`
	Keywords                  []string                           `json:"keywords,omitempty"`
	Labels                    map[string]string                  `json:"labels,omitempty"`
	Links                     []v1alpha1.AppLink                 `json:"links,omitempty"`
	Maintainers               []v1alpha1.Maintainer              `json:"maintainers,omitempty"`
	Maturity                  string                             `json:"maturity,omitempty"`
	MinKubeVersion            string                             `json:"minKubeVersion,omitempty"`
	NativeAPIs                []metav1.GroupVersionKind          `json:"nativeAPIs,omitempty"`
	Provider                  v1alpha1.AppLink                   `json:"provider,omitempty"`
}

// Catalog is one package's FBC.
type Catalog struct {
	Package  Package
	Channels []Channel
	Bundles  []Bundle
}

// bundleChannelsAnnotation and defaultChannelAnnotation are the bundle
// metadata (metadata/annotations.yaml) that place a bundle in channels.
const (
	bundleChannelsAnnotation = "operators.operatorframework.io.bundle.channels.v1"
	defaultChannelAnnotation = "operators.operatorframework.io.bundle.channel.default.v1"
	bundlePackageAnnotation  = "operators.operatorframework.io.bundle.package.v1"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("catalog: ")
	bundleDir := flag.String("bundle", "manifests/bundle", "the bundle directory (manifests/, metadata/)")
	bundleImage := flag.String("bundle-image", "", "the bundle image this bundle is pushed as (the Makefile's BUNDLE_IMAGE)")
	out := flag.String("out", "catalog", "the catalog directory; its package's catalog.yaml is read and rewritten")
	flag.Parse()
	if *bundleImage == "" {
		log.Fatal("-bundle-image is required: run `make catalog`, which passes BUNDLE_IMAGE")
	}
	if err := Update(*bundleDir, *bundleImage, *out); err != nil {
		log.Fatal(err)
	}
}

// Update adds the bundle in bundleDir, as bundleImage, to the catalog in
// dir (created if absent) and writes it back.
func Update(bundleDir, bundleImage, dir string) error {
	b, err := manifests.GetBundleFromDir(bundleDir)
	if err != nil {
		return fmt.Errorf("read the bundle in %s: %w", bundleDir, err)
	}
	meta, err := readBundleAnnotations(bundleDir)
	if err != nil {
		return err
	}
	pkg := meta[bundlePackageAnnotation]
	if pkg == "" {
		return fmt.Errorf("%s/metadata/annotations.yaml names no package (%s)", bundleDir, bundlePackageAnnotation)
	}
	file := filepath.Join(dir, pkg, "catalog.yaml")
	cat := &Catalog{}
	if data, err := os.ReadFile(file); err == nil {
		if cat, err = Parse(data); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := cat.Add(b, pkg, bundleImage, strings.Split(meta[bundleChannelsAnnotation], ","), meta[defaultChannelAnnotation]); err != nil {
		return err
	}
	data, err := cat.Marshal()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, data, 0o644)
}

func readBundleAnnotations(bundleDir string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(bundleDir, "metadata", "annotations.yaml"))
	if err != nil {
		return nil, err
	}
	var a struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := yaml.UnmarshalStrict(data, &a); err != nil {
		return nil, fmt.Errorf("%s/metadata/annotations.yaml: %w", bundleDir, err)
	}
	return a.Annotations, nil
}

// Add puts the bundle into the catalog as bundleImage, in channels, and
// rebuilds the channels' upgrade chains.
func (c *Catalog) Add(b *manifests.Bundle, pkg, bundleImage string, channels []string, defaultChannel string) error {
	csv := b.CSV
	if csv == nil {
		return errors.New("the bundle has no ClusterServiceVersion")
	}
	version := csv.Spec.Version.String()
	props := []Property{mustProperty(propertyPackage, PackageProperty{PackageName: pkg, Version: version})}
	for _, crd := range b.V1CRDs {
		for _, v := range crd.Spec.Versions {
			props = append(props, mustProperty(propertyGVK, GVKProperty{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind, Version: v.Name}))
		}
	}
	props = append(props, mustProperty(propertyCSVMetadata, CSVMetadata{
		Annotations: csv.Annotations, CustomResourceDefinitions: csv.Spec.CustomResourceDefinitions,
		Description: csv.Spec.Description, DisplayName: csv.Spec.DisplayName, InstallModes: csv.Spec.InstallModes,
		Keywords: csv.Spec.Keywords, Labels: csv.Labels, Links: csv.Spec.Links, Maintainers: csv.Spec.Maintainers,
		Maturity: csv.Spec.Maturity, MinKubeVersion: csv.Spec.MinKubeVersion, NativeAPIs: csv.Spec.NativeAPIs, Provider: csv.Spec.Provider,
	}))
	related := []RelatedImage{{Name: "", Image: bundleImage}}
	for _, r := range csv.Spec.RelatedImages {
		related = append(related, RelatedImage{Name: r.Name, Image: r.Image})
	}
	bundle := Bundle{Schema: schemaBundle, Name: csv.Name, Package: pkg, Image: bundleImage, Properties: props, RelatedImages: related}
	c.Bundles = slices.DeleteFunc(c.Bundles, func(o Bundle) bool { return o.Name == bundle.Name })
	c.Bundles = append(c.Bundles, bundle)

	c.Package.Schema, c.Package.Name, c.Package.DefaultChannel = schemaPackage, pkg, defaultChannel
	if len(csv.Spec.Icon) > 0 {
		data, err := decodeIcon(csv.Spec.Icon[0].Data)
		if err != nil {
			return err
		}
		c.Package.Icon = &Icon{Data: data, MediaType: csv.Spec.Icon[0].MediaType}
	}
	c.Package.Description = csv.Annotations["description"]
	for _, name := range channels {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		i := slices.IndexFunc(c.Channels, func(ch Channel) bool { return ch.Name == name })
		if i < 0 {
			c.Channels = append(c.Channels, Channel{Schema: schemaChannel, Package: pkg, Name: name})
			i = len(c.Channels) - 1
		}
		if !slices.ContainsFunc(c.Channels[i].Entries, func(e ChannelEntry) bool { return e.Name == bundle.Name }) {
			c.Channels[i].Entries = append(c.Channels[i].Entries, ChannelEntry{Name: bundle.Name})
		}
	}
	return c.chain()
}

// chain orders every channel by version and links it into one upgrade
// path: each entry replaces the previous one and skips every earlier
// version.
func (c *Catalog) chain() error {
	versions := map[string]semver.Version{}
	for _, b := range c.Bundles {
		v, err := bundleVersion(b)
		if err != nil {
			return err
		}
		versions[b.Name] = v
	}
	for i := range c.Channels {
		entries := c.Channels[i].Entries
		for _, e := range entries {
			if _, ok := versions[e.Name]; !ok {
				return fmt.Errorf("channel %s names bundle %s, which the catalog does not have", c.Channels[i].Name, e.Name)
			}
		}
		slices.SortFunc(entries, func(a, b ChannelEntry) int { return versions[a.Name].Compare(versions[b.Name]) })
		for j := range entries {
			entries[j].Replaces = ""
			if j > 0 {
				entries[j].Replaces = entries[j-1].Name
			}
			entries[j].SkipRange = "<" + versions[entries[j].Name].String()
		}
	}
	slices.SortFunc(c.Bundles, func(a, b Bundle) int { return versions[a.Name].Compare(versions[b.Name]) })
	slices.SortFunc(c.Channels, func(a, b Channel) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// bundleVersion is the version in a bundle's olm.package property.
func bundleVersion(b Bundle) (semver.Version, error) {
	for _, p := range b.Properties {
		if p.Type != propertyPackage {
			continue
		}
		var pp PackageProperty
		if err := json.Unmarshal(p.Value, &pp); err != nil {
			return semver.Version{}, fmt.Errorf("bundle %s: %s: %w", b.Name, propertyPackage, err)
		}
		v, err := semver.Parse(pp.Version)
		if err != nil {
			return semver.Version{}, fmt.Errorf("bundle %s: version %q: %w", b.Name, pp.Version, err)
		}
		return v, nil
	}
	return semver.Version{}, fmt.Errorf("bundle %s has no %s property", b.Name, propertyPackage)
}

func mustProperty(typ string, v any) Property {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return Property{Type: typ, Value: data}
}

func decodeIcon(b64 string) ([]byte, error) {
	var data []byte
	if err := json.Unmarshal([]byte(`"`+b64+`"`), &data); err != nil {
		return nil, fmt.Errorf("CSV icon: %w", err)
	}
	return data, nil
}

// Parse reads a catalog.yaml of one package.
func Parse(data []byte) (*Catalog, error) {
	c := &Catalog{}
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		var head struct {
			Schema string `json:"schema"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		var err error
		switch head.Schema {
		case schemaPackage:
			err = yaml.UnmarshalStrict(doc, &c.Package)
		case schemaChannel:
			var ch Channel
			if err = yaml.UnmarshalStrict(doc, &ch); err == nil {
				c.Channels = append(c.Channels, ch)
			}
		case schemaBundle:
			var b Bundle
			if err = yaml.UnmarshalStrict(doc, &b); err == nil {
				c.Bundles = append(c.Bundles, b)
			}
		case "":
			if len(bytes.TrimSpace(doc)) == 0 || bytes.HasPrefix(bytes.TrimSpace(doc), []byte("#")) {
				continue
			}
			err = errors.New("no schema")
		default:
			err = fmt.Errorf("unknown schema %q", head.Schema)
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
	}
	return c, nil
}

// Marshal writes the package, its channels, then its bundles, oldest first.
func (c *Catalog) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Generated by hack/catalog (make catalog) from manifests/bundle; earlier releases are kept.\n")
	write := func(w io.Writer, v any) error {
		data, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "---\n%s", data)
		return err
	}
	if err := write(&b, c.Package); err != nil {
		return nil, err
	}
	for _, ch := range c.Channels {
		if err := write(&b, ch); err != nil {
			return nil, err
		}
	}
	for _, bundle := range c.Bundles {
		if err := write(&b, bundle); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}
