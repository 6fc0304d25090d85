package recordpath

import (
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, and the path syntax has one spelling per
// list of elements: when Parse accepts s, its elements are non-empty and
// escaping them back ("\" as "\\", "." as "\.") and joining them with
// dots gives s again. (The accepted and refused paths themselves are
// TestParseLookupPath's, in cmd/ipatlas.)
func FuzzParse(f *testing.F) {
	for _, s := range []string{"a", "country.names.zh-CN", `a\.b.c`, `a\\.b`, `a\\\.b`, "", "a..b", ".a", "a.", `a\b`, `a\`, "subdivisions.-1"} {
		f.Add(s)
	}
	escape := strings.NewReplacer(`\`, `\\`, `.`, `\.`)
	f.Fuzz(func(t *testing.T, s string) {
		elems, err := Parse(s)
		if err != nil {
			if elems != nil {
				t.Errorf("Parse(%q) = %q with error %v", s, elems, err)
			}
			return
		}
		back := make([]string, len(elems))
		for i, e := range elems {
			if e == "" {
				t.Fatalf("Parse(%q) = %q: an empty element", s, elems)
			}
			back[i] = escape.Replace(e)
		}
		if got := strings.Join(back, "."); got != s {
			t.Errorf("Parse(%q) = %q, which escapes back to %q", s, elems, got)
		}
	})
}
