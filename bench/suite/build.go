package suite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ipatlas/ipatlas/bench/inference"
	"github.com/ipatlas/ipatlas/builder"
	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/atomicfile"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Full scale: every IPv4 /24 and 4 million IPv6 /48s.
const (
	FullIPv4 = inference.AllIPv4
	FullIPv6 = 4_000_000
)

// Scale is one size of the build benchmark: a fraction of full scale.
type Scale struct {
	Label      string // as given, e.g. "1/16"
	Fraction   float64
	IPv4, IPv6 int // rows
}

// ParseScale parses a fraction of full scale: "1", "1/64", "0.25", or a
// row count of IPv4 /24s such as "4096" (IPv6 rows in proportion).
func ParseScale(s string) (Scale, error) {
	s = strings.TrimSpace(s)
	var f float64
	if num, den, ok := strings.Cut(s, "/"); ok {
		n, err1 := strconv.ParseFloat(num, 64)
		d, err2 := strconv.ParseFloat(den, 64)
		if err1 != nil || err2 != nil || d <= 0 {
			return Scale{}, fmt.Errorf("scale %q: want a fraction such as 1/16, a number in (0, 1] or a count of IPv4 /24s", s)
		}
		f = n / d
	} else {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Scale{}, fmt.Errorf("scale %q: want a fraction such as 1/16, a number in (0, 1] or a count of IPv4 /24s", s)
		}
		f = v
		if v > 1 && v == float64(int(v)) {
			f = v / FullIPv4
		}
	}
	if !(f > 0 && f <= 1) {
		return Scale{}, fmt.Errorf("scale %q: want more than 0 and at most full scale (1)", s)
	}
	sc := Scale{Label: s, Fraction: f, IPv4: max(1, int(f*FullIPv4+0.5)), IPv6: int(f*FullIPv6 + 0.5)}
	return sc, nil
}

// FullPerAddress is the largest per-address scale of the benchmark (its
// fraction 1): 50 million rows.
const FullPerAddress = 50_000_000

