package workspaces

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestCompactUID(t *testing.T) {
	a := types.UID("0f8e5e4a-3b1c-4d2e-9f00-112233445566")
	packed := compactUID(a)
	if want := (uid{0x0f, 0x8e, 0x5e, 0x4a, 0x3b, 0x1c, 0x4d, 0x2e, 0x9f, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66}); packed != want {
		t.Errorf("compactUID(%s) = %x, want the UUID's bytes %x", a, packed, want)
	}
	for _, row := range []struct {
		name string
		x, y types.UID
	}{
		{"UUIDs a bit apart", a, "0f8e5e4a-3b1c-4d2e-9f00-112233445567"},
		{"a UUID and text", a, "not-a-uuid"},
		{"two texts", "team/ws1", "team/ws2"},
		{"32 characters that are not hex", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"},
	} {
		t.Run(row.name, func(t *testing.T) {
			if compactUID(row.x) == compactUID(row.y) {
				t.Errorf("%q and %q compact to the same key", row.x, row.y)
			}
			if again := types.UID(strings.Clone(string(row.x))); compactUID(row.x) != compactUID(again) {
				t.Errorf("%q compacts to different keys", row.x)
			}
		})
	}
}
