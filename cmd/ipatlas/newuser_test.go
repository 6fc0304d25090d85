package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// TestBadFlagOneMessage: a bad or incomplete flag gives one error line
// and a pointer to --help, not the flag package's message followed by the
// whole usage text and run's message again; --help still prints the usage.
func TestBadFlagOneMessage(t *testing.T) {
	for _, args := range [][]string{
		{"build", "x.csv", "--out"},
		{"lookup", "--bogus", "x.mmdb"},
		{"serve", "--poll", "soon", "x.mmdb"},
		{"gazetteer", "build", "--geonames"},
	} {
		_, stderr, code := runCLI(t, args...)
		if code != exitUsage {
			t.Errorf("ipatlas %s: exit status %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "ipatlas "+args[0]+": ") || !strings.Contains(lines[1], "--help") {
			t.Errorf("ipatlas %s: stderr is not one error line and the pointer to --help:\n%s", strings.Join(args, " "), stderr)
		}
	}
	for _, args := range [][]string{{"build", "--help"}, {"lookup", "-h"}, {"gazetteer", "--help"}, {"gazetteer", "build", "--help"}} {
		_, stderr, code := runCLI(t, args...)
		if code != exitOK || !strings.Contains(stderr, "Usage: ipatlas "+args[0]) || !strings.Contains(stderr, "Flags:\n  -") {
			t.Errorf("ipatlas %s: exit status %d, stderr lacks the usage and its flags:\n%s", strings.Join(args, " "), code, stderr)
		}
	}
}

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

// TestGazetteerUsage: the usage error names the subcommand once, without
// a repeated "gazetteer:".
func TestGazetteerUsage(t *testing.T) {
	for _, args := range [][]string{{"gazetteer"}, {"gazetteer", "bulid"}} {
		_, stderr, code := runCLI(t, args...)
		if code != exitUsage || !strings.HasPrefix(stderr, "ipatlas gazetteer: want a subcommand: build\n") {
			t.Errorf("ipatlas %s: exit status %d, stderr:\n%s", strings.Join(args, " "), code, stderr)
		}
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

// TestBuildOutFolderMissing: an --out in a folder that does not exist is
// named as the --out it is, not only as a stat of its folder.
func TestBuildOutFolderMissing(t *testing.T) {
	dir := t.TempDir()
	in := oneRowCSV(t, dir)
	out := filepath.Join(dir, "missing", "out.mmdb")
	_, stderr, code := runCLI(t, "build", "--out", out, in)
	if code != exitData || !strings.HasPrefix(stderr, "ipatlas build: --out "+out+": ") || !strings.Contains(stderr, "no such file") {
		t.Errorf("build --out %s: exit status %d, stderr:\n%s", out, code, stderr)
	}
}

// TestMMDBInputHint: a .mmdb given to build or ingest as an input is
// rejected with the way to rebuild it (export its rows, build those),
// and that way works.
func TestMMDBInputHint(t *testing.T) {
	dir := t.TempDir()
	in := oneRowCSV(t, dir)
	db := filepath.Join(dir, "db.mmdb")
	if _, stderr, code := runCLI(t, "build", "--out", db, in); code != exitOK {
		t.Fatalf("build: exit status %d: %s", code, stderr)
	}
	const hint = "hint: a .mmdb is a database, not inference results; to rebuild one, export its rows and give those: ipatlas export FILE.mmdb --out rows.jsonl"
	for _, args := range [][]string{
		{"build", "--out", filepath.Join(dir, "copy.mmdb"), db},
		{"ingest", "--db", filepath.Join(dir, "store"), "--source", "s", db},
	} {
		_, stderr, code := runCLI(t, args...)
		if code != exitData || !strings.Contains(stderr, "db.mmdb: cannot tell the format") || !strings.Contains(stderr, hint) {
			t.Errorf("ipatlas %s: exit status %d, stderr without the hint:\n%s", strings.Join(args, " "), code, stderr)
		}
	}
	rows := filepath.Join(dir, "rows.jsonl")
	if _, stderr, code := runCLI(t, "export", db, "--out", rows); code != exitOK {
		t.Fatalf("export: exit status %d: %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "build", "--out", filepath.Join(dir, "copy.mmdb"), rows); code != exitOK {
		t.Fatalf("build from the exported rows: exit status %d: %s", code, stderr)
	}
	if _, _, code := runCLI(t, "diff", "--brief", db, filepath.Join(dir, "copy.mmdb")); code != exitOK {
		t.Errorf("the rebuild answers differently (diff exit status %d)", code)
	}
	// Other inputs whose format is unknown get no such hint.
	other := filepath.Join(dir, "rows.txt")
	if err := os.WriteFile(other, []byte("network\n1.2.3.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, _ := runCLI(t, "build", "--out", filepath.Join(dir, "x.mmdb"), other); strings.Contains(stderr, "hint: a .mmdb") {
		t.Errorf("a .txt input got the .mmdb hint:\n%s", stderr)
	}
}

// oneRowCSV writes in.csv, one good row, into dir and returns its path.
func oneRowCSV(t *testing.T, dir string) string {
	t.Helper()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("network,country_code\n1.2.3.0/24,CN\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return in
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
