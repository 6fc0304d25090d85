package suite

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"time"

	"github.com/ipatlas/ipatlas/bench/workload"
)

// ReadersOptions configures RunReaders.
type ReadersOptions struct {
	DB       string        // the .mmdb to look up in (a City database: the typed paths decode geoip2 City)
	Addrs    int           // addresses per workload
	Seed     uint64        // seed of the workloads
	Count    int           // repeated runs
	MinTime  time.Duration // per measurement
	Batch    int           // lookups per timed batch
	MaxProcs int           // goroutines up to this many in the core-count sweep
	// OpenRuns is the number of child processes per reader that measure
	// open time and resident memory (0 leaves that part out).
	OpenRuns int
	// OpenLookups is the number of lookups each such child makes after
	// opening, to count the memory touched by lookups.
	OpenLookups int
	Child       ChildRunner `json:"-"`
	Command     string      // the command line, for the report
	Progress    io.Writer   `json:"-"` // one line per step; nil for none
}

// DefaultReadersOptions are the options of a full run.
func DefaultReadersOptions() ReadersOptions {
	return ReadersOptions{Addrs: 1 << 16, Seed: 1, Count: 5, MinTime: 250 * time.Millisecond, Batch: 256,
		MaxProcs: runtime.GOMAXPROCS(0), OpenRuns: 3, OpenLookups: 1 << 20}
}

// ShortReadersOptions are the options of --short: a quick smoke run.
func ShortReadersOptions() ReadersOptions {
	return ReadersOptions{Addrs: 1 << 12, Seed: 1, Count: 2, MinTime: 10 * time.Millisecond, Batch: 64,
		MaxProcs: min(2, runtime.GOMAXPROCS(0)), OpenRuns: 1, OpenLookups: 1 << 12}
}

// ReadersResult is everything RunReaders measured.
type ReadersResult struct {
	Machine   Machine
	DB        string
	DBType    string // the database's metadata type
	Networks  int    // networks in the database (Networks(), aliases left out)
	Options   ReadersOptions
	Workloads []WorkloadResult
	// Open is the open time and memory of each reader, each in a child
	// process.
	Open []OpenResult
	// Duration is the wall time of the whole run.
	Duration time.Duration
}

// WorkloadResult holds every path's figures on one workload.
type WorkloadResult struct {
	Kind        workload.Kind
	Description string
	Paths       []PathResult
}

// PathResult is one path on one workload over the repeated runs. Time
// figures come from the single-goroutine measurements.
type PathResult struct {
	Path
	// Answered is the number of the workload's addresses that answered
	// (found; for decode and typed paths: a record with a country),
	// checked equal across the paths of each group.
	Answered int
	NsPerOp  Stat // mean ns per lookup of each run
	P99Batch Stat // the p99 of per-batch ns per lookup of each run
	AllocsOp float64
	BytesOp  float64
	Single   Stat   // lookups/s with one goroutine
	AllCores Stat   // lookups/s with MaxProcs goroutines sharing the reader
	ByProcs  []Stat // lookups/s with 1..MaxProcs goroutines
	// Quantiles are the 0%, 1%, ..., 100% quantiles of per-batch ns per
	// lookup, over the batches of every run (one goroutine).
	Quantiles []float64
}

func (o *ReadersOptions) progressf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

func (o *ReadersOptions) validate() error {
	switch {
	case o.DB == "":
		return fmt.Errorf("no database")
	case o.Addrs < 1:
		return fmt.Errorf("addresses per workload %d: want at least 1", o.Addrs)
	case o.Count < 1:
		return fmt.Errorf("count %d: want at least 1", o.Count)
	case o.Batch < 1:
		return fmt.Errorf("batch %d: want at least 1", o.Batch)
	case o.MaxProcs < 1:
		return fmt.Errorf("max procs %d: want at least 1", o.MaxProcs)
	case o.MinTime <= 0:
		return fmt.Errorf("measurement time %v: want more than 0", o.MinTime)
	}
	return nil
}

