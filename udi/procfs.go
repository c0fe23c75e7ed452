package udi

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Capability bits as in linux/capability.h.
const (
	capDACOverride = 1
	capSetGID      = 6
	capSetUID      = 7
)

// capName is the name of one of the capabilities above.
func capName(bit int) string {
	switch bit {
	case capDACOverride:
		return "DAC_OVERRIDE"
	case capSetGID:
		return "SETGID"
	case capSetUID:
		return "SETUID"
	}
	return fmt.Sprintf("capability %d", bit)
}

// procStatus is /proc/PID/status as key → value.
type procStatus map[string]string

func readProcStatus(path string) (procStatus, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return parseProcStatus(string(data)), nil
}

func parseProcStatus(data string) procStatus {
	st := procStatus{}
	for _, line := range strings.Split(data, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			st[k] = strings.TrimSpace(v)
		}
	}
	return st
}

// capSet parses a hex capability mask such as CapBnd.
func (st procStatus) capSet(key string) (uint64, error) {
	v, ok := st[key]
	if !ok {
		return 0, fmt.Errorf("no %s line", key)
	}
	n, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", key, v, err)
	}
	return n, nil
}

func hasCap(set uint64, bit int) bool { return set&(1<<bit) != 0 }

// fileCaps is the part of a security.capability xattr that matters here.
type fileCaps struct {
	Permitted uint64
	Effective bool
}

// parseFileCaps decodes struct vfs_cap_data (revisions 1, 2 and 3; 3 adds the
// namespace's root ID, which the kernel has already checked on read).
func parseFileCaps(b []byte) (fileCaps, error) {
	if len(b) < 4 {
		return fileCaps{}, fmt.Errorf("security.capability is %d bytes", len(b))
	}
	magic := binary.LittleEndian.Uint32(b)
	fc := fileCaps{Effective: magic&0x000001 != 0}
	switch rev := magic & 0xFF000000; rev {
	case 0x01000000:
		if len(b) < 12 {
			return fileCaps{}, fmt.Errorf("security.capability v1 is %d bytes", len(b))
		}
		fc.Permitted = uint64(binary.LittleEndian.Uint32(b[4:]))
	case 0x02000000, 0x03000000:
		if len(b) < 20 {
			return fileCaps{}, fmt.Errorf("security.capability v%d is %d bytes", rev>>24, len(b))
		}
		fc.Permitted = uint64(binary.LittleEndian.Uint32(b[4:])) | uint64(binary.LittleEndian.Uint32(b[12:]))<<32
	default:
		return fileCaps{}, fmt.Errorf("security.capability has unknown revision %#x", rev)
	}
	return fc, nil
}

// procSubmounts lists mount points strictly below /proc in a mountinfo file
// — masked (/dev/null over /proc/kcore, tmpfs over /proc/acpi) or read-only
// (/proc/sys) paths — except binfmt_misc, which sits on a directory procfs
// keeps empty and therefore does not stop a new proc mount.
func procSubmounts(mountinfo string) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMountPath(f[4])
		if !strings.HasPrefix(mp, "/proc/") || mp == "/proc/sys/fs/binfmt_misc" || seen[mp] {
			continue
		}
		seen[mp] = true
		out = append(out, mp)
	}
	return out
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
