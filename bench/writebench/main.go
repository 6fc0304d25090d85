// Command writebench is the write benchmark of ipatlas's streaming MMDB
// writer (format.Writer) against github.com/maxmind/mmdbwriter.
//
// It writes every IPv4 /24 (or the first -ipv4-count of them), optionally
// followed by -ipv6 N /48 networks spread over 2000::/3, each network
// carrying one of -records distinct city-like records generated from
// -seed. Both writers get exactly the same networks and record contents.
// It prints one line: writer, networks, records, wall seconds (with the
// phases) and output bytes. Peak memory is measured from outside, with
// /usr/bin/time -v (see bench/writebench.sh).
//
//	writebench -writer ipatlas -out a.mmdb
//	writebench -writer mmdbwriter -out b.mmdb
//	writebench -check a.mmdb b.mmdb
//
// With -check it opens two files written with the same generator flags
// with maxminddb-golang v2, runs Verify on both, and compares their
// answers (found, prefix, decoded record) for the first address of every
// network and -samples seeded random addresses; the records of the
// networks are also compared with the generated ones. Addresses in
// 2001::/32 are left out: mmdbwriter aliases Teredo to IPv4, ipatlas does
// not (SPEC.md).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/ipatlas/ipatlas/bench/internal/synth"
	"github.com/ipatlas/ipatlas/format"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// config is what both writers and the checker agree on.
type config struct {
	records   int
	ipv4Count int
	ipv6      int
	seed      uint64
}

func (c config) networks() int { return c.ipv4Count + c.ipv6 }

// validate checks the generator flags.
func (c config) validate() error {
	if c.records < 1 {
		return fmt.Errorf("-records %d: want at least 1", c.records)
	}
	return synth.CheckCounts(c.ipv4Count, allIPv4, "", c.ipv6)
}

// eachNetwork calls fn for every network in address order (IPv4 first)
// with its record number.
func (c config) eachNetwork(fn func(p netip.Prefix, rec int) error) error {
	for i := range c.ipv4Count {
		if err := fn(ipv4Prefix(i), ipv4Record(c.seed, i, c.records)); err != nil {
			return err
		}
	}
	for k := range c.ipv6 {
		if err := fn(ipv6Prefix(c.seed, k, c.ipv6), ipv6Record(c.seed, k, c.records)); err != nil {
			return err
		}
	}
	return nil
}

// generate returns the records, built once.
func (c config) generate() []map[string]any {
	p := newPool(c.seed)
	recs := make([]map[string]any, c.records)
	for r := range recs {
		recs[r] = p.record(c.seed, r)
	}
	return recs
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "writebench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("writebench", flag.ContinueOnError)
	writer := fs.String("writer", "ipatlas", "writer to run: ipatlas, mmdbwriter, or none (the generator alone: the benchmark's own cost)")
	out := fs.String("out", "", "output .mmdb file (required unless -check)")
	records := fs.Int("records", 200000, "number of distinct records")
	ipv4 := fs.Bool("ipv4", true, "write IPv4 /24s (all of them unless -ipv4-count)")
	ipv4Count := fs.Int("ipv4-count", allIPv4, "write only the first N IPv4 /24s")
	ipv6 := fs.Int("ipv6", 0, "number of IPv6 /48 networks after the IPv4 ones")
	seed := fs.Uint64("seed", 1, "seed of the record and network generator")
	check := fs.Bool("check", false, "compare the two .mmdb files given as arguments instead of writing")
	samples := fs.Int("samples", 100000, "with -check: random addresses to compare")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the writing to this file")
	memProfile := fs.String("memprofile", "", "write a heap profile (in-use memory just before the output is finished) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := config{records: *records, ipv4Count: *ipv4Count, ipv6: *ipv6, seed: *seed}
	if !*ipv4 {
		c.ipv4Count = 0
	}
	if err := c.validate(); err != nil {
		return err
	}
	if *check {
		if fs.NArg() != 2 {
			return errors.New("-check wants two .mmdb files")
		}
		return runCheck(c, fs.Arg(0), fs.Arg(1), *samples, stdout)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" {
		return errors.New("-out is required")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var res result
	var err error
	switch *writer {
	case "ipatlas":
		res, err = writeIPAtlas(c, *out, *memProfile)
	case "mmdbwriter":
		res, err = writeMMDBWriter(c, *out, *memProfile)
	case "none":
		res, err = writeNone(c, *out)
	default:
		return fmt.Errorf("-writer %q: want ipatlas, mmdbwriter or none", *writer)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", *writer, err)
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "writer=%s networks=%d records=%d wall_s=%.2f gen_s=%.2f insert_s=%.2f write_s=%.2f bytes=%d\n",
		*writer, c.networks(), c.records, res.total().Seconds(), res.gen.Seconds(), res.insert.Seconds(), res.write.Seconds(), st.Size())
	return nil
}

// result holds the phases of one write.
type result struct {
	gen    time.Duration // generating the records and handing them to the writer
	insert time.Duration // inserting the networks
	write  time.Duration // finishing and writing the file
}

func (r result) total() time.Duration { return r.gen + r.insert + r.write }

// writeHeapProfile writes the in-use heap to path, if path is not empty.
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}

// writeIPAtlas writes the database with format.Writer.
func writeIPAtlas(c config, path, memProfile string) (result, error) {
	var res result
	t0 := time.Now()
	w, err := format.Create(path, format.WriterOptions{
		IPVersion:    6,
		DatabaseType: "ipatlas-City",
		Languages:    languages,
		Description:  map[string]string{"en": "ipatlas write benchmark"},
	})
	if err != nil {
		return res, err
	}
	defer w.Abort()
	ids := make([]format.RecordID, c.records)
	p := newPool(c.seed)
	for r := range ids {
		ids[r], err = w.Intern(toFormat(p.record(c.seed, r)))
		if err != nil {
			return res, fmt.Errorf("record %d: %w", r, err)
		}
	}
	err = res.phases(t0, memProfile, func() error {
		return c.eachNetwork(func(p netip.Prefix, rec int) error {
			return w.Insert(p, ids[rec])
		})
	}, w.Close)
	return res, err
}

// phases times a writer's phases after its records are made (since t0):
// insert, then, after the heap profile is written, write.
func (res *result) phases(t0 time.Time, memProfile string, insert, write func() error) error {
	t1 := time.Now()
	res.gen = t1.Sub(t0)
	if err := insert(); err != nil {
		return err
	}
	t2 := time.Now()
	res.insert = t2.Sub(t1)
	if err := writeHeapProfile(memProfile); err != nil {
		return err
	}
	if err := write(); err != nil {
		return err
	}
	res.write = time.Since(t2)
	return nil
}

// writeMMDBWriter writes the database with mmdbwriter, configured like
// format.Writer: IPv6 tree, 28-bit records, IPv4 aliases, reserved
// networks allowed. Its output is fsynced as ipatlas's is.
func writeMMDBWriter(c config, path, memProfile string) (result, error) {
	var res result
	t0 := time.Now()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "ipatlas-City",
		Description:             map[string]string{"en": "ipatlas write benchmark"},
		Languages:               languages,
		IPVersion:               6,
		RecordSize:              28,
		IncludeReservedNetworks: true,
	})
	if err != nil {
		return res, err
	}
	vals := make([]mmdbtype.DataType, c.records)
	p := newPool(c.seed)
	for r := range vals {
		vals[r] = toMMDB(p.record(c.seed, r))
	}
	mask4, mask6 := net.CIDRMask(24, 32), net.CIDRMask(48, 128)
	insert := func() error {
		return c.eachNetwork(func(p netip.Prefix, rec int) error {
			n := &net.IPNet{IP: p.Addr().AsSlice(), Mask: mask4}
			if p.Addr().Is6() {
				n.Mask = mask6
			}
			if err := tree.Insert(n, vals[rec]); err != nil {
				return fmt.Errorf("network %s: %w", p, err)
			}
			return nil
		})
	}
	write := func() error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := tree.WriteTo(f); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	}
	err = res.phases(t0, memProfile, insert, write)
	return res, err
}

