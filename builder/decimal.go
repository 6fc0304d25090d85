package builder

// isDecimal reports whether s is a number in the plain decimal syntax
// every tool reads the same (JSON's, with an optional '+' and leading
// zeros, and a '.' that may start or end the digits): [+-] digits
// [. digits] [e|E [+-] digits]. strconv.ParseFloat also takes Go-only
// forms, digit separators (1_0) and hexadecimal (0x1p3), and the words
// Inf and NaN, which other readers of the same file would not, so input
// is checked with isDecimal first.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, digits = i+1, digits+1
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
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, exp = i+1, exp+1
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}
