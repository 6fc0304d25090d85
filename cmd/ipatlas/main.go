// Command ipatlas builds MaxMind DB files from IP-geolocation inference
// results and looks addresses up in them. Run "ipatlas help" for the
// commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses.
const (
	exitOK    = 0
	exitData  = 1 // bad input data, a failed check, an I/O error
	exitUsage = 2 // bad flags or arguments
)

// usageError is an error in how the command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"build", "ingest inference results into a temporary store and compile a .mmdb: the one-shot main job", runBuild},
		{"ingest", "ingest inference results into a store, one layer per source", runIngest},
		{"compile", "compile a store into a .mmdb", runCompile},
		{"sources", "list a store's sources (priority, levels, networks, last ingest) or remove one", runSources},
		{"lookup", "look addresses up in a .mmdb (any MaxMind DB file)", runLookup},
		{"inspect", "print a .mmdb's metadata and statistics", runInspect},
		{"verify", "check a .mmdb's structure in full; exit status 1 on failure", runVerify},
		{"export", "write every network of a .mmdb with its record, as JSONL or CSV", runExport},
		{"diff", "list the networks whose answers differ between two .mmdb files", runDiff},
		{"eval", "measure .mmdb files against ground truth: error km, accuracy per level, calibration", runEval},
		{"compare", "measure how two .mmdb files disagree, weighted by addresses", runCompare},
		{"serve", "serve lookups over HTTP, reloading the file when it changes", runServe},
		{"gazetteer", "build a gazetteer (places for labeling) from GeoNames dumps or an MMDB", runGazetteer},
		{"store", "store maintenance: `store migrate --db DIR` upgrades a store written by an older ipatlas", runStore},
	}
}

func main() {
	setRuntime = true
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "version") {
		fmt.Fprintln(stdout, versionString())
		return exitOK
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		var ue usageError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "ipatlas %s: %v\nRun 'ipatlas %s --help' for usage.\n", c.name, err, c.name)
			return exitUsage
		default:
			for _, line := range strings.Split(err.Error(), "\n") {
				// A package named as the command (compile, gazetteer)
				// starts its errors with its name: say it once.
				line = strings.TrimPrefix(line, c.name+": ")
				fmt.Fprintf(stderr, "ipatlas %s: %s\n", c.name, line)
			}
			return exitCode(err, exitData)
		}
	}
	if args[0] == "bench" {
		fmt.Fprintln(stderr, benchMoved)
		return exitUsage
	}
	fmt.Fprintf(stderr, "ipatlas: unknown command %q\nRun 'ipatlas help' for the commands.\n", args[0])
	return exitUsage
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "ipatlas turns IP-geolocation inference results into MaxMind DB (.mmdb) files and looks addresses up in them.")
	fmt.Fprintln(w, "\nUsage: ipatlas COMMAND [flags] [arguments]\n\nCommands:")
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ipatlas COMMAND --help' for a command's flags.")
	fmt.Fprintln(w, "\nMemory: build, ingest and compile keep the Go heap under --memory-limit (default 1GiB, or $GOMEMLIMIT);\n"+
		"their memory does not grow with the rows or the distinct records.")
}

// newFlags returns a flag set whose usage text starts with synopsis and
// description, and that reports errors instead of exiting.
func newFlags(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ipatlas %s %s\n\n%s\n\nFlags:\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, and returns the positional ones. The usage text is
// printed for -h/--help only: on a bad flag the flag package would print
// the error and the whole usage text, and run then the error again; run's
// one line and its pointer to --help are enough.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	usage, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() {
		fs.Usage = usage
		fs.SetOutput(out)
	}()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(out)
				usage()
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
