package v1alpha1_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/nested-workspaces/enabler/test/goconst"
)

// The administrator's guide's table of condition reasons is what an admin
// reads: every reason the operator can set must be there, and nothing that
// it cannot.
func TestAdminGuideListsEveryConditionReason(t *testing.T) {
	ours := reasonConstants(t, "nestedcontainers_types.go")
	detected := reasonConstants(t, "../../detect/rules.go")
	// Dev Spaces' findings are the operator's Degraded reasons too.
	for name, value := range reasonConstants(t, "../../detect/devspaces.go") {
		ours[name] = value
	}
	readme, err := os.ReadFile("../../docs/admin.md")
	if err != nil {
		t.Fatal(err)
	}
	table := reasonTable(string(readme))
	if len(table) == 0 {
		t.Fatal("docs/admin.md has no condition reason table (| condition | reason | meaning and fix |)")
	}
	for name, value := range ours {
		if _, ok := table[value]; !ok {
			t.Errorf("docs/admin.md's reason table lacks %s (%q)", name, value)
		}
	}
	known := map[string]bool{}
	for _, v := range ours {
		known[v] = true
	}
	for _, v := range detected {
		known[v] = true
	}
	for reason := range table {
		if !known[reason] {
			t.Errorf("docs/admin.md lists reason %q, which no constant in api/v1alpha1 or detect defines", reason)
		}
	}
}

// reasonConstants maps the Reason* string constants of a Go file to their
// values.
func reasonConstants(t *testing.T, path string) map[string]string {
	t.Helper()
	out, err := goconst.Strings(path, "Reason")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var backticked = regexp.MustCompile("`([A-Za-z]+)`")

// reasonTable collects the backticked reasons of the table whose
// header is "| condition | reason | meaning and fix |".
func reasonTable(readme string) map[string]bool {
	out := map[string]bool{}
	in := false
	for _, line := range strings.Split(readme, "\n") {
		switch {
		case strings.HasPrefix(line, "| condition | reason |"):
			in = true
		case in && !strings.HasPrefix(line, "|"):
			return out
		case in:
			cells := strings.Split(line, "|")
			if len(cells) < 3 {
				continue
			}
			for _, m := range backticked.FindAllStringSubmatch(cells[2], -1) {
				out[m[1]] = true
			}
		}
	}
	return out
}
