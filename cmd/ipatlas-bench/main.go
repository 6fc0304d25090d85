// Command ipatlas-bench is ipatlas's benchmark suite: ipatlas's readers
// against maxminddb-golang v2 and v1 and geoip2-golang v2, and ipatlas's
// build against mmdbwriter, with a report and SVG plots.
//
//	ipatlas-bench readers|build|all|report [flags]
//
// It is a command of its own, not a subcommand of ipatlas, so that the
// shipped ipatlas binary links no peer library and no plotting
// (internal/importcheck's TestShippedDeps holds that). The build
// benchmark times the ipatlas binary itself (ingest and compile in child
// processes): --ipatlas names it; by default it is built from the
// repository when ipatlas-bench runs at the repository's root, else the
// ipatlas beside this executable is used.
//
// Exit status 0 on success, 1 on a data error, 2 on a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipatlas/ipatlas/bench/report"
	"github.com/ipatlas/ipatlas/bench/suite"
)

// defaultBenchDB is the database `readers` uses unless --db is given: the
// one scripts/fetch-data.sh fetches.
const defaultBenchDB = "data/GeoLite2-City.mmdb"

// Exit statuses besides 0, as ipatlas has them: a failed run (bad data,
// an I/O error) and a usage error (bad flags or arguments).
const exitData, exitUsage = 1, 2

// usageErr marks an error in how the command was called.
type usageErr struct{ error }

func usagef(format string, args ...any) error { return usageErr{fmt.Errorf(format, args...)} }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command with args and returns its exit status.
func run(args []string, stdout, stderr io.Writer) int {
	err := runBench(args, stdout, stderr)
	name := "ipatlas-bench"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name += " " + args[0]
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageErr)):
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", name, err, name)
		return exitUsage
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "%s: %s\n", name, line)
	}
	return exitData
}

func runBench(args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprint(stderr, `Usage: ipatlas-bench readers|build|all|report [flags]

Runs ipatlas's benchmark suite and writes DIR/report.md with its plots (SVG)
and the raw results (readers.json, build.json) beside it.

  readers  lookups on a database (default `+defaultBenchDB+`, fetched with
           scripts/fetch-data.sh when missing): ipatlas (no-decode, Decode,
           typed) against maxminddb-golang v2 and v1 and geoip2-golang v2, on
           four workloads; open time and memory of each reader
  build    generated inference results at several scales, built with ipatlas
           (ingest + compile of the ipatlas binary, see --ipatlas) and with
           mmdbwriter: wall time, peak RSS, sizes; the readers' open time and
           memory on the largest output
  all      readers, then build, into one report
  report   render DIR/report.md again from the results kept in DIR

Run 'ipatlas-bench SUBCOMMAND --help' for the flags.
`)
	}
	if len(args) == 0 {
		usage()
		return usagef("no subcommand: want readers, build, all or report")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		usage()
		return flag.ErrHelp
	case "child": // hidden: the measured child processes
		return suite.RunChild(args, stdout, stderr)
	case "readers", "build", "all", "report":
	default:
		usage()
		return usagef("unknown subcommand %q: want readers, build, all or report", sub)
	}
	return benchCommand(sub, args, stdout, stderr)
}

// newFlags returns a flag set whose usage text starts with synopsis and
// description, and that reports errors instead of exiting.
func newFlags(sub, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ipatlas-bench "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ipatlas-bench %s %s\n\n%s\n\nFlags:\n", sub, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses the flags of a subcommand, which takes no arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErr{err}
	}
	if rest := fs.Args(); len(rest) > 0 {
		return usagef("unexpected arguments %q", rest)
	}
	return nil
}

// benchReport renders the report in out again from its raw results.
func benchReport(out string, stdout io.Writer) error {
	r, b, err := report.Load(out)
	if err != nil {
		return err
	}
	if r == nil && b == nil {
		return fmt.Errorf("%s: no %s or %s to report", out, report.ReadersJSON, report.BuildJSON)
	}
	if err := report.Render(out, r, b); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", filepath.Join(out, report.ReportFile))
	return nil
}

