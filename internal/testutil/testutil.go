package testutil

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FetchHint says how to get the real data under data/.
const FetchHint = "run scripts/fetch-data.sh"

// ConformanceHint says where the conformance suite comes from.
const ConformanceHint = "MaxMind's conformance suite (spec, test-data, bad-data) belongs in ../shared/mmdb-conformance beside the checkout"

// InCI reports whether the tests run under CI (CI=true), where every data
// file and outside reader must be present.
func InCI() bool { return os.Getenv("CI") == "true" }

// Need applies the skip-or-fail rule: when err is not nil, the test skips
// with a message naming what is missing, err and how to get it, or fails
// under CI=true.
func Need(tb testing.TB, what string, err error, how string) {
	tb.Helper()
	if err == nil {
		return
	}
	if InCI() {
		tb.Fatalf("CI=true but %s is missing (%s): %v", what, how, err)
		return
	}
	tb.Skipf("%s is missing (%s): %v", what, how, err)
}

// Require returns path when a file or directory is there, and otherwise
// skips or fails the test by Need's rule.
func Require(tb testing.TB, path, how string) string {
	tb.Helper()
	_, err := os.Stat(path)
	Need(tb, path, err, how)
	return path
}

// Root returns the module root: the nearest directory holding go.mod at
// or above the working directory (a test's package directory). It fails
// the test when there is none.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := root()
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

func root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testutil: working directory: %w", err)
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("testutil: looking for go.mod: %w", err)
		}
		up := filepath.Dir(d)
		if up == d {
			return "", fmt.Errorf("testutil: no go.mod at or above %s", dir)
		}
		d = up
	}
}

// DataPath returns the path of a real data file under the module's data/
// folder (rel joined), without checking that it is there.
func DataPath(tb testing.TB, rel ...string) string {
	tb.Helper()
	return filepath.Join(append([]string{Root(tb), "data"}, rel...)...)
}

// Data returns the path of a real data file under data/ (rel joined:
// "GeoLite2-City.mmdb", or "geonames", "cities1000.txt"), skipping or
// failing the test when it is missing.
func Data(tb testing.TB, rel ...string) string {
	tb.Helper()
	return Require(tb, DataPath(tb, rel...), FetchHint)
}

// GeoLiteCity returns the path of data/GeoLite2-City.mmdb, skipping or
// failing the test when it is missing.
func GeoLiteCity(tb testing.TB) string {
	tb.Helper()
	return Data(tb, "GeoLite2-City.mmdb")
}

// GeoLiteCountry returns the path of data/GeoLite2-Country.mmdb, skipping
// or failing the test when it is missing.
func GeoLiteCountry(tb testing.TB) string {
	tb.Helper()
	return Data(tb, "GeoLite2-Country.mmdb")
}

// ConformanceDir returns the root of MaxMind's conformance suite,
// ../shared/mmdb-conformance beside the module root, skipping or failing
// the test when it is missing.
func ConformanceDir(tb testing.TB) string {
	tb.Helper()
	return Require(tb, filepath.Join(Root(tb), "..", "shared", "mmdb-conformance"), ConformanceHint)
}

// Conformance returns the path of a file of the conformance suite (rel
// joined: "test-data", "GeoIP2-City-Test.mmdb"), skipping or failing the
// test when it is missing.
func Conformance(tb testing.TB, rel ...string) string {
	tb.Helper()
	return Require(tb, filepath.Join(append([]string{ConformanceDir(tb)}, rel...)...), ConformanceHint)
}

// ConformanceGlob returns the conformance files matching pattern (relative
// to the suite's root, "test-data/*.mmdb"), sorted. No match fails the
// test: the suite is there (or the test skipped), so an empty list is a
// wrong pattern or a damaged suite.
func ConformanceGlob(tb testing.TB, pattern string) []string {
	tb.Helper()
	dir := ConformanceDir(tb)
	paths, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		tb.Fatalf("conformance pattern %q: %v", pattern, err)
	}
	if len(paths) == 0 {
		tb.Fatalf("no conformance file matches %s under %s", pattern, dir)
	}
	return paths
}

// ReadFile returns the contents of path, failing the test when it cannot
// be read.
func ReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ErrorNotPanic runs f and fails the test when f panics or returns nil;
// otherwise it logs the error. Bad input and misuse must come back as
// errors.
func ErrorNotPanic(tb testing.TB, f func() error) {
	tb.Helper()
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				tb.Fatalf("panic: %v", p)
			}
		}()
		err = f()
	}()
	if err == nil {
		tb.Fatal("no error")
		return
	}
	tb.Log(err)
}

// WriteFileWith creates path, writes to it through a buffered writer with
// fill, flushes and closes it, and returns path; an error fails the test.
// (A bufio.Writer keeps its first error, so fill need not check each
// write.)
func WriteFileWith(tb testing.TB, path string, fill func(w *bufio.Writer)) string {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
		return path
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fill(w)
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatalf("writing %s: %v", path, err)
	}
	return path
}

// DirNames returns the names of the entries of dir, sorted; an error fails
// the test. Tests of atomic writes use it to see that no temporary file
// is left behind.
func DirNames(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// AddConformanceSeeds adds to f's seed corpus every conformance file
// matching one of patterns ("test-data/*.mmdb") that is at most maxSize
// bytes (large seeds slow the fuzzer down more than they help), skipping
// or failing the fuzz test when the suite is missing.
func AddConformanceSeeds(f *testing.F, maxSize int, patterns ...string) {
	f.Helper()
	for _, pattern := range patterns {
		for _, path := range ConformanceGlob(f, pattern) {
			if b := ReadFile(f, path); len(b) <= maxSize {
				f.Add(b)
			}
		}
	}
}