// ParseAddressScale parses a per-address scale: a row count such as
// 5000000, 5M or 2.5M, three quarters IPv4 /32s and one quarter IPv6
// /64s (the seeds' 3.7 billion IPv4 to 1.2 billion IPv6 addresses).
func ParseAddressScale(s string) (Scale, error) {
	s = strings.TrimSpace(s)
	mult := 1.0
	num := s
	switch {
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mult, num = 1e6, s[:len(s)-1]
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, num = 1e3, s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(num, 64)
	rows := int(v*mult + 0.5)
	if err != nil || rows < 4 || rows > 4*inference.MaxPerAddressIPv4/3 {
		return Scale{}, fmt.Errorf("per-address scale %q: want a row count from 4 to %d, such as 5M or 500k", s, 4*inference.MaxPerAddressIPv4/3)
	}
	v4 := rows * 3 / 4
	return Scale{Label: s, Fraction: float64(rows) / FullPerAddress, IPv4: v4, IPv6: rows - v4}, nil
}

// BuildOptions configures RunBuild.
type BuildOptions struct {
	Scales []Scale
	Seed   uint64
	// PerAddress generates per-address rows (IPv4 /32s and IPv6 /64s,
	// almost every record distinct; see bench/inference) instead of a
	// row per /24 and /48 sharing Combos records.
	PerAddress bool
	Combos     int    // distinct records of the generated input
	Work       string // where inputs, stores and outputs go (removed after each scale unless Keep)
	Keep       bool
	// Timeouts of each child process; 0 is no limit.
	IPAtlasTimeout, MMDBWriterTimeout time.Duration
	// MMDBWriter runs mmdbwriter too, at the scales up to MMDBWriterMax
	// (a fraction of full scale; 0 is no limit).
	MMDBWriter    bool
	MMDBWriterMax float64
	// Samples is the number of addresses checked in every output against
	// the rows (maxminddb-golang v2 reads them).
	Samples int
	// OpenRuns and OpenLookups: the readers' open time and memory on the
	// largest ipatlas output (0 runs leaves that out).
	OpenRuns, OpenLookups int
	Child                 ChildRunner `json:"-"`
	Command               string
	Progress              io.Writer `json:"-"`
	// Checkpoint, when not nil, receives the results so far after each
	// scale (to save them: a long run stopped later keeps its figures).
	Checkpoint func(*BuildResult) error `json:"-"`
}

// BuildResult is what RunBuild measured.
type BuildResult struct {
	Machine Machine
	Options BuildOptions
	Scales  []ScaleResult
	// Open holds the readers' open time and memory on OpenDB, the largest
	// database ipatlas built.
	Open        []OpenResult
	OpenDBLabel string
	OpenDBBytes int64
	Duration    time.Duration
}

// ScaleResult is one scale's figures.
type ScaleResult struct {
	Scale
	Rows       int
	InputBytes int64   // gzip CSV
	GenSeconds float64 // generating the input (not part of any build)
	Ingest     Step    // ipatlas ingest: CSV into the store
	Compile    Step    // ipatlas compile: the store into a .mmdb
	StoreBytes int64
	MMDBWriter Step // mmdbwriter: the same CSV rows, inserted and written
}

// Step is one child process of the build benchmark.
type Step struct {
	Ran         bool
	WallSeconds float64
	CPUSeconds  float64
	PeakMiB     float64 // peak resident memory (VmHWM)
	OutputBytes int64
	TimedOut    bool
	Timeout     time.Duration
	Skipped     string // why the step did not run
	Check       string // the output's check against the rows, or why it failed
	CheckOK     bool
	Detail      string // the tool's own summary line
}

func (o *BuildOptions) progressf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// RunBuild generates the input of every scale, builds it with ipatlas
// (ingest, then compile, each a child process) and with mmdbwriter (a
// child process), checks every output against the rows, and measures the
// readers on the largest ipatlas output.
func RunBuild(ctx context.Context, o BuildOptions) (*BuildResult, error) {
	if len(o.Scales) == 0 {
		return nil, errors.New("no scales")
	}
	if o.Combos < 1 {
		return nil, fmt.Errorf("combos %d: want at least 1", o.Combos)
	}
	if err := os.MkdirAll(o.Work, 0o755); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	t0 := time.Now()
	res := &BuildResult{Machine: describeMachine(o.Command), Options: o}
	var largest string
	var largestFrac float64
	for _, sc := range o.Scales {
		r, out, err := o.runScale(ctx, sc)
		if err != nil {
			return nil, err
		}
		res.Scales = append(res.Scales, r)
		if o.Checkpoint != nil {
			res.Machine.LoadAfter = loadAvg()
			res.Duration = time.Since(t0)
			if err := o.Checkpoint(res); err != nil {
				return nil, err
			}
		}
		if out != "" && sc.Fraction > largestFrac {
			if largest != "" && !o.Keep {
				os.Remove(largest)
			}
			largest, largestFrac = out, sc.Fraction
			res.OpenDBLabel, res.OpenDBBytes = sc.Label, r.Compile.OutputBytes
		} else if out != "" && !o.Keep {
			os.Remove(out)
		}
	}
	if largest != "" && o.OpenRuns > 0 {
		o.progressf("bench build: readers' open time and memory on the %s database", res.OpenDBLabel)
		var err error
		res.Open, err = measureOpen(ctx, o.Child, largest, o.OpenRuns, o.OpenLookups, o.Seed, UntypedReaders())
		if err != nil {
			return nil, err
		}
	}
	if largest != "" && !o.Keep {
		os.Remove(largest)
	}
	res.Machine.LoadAfter = loadAvg()
	res.Duration = time.Since(t0)
	return res, nil
}

// runScale builds one scale; it returns the ipatlas output's path (kept
// for the readers' measurement) or "" when there is none.
func (o *BuildOptions) runScale(ctx context.Context, sc Scale) (ScaleResult, string, error) {
	r := ScaleResult{Scale: sc}
	cfg := inference.Config{Seed: o.Seed, IPv4Count: sc.IPv4, IPv6: sc.IPv6, Combos: o.Combos, PerAddress: o.PerAddress}
	r.Rows = cfg.Rows()
	tag := fmt.Sprintf("s%d-v4_%d-v6_%d-c%d", o.Seed, sc.IPv4, sc.IPv6, o.Combos)
	if o.PerAddress {
		tag = fmt.Sprintf("s%d-v4_%d-v6_%d-per-address", o.Seed, sc.IPv4, sc.IPv6)
	}
	in := filepath.Join(o.Work, "rows-"+tag+".csv.gz")
	o.progressf("bench build: scale %s: generating %d rows", sc.Label, r.Rows)
	t0 := time.Now()
	gen, err := inference.Generate(cfg, in, "", 1)
	if err != nil {
		return r, "", fmt.Errorf("scale %s: %w", sc.Label, err)
	}
	if !o.Keep {
		defer os.Remove(in)
	}
	r.GenSeconds, r.InputBytes = time.Since(t0).Seconds(), gen.CSVBytes
	store := filepath.Join(o.Work, "store-"+tag)
	out := filepath.Join(o.Work, "ipatlas-"+tag+".mmdb")
	os.RemoveAll(store)
	defer os.RemoveAll(store)

	o.progressf("bench build: scale %s: ipatlas ingest", sc.Label)
	cr, err := o.Child.ipatlas(ctx, o.IPAtlasTimeout, "ingest", "--db", store, "--source", "bench", in)
	if err != nil {
		return r, "", fmt.Errorf("scale %s: ipatlas ingest: %w", sc.Label, err)
	}
	r.Ingest = stepOf(cr, o.IPAtlasTimeout)
	r.StoreBytes = dirBytes(store)
	keep := ""
	if !cr.timedOut {
		o.progressf("bench build: scale %s: ipatlas compile", sc.Label)
		cr, err = o.Child.ipatlas(ctx, o.IPAtlasTimeout, "compile", "--db", store, "--out", out)
		if err != nil {
			return r, "", fmt.Errorf("scale %s: ipatlas compile: %w", sc.Label, err)
		}
		r.Compile = stepOf(cr, o.IPAtlasTimeout)
		if !cr.timedOut {
			r.Compile.OutputBytes = fileBytes(out)
			r.Compile.Check, r.Compile.CheckOK = check(cfg, out, o.Samples)
			keep = out
		}
	}
	os.RemoveAll(store)
	if o.MMDBWriter && o.MMDBWriterMax > 0 && sc.Fraction > o.MMDBWriterMax+1e-12 {
		r.MMDBWriter.Skipped = fmt.Sprintf("not run above scale %g", o.MMDBWriterMax)
	} else if o.MMDBWriter {
		o.progressf("bench build: scale %s: mmdbwriter (timeout %v)", sc.Label, o.MMDBWriterTimeout)
		mout := filepath.Join(o.Work, "mmdbwriter-"+tag+".mmdb")
		cr, err := o.Child.child(ctx, o.MMDBWriterTimeout, "mmdbwriter", "-in", in, "-out", mout)
		if err != nil {
			return r, keep, fmt.Errorf("scale %s: mmdbwriter: %w", sc.Label, err)
		}
		r.MMDBWriter = stepOf(cr, o.MMDBWriterTimeout)
		if !cr.timedOut {
			r.MMDBWriter.OutputBytes = fileBytes(mout)
			r.MMDBWriter.Check, r.MMDBWriter.CheckOK = check(cfg, mout, o.Samples)
		}
		os.Remove(mout)
		os.Remove(mout + ".tmp")
	}
	return r, keep, nil
}

func stepOf(cr childRun, timeout time.Duration) Step {
	s := Step{Ran: true, WallSeconds: cr.wall.Seconds(), CPUSeconds: cr.cpu.Seconds(), PeakMiB: float64(cr.maxRSSKiB) / 1024,
		TimedOut: cr.timedOut, Timeout: timeout}
	s.Detail = strings.TrimSpace(string(cr.stdout))
	return s
}

// check runs inference.RunCheck on out and says how it went.
func check(cfg inference.Config, out string, samples int) (string, bool) {
	if samples <= 0 {
		return "not checked", true
	}
	var b strings.Builder
	if err := inference.RunCheck(cfg, out, samples, &b); err != nil {
		return err.Error(), false
	}
	return strings.TrimSpace(b.String()), true
}

func fileBytes(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// dirBytes is the size of the files under dir.
func dirBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// mmdbwriterResult is what the mmdbwriter child prints.
type mmdbwriterResult struct {
	Rows, Records int
	// ReadInsertSeconds is reading the rows and inserting them (one
	// pass: the rows stream in); WriteSeconds is writing the file.
	ReadInsertSeconds, WriteSeconds float64
	Bytes                           int64
	VmHWMKiB                        int64 // peak RSS at the end
}

// writeWithMMDBWriter writes the rows of the inference file in with
// github.com/maxmind/mmdbwriter: each row's record exactly as ipatlas's
// builder encodes it (builder.ReadFile), converted to mmdbtype values once
// per distinct record, inserted network by network, then written and
// fsynced to out. The tree is configured like compile's output: IPv6,
// type ipatlas-City, reserved networks allowed; IPv4 aliasing is off (the
// rows avoid the alias ranges, and mmdbwriter's Teredo alias would refuse
// rows in 2001::/32).
func writeWithMMDBWriter(in, out string) (mmdbwriterResult, error) {
	var res mmdbwriterResult
	if in == "" || out == "" {
		return res, errors.New("mmdbwriter: want -in and -out")
	}
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "ipatlas-City",
		Description:             map[string]string{"en": "ipatlas-bench build (mmdbwriter)"},
		Languages:               []string{"en"},
		IPVersion:               6,
		RecordSize:              28,
		IncludeReservedNetworks: true,
		DisableIPv4Aliasing:     true,
	})
	if err != nil {
		return res, err
	}
	cache := make(map[string]mmdbtype.DataType)
	t0 := time.Now()
	_, err = builder.ReadFile(in, builder.Options{}, func(p netip.Prefix, record []byte, line int) error {
		res.Rows++
		v, ok := cache[string(record)]
		if !ok {
			fv, _, err := format.NewDecoder(record).Value(0)
			if err != nil {
				return fmt.Errorf("line %d: decoding the record: %w", line, err)
			}
			if v, err = toMMDBType(fv); err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			cache[string(record)] = v
		}
		bits := 32
		if p.Addr().Is6() {
			bits = 128
		}
		n := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
		if err := tree.Insert(n, v); err != nil {
			return fmt.Errorf("line %d: inserting %s: %w", line, p, err)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Records = len(cache)
	t1 := time.Now()
	res.ReadInsertSeconds = t1.Sub(t0).Seconds()
	err = atomicfile.Write(out, func(w io.Writer) error {
		_, err := tree.WriteTo(w)
		return err
	})
	if err != nil {
		return res, err
	}
	res.WriteSeconds = time.Since(t1).Seconds()
	res.Bytes = fileBytes(out)
	res.VmHWMKiB = statusKiB("/proc/self/status", "VmHWM:")
	return res, nil
}

// toMMDBType converts a decoded value to mmdbwriter's types.
func toMMDBType(v format.Value) (mmdbtype.DataType, error) {
	switch v := v.(type) {
	case format.Map:
		m := make(mmdbtype.Map, len(v))
		for k, e := range v {
			c, err := toMMDBType(e)
			if err != nil {
				return nil, err
			}
			m[mmdbtype.String(k)] = c
		}
		return m, nil
	case format.Slice:
		s := make(mmdbtype.Slice, len(v))
		for i, e := range v {
			c, err := toMMDBType(e)
			if err != nil {
				return nil, err
			}
			s[i] = c
		}
		return s, nil
	case format.String:
		return mmdbtype.String(v), nil
	case format.Float64:
		return mmdbtype.Float64(v), nil
	case format.Float32:
		return mmdbtype.Float32(v), nil
	case format.Uint16:
		return mmdbtype.Uint16(v), nil
	case format.Uint32:
		return mmdbtype.Uint32(v), nil
	case format.Uint64:
		return mmdbtype.Uint64(v), nil
	case format.Int32:
		return mmdbtype.Int32(v), nil
	case format.Bool:
		return mmdbtype.Bool(v), nil
	case format.Bytes:
		return mmdbtype.Bytes(v), nil
	}
	return nil, fmt.Errorf("record value of type %T: no mmdbwriter equivalent here", v)
}