// writeNone runs the generator alone, as the writers see it (records
// generated one by one, networks enumerated), and writes an empty file:
// the part of the writers' figures that is the benchmark's own cost.
func writeNone(c config, path string) (result, error) {
	var res result
	t0 := time.Now()
	p := newPool(c.seed)
	n := 0
	for r := range c.records {
		n += len(p.record(c.seed, r))
	}
	t1 := time.Now()
	res.gen = t1.Sub(t0)
	var sum uint64
	err := c.eachNetwork(func(p netip.Prefix, rec int) error {
		sum += uint64(p.Bits() + rec)
		return nil
	})
	if err != nil {
		return res, err
	}
	res.insert = time.Since(t1)
	if n == 0 || sum == 0 && c.networks() > 1 {
		return res, errors.New("generator produced nothing")
	}
	return res, os.WriteFile(path, nil, 0o644)
}

// toFormat converts a generated value to a format.Value.
func toFormat(v any) format.Value {
	return convert[string, format.Value, format.Map, format.Slice](v, func(k string) string { return k }, scalar[format.Value, format.String, format.Uint16, format.Float64])
}

// toMMDB converts a generated value to an mmdbtype value.
func toMMDB(v any) mmdbtype.DataType {
	return convert[mmdbtype.String, mmdbtype.DataType, mmdbtype.Map, mmdbtype.Slice](v, func(k string) mmdbtype.String { return mmdbtype.String(k) }, scalar[mmdbtype.DataType, mmdbtype.String, mmdbtype.Uint16, mmdbtype.Float64])
}

// scalar converts a generated scalar (a string, a uint16 or a float64) to
// the type of a model that stands for it (Str, U16, F64 are kinds of V).
func scalar[V any, Str ~string, U16 ~uint16, F64 ~float64](v any) V {
	switch v := v.(type) {
	case string:
		return any(Str(v)).(V)
	case uint16:
		return any(U16(v)).(V)
	case float64:
		return any(F64(v)).(V)
	}
	panic(fmt.Sprintf("writebench: generated value of type %T", v))
}

// decoded converts a generated value to what maxminddb-golang decodes it
// into with Decode(&any): unsigned integers become uint64.
func decoded(v any) any {
	return convert[string, any, map[string]any, []any](v, func(k string) string { return k }, func(v any) any {
		if u, ok := v.(uint16); ok {
			return uint64(u)
		}
		return v
	})
}

// convert rebuilds a generated value (a tree of map[string]any, []any and
// scalars) in another model: its maps as M with keys key(k), its slices
// as S, its scalars as leaf gives them. M and S must be kinds of V.
func convert[K comparable, V any, M ~map[K]V, S ~[]V](v any, key func(string) K, leaf func(any) V) V {
	switch v := v.(type) {
	case map[string]any:
		m := make(M, len(v))
		for k, e := range v {
			m[key(k)] = convert[K, V, M, S](e, key, leaf)
		}
		return any(m).(V)
	case []any:
		s := make(S, len(v))
		for i, e := range v {
			s[i] = convert[K, V, M, S](e, key, leaf)
		}
		return any(s).(V)
	}
	return leaf(v)
}
