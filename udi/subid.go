package udi

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.podman.io/storage/pkg/idtools"
)

// SubIDRange is one subordinate range, "start:count" in /etc/subuid.
// Count stays signed so that the doctor can name the negative counts some
// entrypoint formulas produce instead of failing to read them.
type SubIDRange struct {
	Start int
	Count int
}

// End is the first ID after the range.
func (r SubIDRange) End() int { return r.Start + r.Count }

// Contains reports whether id is in the range.
func (r SubIDRange) Contains(id int) bool { return id >= r.Start && id < r.End() }

func (r SubIDRange) String() string { return fmt.Sprintf("%d:%d", r.Start, r.Count) }

// FormatRanges renders ranges as the lines for one user would read,
// "user:1:999, user:1001:64535".
func FormatRanges(user string, rs []SubIDRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = user + ":" + r.String()
	}
	return strings.Join(parts, ", ")
}

func totalCount(rs []SubIDRange) int {
	n := 0
	for _, r := range rs {
		n += max(r.Count, 0)
	}
	return n
}

// SubIDFile is /etc/subuid or /etc/subgid line by line, so that rewriting one
// user's entries keeps every other line (other users, comments) as it was.
type SubIDFile struct {
	lines []subIDLine
}

type subIDLine struct {
	text  string // the line as read, for lines that are kept verbatim
	entry bool
	owner string
	r     SubIDRange
}

