package recordpath

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ipatlas/ipatlas/reader"
)

// Parse splits a path into its elements: separated by '.', with "\." for
// a dot and "\\" for a backslash inside an element.
func Parse(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("empty path")
	}
	var elems []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) || (s[i+1] != '.' && s[i+1] != '\\') {
				return nil, fmt.Errorf("byte %d: a backslash escapes only '.' or '\\'", i+1)
			}
			i++
			cur.WriteByte(s[i])
		case '.':
			if cur.Len() == 0 {
				return nil, fmt.Errorf("empty element %d", len(elems)+1)
			}
			elems = append(elems, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() == 0 {
		return nil, fmt.Errorf("empty element %d", len(elems)+1)
	}
	return append(elems, cur.String()), nil
}

// Value returns the value at path in the record of res, or nil when
// there is none. The reader's DecodePath does it without decoding the
// whole record when the guess "numeric elements are indexes" holds; when
// it fails (a numeric key of a map, a word into an array), the record is
// decoded and walked.
func Value(res reader.Result, path []string) (any, error) {
	typed := make([]any, len(path))
	for i, e := range path {
		if n, ok := index(e); ok {
			typed[i] = n
		} else {
			typed[i] = e
		}
	}
	var v any
	if err := res.DecodePath(&v, typed...); err == nil {
		return v, nil
	}
	var rec any
	if err := res.Decode(&rec); err != nil {
		return nil, err
	}
	for _, e := range path {
		switch x := rec.(type) {
		case map[string]any:
			var ok bool
			if rec, ok = x[e]; !ok {
				return nil, nil
			}
		case []any:
			n, ok := index(e)
			if !ok {
				return nil, nil
			}
			if n < 0 {
				n += len(x)
			}
			if n < 0 || n >= len(x) {
				return nil, nil
			}
			rec = x[n]
		default:
			return nil, nil
		}
	}
	return rec, nil
}

// index parses an array index as strtol does for libmaxminddb: an
// optional sign and decimal digits.
func index(e string) (int, bool) {
	n, err := strconv.Atoi(e)
	return n, err == nil
}
