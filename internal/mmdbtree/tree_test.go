package mmdbtree

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.mmdb")
	os.WriteFile(empty, nil, 0o644)
	junk := filepath.Join(dir, "junk.mmdb")
	os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o644)
	for path, want := range map[string]string{
		filepath.Join(dir, "missing.mmdb"): "no such file",
		empty:                              "file is empty",
		junk:                               junk + ": ",
	} {
		if _, err := Open(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%s) = %v, want an error containing %q", path, err, want)
		}
	}
}

// TestWalkConformance walks a conformance database, mapped, and closes
// it; the networks come in address order. (cmd/ipatlas's walk tests hold
// the walk to maxminddb-golang's.)
func TestWalkConformance(t *testing.T) {
	path := testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb")
	tr, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var last netip.Prefix
	n := 0
	err = tr.Walk(func([16]byte, int) bool { return false }, func(p netip.Prefix, off uint) error {
		if last.IsValid() && last.Addr().Is4() == p.Addr().Is4() && p.Addr().Compare(last.Addr()) <= 0 {
			t.Errorf("%s after %s", p, last)
		}
		last = p
		n++
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walk: %d networks, %v", n, err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
