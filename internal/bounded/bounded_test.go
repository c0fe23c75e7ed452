package bounded

import (
	"strings"
	"testing"
)

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
		want     string
	}{
		{"short_is_kept", "abc", 5, "abc"},
		{"exact_is_kept", "abcde", 5, "abcde"},
		{"long_is_cut_and_marked", "abcdefgh", 5, "abcde…"},
		{"a_rune_is_never_split", "ab€cd", 3, "ab…"},
		{"empty", "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Cut(tc.in, tc.n); got != tc.want {
				t.Errorf("Cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

func TestQuoteEscapesAndBounds(t *testing.T) {
	got := Quote("ok\"; Ready=True\n"+strings.Repeat("x", 40000), 32)
	if strings.ContainsAny(got[1:len(got)-1], "\n") || !strings.HasPrefix(got, `"ok\"; Ready=True\n`) || len(got) > 32 {
		t.Errorf("Quote = %s (%d bytes)", got, len(got))
	}
	for _, s := range []string{strings.Repeat("\x00", 1000), strings.Repeat("€", 1000), "short"} {
		if got := Quote(s, 64); len(got) > 64 || got[0] != '"' || got[len(got)-1] != '"' {
			t.Errorf("Quote(%.10q…) = %d bytes: %s", s, len(got), got)
		}
	}
}

func FuzzQuote(f *testing.F) {
	f.Add("ok\"\n\x00€", 16)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 8 || n > 1<<12 {
			return
		}
		if got := Quote(s, n); len(got) > n {
			t.Errorf("Quote(%q, %d) is %d bytes", s, n, len(got))
		}
	})
}

func TestList(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items []string
		n     int
		want  string
	}{
		{"all_fit", []string{"a", "b"}, 3, "a, b"},
		{"the_rest_is_counted", []string{"a", "b", "c", "d", "e"}, 2, "a, b and 3 more"},
		{"none", nil, 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := List(tc.items, tc.n); got != tc.want {
				t.Errorf("List = %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzCut(f *testing.F) {
	f.Add("ab€cd", 3)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		got := Cut(s, n)
		if len(got) > n+len("…") {
			t.Errorf("Cut(%q, %d) is %d bytes", s, n, len(got))
		}
	})
}