// ParseSubIDFile parses subuid/subgid content: "owner:start:count" lines,
// blank lines and # comments. Like containers/storage it refuses a malformed
// line rather than skipping it, because podman would refuse it too.
func ParseSubIDFile(data string) (*SubIDFile, error) {
	f := &SubIDFile{}
	data = strings.TrimSuffix(data, "\n")
	if data == "" {
		return f, nil
	}
	for n, line := range strings.Split(data, "\n") {
		text := strings.TrimSpace(line)
		if text == "" || strings.HasPrefix(text, "#") {
			f.lines = append(f.lines, subIDLine{text: line})
			continue
		}
		parts := strings.Split(text, ":")
		if len(parts) != 3 || parts[0] == "" {
			return nil, fmt.Errorf("line %d %q: want owner:start:count", n+1, line)
		}
		start, err := strconv.ParseUint(parts[1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: start is not a number from 0 to 4294967295", n+1, line)
		}
		count, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil || count > 1<<32 || count < -(1<<32) {
			return nil, fmt.Errorf("line %d %q: count is not a number", n+1, line)
		}
		f.lines = append(f.lines, subIDLine{text: line, entry: true, owner: parts[0],
			r: SubIDRange{Start: int(start), Count: int(count)}})
	}
	return f, nil
}

// owns reports whether a line's owner field names the user: by name or by
// numeric UID, as shadow's newuidmap and containers/storage both accept.
func owns(owner, name string, uid int) bool {
	return owner == name || owner == strconv.Itoa(uid)
}

// RangesFor returns the user's ranges in file order.
func (f *SubIDFile) RangesFor(name string, uid int) []SubIDRange {
	var rs []SubIDRange
	for _, l := range f.lines {
		if l.entry && owns(l.owner, name, uid) {
			rs = append(rs, l.r)
		}
	}
	return rs
}

// WithRanges returns a copy of f in which the user's entries are exactly rs,
// written under name where the user's first entry was (or at the end).
func (f *SubIDFile) WithRanges(name string, uid int, rs []SubIDRange) *SubIDFile {
	out := &SubIDFile{}
	inserted := false
	insert := func() {
		for _, r := range rs {
			out.lines = append(out.lines, subIDLine{text: name + ":" + r.String(), entry: true, owner: name, r: r})
		}
		inserted = true
	}
	for _, l := range f.lines {
		if l.entry && owns(l.owner, name, uid) {
			if !inserted {
				insert()
			}
			continue
		}
		out.lines = append(out.lines, l)
	}
	if !inserted {
		insert()
	}
	return out
}

// String renders the file, one line each, ending in a newline.
func (f *SubIDFile) String() string {
	var b strings.Builder
	for _, l := range f.lines {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// PlanSubIDs returns the subordinate ranges for a user whose own ID is own in
// a namespace with map m: every ID mapped inside the namespace except own
// and 0. Own is excluded because podman maps it itself (container root is
// the user); 0 because the namespace's root owns the image's system files,
// and a nested container process should not be able to act as their owner.
// UID 1000 in "0 200000 65536" gets 1:999 and 1001:64535.
func PlanSubIDs(m []idtools.IDMap, own int) ([]SubIDRange, error) {
	if !isMapped(own, m) {
		return nil, fmt.Errorf("ID %d is not mapped in this user namespace (map %s)", own, FormatIDMap(m))
	}
	spans := insideSpans(m)
	var out []SubIDRange
	for _, s := range spans {
		for _, piece := range cut(s, own) {
			for _, p := range cut(piece, 0) {
				if p.Count > 0 {
					out = append(out, p)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the namespace maps only %d ID(s) (%s): none is left for subordinate IDs; the pod needs hostUsers: false, which maps 65536", mapSize(m), FormatIDMap(m))
	}
	if err := ValidatePlan(out, m, own); err != nil {
		return nil, err
	}
	return out, nil
}

// ValidatePlan rejects ranges that newuidmap or podman would refuse: IDs
// outside the map, the user's own ID, overlaps, empty ranges.
func ValidatePlan(rs []SubIDRange, m []idtools.IDMap, own int) error {
	for _, r := range rs {
		if r.Count <= 0 {
			return fmt.Errorf("range %s is empty", r)
		}
		if r.Contains(own) {
			return fmt.Errorf("range %s includes the user's own ID %d", r, own)
		}
		if id, ok := firstUnmapped(r, m); !ok {
			return fmt.Errorf("range %s exceeds the namespace's map (%s): ID %d is not mapped", r, FormatIDMap(m), id)
		}
	}
	if a, b, ok := overlapping(rs); ok {
		return fmt.Errorf("ranges %s and %s overlap", a, b)
	}
	return nil
}

// insideSpans is the map's inside ranges, sorted and with adjacent ones
// merged.
func insideSpans(m []idtools.IDMap) []SubIDRange {
	spans := make([]SubIDRange, 0, len(m))
	for _, e := range m {
		spans = append(spans, SubIDRange{Start: e.ContainerID, Count: e.Size})
	}
	slices.SortFunc(spans, func(a, b SubIDRange) int { return a.Start - b.Start })
	merged := spans[:0]
	for _, s := range spans {
		if n := len(merged); n > 0 && merged[n-1].End() == s.Start {
			merged[n-1].Count += s.Count
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// cut removes id from r, returning the part before and the part after.
func cut(r SubIDRange, id int) []SubIDRange {
	if !r.Contains(id) {
		return []SubIDRange{r}
	}
	return []SubIDRange{{Start: r.Start, Count: id - r.Start}, {Start: id + 1, Count: r.End() - id - 1}}
}

// firstUnmapped returns the first ID of r that m does not map, or ok when
// every ID is mapped.
func firstUnmapped(r SubIDRange, m []idtools.IDMap) (id int, ok bool) {
	next := r.Start
	for _, s := range insideSpans(m) {
		if next >= r.End() {
			return 0, true
		}
		if next < s.Start {
			return next, false
		}
		if s.Contains(next) {
			next = s.End()
		}
	}
	if next >= r.End() {
		return 0, true
	}
	return next, false
}

// overlapping finds two ranges that share an ID.
func overlapping(rs []SubIDRange) (a, b SubIDRange, ok bool) {
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(x, y SubIDRange) int { return x.Start - y.Start })
	for i := 1; i < len(sorted); i++ {
		if sorted[i-1].Count > 0 && sorted[i].Count > 0 && sorted[i-1].End() > sorted[i].Start {
			return sorted[i-1], sorted[i], true
		}
	}
	return SubIDRange{}, SubIDRange{}, false
}
