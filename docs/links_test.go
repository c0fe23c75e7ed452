// Package docs_test checks that the project's documentation points only at
// what exists: every relative link of the README, ARCHITECTURE.md and
// docs/*.md names a file of the repository (and a heading of it, for an
// anchor), every *.md file they mention exists, every "Section" in the
// README (or docs/admin.md) that a file refers to is a heading there, and
// the alerts' runbook URLs and the CSV's links name files and headings of
// this repository.
package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const (
	root       = ".."
	repository = "https://github.com/nested-workspaces/enabler/blob/main/"
)

var (
	markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mentionedMD  = regexp.MustCompile("(?:^|[\\s`(\"'])([A-Za-z0-9_./-]+\\.md)\\b")
	sectionRef   = regexp.MustCompile(`"([^"\n]+)" in (?:the )?(README|docs/admin\.md)`)
	heading      = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)
	repoURL      = regexp.MustCompile(regexp.QuoteMeta(repository) + `([^\s"'#)]+)(?:#([\w-]+))?`)
	fenced       = regexp.MustCompile("(?s)```.*?```")
)

// slug is GitHub's anchor for a heading.
func slug(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

func anchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fenced.ReplaceAllString(string(data), ""), -1) {
		out[slug(m[1])] = true
	}
	return out
}

func docs(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(root, "README.md"), filepath.Join(root, "ARCHITECTURE.md")}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append(files, more...)
}

func TestDocumentLinksResolve(t *testing.T) {
	for _, doc := range docs(t) {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, m := range markdownLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := doc
			if file != "" {
				path = filepath.Join(filepath.Dir(doc), file)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s links %s, which does not exist", doc, target)
					continue
				}
			}
			if anchor != "" && !anchors(t, path)[anchor] {
				t.Errorf("%s links %s: %s has no heading #%s", doc, target, path, anchor)
			}
		}
		for _, m := range mentionedMD.FindAllStringSubmatch(text, -1) {
			name := m[1]
			if strings.Contains(name, "://") {
				continue
			}
			if !existsNear(doc, name) {
				t.Errorf("%s mentions %s, which is not in the repository", doc, name)
			}
		}
	}
}

// existsNear says whether name is a file relative to doc's directory or to
// the repository root, or the base name of one at the root or in docs/.
func existsNear(doc, name string) bool {
	for _, p := range []string{filepath.Join(filepath.Dir(doc), name), filepath.Join(root, name), filepath.Join(root, "docs", name)} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// A file that sends the reader to a section ("Your own build" in
// docs/admin.md) names one that exists.
func TestSectionReferencesResolve(t *testing.T) {
	targets := map[string]string{"README": filepath.Join(root, "README.md"), "docs/admin.md": filepath.Join(root, "docs", "admin.md")}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", "dist", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".md", ".go", ".yaml", ".sh", ".txt":
		default:
			if d.Name() != "Makefile" && d.Name() != "Containerfile" {
				return nil
			}
		}
		if strings.HasSuffix(path, "links_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range sectionRef.FindAllStringSubmatch(string(data), -1) {
			if !anchors(t, targets[m[2]])[slug(m[1])] {
				t.Errorf("%s refers to %q in %s, which has no such heading", path, m[1], m[2])
			}
		}
		for _, m := range repoURL.FindAllStringSubmatch(string(data), -1) {
			file := filepath.Join(root, m[1])
			if _, err := os.Stat(file); err != nil {
				t.Errorf("%s links %s%s, which is not in the repository", path, repository, m[1])
				continue
			}
			if m[2] != "" && !anchors(t, file)[m[2]] {
				t.Errorf("%s links %s%s#%s: no such heading", path, repository, m[1], m[2])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
