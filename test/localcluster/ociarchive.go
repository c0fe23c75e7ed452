package localcluster

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// OCIImage is an image for the real node, written as an OCI archive that
// `ctr images import` reads: no registry is involved.
type OCIImage struct {
	// Name is the image reference pods use, e.g.
	// localhost/nested-workspaces/workspace:test.
	Name string
	// Layers are uncompressed tar files, bottom first.
	Layers     []string
	Entrypoint []string
	Cmd        []string
	Env        []string
	User       string
	WorkingDir string
}

// blob is one content-addressed file of the archive.
type blob struct {
	digest string
	size   int64
	path   string // read from here, or
	data   []byte // these bytes
}

func fileBlob(path string) (blob, error) {
	f, err := os.Open(path)
	if err != nil {
		return blob{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return blob{}, fmt.Errorf("hash %s: %w", path, err)
	}
	return blob{digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), size: n, path: path}, nil
}

func dataBlob(data []byte) blob {
	sum := sha256.Sum256(data)
	return blob{digest: "sha256:" + hex.EncodeToString(sum[:]), size: int64(len(data)), data: data}
}

// WriteOCIArchive writes img as an OCI image layout in a tar file at path.
func WriteOCIArchive(path string, img OCIImage) error {
	var layers []blob
	diffIDs := []string{}
	for _, l := range img.Layers {
		b, err := fileBlob(l)
		if err != nil {
			return err
		}
		layers = append(layers, b)
		diffIDs = append(diffIDs, b.digest) // uncompressed: digest = diff ID
	}
	cfg, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": time.Unix(0, 0).UTC().Format(time.RFC3339),
		"config": map[string]any{"Entrypoint": img.Entrypoint, "Cmd": img.Cmd, "Env": img.Env, "User": img.User, "WorkingDir": img.WorkingDir},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return err
	}
	config := dataBlob(cfg)
	layerDescs := make([]map[string]any, 0, len(layers))
	for _, l := range layers {
		layerDescs = append(layerDescs, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l.digest, "size": l.size})
	}
	man, err := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.digest, "size": config.size},
		"layers": layerDescs,
	})
	if err != nil {
		return err
	}
	manifest := dataBlob(man)
	tag := img.Name[strings.LastIndex(img.Name, ":")+1:]
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []map[string]any{{
			"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest.digest, "size": manifest.size,
			"platform":    map[string]string{"architecture": "amd64", "os": "linux"},
			"annotations": map[string]string{"io.containerd.image.name": img.Name, "org.opencontainers.image.ref.name": tag},
		}},
	})
	if err != nil {
		return err
	}

	out, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	defer os.Remove(path + ".tmp")
	tw := tar.NewWriter(out)
	put := func(name string, b blob) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: b.size, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if b.data != nil {
			_, err := tw.Write(b.data)
			return err
		}
		f, err := os.Open(b.path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	}
	entries := []struct {
		name string
		b    blob
	}{{"oci-layout", dataBlob([]byte(`{"imageLayoutVersion":"1.0.0"}`))}}
	for _, b := range append(append(layers, config), manifest) {
		entries = append(entries, struct {
			name string
			b    blob
		}{"blobs/sha256/" + strings.TrimPrefix(b.digest, "sha256:"), b})
	}
	entries = append(entries, struct {
		name string
		b    blob
	}{"index.json", dataBlob(index)})
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.name] {
			continue // two identical layers are one blob
		}
		seen[e.name] = true
		if err := put(e.name, e.b); err != nil {
			out.Close()
			return fmt.Errorf("write %s into %s: %w", e.name, path, err)
		}
	}
	if err := tw.Close(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// TarLayer is one file of a layer written by WriteTarLayer.
type TarLayer struct {
	Name     string // path in the image, without a leading slash
	Mode     int64
	Data     []byte
	Dir      bool
	Link     string // a symlink to this
	Uid, Gid int
}

// WriteTarLayer writes a small layer from files held in memory.
func WriteTarLayer(path string, files []TarLayer) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, e := range files {
		h := &tar.Header{Name: e.Name, Mode: e.Mode, Uid: e.Uid, Gid: e.Gid, Typeflag: tar.TypeReg, Size: int64(len(e.Data))}
		switch {
		case e.Dir:
			h.Typeflag, h.Size, h.Name = tar.TypeDir, 0, strings.TrimSuffix(e.Name, "/")+"/"
		case e.Link != "":
			h.Typeflag, h.Size, h.Linkname, h.Mode = tar.TypeSymlink, 0, e.Link, 0o777
		}
		if err := tw.WriteHeader(h); err != nil {
			f.Close()
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Data); err != nil {
				f.Close()
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// BusyboxRootfs is a root filesystem from busybox-static: the binary, a
// symlink per applet, /etc/passwd and /etc/group with root and nobody, and
// /home/nobody owned by nobody (65534), so that storing it proves an ID map
// reaches that far.
func BusyboxRootfs(busybox []byte, applets []string) []TarLayer {
	files := []TarLayer{}
	for _, d := range []struct {
		name string
		mode int64
	}{{"bin", 0o755}, {"dev", 0o755}, {"etc", 0o755}, {"proc", 0o555}, {"sys", 0o555}, {"tmp", 0o1777},
		{"root", 0o700}, {"home", 0o755}, {"var", 0o755}, {"run", 0o755}} {
		files = append(files, TarLayer{Name: d.name, Mode: d.mode, Dir: true})
	}
	files = append(files,
		TarLayer{Name: "home/nobody", Mode: 0o755, Dir: true, Uid: 65534, Gid: 65534},
		TarLayer{Name: "bin/busybox", Mode: 0o755, Data: busybox},
		TarLayer{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home/nobody:/bin/sh\n")},
		TarLayer{Name: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnogroup:x:65534:\n")},
	)
	for _, applet := range applets {
		if applet != "busybox" {
			files = append(files, TarLayer{Name: "bin/" + applet, Link: "busybox"})
		}
	}
	return files
}
