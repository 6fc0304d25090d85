package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestScripts runs testdata/script/*.txtar: the CLI tests that are a
// transcript (run these commands, check the exit status and the
// output). `ipatlas` in a script is this package's main, run as its own
// process (testscript.Main in TestMain). Beside testscript's own
// commands a script has:
//
//	exits CODE PROG [ARG...]  runs PROG and fails unless it exits with CODE
//	                          (exec checks only success or failure)
//
// and the condition [conformance]: shared/mmdb-conformance is there, at
// $CONFORMANCE (without it, under CI=true, the script fails).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits": cmdExits,
		},
		Condition: scriptCondition,
		Setup: func(env *testscript.Env) error {
			env.Setenv("CONFORMANCE", conformanceDir())
			return nil
		},
	})
}

func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARG...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: CODE %q: %v", args[0], err)
	}
	code := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		code = ee.ExitCode()
	}
	if code != want {
		ts.Fatalf("exit status %d, want %d", code, want)
	}
}

// conformanceRoot is MaxMind's conformance suite, beside the module (as
// testutil.ConformanceDir finds it), for the scripts, which have no
// testing.TB to give testutil.
const conformanceRoot = "../../../shared/mmdb-conformance"

// conformanceDir is shared/mmdb-conformance, absolute, or "" without it.
func conformanceDir() string {
	dir, err := filepath.Abs(conformanceRoot)
	if err != nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, "test-data")); err != nil {
		return ""
	}
	return dir
}

// scriptCondition answers [conformance]: true when the suite is there;
// its absence is an error under CI=true (testutil's skip-or-fail rule).
func scriptCondition(cond string) (bool, error) {
	if cond != "conformance" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if conformanceDir() != "" {
		return true, nil
	}
	if testutil.InCI() {
		return false, fmt.Errorf("%s is missing in CI", conformanceRoot)
	}
	return false, nil
}
