package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ipatlasBin is the command built once for the tests, run as a user runs it.
var ipatlasBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ipatlas-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ipatlasBin = filepath.Join(dir, "ipatlas")
	if out, err := exec.Command("go", "build", "-o", ipatlasBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building ipatlas: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runCLI runs the built command and returns its output and exit status.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(ipatlasBin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running ipatlas %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), 0
}

// needTool skips the test when a peer reader is missing, except in CI,
// where a missing piece is a failure.
func needTool(t *testing.T, path, install string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (CI must install %s)", path, install)
		}
		t.Skipf("%s is missing; install %s to run this test", path, install)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("network,country_code\n1.2.3.0/33,CN\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mmdb")
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string // a part of the message
	}{
		{"no command", nil, exitUsage, ""},
		{"unknown command", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"help", []string{"help"}, exitOK, ""},
		{"build help", []string{"build", "--help"}, exitOK, "Usage: ipatlas build"},
		{"build without --out", []string{"build", bad}, exitUsage, "--out is required"},
		{"build without inputs", []string{"build", "--out", out}, exitUsage, "no INPUT"},
		{"build bad flag", []string{"build", "--bogus", "--out", out, bad}, exitUsage, "bogus"},
		{"build bad record size", []string{"build", "--record-size", "20", "--out", out, bad}, exitUsage, "record-size"},
		{"build bad row", []string{"build", "--out", out, bad}, exitData, "bad.csv:2"},
		{"build missing file", []string{"build", "--out", out, filepath.Join(dir, "nope.csv")}, exitData, "nope.csv"},
		{"ingest without --db", []string{"ingest", "--source", "a", bad}, exitUsage, "--db is required"},
		{"compile missing store", []string{"compile", "--db", filepath.Join(dir, "nostore"), "--out", out}, exitData, "store"},
		{"lookup without file", []string{"lookup"}, exitUsage, "no FILE"},
		{"lookup missing file", []string{"lookup", filepath.Join(dir, "none.mmdb"), "1.2.3.4"}, exitData, "none.mmdb"},
		{"lookup not a database", []string{"lookup", bad, "1.2.3.4"}, exitData, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, c.args...)
			if code != c.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr does not say %q:\n%s", c.stderr, stderr)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a rejected build left %s behind (stat: %v)", out, err)
	}
}
