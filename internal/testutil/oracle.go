package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// Paths of the outside readers, as Debian installs them.
const (
	MmdblookupBin = "/usr/bin/mmdblookup" // libmaxminddb's reader (package mmdb-bin)
	PythonBin     = "/usr/bin/python3"    // with python3-maxminddb
)

// Mmdblookup returns the path of libmaxminddb's mmdblookup, skipping or
// failing the test when it is not installed.
func Mmdblookup(tb testing.TB) string {
	tb.Helper()
	_, err := exec.LookPath(MmdblookupBin)
	Need(tb, "libmaxminddb's mmdblookup", err, "install Debian package mmdb-bin")
	return MmdblookupBin
}

// Python returns the path of a python3 that imports maxminddb, skipping or
// failing the test when there is none.
func Python(tb testing.TB) string {
	tb.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(PythonBin, "-c", "import maxminddb")
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s -c 'import maxminddb': %w %s", PythonBin, err, strings.TrimSpace(stderr.String()))
	}
	Need(tb, "python3-maxminddb", err, "install Debian package python3-maxminddb")
	return PythonBin
}

// RunPython runs script (python3 -c) with args and stdin under the python
// Python returns, and returns what it prints; a failure fails the test
// with the script's stderr.
func RunPython(tb testing.TB, script, stdin string, args ...string) []byte {
	tb.Helper()
	cmd := exec.Command(Python(tb), append([]string{"-c", script}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("python3-maxminddb %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// MmdblookupResult is what one run of mmdblookup said.
type MmdblookupResult struct {
	Found  bool   // the address has a record
	PathOK bool   // the record has a value at the lookup path (false when !Found)
	Out    string // what it printed on stdout
}

// RunMmdblookup looks addr up in db with mmdblookup (bin from Mmdblookup),
// following the lookup path (map keys and array indexes) when one is
// given. "Could not find an entry" (exit 6) is Found false; "lookup path
// does not match the data" is PathOK false; any other failure fails the
// test.
func RunMmdblookup(tb testing.TB, bin, db string, addr netip.Addr, path ...string) MmdblookupResult {
	tb.Helper()
	res, err := runMmdblookup(bin, db, addr, path...)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// runMmdblookup is RunMmdblookup returning its failure, for callers that
// run it off the test's goroutine.
func runMmdblookup(bin, db string, addr netip.Addr, path ...string) (MmdblookupResult, error) {
	args := []string{"--file", db, "--ip", addr.String()}
	if len(path) > 0 {
		args = append(append(args, "--"), path...)
	}
	cmd := exec.Command(bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return MmdblookupResult{Found: true, PathOK: true, Out: o.String()}, nil
	case errors.As(err, &ee) && ee.ExitCode() == 6 && strings.Contains(e.String(), "Could not find an entry"):
		return MmdblookupResult{Out: o.String()}, nil
	case strings.Contains(e.String(), "lookup path does not match the data"):
		return MmdblookupResult{Found: true, Out: o.String()}, nil
	}
	return MmdblookupResult{}, fmt.Errorf("mmdblookup %s: %w\n%s%s", strings.Join(args, " "), err, o.String(), e.String())
}

// MmdblookupAll runs RunMmdblookup for every address (a process each, two
// at a time) and returns the results in the order of addrs.
func MmdblookupAll(tb testing.TB, bin, db string, addrs []netip.Addr) []MmdblookupResult {
	tb.Helper()
	results := make([]MmdblookupResult, len(addrs))
	errs := make([]error, len(addrs))
	sem := make(chan struct{}, 2)
	done := make(chan struct{})
	for i := range addrs {
		go func() {
			sem <- struct{}{}
			results[i], errs[i] = runMmdblookup(bin, db, addrs[i])
			<-sem
			done <- struct{}{}
		}()
	}
	for range addrs {
		<-done
	}
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	return results
}

// MmdbValue is one value mmdblookup printed: a map, an array, or a scalar
// with the type mmdblookup names and its text.
type MmdbValue struct {
	Kind  string // "map", "array" or the scalar's type: utf8_string, uint32, double, bytes, ...
	Text  string // a scalar's text; a utf8_string's without its quotes
	Map   map[string]MmdbValue
	Elems []MmdbValue
}

// Tagged returns v as maps (map[string]any), arrays ([]any) and scalars
// as mmdblookup prints them, `text <type>` (`"text" <utf8_string>`,
// ` <bytes>` when empty), for comparing with a value written by hand.
func (v MmdbValue) Tagged() any {
	switch v.Kind {
	case "map":
		m := make(map[string]any, len(v.Map))
		for k, e := range v.Map {
			m[k] = e.Tagged()
		}
		return m
	case "array":
		s := make([]any, 0, len(v.Elems))
		for _, e := range v.Elems {
			s = append(s, e.Tagged())
		}
		return s
	case "utf8_string":
		return `"` + v.Text + `" <utf8_string>`
	}
	return v.Text + " <" + v.Kind + ">"
}

// ParseMmdblookup parses mmdblookup's output: one value, maps as
// `{`, `"key":` value ..., `}` and arrays as `[` value ... `]` across
// lines, scalars as `text <type>`, strings quoted without escapes.
func ParseMmdblookup(out string) (MmdbValue, error) {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	v, next, err := parseMmdbLines(lines, 0)
	if err == nil && next != len(lines) {
		err = fmt.Errorf("mmdblookup output: %d lines after the value", len(lines)-next)
	}
	return v, err
}

func parseMmdbLines(lines []string, i int) (MmdbValue, int, error) {
	if i >= len(lines) {
		return MmdbValue{}, i, errors.New("mmdblookup output: ends before a value")
	}
	switch l := lines[i]; l {
	case "{":
		v := MmdbValue{Kind: "map", Map: map[string]MmdbValue{}}
		for i++; i < len(lines) && lines[i] != "}"; {
			k := lines[i]
			if len(k) < 3 || !strings.HasPrefix(k, `"`) || !strings.HasSuffix(k, `":`) {
				return v, i, fmt.Errorf("mmdblookup output line %d: want a key, got %q", i+1, k)
			}
			e, next, err := parseMmdbLines(lines, i+1)
			if err != nil {
				return v, next, err
			}
			v.Map[k[1:len(k)-2]] = e
			i = next
		}
		if i >= len(lines) {
			return v, i, errors.New("mmdblookup output: map without its }")
		}
		return v, i + 1, nil
	case "[":
		v := MmdbValue{Kind: "array", Elems: []MmdbValue{}}
		for i++; i < len(lines) && lines[i] != "]"; {
			e, next, err := parseMmdbLines(lines, i)
			if err != nil {
				return v, next, err
			}
			v.Elems = append(v.Elems, e)
			i = next
		}
		if i >= len(lines) {
			return v, i, errors.New("mmdblookup output: array without its ]")
		}
		return v, i + 1, nil
	default:
		if !strings.HasSuffix(l, ">") {
			return MmdbValue{}, i, fmt.Errorf("mmdblookup output line %d: want `value <type>`, got %q", i+1, l)
		}
		var text, kind string
		if strings.HasPrefix(l, "<") { // empty bytes print as " <bytes>"
			kind = l[1 : len(l)-1]
		} else if j := strings.LastIndex(l, " <"); j >= 0 {
			text, kind = l[:j], l[j+2:len(l)-1]
		} else {
			return MmdbValue{}, i, fmt.Errorf("mmdblookup output line %d: want `value <type>`, got %q", i+1, l)
		}
		if kind == "utf8_string" {
			if len(text) < 2 || text[0] != '"' || text[len(text)-1] != '"' {
				return MmdbValue{}, i, fmt.Errorf("mmdblookup output line %d: string without quotes: %q", i+1, l)
			}
			text = text[1 : len(text)-1]
		}
		return MmdbValue{Kind: kind, Text: text}, i + 1, nil
	}
}

// OpenV2 opens path with maxminddb-golang v2 and closes it when the test
// ends; an error fails the test.
func OpenV2(tb testing.TB, path string) *maxminddb.Reader {
	tb.Helper()
	r, err := maxminddb.Open(path)
	return closeAtEnd(tb, r, err)
}

// OpenV2Bytes opens a database held in memory with maxminddb-golang v2;
// an error fails the test.
func OpenV2Bytes(tb testing.TB, file []byte) *maxminddb.Reader {
	tb.Helper()
	r, err := maxminddb.OpenBytes(file)
	return closeAtEnd(tb, r, err)
}

func closeAtEnd(tb testing.TB, r *maxminddb.Reader, err error) *maxminddb.Reader {
	tb.Helper()
	if err != nil {
		tb.Fatalf("maxminddb-golang v2: %v", err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// LookupV2 returns the record maxminddb-golang v2 finds for addr in r,
// decoded into untyped values (maps, slices, strings, numbers), or nil
// when there is none; an error fails the test.
func LookupV2(tb testing.TB, r *maxminddb.Reader, addr netip.Addr) any {
	tb.Helper()
	var x any
	if err := r.Lookup(addr).Decode(&x); err != nil {
		tb.Fatalf("maxminddb-golang v2: Lookup(%s): %v", addr, err)
	}
	return x
}
