package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestStoreMigrate: a store without a format stamp (as ipatlas wrote
// before store versions) is refused by compile with a message that says
// which format it is, which this binary reads and what to run; `store
// migrate` upgrades it, after which compile works; a second migrate has
// nothing to do.
func TestStoreMigrate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	out := filepath.Join(dir, "x.mmdb")
	sample := filepath.Join("..", "..", "testdata", "sample", "bertgeo.csv")
	runOK := func(args ...string) string {
		t.Helper()
		var o, e bytes.Buffer
		if code := run(args, &o, &e); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, e.String())
		}
		return o.String()
	}
	runOK("ingest", "--db", db, "--source", "a", sample)
	// Remove the stamp, as a format-1 store lacks it.
	pdb, err := pebble.Open(db, &pebble.Options{FormatMajorVersion: pebble.FormatNewest})
	if err != nil {
		t.Fatal(err)
	}
	if err := pdb.Delete([]byte("v"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := pdb.Close(); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if code := run([]string{"compile", "--db", db, "--out", out}, &o, &e); code != exitData {
		t.Fatalf("compile of a format-1 store: exit %d, want %d", code, exitData)
	}
	for _, w := range []string{"format 1", "format 2", "ipatlas store migrate --db " + db} {
		if !strings.Contains(e.String(), w) {
			t.Errorf("compile's error %q does not say %q", e.String(), w)
		}
	}
	if got := runOK("store", "migrate", "--db", db); !strings.Contains(got, "upgraded from format 1 to 2") {
		t.Errorf("store migrate said %q", got)
	}
	runOK("compile", "--db", db, "--out", out)
	if got := runOK("store", "migrate", "--db", db); !strings.Contains(got, "nothing to do") {
		t.Errorf("second store migrate said %q", got)
	}
	if code := run([]string{"store", "migrate"}, &o, &e); code != exitUsage {
		t.Errorf("store migrate without --db: exit %d", code)
	}
}
