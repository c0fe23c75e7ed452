// Package bounded keeps what the operator copies from other objects — a
// tenant's DevWorkspaceOperatorConfig, an admission message about a
// tenant's pod, a list of namespaces — within a size the operator chose,
// so that no one else's text can grow its cluster-scoped status, events or
// metrics without limit, or choose what they say.
package bounded

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Cut is s cut to at most n bytes on a rune boundary, with "…" marking a
// cut.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Quote is s cut to n bytes and quoted as a Go string: control characters
// and quotes are escaped, so quoted text cannot pass for the operator's
// own words around it.
func Quote(s string, n int) string { return strconv.Quote(Cut(s, n)) }

// List joins at most n items with ", " and says how many more there were:
// "a, b, c and 7 more".
func List(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
