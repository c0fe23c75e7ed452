package detect

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	configv1 "github.com/openshift/api/config/v1"
)

// Version is a parsed OpenShift release version. Pre-releases and nightlies
// ("4.20.0-0.nightly-2025-06-01-123456", "4.19.0-rc.2") keep their
// Prerelease but count as their major.minor for every rule.
type Version struct {
	Raw                 string
	Major, Minor, Patch uint64
	Prerelease          string
}

// ParseVersion parses an OpenShift version string with Masterminds semver.
func ParseVersion(s string) (Version, error) {
	trimmed := strings.TrimSpace(s)
	if trimmed == "" {
		return Version{}, fmt.Errorf("empty version")
	}
	v, err := semver.NewVersion(trimmed)
	if err != nil {
		return Version{}, fmt.Errorf("parse version %q: %w", s, err)
	}
	return Version{Raw: s, Major: v.Major(), Minor: v.Minor(), Patch: v.Patch(), Prerelease: v.Prerelease()}, nil
}

// AtLeast tells whether v's major.minor is major.minor or later; the patch
// and pre-release do not matter.
func (v Version) AtLeast(major, minor uint64) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// MajorMinor is "4.19" for "4.19.0-rc.2".
func (v Version) MajorMinor() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// CurrentVersion is the version the cluster runs: the newest Completed entry
// of status.history, else status.desired.version. OpenShift keeps history
// newest first; completionTime breaks the tie if a writer did not. ok is
// false when neither source names a version.
func CurrentVersion(cv *configv1.ClusterVersion) (version string, ok bool) {
	if cv == nil {
		return "", false
	}
	var best *configv1.UpdateHistory
	for i := range cv.Status.History {
		h := &cv.Status.History[i]
		if h.State != configv1.CompletedUpdate || strings.TrimSpace(h.Version) == "" {
			continue
		}
		if best == nil || newer(h, best) {
			best = h
		}
	}
	if best != nil {
		return best.Version, true
	}
	if v := cv.Status.Desired.Version; strings.TrimSpace(v) != "" {
		return v, true
	}
	return "", false
}

// newer tells whether h completed after best; without both completion
// times the earlier entry in the list (newest first) wins.
func newer(h, best *configv1.UpdateHistory) bool {
	if h.CompletionTime == nil || best.CompletionTime == nil {
		return false
	}
	return h.CompletionTime.After(best.CompletionTime.Time)
}
