package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os/exec"
	"strings"
	"time"

	"github.com/ipatlas/ipatlas/bench/workload"
	"github.com/ipatlas/ipatlas/reader"
	"github.com/ipatlas/ipatlas/reader/geoip2"
	geoip2golang "github.com/oschwald/geoip2-golang/v2"
	maxminddbv1 "github.com/oschwald/maxminddb-golang"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// ChildRunner starts the child processes that measure one reader or
// writer alone: Exe (the ipatlas-bench binary) with Args before the
// child's own arguments (e.g. "child"), so that RunChild runs in the
// child; and IPAtlas, the ipatlas binary whose ingest and compile the
// build benchmark times (the shipped command, not a copy of its code).
type ChildRunner struct {
	Exe     string
	Args    []string
	IPAtlas string
}

// childRun is what a child process cost.
type childRun struct {
	stdout    []byte
	wall      time.Duration
	cpu       time.Duration // user + system
	maxRSSKiB int64         // peak resident memory (VmHWM)
	timedOut  bool
}

// ipatlas runs an ipatlas command (ingest, compile) of c.IPAtlas; see run.
func (c ChildRunner) ipatlas(ctx context.Context, timeout time.Duration, args ...string) (childRun, error) {
	if c.IPAtlas == "" {
		return childRun{}, errors.New("no ipatlas executable to run ingest and compile with")
	}
	return run(ctx, timeout, c.IPAtlas, args...)
}

// run runs exe with args and at most timeout (0: no limit). A timeout is
// not an error: the result says timedOut. A failure is an error with the
// child's stderr.
func run(ctx context.Context, timeout time.Duration, exe string, args ...string) (childRun, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 10 * time.Second
	t0 := time.Now()
	err := cmd.Start()
	if err != nil {
		return childRun{}, fmt.Errorf("%s: %w", exe, err)
	}
	// Peak RSS: the child's VmHWM, sampled while it runs. getrusage's
	// maxrss would not do: a child started with vfork+exec inherits the
	// parent's high-water mark, so a big parent would hide a small child.
	stop, sampled := make(chan struct{}), make(chan int64, 1)
	go func() {
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		var peak int64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, statusKiB(status, "VmHWM:"))
			select {
			case <-stop:
				sampled <- peak
				return
			case <-t.C:
			}
		}
	}()
	err = cmd.Wait()
	close(stop)
	res := childRun{stdout: out.Bytes(), wall: time.Since(t0), maxRSSKiB: <-sampled}
	if ps := cmd.ProcessState; ps != nil {
		res.cpu = ps.UserTime() + ps.SystemTime()
	}
	// A child that reports its own high-water mark at exit is exact.
	var self struct{ VmHWMKiB int64 }
	if json.Unmarshal(bytes.TrimSpace(res.stdout), &self) == nil {
		res.maxRSSKiB = max(res.maxRSSKiB, self.VmHWMKiB)
	}
	if ctx.Err() == context.DeadlineExceeded {
		res.timedOut = true
		return res, nil
	}
	if err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return res, fmt.Errorf("%s %s: %w: %s", exe, strings.Join(args, " "), err, msg)
	}
	return res, nil
}

// child runs a child mode (RunChild) in a process of its own.
func (c ChildRunner) child(ctx context.Context, timeout time.Duration, args ...string) (childRun, error) {
	if c.Exe == "" {
		return childRun{}, errors.New("no ipatlas-bench executable to run child processes with")
	}
	return run(ctx, timeout, c.Exe, append(append([]string{}, c.Args...), args...)...)
}

// Reader names of the open measurement.
const (
	ReaderIPAtlas        = "ipatlas reader"
	ReaderIPAtlasNoIndex = "ipatlas reader (WithoutIndex)"
	ReaderIPAtlasTyped   = "ipatlas reader/geoip2"
	ReaderV2             = "maxminddb-golang v2"
	ReaderV1             = "maxminddb-golang v1"
	ReaderGeoIP2         = "geoip2-golang v2"
)

// OpenReaders lists the readers whose open time and memory are measured
// on a City database.
func OpenReaders() []string {
	return []string{ReaderIPAtlas, ReaderIPAtlasNoIndex, ReaderIPAtlasTyped, ReaderV2, ReaderV1, ReaderGeoIP2}
}

// UntypedReaders lists the readers that work on any database.
func UntypedReaders() []string {
	return []string{ReaderIPAtlas, ReaderIPAtlasNoIndex, ReaderV2, ReaderV1}
}

// OpenResult is the open time and memory of one reader, each run in a
// child process of its own.
type OpenResult struct {
	Reader  string
	Runs    int
	OpenMs  Stat // Open (mmap, metadata, index)
	OpenMiB Stat // resident memory Open added (VmRSS after minus before)
	// PeakMiB is the child's peak resident memory (VmHWM) after
	// Lookups uniform IPv4 and IPv6 lookups: the whole process, Go
	// runtime included.
	PeakMiB  Stat
	LookupNs Stat // mean ns per lookup of those lookups
	Lookups  int
	BaseMiB  float64 // VmRSS of the child before opening (median)
}