func benchCommand(sub string, args []string, stdout, stderr io.Writer) error {
	var synopsis, desc string
	switch sub {
	case "readers":
		synopsis, desc = "[--db FILE] [--out DIR] [--short] [flags]", "Measures every lookup path of ipatlas and its peers on the same addresses and writes DIR/report.md with plots."
	case "build":
		synopsis, desc = "[--scale LIST] [--out DIR] [--short] [flags]", "Builds generated inference results with ipatlas and with mmdbwriter at each scale and writes DIR/report.md with plots."
	case "all":
		synopsis, desc = "[--out DIR] [--short] [flags]", "Runs `readers` and `build` and writes one report: the command that regenerates the published report."
	case "report":
		synopsis, desc = "[--out DIR]", "Renders DIR/report.md and its plots again from DIR/readers.json and DIR/build.json."
	}
	fs := newFlags(sub, synopsis, desc, stderr)
	out := fs.String("out", "bench-report", "directory of the report, its plots and raw results")
	if sub == "report" { // --out is its only flag
		if err := parse(fs, args); err != nil {
			return err
		}
		return benchReport(*out, stdout)
	}
	short := fs.Bool("short", false, "a quick smoke run (seconds): few addresses, short measurements, tiny build scale")
	// readers
	db := fs.String("db", defaultBenchDB, "readers: the database (a City database: the typed paths decode City)")
	count := fs.Int("count", 0, "readers: repeated runs (default 5; 2 with --short)")
	addrs := fs.Int("addrs", 0, "readers: addresses per workload (default 65536; 4096 with --short)")
	minTime := fs.Duration("time", 0, "readers: time of each measurement (default 250ms; 10ms with --short)")
	seed := fs.Uint64("seed", 1, "seed of the workloads and of the generated inference results")
	procs := fs.Int("procs", 0, "readers: goroutines up to this many in the core-count sweep (default GOMAXPROCS)")
	// build
	scales := fs.String("scale", "", "build: comma-separated scales, fractions of full scale (every IPv4 /24 + 4M IPv6 /48s) such as 1/64, 0.25, 1, or counts of IPv4 /24s (default 1/64,1/16,1/4,1; 4096 with --short)")
	work := fs.String("work", "", "build: directory for the generated inputs, stores and outputs (default: a new temporary directory, removed afterwards)")
	keep := fs.Bool("keep", false, "build: keep the inputs and outputs in --work")
	noWriter := fs.Bool("no-mmdbwriter", false, "build: leave mmdbwriter out")
	writerMax := fs.String("mmdbwriter-max", "1/4", "build: run mmdbwriter up to this scale only (it took 36 min for every IPv4 /24 alone; see bench/WRITEBENCH.md)")
	writerTimeout := fs.Duration("mmdbwriter-timeout", 15*time.Minute, "build: stop an mmdbwriter run after this long and report that it did not finish")
	ipatlasTimeout := fs.Duration("timeout", time.Hour, "build: stop an ipatlas ingest or compile after this long")
	combos := fs.Int("combos", 200_000, "build: distinct records in the generated input")
	workload := fs.String("workload", "shared", "build: 'shared' (a row per IPv4 /24 and IPv6 /48, sharing --combos records; --scale in fractions of full scale) or "+
		"'per-address' (IPv4 /32 and IPv6 /64 rows, almost every record distinct; --scale in rows such as 5M, default 1M,5M,20M,50M; mmdbwriter up to --mmdbwriter-max, default 1M)")
	openRuns := fs.Int("open-runs", 3, "build: runs of the readers' open-time measurement on the largest output (0 leaves it out)")
	samples := fs.Int("samples", 0, "build: seeded addresses checked in every output (default 100000; 2000 with --short)")
	ipatlasBin := fs.String("ipatlas", "", "build: the ipatlas binary whose ingest and compile are timed (default: built from the repository when run at its root, else the ipatlas beside this executable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the ipatlas-bench executable for the child processes: %w", err)
	}
	child := suite.ChildRunner{Exe: exe, Args: []string{"child"}}
	command := "ipatlas-bench " + sub
	if len(args) > 0 {
		command += " " + strings.Join(args, " ")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// Check every flag before running anything.
	ro := suite.DefaultReadersOptions()
	if *short {
		ro = suite.ShortReadersOptions()
	}
	ro.DB, ro.Seed, ro.Child, ro.Command, ro.Progress = *db, *seed, child, command, stderr
	for _, f := range []struct {
		name string
		v    int
		dst  *int
	}{{"count", *count, &ro.Count}, {"addrs", *addrs, &ro.Addrs}, {"procs", *procs, &ro.MaxProcs}} {
		if set[f.name] {
			if f.v < 1 {
				return usagef("--%s %d: want at least 1", f.name, f.v)
			}
			*f.dst = f.v
		}
	}
	if set["time"] {
		if *minTime <= 0 {
			return usagef("--time %v: want more than 0", *minTime)
		}
		ro.MinTime = *minTime
	}
	if *workload != "shared" && *workload != "per-address" {
		return usagef("--workload %q: want shared or per-address", *workload)
	}
	perAddress := *workload == "per-address"
	parseScale := suite.ParseScale
	if perAddress {
		parseScale = suite.ParseAddressScale
	}
	bo := suite.BuildOptions{Seed: *seed, Combos: *combos, PerAddress: perAddress, Keep: *keep, IPAtlasTimeout: *ipatlasTimeout, MMDBWriterTimeout: *writerTimeout,
		MMDBWriter: !*noWriter, Samples: 100_000, OpenRuns: 3, OpenLookups: 1 << 20, Child: child, Command: command, Progress: stderr}
	scaleList := "1/64,1/16,1/4,1"
	if perAddress {
		scaleList = "1M,5M,20M,50M"
	}
	if *short {
		scaleList, bo.Samples, bo.OpenRuns, bo.OpenLookups = "4096", 2000, 1, 1<<12
		if perAddress {
			scaleList = "20k"
		}
		if !set["combos"] {
			bo.Combos = 1000
		}
	}
	if set["scale"] {
		scaleList = *scales
	}
	for _, s := range strings.Split(scaleList, ",") {
		sc, err := parseScale(s)
		if err != nil {
			return usagef("--scale: %v", err)
		}
		bo.Scales = append(bo.Scales, sc)
	}
	if perAddress && !set["mmdbwriter-max"] {
		*writerMax = "1M"
	}
	if mx, err := parseScale(*writerMax); err != nil {
		return usagef("--mmdbwriter-max: %v", err)
	} else {
		bo.MMDBWriterMax = mx.Fraction
	}
	if set["open-runs"] {
		if *openRuns < 0 {
			return usagef("--open-runs %d: want 0 or more", *openRuns)
		}
		bo.OpenRuns = *openRuns
	}
	if set["samples"] {
		if *samples < 0 {
			return usagef("--samples %d: want 0 or more", *samples)
		}
		bo.Samples = *samples
	}
	if *combos < 1 || *combos > 1_000_000 {
		return usagef("--combos %d: want 1 to 1000000", *combos)
	}
	if *writerTimeout < 0 || *ipatlasTimeout < 0 {
		return usagef("timeouts must not be negative")
	}
	if sub == "build" || sub == "all" {
		bin, cleanup, err := findIPAtlas(*ipatlasBin, ".", exe, stderr)
		if err != nil {
			return err
		}
		defer cleanup()
		bo.Child.IPAtlas = bin
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}

	var rr *suite.ReadersResult
	var br *suite.BuildResult
	if sub == "readers" || sub == "all" {
		if err := ensureBenchDB(*db, set["db"], stderr); err != nil {
			return err
		}
		rr, err = suite.RunReaders(ctx, ro)
		if err != nil {
			return err
		}
		if err := report.Save(*out, report.ReadersJSON, rr); err != nil {
			return err
		}
	}
	if sub == "build" || sub == "all" {
		if *work == "" {
			dir, err := os.MkdirTemp("", "ipatlas-bench-build-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			bo.Work = dir
		} else {
			bo.Work = *work
		}
		bo.Checkpoint = func(r *suite.BuildResult) error { return report.Save(*out, report.BuildJSON, r) }
		br, err = suite.RunBuild(ctx, bo)
		if err != nil {
			return err
		}
		if err := report.Save(*out, report.BuildJSON, br); err != nil {
			return err
		}
	}
	ranBuild := br
	// Render with the other part's earlier results, if the directory
	// holds them.
	oldR, oldB, err := report.Load(*out)
	if err != nil {
		return err
	}
	if rr == nil {
		rr = oldR
	}
	if br == nil {
		br = oldB
	}
	if err := report.Render(*out, rr, br); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", filepath.Join(*out, report.ReportFile))
	if failed := failedChecks(ranBuild); len(failed) > 0 {
		return fmt.Errorf("%s is written, but %d outputs failed their check: their figures time no working build\n%s",
			filepath.Join(*out, report.ReportFile), len(failed), strings.Join(failed, "\n"))
	}
	return nil
}

// failedChecks lists the build steps of br (nil: none ran) that ran to
// the end and whose output failed its check: an --ipatlas that is not
// ipatlas (/bin/true exits 0 and writes nothing) was reported with its
// timings and exit status 0.
func failedChecks(br *suite.BuildResult) []string {
	if br == nil {
		return nil
	}
	var failed []string
	for _, sc := range br.Scales {
		for _, st := range []struct {
			tool string
			s    suite.Step
		}{{"ipatlas", sc.Compile}, {"mmdbwriter", sc.MMDBWriter}} {
			if st.s.Ran && !st.s.TimedOut && st.s.Skipped == "" && !st.s.CheckOK {
				failed = append(failed, fmt.Sprintf("scale %s, %s: %s", sc.Label, st.tool, st.s.Check))
			}
		}
	}
	return failed
}

// ensureBenchDB makes sure the database exists: the default one is
// fetched with scripts/fetch-data.sh (from the repository the command runs
// in) when missing; a database given with --db must exist.
func ensureBenchDB(db string, given bool, stderr io.Writer) error {
	if _, err := os.Stat(db); err == nil {
		return nil
	} else if given || !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--db: %w", err)
	}
	script := filepath.Join("scripts", "fetch-data.sh")
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("%s is missing and there is no %s here to fetch it: run the command from the repository's root, or give --db", db, script)
	}
	fmt.Fprintf(stderr, "ipatlas-bench: %s is missing: running %s\n", db, script)
	cmd := exec.Command("bash", script)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", script, err)
	}
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("%s did not give %s: %w", script, db, err)
	}
	return nil
}