// RunReaders measures every lookup path on every workload, o.Count times,
// interleaved (run 1 of every path, then run 2, ...) so that a noisy
// spell of the machine hits all paths alike.
func RunReaders(ctx context.Context, o ReadersOptions) (*ReadersResult, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	res := &ReadersResult{Machine: describeMachine(o.Command), DB: o.DB, Options: o}
	rs, paths, err := openPaths(o.DB)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	res.DBType = rs.ours.Metadata.DatabaseType
	o.progressf("bench readers: %s (%s): sampling its networks", o.DB, res.DBType)
	nets := func(yield func(netip.Prefix) bool) {
		for r := range rs.ours.Networks() {
			if r.Err() != nil {
				return
			}
			res.Networks++
			if !yield(r.Prefix()) {
				return
			}
		}
	}
	sample, err := workload.SampleNetworks(o.Seed, o.Addrs, nets)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.DB, err)
	}
	type wl struct {
		addrs []netip.Addr
		ips   []net.IP
		res   *WorkloadResult
		// per path: ns/op, p99, allocs, bytes per run; lookups/s per run and procs; batches
		ns, p99, allocs, bytes [][]float64
		procs                  [][][]float64
		batches                [][]float64
	}
	var wls []*wl
	for _, k := range workload.Kinds() {
		addrs, err := workload.Make(k, o.Seed, o.Addrs, sample)
		if err != nil {
			return nil, err
		}
		w := &wl{addrs: addrs, ips: make([]net.IP, len(addrs)),
			res: &WorkloadResult{Kind: k, Description: k.Describe(), Paths: make([]PathResult, len(paths))}}
		for i, a := range addrs {
			w.ips[i] = a.AsSlice()
		}
		np := len(paths)
		w.ns, w.p99, w.allocs, w.bytes = make([][]float64, np), make([][]float64, np), make([][]float64, np), make([][]float64, np)
		w.procs, w.batches = make([][][]float64, np), make([][]float64, np)
		for pi, p := range paths {
			w.procs[pi] = make([][]float64, o.MaxProcs)
			// Warm up (the typed caches fill: steady state) and count the answers.
			wk := p.newWorker(addrs, w.ips)
			n := 0
			for i := range addrs {
				n += min(wk(i), 1)
			}
			w.res.Paths[pi] = PathResult{Path: p.Path, Answered: n}
		}
		if err := checkAnswers(w.res); err != nil {
			return nil, err
		}
		wls = append(wls, w)
	}
	for run := range o.Count {
		for _, w := range wls {
			for pi, p := range paths {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				for procs := 1; procs <= o.MaxProcs; procs++ {
					m := measure(p, w.addrs, w.ips, len(w.addrs), procs, o.Batch, o.MinTime)
					w.procs[pi][procs-1] = append(w.procs[pi][procs-1], m.perSecond())
					if procs == 1 {
						w.ns[pi] = append(w.ns[pi], m.nsPerOp())
						b := sortedCopy(m.batchNs)
						w.p99[pi] = append(w.p99[pi], quantile(b, 0.99))
						w.allocs[pi] = append(w.allocs[pi], float64(m.allocs)/float64(m.ops))
						w.bytes[pi] = append(w.bytes[pi], float64(m.bytes)/float64(m.ops))
						w.batches[pi] = append(w.batches[pi], m.batchNs...)
					}
				}
			}
			o.progressf("bench readers: run %d/%d: %s done", run+1, o.Count, w.res.Kind)
		}
	}
	for _, w := range wls {
		for pi := range paths {
			pr := &w.res.Paths[pi]
			pr.NsPerOp, pr.P99Batch = statOf(w.ns[pi]), statOf(w.p99[pi])
			pr.AllocsOp, pr.BytesOp = statOf(w.allocs[pi]).Median, statOf(w.bytes[pi]).Median
			for _, xs := range w.procs[pi] {
				pr.ByProcs = append(pr.ByProcs, statOf(xs))
			}
			pr.Single, pr.AllCores = pr.ByProcs[0], pr.ByProcs[len(pr.ByProcs)-1]
			b := sortedCopy(w.batches[pi])
			for q := range 101 {
				pr.Quantiles = append(pr.Quantiles, quantile(b, float64(q)/100))
			}
		}
		res.Workloads = append(res.Workloads, *w.res)
	}
	rs.Close()
	if o.OpenRuns > 0 {
		o.progressf("bench readers: open time and memory, %d child processes per reader", o.OpenRuns)
		res.Open, err = measureOpen(ctx, o.Child, o.DB, o.OpenRuns, o.OpenLookups, o.Seed, OpenReaders())
		if err != nil {
			return nil, err
		}
	}
	res.Machine.LoadAfter = loadAvg()
	res.Duration = time.Since(t0)
	return res, nil
}

func sortedCopy(xs []float64) []float64 {
	s := make([]float64, len(xs))
	copy(s, xs)
	sortFloats(s)
	return s
}

// checkAnswers checks that the paths of each group answered the same
// addresses: the peers check each other.
func checkAnswers(w *WorkloadResult) error {
	first := map[string]*PathResult{}
	for i := range w.Paths {
		p := &w.Paths[i]
		// decode and typed paths both count records with a country.
		g := p.Group
		if g == GroupTyped {
			g = GroupDecode
		}
		if f, ok := first[g]; !ok {
			first[g] = p
		} else if f.Answered != p.Answered {
			return fmt.Errorf("workload %s: %s answered %d addresses, %s %d: the readers disagree", w.Kind, f.Name, f.Answered, p.Name, p.Answered)
		}
	}
	return nil
}
