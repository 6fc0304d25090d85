package main

import (
	"strings"
	"testing"
)

// TestBenchMoved: `ipatlas bench` (any arguments) says in one line where
// the benchmark suite went and exits 2; help does not list it.
func TestBenchMoved(t *testing.T) {
	for _, args := range [][]string{{"bench"}, {"bench", "readers", "--short"}, {"bench", "--help"}} {
		stdout, stderr, code := runCLI(t, args...)
		if code != exitUsage || stdout != "" || stderr != benchMoved+"\n" || !strings.Contains(stderr, "go run ./cmd/ipatlas-bench") {
			t.Errorf("ipatlas %s: exit %d, stdout %q, stderr %q; want exit %d and one line pointing to ./cmd/ipatlas-bench",
				strings.Join(args, " "), code, stdout, stderr, exitUsage)
		}
	}
	stdout, _, _ := runCLI(t, "help")
	if strings.Contains(stdout, "bench") {
		t.Errorf("help still lists bench:\n%s", stdout)
	}
}
