//go:build unix

package main

// Hostile-input tests of the commands that walk search trees (export,
// diff, eval, compare): a path that is not a regular file must be refused
// at once, never block.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/mmdbtool"
)

// TestTreeCommandsRefuseFIFO: export, diff, eval and compare refuse a
// FIFO with no writer in either position within 10 s, naming it "not a
// regular file" (they opened it with a blocking os.Open and hung).
func TestTreeCommandsRefuseFIFO(t *testing.T) {
	fifo := testutil.FIFO(t, "fifo.mmdb")
	good := testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb")
	truth := writeFile(t, t.TempDir(), "truth.csv", "ip,latitude,longitude\n1.2.3.4,1,2\n")
	for _, args := range [][]string{
		{"export", fifo, "--out", "-"},
		{"diff", fifo, good},
		{"diff", good, fifo},
		{"eval", "--truth", truth, fifo},
		{"compare", good, fifo},
		{"compare", fifo, good},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, ipatlasBin, args...).CombinedOutput()
		timedOut := ctx.Err() != nil
		cancel()
		name := strings.Join(args[:len(args)-1], " ")
		switch {
		case timedOut:
			t.Errorf("ipatlas %s on a FIFO still running after 10s", name)
		case err == nil:
			t.Errorf("ipatlas %s on a FIFO succeeded:\n%s", name, out)
		case !strings.Contains(string(out), "not a regular file"):
			t.Errorf("ipatlas %s on a FIFO: %v\n%s\nwant an error naming \"not a regular file\"", name, err, out)
		}
	}
}

// TestExportTruncatedWhileRead: a database truncated after it was
// opened (mapped) and before its rows are read gives an error naming it
// and leaves no temporary file: the walk's SIGBUS ended the process and
// left the half-written temporary file behind.
func TestExportTruncatedWhileRead(t *testing.T) {
	dir := t.TempDir()
	db := buildSampleDB(t, dir, "s.mmdb")
	f, err := mmdbtool.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Truncate(db, 0); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"jsonl", "csv"} {
		out := filepath.Join(dir, "rows."+kind)
		var stdout, stderr strings.Builder
		err := exportTo(f, out, kind, "", mmdbtool.AliasesNone, time.Now(), nil, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "memory fault") || !strings.Contains(err.Error(), "s.mmdb") {
			t.Errorf("%s: %v, want a memory fault naming s.mmdb", kind, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "s.mmdb" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
