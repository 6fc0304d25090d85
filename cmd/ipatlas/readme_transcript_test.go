package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// transcriptStep is one command of a README transcript and the output the
// README shows under it.
type transcriptStep struct {
	command string // as written after "$ ", continuation lines joined by newlines
	want    string
}

// parseTranscript splits a README block whose lines start with "$ " into
// steps: the command (with the lines a trailing backslash continues) and
// the lines below it up to the next "$ ".
func parseTranscript(block string) []transcriptStep {
	var steps []transcriptStep
	lines := strings.Split(strings.TrimRight(block, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		cmd, ok := strings.CutPrefix(lines[i], "$ ")
		if !ok {
			if len(steps) > 0 {
				steps[len(steps)-1].want += lines[i] + "\n"
			}
			continue
		}
		for strings.HasSuffix(cmd, `\`) && i+1 < len(lines) {
			i++
			cmd += "\n" + lines[i]
		}
		steps = append(steps, transcriptStep{command: cmd})
	}
	return steps
}

// elapsed matches the times commands print, such as "(0.0s)".
var elapsed = regexp.MustCompile(`\(\d+(\.\d+)?s\)`)

// normalizeOutput drops trailing spaces and trailing empty lines and
// replaces elapsed times, which vary from run to run.
func normalizeOutput(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = elapsed.ReplaceAllString(strings.TrimRight(l, " \t"), "(TIME)")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

func TestParseTranscript(t *testing.T) {
	got := parseTranscript("$ head -1 a.csv\nnetwork\n$ ipatlas build --out x.mmdb \\\n    a.csv\nx.mmdb: 1 networks\n\n")
	want := []transcriptStep{{"head -1 a.csv", "network\n"}, {"ipatlas build --out x.mmdb \\\n    a.csv", "x.mmdb: 1 networks\n"}}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d: got %q, want %q", i, got[i], want[i])
		}
	}
	if n := normalizeOutput("a (0.3s) \nb\t\n\n"); n != "a (TIME)\nb" {
		t.Errorf("normalizeOutput: %q", n)
	}
}

// TestREADMETranscripts runs the README's transcripts (```sh blocks of
// "$ command" lines, each followed by its output) with the ipatlas built
// for the tests first on PATH, in a folder that looks like the repository
// root, and checks that every command prints what the README shows (times
// aside): the README's outputs are what a user sees.
func TestREADMETranscripts(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for i, block := range readmeBlocks(t) {
		if !strings.HasPrefix(strings.TrimSpace(block), "$ ") {
			continue
		}
		if strings.Contains(block, "mmdblookup") {
			testutil.Mmdblookup(t)
		}
		work := t.TempDir()
		entries, err := os.ReadDir(root)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(work, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		env := append(os.Environ(), "PATH="+filepath.Dir(ipatlasBin)+":"+os.Getenv("PATH"))
		for _, s := range parseTranscript(block) {
			cmd := exec.Command("bash", "-eu", "-o", "pipefail", "-c", s.command)
			cmd.Dir, cmd.Env = work, env
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("README block %d: $ %s: %v\n%s", i+1, s.command, err, out.String())
			}
			if got, want := normalizeOutput(out.String()), normalizeOutput(s.want); got != want {
				t.Errorf("README block %d: $ %s\nprints:\n%s\nthe README shows:\n%s", i+1, s.command, got, want)
			}
			ran++
		}
	}
	if ran == 0 {
		t.Error("no README transcript ran")
	}
}
