package goconst

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestStrings(t *testing.T) {
	dir := t.TempDir()
	write := func(src string) string {
		p := filepath.Join(dir, "f.go")
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, row := range []struct {
		name, src string
		want      map[string]string
		wantErr   bool
	}{
		{"grouped and single", "package p\nconst (\n\tReasonA = \"A\"\n\tReasonB, Other = `B`, \"x\"\n)\nconst ReasonC = \"C\"\nconst N = 3\n",
			map[string]string{"ReasonA": "A", "ReasonB": "B", "ReasonC": "C"}, false},
		{"typed", "package p\ntype R string\nconst ReasonT R = \"T\"\n", map[string]string{"ReasonT": "T"}, false},
		{"not a string", "package p\nconst ReasonN = 3\n", nil, true},
		{"none", "package p\nconst X = \"x\"\n", nil, true},
		{"not Go", "package p\nconst (", nil, true},
	} {
		t.Run(row.name, func(t *testing.T) {
			got, err := Strings(write(row.src), "Reason")
			if (err != nil) != row.wantErr || !reflect.DeepEqual(got, row.want) {
				t.Errorf("Strings = %v, %v; want %v (error %v)", got, err, row.want, row.wantErr)
			}
		})
	}
}
