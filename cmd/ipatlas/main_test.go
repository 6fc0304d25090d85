package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/rogpeppe/go-internal/testscript"
)

// ipatlasBin is the command built once for the tests, run as a user runs it.
var ipatlasBin string

func TestMain(m *testing.M) {
	// In a script, `ipatlas` is this test binary run as main (TestScripts).
	testscript.Main(withBinary{m}, map[string]func(){"ipatlas": main})
}

// withBinary builds ipatlasBin before the tests and removes it after.
type withBinary struct{ m *testing.M }

func (w withBinary) Run() int {
	bin, remove, err := testutil.BuildCommand(".", "ipatlas")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer remove()
	ipatlasBin = bin
	return w.m.Run()
}

// writeFile writes data to dir/name and returns its path.
func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runCLI runs the built command and returns its output and exit status.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runCLIInput(t, "", args...)
}

// runCLIInput is runCLI with stdin.
func runCLIInput(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(ipatlasBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
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
