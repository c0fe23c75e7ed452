package udi

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"go.podman.io/storage/pkg/idtools"
)

// maxIDMapLines is the kernel's limit on lines in uid_map and gid_map.
const maxIDMapLines = 340

// ParseIDMap parses the contents of /proc/PID/uid_map or gid_map: lines of
// "inside outside count". In the result ContainerID is the ID inside this
// namespace and HostID the ID in the parent namespace, as idtools uses them.
// The kernel never produces what ParseIDMap rejects, so a rejection means the
// input is not a map.
func ParseIDMap(data string) ([]idtools.IDMap, error) {
	var maps []idtools.IDMap
	for n, line := range strings.Split(data, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 3 {
			return nil, fmt.Errorf("line %d %q: want 3 fields (inside outside count), got %d", n+1, line, len(fields))
		}
		// idtools parses the triple the way podman parses --uidmap.
		m, err := idtools.ParseIDMap([]string{strings.Join(fields, ":")}, "uid_map")
		if err != nil || len(m) != 1 {
			return nil, fmt.Errorf("line %d %q: not three unsigned 32-bit numbers", n+1, line)
		}
		e := m[0]
		if e.Size == 0 {
			return nil, fmt.Errorf("line %d %q: count is 0", n+1, line)
		}
		if uint64(e.ContainerID)+uint64(e.Size) > 1<<32 || uint64(e.HostID)+uint64(e.Size) > 1<<32 {
			return nil, fmt.Errorf("line %d %q: range runs past 4294967295", n+1, line)
		}
		maps = append(maps, e)
		if len(maps) > maxIDMapLines {
			return nil, fmt.Errorf("more than %d lines", maxIDMapLines)
		}
	}
	if len(maps) == 0 {
		return nil, fmt.Errorf("no mappings: the user namespace has not been given a map yet")
	}
	sorted := slices.Clone(maps)
	slices.SortFunc(sorted, func(a, b idtools.IDMap) int { return a.ContainerID - b.ContainerID })
	for i := 1; i < len(sorted); i++ {
		if sorted[i-1].ContainerID+sorted[i-1].Size > sorted[i].ContainerID {
			return nil, fmt.Errorf("inside ranges %s and %s overlap", formatMapLine(sorted[i-1]), formatMapLine(sorted[i]))
		}
	}
	return maps, nil
}

// ReadIDMap reads and parses a uid_map or gid_map file.
func ReadIDMap(path string) ([]idtools.IDMap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	m, err := ParseIDMap(string(data))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return m, nil
}

// IsIdentityMap reports whether m is the initial user namespace's map
// "0 0 4294967295", i.e. the process is not in a user namespace at all.
func IsIdentityMap(m []idtools.IDMap) bool {
	return len(m) == 1 && m[0].ContainerID == 0 && m[0].HostID == 0 && m[0].Size == 1<<32-1
}

// FormatIDMap renders m on one line, "0 200000 65536, ...".
func FormatIDMap(m []idtools.IDMap) string {
	parts := make([]string, len(m))
	for i, e := range m {
		parts[i] = formatMapLine(e)
	}
	return strings.Join(parts, ", ")
}

func formatMapLine(e idtools.IDMap) string {
	return fmt.Sprintf("%d %d %d", e.ContainerID, e.HostID, e.Size)
}

// mapSize is the number of IDs m maps.
func mapSize(m []idtools.IDMap) int {
	n := 0
	for _, e := range m {
		n += e.Size
	}
	return n
}

// isMapped reports whether the ID (as seen inside the namespace) is mapped.
func isMapped(id int, m []idtools.IDMap) bool {
	if len(m) == 0 { // idtools treats no map as the identity
		return false
	}
	_, err := idtools.RawToHost(id, m)
	return err == nil
}

// lastMappedID is the highest ID mapped inside the namespace.
func lastMappedID(m []idtools.IDMap) int {
	last := -1
	for _, e := range m {
		last = max(last, e.ContainerID+e.Size-1)
	}
	return last
}
