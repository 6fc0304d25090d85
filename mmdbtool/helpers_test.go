package mmdbtool

import (
	"testing"
)

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
