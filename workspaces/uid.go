package workspaces

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// uid is an object's UID in 16 bytes (a UID is a UUID: 36 characters as
// a string, plus the string's header). Thousands are kept, several per
// workspace, so the difference shows in the operator's memory.
type uid [16]byte

// compactUID packs a UUID's 16 bytes; anything else (the API server
// makes UUIDs, a test may not) is hashed into 16 bytes.
func compactUID(u types.UID) uid {
	var out uid
	if s := strings.ReplaceAll(string(u), "-", ""); len(s) == 32 {
		if _, err := hex.Decode(out[:], []byte(s)); err == nil {
			return out
		}
	}
	sum := sha256.Sum256([]byte(u))
	copy(out[:], sum[:16])
	return out
}
