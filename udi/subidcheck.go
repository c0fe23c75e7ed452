package udi

import (
	"fmt"
	"strings"

	"go.podman.io/storage/pkg/idtools"
)

// Finding is one thing the doctor has to say about a file.
type Finding struct {
	Status  Status
	Message string
	Fix     string
}

// SubIDCheck is what CheckSubIDs needs to judge one user's entries in
// /etc/subuid or /etc/subgid.
type SubIDCheck struct {
	File   string // for messages: /etc/subuid
	Kind   string // "UID" or "GID"
	User   string
	UID    int // the user's UID: the UDI's formula derives both files from it
	Own    int // the ID podman maps itself: the UID, or the process's GID
	Ranges []SubIDRange
	Map    []idtools.IDMap // the namespace's uid_map or gid_map
	Plan   []SubIDRange    // what udi-setup configure would write, for the fix
}

// minSubIDs is how many subordinate IDs give a container every ID from 0 to
// 65534 (nobody): container root is the user's own ID, the rest come from
// the subordinate ranges.
const minSubIDs = 65534

// CheckSubIDs judges the user's ranges against the namespace's map: each
// way they can break podman gets its own message, naming the error podman
// or newuidmap prints for it.
func CheckSubIDs(c SubIDCheck) []Finding {
	tool := "new" + strings.ToLower(c.Kind) + "map" // newuidmap
	mapFile := strings.ToLower(c.Kind) + "_map"     // uid_map
	rangeWord := strings.ToLower(c.Kind) + " range" // uid range
	entry := func(r SubIDRange) string { return fmt.Sprintf("%s:%s", c.User, r) }
	fix := fixConfigure
	if len(c.Plan) > 0 {
		fix = fmt.Sprintf("run udi-setup configure; it writes %s", FormatRanges(c.User, c.Plan))
	}
	last := lastMappedID(c.Map)

	if len(c.Ranges) == 0 {
		return []Finding{{Status: StatusFail, Fix: fix,
			Message: fmt.Sprintf("no entry for %s (or %d) in %s: podman can map no %s but your own", c.User, c.UID, c.File, c.Kind)}}
	}
	var out []Finding
	failed := false
	add := func(s Status, format string, args ...any) {
		out = append(out, Finding{Status: s, Message: fmt.Sprintf(format, args...), Fix: fix})
		failed = failed || s == StatusFail
	}
	for _, r := range c.Ranges {
		// The UDI entrypoint writes exactly one line per file.
		udiShape := len(c.Ranges) == 1 && r.Start == c.UID+1
		udiFormula := udiShape && r.Count == 65535-c.UID
		switch {
		case r.Count <= 0 && udiFormula:
			add(StatusFail, "%s is the UDI entrypoint's formula user:UID+1:65535-UID, which for UID %d gives %d IDs starting past the namespace's last %s %d: %s refuses it (\"%s\")",
				entry(r), c.UID, r.Count, c.Kind, last, tool, fmt.Sprintf("%s: %s [1-1) -> [%d-%d) not allowed", tool, rangeWord, r.Start, r.Start))
			continue
		case r.Count <= 0:
			add(StatusFail, "%s has count %d: %s refuses an empty range", entry(r), r.Count, tool)
			continue
		}
		if r.Contains(c.Own) {
			add(StatusFail, "%s includes your own %s %d: podman refuses it with: invalid configuration: the specified mapping %s in \"%s\" includes the user %s",
				entry(r), c.Kind, c.Own, r, c.File, c.Kind)
		}
		if id, ok := firstUnmapped(r, c.Map); !ok {
			what := fmt.Sprintf("%s reaches %s %d", entry(r), c.Kind, id)
			if udiShape {
				what = fmt.Sprintf("%s (the UDI entrypoint's user:UID+1:... formula) runs to %s %d", entry(r), c.Kind, r.End()-1)
			}
			add(StatusFail, "%s, which this namespace does not map (it maps %s, last %d): %s fails with \"%s\"",
				what, FormatIDMap(c.Map), last, tool, tool+": write to "+mapFile+" failed: Operation not permitted")
		}
		if r.Contains(0) {
			add(StatusWarn, "%s includes %s 0, the pod's root: a nested container could act as the owner of the image's root-owned files", entry(r), c.Kind)
		}
	}
	if a, b, overlap := overlapping(c.Ranges); overlap {
		add(StatusFail, "%s and %s overlap: the kernel rejects overlapping maps", entry(a), entry(b))
	}
	if failed {
		return out
	}
	total := totalCount(c.Ranges)
	if want := min(minSubIDs, totalCount(c.Plan)); total < want {
		msg := fmt.Sprintf("only %d subordinate %ss: container %ss above %d are unmapped, so images with files owned by e.g. nobody (65534) fail with \"potentially insufficient UIDs or GIDs available in user namespace\"",
			total, c.Kind, c.Kind, total)
		if len(c.Ranges) == 1 && c.Ranges[0].Start == c.UID+1 && c.UID > 1 {
			msg += fmt.Sprintf(" (the UDI entrypoint's formula user:UID+1:65535-UID leaves 1..%d unused)", c.UID-1)
		}
		add(StatusWarn, "%s", msg)
		return out
	}
	if len(out) == 0 {
		out = append(out, Finding{Status: StatusOK, Message: fmt.Sprintf("%d IDs, all mapped in this namespace, your own %s %d not among them", total, c.Kind, c.Own)})
	}
	return out
}
