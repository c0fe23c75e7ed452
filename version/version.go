// Package version says which release and build a binary is. The release
// comes from the VERSION file, stamped in at link time by the Makefile and
// the image build:
//
//	go build -ldflags "-X github.com/nested-workspaces/enabler/version.release=$(cat VERSION)
//	    -X github.com/nested-workspaces/enabler/version.revision=$(git rev-parse HEAD)" ./cmd/nested-enabler
//
// The Go version, platform and, where the build recorded them, the VCS
// revision come from the Go build information.
package version

import (
	"runtime"
	"runtime/debug"
)

// Stamped by -ldflags -X; a plain `go build` leaves them empty.
var (
	release  string
	revision string
)

// Devel is the version of a binary built without -ldflags -X (go run, go
// test, a plain go build).
const Devel = "devel"

// Info identifies a build.
type Info struct {
	// Version is the release (VERSION), or Devel.
	Version string `json:"version"`
	// Revision is the source commit, when known.
	Revision string `json:"revision,omitempty"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"goVersion"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Get returns this binary's build.
func Get() Info {
	info := Info{Version: release, Revision: revision, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info.Version == "" {
		info.Version = Devel
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info.GoVersion = bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && info.Revision == "" {
				info.Revision = s.Value
			}
		}
	}
	return info
}

// LinkerFlags are the -ldflags -X arguments that stamp release and revision
// into a binary (hack/ scripts and tests build with them).
func LinkerFlags(release, revision string) string {
	const pkg = "github.com/nested-workspaces/enabler/version"
	flags := "-X " + pkg + ".release=" + release
	if revision != "" {
		flags += " -X " + pkg + ".revision=" + revision
	}
	return flags
}
