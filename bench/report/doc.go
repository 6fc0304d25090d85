// Package report turns the results of the benchmark suite (bench/suite)
// into a Markdown report with plots: tables of every figure, the machine
// and the exact command, latency distributions, throughput by goroutines,
// and build time and memory by scale (gonum.org/v1/plot, SVG).
//
// It owns the rendering and the results files beside the report
// (readers.json, build.json: Save, Load), so that the report of one part
// can be rendered again after the other part ran, without running either
// again. It measures nothing, runs no child and opens no database: every
// figure comes from the results it is given. It links gonum, so only
// cmd/ipatlas-bench may import it; the shipped ipatlas binary must not
// (TestShippedDeps, internal/importcheck; eval draws its plots with
// internal/svgplot instead).
//
// Invariants:
//
//  1. No half-written file: report.md and the JSON files are written
//     whole (internal/atomicfile: a temporary file, fsync, rename), each
//     plot to a temporary name then renamed; a panic of gonum/plot on
//     degenerate data is an error naming the plot, and its temporary file
//     is removed. A run that fails before Render leaves no report.md
//     (TestBenchUsage, cmd/ipatlas-bench).
//  2. The readers report has a section per workload with its latency and
//     throughput plots, one table row per lookup path and workload, and
//     the machine table (command, commit, CPU, Go, load average before
//     and after) (TestBenchReadersShort, cmd/ipatlas-bench).
//  3. An output that failed its check is shown as FAILED, never with
//     timings as if it had worked (TestBenchBuildNotIPAtlas,
//     cmd/ipatlas-bench).
//  4. Load gives nil for a part whose file is not there and an error
//     naming the file for one that does not parse.
//
// Nothing here holds state between calls.
package report