// findIPAtlas returns the ipatlas binary whose ingest and compile the
// build benchmark times, and a function that removes it if it was built
// here: bin when given; else, when dir is the repository's root (its
// go.mod is this module's), ./cmd/ipatlas built from it into a temporary
// directory, so that the binary measured is the commit the report names;
// else the ipatlas beside exe (`go install ./cmd/...` puts both in one
// folder).
func findIPAtlas(bin, dir, exe string, stderr io.Writer) (string, func(), error) {
	nop := func() {}
	if bin != "" {
		if err := isExecutable(bin); err != nil {
			return "", nop, fmt.Errorf("--ipatlas: %w", err)
		}
		return bin, nop, nil
	}
	if gomod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(gomod), "module github.com/ipatlas/ipatlas\n") {
		tmp, err := os.MkdirTemp("", "ipatlas-bench-bin-")
		if err != nil {
			return "", nop, err
		}
		cleanup := func() { os.RemoveAll(tmp) }
		out := filepath.Join(tmp, "ipatlas")
		fmt.Fprintf(stderr, "ipatlas-bench: building ./cmd/ipatlas to time its ingest and compile\n")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/ipatlas")
		cmd.Dir = dir
		if msg, err := cmd.CombinedOutput(); err != nil {
			cleanup()
			return "", nop, fmt.Errorf("go build ./cmd/ipatlas in %s: %w\n%s", dir, err, strings.TrimSpace(string(msg)))
		}
		return out, cleanup, nil
	}
	beside := filepath.Join(filepath.Dir(exe), "ipatlas")
	if err := isExecutable(beside); err != nil {
		return "", nop, fmt.Errorf("no ipatlas binary to time: %s is not the repository's root and %v; give --ipatlas PATH", dir, err)
	}
	return beside, nop, nil
}

// isExecutable reports why path is not an executable regular file.
func isExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