// openChildResult is what the open child prints.
type openChildResult struct {
	OpenNs     int64
	RSSBefore  int64 // KiB
	RSSOpen    int64
	LookupNsOp float64
	Found      int
	VmHWMKiB   int64 // peak RSS at the end
}

// measureOpen runs each reader runs times in a child process on db.
func measureOpen(ctx context.Context, c ChildRunner, db string, runs, lookups int, seed uint64, names []string) ([]OpenResult, error) {
	var out []OpenResult
	for _, name := range names {
		var open, openMiB, peak, ns, base []float64
		for range runs {
			cr, err := c.child(ctx, 0, "open", "-reader", name, "-db", db, "-lookups", fmt.Sprint(lookups), "-seed", fmt.Sprint(seed))
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", name, db, err)
			}
			var r openChildResult
			if err := json.Unmarshal(cr.stdout, &r); err != nil {
				return nil, fmt.Errorf("%s on %s: the child's output: %w", name, db, err)
			}
			open = append(open, float64(r.OpenNs)/1e6)
			openMiB = append(openMiB, float64(r.RSSOpen-r.RSSBefore)/1024)
			peak = append(peak, float64(cr.maxRSSKiB)/1024)
			ns = append(ns, r.LookupNsOp)
			base = append(base, float64(r.RSSBefore)/1024)
		}
		out = append(out, OpenResult{Reader: name, Runs: runs, OpenMs: statOf(open), OpenMiB: statOf(openMiB),
			PeakMiB: statOf(peak), LookupNs: statOf(ns), Lookups: lookups, BaseMiB: statOf(base).Median})
	}
	return out, nil
}

// RunChild runs a child mode in this process: what ChildRunner starts.
// Modes: "open" (open one reader, look addresses up, print JSON) and
// "mmdbwriter" (write a generated input with mmdbwriter, print JSON).
func RunChild(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a child mode: open or mmdbwriter")
	}
	fs := flag.NewFlagSet("ipatlas-bench child "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "open":
		name := fs.String("reader", ReaderIPAtlas, "the reader")
		db := fs.String("db", "", "the database")
		lookups := fs.Int("lookups", 1<<20, "lookups after opening")
		seed := fs.Uint64("seed", 1, "seed of the addresses")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		r, err := childOpen(*name, *db, *lookups, *seed)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(r)
	case "mmdbwriter":
		in := fs.String("in", "", "the inference results (as bench/inference writes them)")
		out := fs.String("out", "", "the .mmdb to write")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		r, err := writeWithMMDBWriter(*in, *out)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(r)
	}
	return fmt.Errorf("unknown child mode %q: want open or mmdbwriter", args[0])
}

// childOpen opens db with one reader and looks up lookups addresses
// (uniform public IPv4 and IPv6 in 2000::/3, alternately, made on the
// fly so that they take no memory).
func childOpen(name, db string, lookups int, seed uint64) (openChildResult, error) {
	var r openChildResult
	r.RSSBefore = rssKiB()
	var look func(a netip.Addr) bool
	var closer io.Closer
	t0 := time.Now()
	switch name {
	case ReaderIPAtlas, ReaderIPAtlasNoIndex:
		var opts []reader.ReaderOption
		if name == ReaderIPAtlasNoIndex {
			opts = append(opts, reader.WithoutIndex())
		}
		rd, err := reader.Open(db, opts...)
		if err != nil {
			return r, err
		}
		closer = rd
		look = func(a netip.Addr) bool { return rd.Lookup(a).Found() }
	case ReaderIPAtlasTyped:
		rd, err := geoip2.Open(db)
		if err != nil {
			return r, err
		}
		closer = rd
		look = func(a netip.Addr) bool {
			c, _, err := rd.CityShared(a)
			return err == nil && c.Country.ISOCode != ""
		}
	case ReaderV2:
		rd, err := maxminddb.Open(db)
		if err != nil {
			return r, err
		}
		closer = rd
		look = func(a netip.Addr) bool { return rd.Lookup(a).Found() }
	case ReaderV1:
		rd, err := maxminddbv1.Open(db)
		if err != nil {
			return r, err
		}
		closer = rd
		look = func(a netip.Addr) bool {
			off, err := rd.LookupOffset(a.AsSlice())
			return err == nil && off != maxminddbv1.NotFound
		}
	case ReaderGeoIP2:
		rd, err := geoip2golang.Open(db)
		if err != nil {
			return r, err
		}
		closer = rd
		look = func(a netip.Addr) bool {
			c, err := rd.City(a)
			return err == nil && c.Country.ISOCode != ""
		}
	default:
		return r, fmt.Errorf("unknown reader %q", name)
	}
	defer closer.Close()
	r.OpenNs = time.Since(t0).Nanoseconds()
	r.RSSOpen = rssKiB()
	rng := rand.New(rand.NewPCG(seed, 99))
	t1 := time.Now()
	for i := range lookups {
		var a netip.Addr
		if i%2 == 0 {
			a = workload.Public4(rng)
		} else {
			a = workload.Global6(rng)
		}
		if look(a) {
			r.Found++
		}
	}
	if lookups > 0 {
		r.LookupNsOp = float64(time.Since(t1).Nanoseconds()) / float64(lookups)
	}
	r.VmHWMKiB = statusKiB("/proc/self/status", "VmHWM:")
	return r, nil
}
