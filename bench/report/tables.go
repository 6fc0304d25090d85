package report

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipatlas/ipatlas/bench/suite"
)

// sig formats x with 3 significant digits (at least whole units).
func sig(x float64) string {
	switch a := math.Abs(x); {
	case a >= 100:
		return fmt.Sprintf("%.0f", x)
	case a >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}

// rate formats lookups per second in millions.
func rate(x float64) string { return sig(x/1e6) + " M" }

func statNs(s suite.Stat) string {
	return fmt.Sprintf("%s (%s–%s)", sig(s.Median), sig(s.Min), sig(s.Max))
}

func statRate(s suite.Stat) string {
	return fmt.Sprintf("%s (%s–%s)", rate(s.Median), sig(s.Min/1e6), sig(s.Max/1e6))
}

func dur(d time.Duration) string { return d.Round(time.Second).String() }

// reference returns the ipatlas path its group's peers are compared with.
func reference(w suite.WorkloadResult, group string) *suite.PathResult {
	for i := range w.Paths {
		if p := &w.Paths[i]; p.Group == group && p.Reference {
			return p
		}
	}
	return nil
}

func renderReaders(md *strings.Builder, dir string, r *suite.ReadersResult) error {
	o := r.Options
	md.WriteString("## Readers\n\n")
	fmt.Fprintf(md, "Database: `%s` (%s, %d networks). Per workload %d addresses from seed %d; every path looks up the same addresses in the same order. ",
		filepath.Base(r.DB), r.DBType, r.Networks, o.Addrs, o.Seed)
	fmt.Fprintf(md, "%d runs, interleaved (run 1 of every path and workload, then run 2, ...); each measurement lasts at least %v, timed in batches of %d lookups. ",
		o.Count, o.MinTime, o.Batch)
	md.WriteString("ns/op: time per lookup with one goroutine (median of the runs, min–max); p99: the 99th percentile of the per-batch time per lookup (median of the runs); ")
	md.WriteString("allocs/op and B/op: runtime.MemStats over the run; lookups/s with 1 goroutine and with GOMAXPROCS goroutines sharing one reader. ")
	md.WriteString("×: this path's ns/op over the ipatlas path of its group (above 1: slower than ipatlas). ")
	md.WriteString("Before timing, every path looks up the whole workload once (warm-up; the typed caches fill) and the answers are checked: in each group, every reader answers the same number of addresses.\n\n")
	machineTable(md, r.Machine, dur(r.Duration))
	md.WriteString("Workloads:\n\n")
	for _, w := range r.Workloads {
		fmt.Fprintf(md, "- **%s**: %s.\n", w.Kind, w.Description)
	}
	md.WriteString("\nPaths (groups compare like for like):\n\n")
	if len(r.Workloads) > 0 {
		for _, p := range r.Workloads[0].Paths {
			fmt.Fprintf(md, "- **%s** (%s): %s.\n", p.Name, p.Group, p.Note)
		}
	}
	md.WriteString("\n### Summary\n\n")
	md.WriteString(SummaryTable(r))
	for _, w := range r.Workloads {
		fmt.Fprintf(md, "\n### %s\n\n", w.Kind)
		fmt.Fprintf(md, "| path | group | ns/op | p99 ns/op | allocs/op | B/op | lookups/s, 1 goroutine | lookups/s, %d goroutines | × | answered |\n", o.MaxProcs)
		md.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
		for _, p := range w.Paths {
			ratio := "-"
			if ref := reference(w, p.Group); ref != nil && ref.NsPerOp.Median > 0 {
				ratio = fmt.Sprintf("%.2f", p.NsPerOp.Median/ref.NsPerOp.Median)
			}
			fmt.Fprintf(md, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n", p.Name, p.Group, statNs(p.NsPerOp), sig(p.P99Batch.Median),
				sig(p.AllocsOp), sig(p.BytesOp), statRate(p.Single), statRate(p.AllCores), ratio, p.Answered)
		}
		lat, thr := "latency-"+string(w.Kind)+".svg", "throughput-"+string(w.Kind)+".svg"
		if err := savePlot(dir, lat, func(path string) error { return latencyPlot(w, path) }); err != nil {
			return err
		}
		if err := savePlot(dir, thr, func(path string) error { return throughputPlot(w, path) }); err != nil {
			return err
		}
		fmt.Fprintf(md, "\n![latency distribution, %s](%s)\n\n![throughput by goroutines, %s](%s)\n", w.Kind, lat, w.Kind, thr)
	}
	if len(r.Open) > 0 {
		md.WriteString("\n### Open time and memory\n\n")
		fmt.Fprintf(md, "Each reader alone in a child process (%d runs; median, min–max): Open's time, the resident memory Open added (VmRSS after minus before), "+
			"and the process's peak resident memory (VmHWM, the whole process with the Go runtime) after %d lookups (uniform IPv4 and IPv6, alternately; typed readers decode City).\n\n", r.Open[0].Runs, r.Open[0].Lookups)
		openTable(md, r.Open)
	}
	return nil
}

func openTable(md *strings.Builder, open []suite.OpenResult) {
	md.WriteString("| reader | open ms | RSS added by Open, MiB | peak RSS after lookups, MiB | ns/lookup | RSS before Open, MiB |\n|---|---|---|---|---|---|\n")
	for _, o := range open {
		fmt.Fprintf(md, "| %s | %s | %s | %s | %s | %s |\n", o.Reader, statNs(o.OpenMs), statNs(o.OpenMiB), statNs(o.PeakMiB), statNs(o.LookupNs), sig(o.BaseMiB))
	}
}

// SummaryTable is the table of ipatlas against its peers, one row per
// workload and comparison: the summary for the README.
func SummaryTable(r *suite.ReadersResult) string {
	var md strings.Builder
	md.WriteString("| workload | comparison | ipatlas ns/op | peer ns/op | speedup | allocs/op ipatlas / peer |\n|---|---|---|---|---|---|\n")
	for _, w := range r.Workloads {
		for _, g := range suite.Groups() {
			var ours, peers []suite.PathResult
			for _, p := range w.Paths {
				if p.Group != g {
					continue
				}
				if p.Ours {
					ours = append(ours, p)
				} else {
					peers = append(peers, p)
				}
			}
			for _, a := range ours {
				for _, b := range peers {
					fmt.Fprintf(&md, "| %s | %s vs %s | %s | %s | %.1fx | %s / %s |\n", w.Kind, a.Name, b.Name, sig(a.NsPerOp.Median), sig(b.NsPerOp.Median),
						b.NsPerOp.Median/a.NsPerOp.Median, sig(a.AllocsOp), sig(b.AllocsOp))
				}
			}
		}
	}
	return md.String()
}

func mib(b int64) string { return sig(float64(b) / (1 << 20)) }

func stepCells(s suite.Step) (wall, cpu, rss string) {
	switch {
	case !s.Ran && s.Skipped != "":
		return s.Skipped, "-", "-"
	case !s.Ran:
		return "not run", "-", "-"
	case s.TimedOut:
		return fmt.Sprintf("did not finish within %v", s.Timeout), sig(s.CPUSeconds), sig(s.PeakMiB)
	}
	return sig(s.WallSeconds), sig(s.CPUSeconds), sig(s.PeakMiB)
}

func checkCell(s suite.Step) string {
	switch {
	case !s.Ran || s.TimedOut || s.Check == "":
		return "-"
	case s.CheckOK:
		return "ok"
	}
	return "FAILED: " + strings.ReplaceAll(s.Check, "|", "/")
}

func renderBuild(md *strings.Builder, dir string, b *suite.BuildResult) error {
	o := b.Options
	md.WriteString("## Build\n\n")
	if o.PerAddress {
		fmt.Fprintf(md, "Per-address inference results generated by bench/inference (seed %d): three quarters IPv4 /32 rows (64 in each /24), one quarter IPv6 /64 rows (16 in each /48), "+
			"each with its own coordinates (the city's, jittered per address at six decimals), so almost every record is distinct; neighbouring /24s share a city, each /24 its confidences; as gzip CSV. ", o.Seed)
	} else {
		fmt.Fprintf(md, "Inference results generated by bench/inference (seed %d, %d distinct records; full scale = every IPv4 /24, %d rows, plus %d IPv6 /48s), as gzip CSV. ",
			o.Seed, o.Combos, suite.FullIPv4, suite.FullIPv6)
	}
	md.WriteString("ipatlas: `ipatlas ingest` into a fresh store, then `ipatlas compile`, each a child process. ")
	md.WriteString("mmdbwriter (github.com/maxmind/mmdbwriter): a child process reads the same CSV with ipatlas's parser (builder.ReadFile, so the records are byte for byte the ones ipatlas stores), ")
	md.WriteString("converts each distinct record to mmdbtype once, inserts every network and writes the file (IPv6 tree, 28-bit records, IPv4 aliasing off: the rows avoid the alias ranges). ")
	fmt.Fprintf(md, "Timeouts: ipatlas %v per step, mmdbwriter %v (0s: none). ", o.IPAtlasTimeout, o.MMDBWriterTimeout)
	fmt.Fprintf(md, "Wall and CPU seconds (user+system) and peak RSS of each child (VmHWM, sampled every 20 ms and reported by the child at exit where it can; getrusage's maxrss would carry the parent's high-water mark into a vfork+exec child); store = the store's files after ingest. Every output is checked: Verify and %d seeded addresses against their rows, read with maxminddb-golang v2 (bench/inference.RunCheck).\n\n", o.Samples)
	machineTable(md, b.Machine, dur(b.Duration))
	md.WriteString("| scale | rows | input MiB | tool | wall s | rows/s | CPU s | peak RSS MiB | store MiB | output MiB | check |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range b.Scales {
		row := func(tool string, st suite.Step, store string) {
			w, c, r := stepCells(st)
			out, rate := "-", "-"
			if st.OutputBytes > 0 {
				out = mib(st.OutputBytes)
			}
			if st.Ran && !st.TimedOut && st.WallSeconds > 0 {
				rate = fmt.Sprintf("%.0f", float64(s.Rows)/st.WallSeconds)
			}
			fmt.Fprintf(md, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Label, s.Rows, mib(s.InputBytes), tool, w, rate, c, r, store, out, checkCell(st))
		}
		row("ipatlas ingest", s.Ingest, mib(s.StoreBytes))
		row("ipatlas compile", s.Compile, "-")
		if s.Ingest.Ran && s.Compile.Ran && !s.Ingest.TimedOut && !s.Compile.TimedOut {
			fmt.Fprintf(md, "| %s | %d | %s | **ipatlas total** | **%s** | %.0f | %s | **%s** | %s | %s | |\n", s.Label, s.Rows, mib(s.InputBytes),
				sig(s.Ingest.WallSeconds+s.Compile.WallSeconds), float64(s.Rows)/(s.Ingest.WallSeconds+s.Compile.WallSeconds), sig(s.Ingest.CPUSeconds+s.Compile.CPUSeconds),
				sig(max(s.Ingest.PeakMiB, s.Compile.PeakMiB)), mib(s.StoreBytes), mib(s.Compile.OutputBytes))
		}
		if s.MMDBWriter.Ran || s.MMDBWriter.Skipped != "" {
			row("**mmdbwriter**", s.MMDBWriter, "-")
		}
	}
	md.WriteString("\n")
	files, err := buildPlots(b, dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(md, "![%s](%s)\n\n", strings.TrimSuffix(f, ".svg"), f)
	}
	if len(b.Open) > 0 {
		fmt.Fprintf(md, "### Readers on the %s-scale database (%s MiB)\n\n", b.OpenDBLabel, mib(b.OpenDBBytes))
		fmt.Fprintf(md, "Each reader alone in a child process (%d runs; median, min–max), on the largest database ipatlas built above: Open's time, the resident memory Open added, "+
			"and the peak resident memory after %d lookups (uniform IPv4 and IPv6, alternately, no decoding).\n\n", b.Open[0].Runs, b.Open[0].Lookups)
		openTable(md, b.Open)
		md.WriteString("\n")
	}
	return nil
}
