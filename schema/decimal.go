package schema

import (
	"errors"
	"strconv"
)

// ErrNotDecimal is returned by ParseDecimal for text that is not a plain
// decimal number.
var ErrNotDecimal = errors.New("not a decimal number")

// ParseDecimal reads text cells of input files (coordinates, radii,
// confidences) as a float64. Unlike strconv.ParseFloat it takes only plain
// decimal notation: an optional sign, digits with at most one decimal
// point (at least one digit), and an optional exponent (e or E, an
// optional sign, digits). Go literal syntax that ParseFloat also takes is
// refused, so that a typo is an error, not a different number: digit
// separators ("1_0" is 10 to ParseFloat), hexadecimal floats ("0x1p4" is
// 16), and the words NaN, Inf and Infinity. A number out of the range of
// a float64 is an error wrapping strconv.ErrRange.
func ParseDecimal(s string) (float64, error) {
	if !isDecimal(s) {
		return 0, ErrNotDecimal
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, strconv.ErrRange
		}
		return 0, ErrNotDecimal
	}
	return f, nil
}

// isDecimal reports whether s is [+-]digits[.digits][(e|E)[+-]digits] with
// at least one mantissa digit (".5" and "5." included).
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// QuoteCell quotes a text cell for an error message as %q does, cut to
// its first 64 bytes with its length added when longer: a 50 MB cell
// made a 50 MB message.
func QuoteCell(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}
