package builder

import (
	"strconv"
	"testing"
)

func TestIsDecimal(t *testing.T) {
	for _, s := range []string{"0", "1", "-1", "+1", "1.5", "-0.25", ".5", "5.", "1e3", "1E-3", "-1.5e+10", "007", "31.22"} {
		if !isDecimal(s) {
			t.Errorf("%q: not decimal", s)
		}
	}
	for _, s := range []string{"", "-", ".", "e3", "1e", "1e+", "1_0", "0x1p3", "0x1p-1", "0x10", "Inf", "-inf", "NaN", "1.2.3", "1 ", " 1", "1,5", "0b1", "0o7", "1e3.5", "١"} {
		if isDecimal(s) {
			t.Errorf("%q: decimal", s)
		}
	}
}

// FuzzIsDecimal: whatever isDecimal accepts, ParseFloat reads (possibly
// out of range), and the JSON grammar, leniently, would too.
func FuzzIsDecimal(f *testing.F) {
	for _, s := range []string{"1", "-1.5e3", "0x1p3", "1_0", ".5", "5.", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !isDecimal(s) {
			return
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
				t.Fatalf("%q: isDecimal, but ParseFloat: %v", s, err)
			}
		}
		for _, c := range s {
			if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
				t.Fatalf("%q: isDecimal with %q", s, c)
			}
		}
	})
}
