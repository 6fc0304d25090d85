package schema

import (
	"errors"
	"strconv"
	"testing"
)

// TestParseDecimal: plain decimal text is read as strconv.ParseFloat reads
// it; Go literal forms ParseFloat also takes ("1_0", "0x1p4", "Inf") are
// refused (ipatlas build read "1_0" as latitude 10, "0x1p4" as 16).
func TestParseDecimal(t *testing.T) {
	for _, s := range []string{"0", "-0", "+1", "10", "1.5", "-33.25", ".5", "5.", "1e5", "1E-3", "-2.5e+2", "00012", "179.9999999999"} {
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ParseDecimal(s); err != nil || got != want {
			t.Errorf("ParseDecimal(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "+", "-", ".", "e5", "1e", "1e+", "1_0", "1__0", "0x1p4", "0x10", "0X1P-2", "0b1", "NaN", "nan", "Inf", "+Inf", "-infinity",
		" 1", "1 ", "1.2.3", "1..2", "--1", "+-1", "1e5.5", "1,5", "١", "1\x00"} {
		if got, err := ParseDecimal(s); !errors.Is(err, ErrNotDecimal) {
			t.Errorf("ParseDecimal(%q) = %v, %v; want ErrNotDecimal", s, got, err)
		}
	}
	if _, err := ParseDecimal("1e400"); !errors.Is(err, strconv.ErrRange) {
		t.Errorf("ParseDecimal(1e400) = %v, want strconv.ErrRange", err)
	}
}

// FuzzParseDecimal: whatever ParseDecimal takes, strconv.ParseFloat reads
// as the same number, and it is finite.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"1.5", "1_0", "0x1p4", "-.5e-3", "Inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDecimal(s)
		if err != nil {
			return
		}
		want, err2 := strconv.ParseFloat(s, 64)
		if err2 != nil || got != want || got-got != 0 {
			t.Fatalf("ParseDecimal(%q) = %v; ParseFloat = %v, %v", s, got, want, err2)
		}
		for _, c := range []byte(s) {
			if !(c >= '0' && c <= '9' || c == '.' || c == '+' || c == '-' || c == 'e' || c == 'E') {
				t.Fatalf("ParseDecimal(%q) took byte %q", s, c)
			}
		}
	})
}

func TestQuoteCell(t *testing.T) {
	long := string(make([]byte, 100))
	for s, want := range map[string]string{
		"":        `""`,
		"a\"b":    `"a\"b"`,
		"\xff":    `"\xff"`,
		long:      strconv.Quote(long[:64]) + "... (100 bytes)",
		long[:64]: strconv.Quote(long[:64]),
	} {
		if got := QuoteCell(s); got != want {
			t.Errorf("QuoteCell(%.10q) = %s, want %s", s, got, want)
		}
	}
}
