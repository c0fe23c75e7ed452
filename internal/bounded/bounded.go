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

// Quote is s quoted as a Go string, cut so that the quoted form, quotes
// and "…" included, is at most n bytes (n at least 8): control characters
// and quotes are escaped, so quoted text cannot pass for the operator's own
// words around it, and escapes cannot make it longer than n.
func Quote(s string, n int) string {
	q := strconv.Quote(s)
	for keep := len(s); len(q) > n && keep > 0; {
		keep = min(keep-1, keep*(n-5)/len(q))
		q = strconv.Quote(Cut(s, keep))
	}
	return q
}

// List joins at most n items with ", " and says how many more there were:
// "a, b, c and 7 more".
func List(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
