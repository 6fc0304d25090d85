package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// TestHelpAligned: every summary of `ipatlas help` starts in one column,
// whatever the longest command name.
func TestHelpAligned(t *testing.T) {
	stdout, _, code := runCLI(t, "help")
	if code != exitOK {
		t.Fatalf("ipatlas help: exit status %d", code)
	}
	_, list, ok := strings.Cut(stdout, "Commands:\n")
	if !ok {
		t.Fatalf("ipatlas help lists no commands:\n%s", stdout)
	}
	list, _, _ = strings.Cut(list, "\n\n")
	col := -1
	for _, c := range commands() {
		var line string
		for l := range strings.SplitSeq(list, "\n") {
			if strings.HasPrefix(l, "  "+c.name+" ") {
				line = l
			}
		}
		at := strings.Index(line, c.summary)
		if line == "" || at < 0 {
			t.Fatalf("ipatlas help: no line for %s:\n%s", c.name, list)
		}
		if col >= 0 && at != col {
			t.Errorf("ipatlas help: %s's summary starts at column %d, the others' at %d:\n%s", c.name, at, col, list)
		}
		col = at
	}
}

// TestZstdSaysWhere: with --zstd, build and compile say where the
// compressed copy went (OUT.zst) and its size, which is the file's.
func TestZstdSaysWhere(t *testing.T) {
	dir := t.TempDir()
	in := oneRowCSV(t, dir)
	out := filepath.Join(dir, "out.mmdb")
	stdout, stderr, code := runCLI(t, "build", "--zstd", "--out", out, in)
	if code != exitOK {
		t.Fatalf("build --zstd: exit status %d: %s", code, stderr)
	}
	fi, err := os.Stat(out + ".zst")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%s.zst: %d bytes, zstd-compressed\n", out, fi.Size()); !strings.Contains(stdout, want) {
		t.Errorf("build --zstd does not say %q:\n%s", want, stdout)
	}
	stdout, _, _ = runCLI(t, "build", "--out", out, in)
	if strings.Contains(stdout, ".zst") {
		t.Errorf("build without --zstd mentions a .zst file:\n%s", stdout)
	}
}

// oneRowCSV writes in.csv, one good row, into dir and returns its path.
func oneRowCSV(t *testing.T, dir string) string {
	t.Helper()
	return writeFile(t, dir, "in.csv", "network,country_code\n1.2.3.0/24,CN\n")
}

// TestErrorNamesCommandOnce: an error from a package named as the command
// (compile's own "compile: ...") is printed after "ipatlas compile: "
// without the name again, and its temporary file is gone.
func TestErrorNamesCommandOnce(t *testing.T) {
	dir := t.TempDir()
	in := oneRowCSV(t, dir)
	store := filepath.Join(dir, "store")
	if _, stderr, code := runCLI(t, "ingest", "--db", store, "--source", "s", in); code != exitOK {
		t.Fatalf("ingest: exit status %d: %s", code, stderr)
	}
	// A folder where the .zst goes: the rename over it fails.
	out := filepath.Join(dir, "x.mmdb")
	if err := os.MkdirAll(filepath.Join(out+".zst", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, "compile", "--db", store, "--out", out, "--zstd")
	if code != exitData || !strings.HasPrefix(stderr, "ipatlas compile: zstd: ") || strings.Contains(stderr, "compile: compile:") {
		t.Errorf("compile --zstd over a folder: exit status %d, stderr:\n%s", code, stderr)
	}
	for _, name := range testutil.DirNames(t, dir) {
		if strings.HasSuffix(name, ".tmp") {
			t.Errorf("left %s behind", name)
		}
	}
}
