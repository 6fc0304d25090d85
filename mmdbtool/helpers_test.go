package mmdbtool

import (
	"os"
	"path/filepath"
	"testing"
)

// Where the tests find real data: the GeoLite2 file that
// scripts/fetch-data.sh fetches, and the shared conformance suite.
const (
	geoLiteCityPath = "../data/GeoLite2-City.mmdb"
	conformanceRoot = "../../shared/mmdb-conformance"
)

// needDataFile returns path, skipping the test when it is missing
// (failing instead when CI=true).
func needDataFile(t *testing.T, path, how string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing in CI: %s (%v)", path, how, err)
		}
		t.Skipf("%s missing: %s", path, how)
	}
	return path
}

// conformanceGlob returns the conformance files matching pattern,
// skipping the test when the suite is missing.
func conformanceGlob(t *testing.T, pattern string) []string {
	t.Helper()
	needDataFile(t, conformanceRoot, "the conformance suite lives in shared/mmdb-conformance")
	files, err := filepath.Glob(filepath.Join(conformanceRoot, pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files match %s (%v)", pattern, err)
	}
	return files
}

func head[T any](s []T, n int) []T { return s[:min(n, len(s))] }

// openOrSkip opens path for the test, skipping it when Open refuses the
// file (some conformance files are broken on purpose).
func openOrSkip(t *testing.T, path string) *File {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Skipf("not a readable database: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
