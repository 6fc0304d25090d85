package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// readmeBlocks returns the ```sh blocks of README.md, in order.
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	rest := string(b)
	for {
		_, after, ok := strings.Cut(rest, "```sh\n")
		if !ok {
			return blocks
		}
		block, after2, ok := strings.Cut(after, "```")
		if !ok {
			t.Fatal("README.md: a ```sh block is not closed")
		}
		blocks = append(blocks, block)
		rest = after2
	}
}

// readmeNotRun are README blocks the test does not run, and why.
var readmeNotRun = map[string]string{
	"bash scripts/test.sh":                               "the test command itself",
	"go run ./cmd/ipatlas-bench all --out bench/results": "the multi-minute benchmark suite",
}

// TestREADMEExamples runs the README's shell blocks as written, in order,
// each under bash -eu -o pipefail, in a folder that looks like the
// repository root (its entries linked in), with GOBIN in a temporary
// folder that is first on PATH: the main job, then the examples that use
// its city.mmdb. Every command must exit 0.
func TestREADMEExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go install and the README's commands (-short)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case ".git", "city.mmdb", "copy.mmdb", "rows.jsonl":
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(work, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	gobin := filepath.Join(work, ".bin")
	env := append(os.Environ(), "GOBIN="+gobin, "PATH="+gobin+":"+os.Getenv("PATH"))
	blocks := readmeBlocks(t)
	ran := 0
	for i, block := range blocks {
		text := strings.TrimSpace(block)
		if why, ok := readmeNotRun[text]; ok {
			t.Logf("block %d not run: %s", i+1, why)
			continue
		}
		if strings.HasPrefix(text, "$ ") {
			t.Logf("block %d not run: a transcript (commands after $ with their output), checked by its own test", i+1)
			continue
		}
		if strings.Contains(text, "data/") {
			testutil.GeoLiteCity(t)
		}
		if strings.Contains(text, "127.0.0.1:8080") {
			l, err := net.Listen("tcp", "127.0.0.1:8080")
			if err != nil {
				t.Logf("block %d not run: port 8080 is in use (%v)", i+1, err)
				continue
			}
			l.Close()
		}
		cmd := exec.Command("bash", "-eu", "-o", "pipefail", "-c", block)
		cmd.Dir, cmd.Env = work, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("README block %d failed (%v):\n%s\noutput:\n%s", i+1, err, block, out.String())
		}
		t.Logf("block %d ran in %s", i+1, time.Since(start).Round(time.Millisecond))
		if strings.Contains(text, "lookup city.mmdb 36.96.2.7") && !strings.Contains(out.String(), `"36.96.2.7"`) {
			t.Errorf("the main job did not print the address's record:\n%s", out.String())
		}
		ran++
	}
	if ran < 2 {
		t.Errorf("only %d README blocks ran", ran)
	}
}
