// Command buildbench is the scale benchmark of ipatlas's build path:
// inference results ingested into the store (builder, kv) and compiled
// into a .mmdb (compile, format.Writer), at the size SPEC.md is built for.
//
// The input is generated, deterministically from -seed: a row for each
// IPv4 /24 (all 16,777,216 unless -ipv4-count), then -ipv6 rows of /48s
// spread in address order over 2000::/3 outside 2002::/16 (6to4, which
// compile aliases to IPv4). Each row carries one of -combos distinct
// combinations of country, province, city, district, coordinates and
// confidences, drawn from a pool of about 11,000 cities in 25 countries
// (so names repeat, as in real data), named in Latin, Cyrillic, Han,
// Katakana and Hangul scripts; confidence decreases with depth. One
// aligned run of 16 /24s in ten shares a combination, so compile has
// networks to merge.
//
// Modes:
//
//	buildbench gen -csv rows.csv.gz -jsonl rows.jsonl.gz [generator flags]
//	    writes the input as gzip CSV and gzip JSONL (SPEC.md's "regions"
//	    form), streaming (memory bounded by -combos, not by the rows).
//	buildbench check [generator flags] FILE.mmdb
//	    opens FILE.mmdb with maxminddb-golang v2, runs Verify, and checks
//	    that -samples seeded addresses answer the record of the row
//	    generated for their /24 (or /48): names, codes, confidences,
//	    location, source; and that the /48 after a sampled IPv6 row,
//	    when no row gives it, is not found.
//	buildbench profile-ingest -db DIR [-cpuprofile F] [-memprofile F] INPUT
//	    builder.IngestFile as `ipatlas ingest` calls it, with a CPU profile
//	    and a heap profile taken near the peak of the live heap.
//	buildbench profile-compile -db DIR -out FILE.mmdb [-cpuprofile F] [-memprofile F]
//	    compile.Compile as `ipatlas compile` calls it, likewise.
//
// The timed benchmark itself runs the ipatlas CLI under /usr/bin/time -v:
// see bench/buildbench.sh and bench/BUILDBENCH.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "buildbench:", err)
		}
		os.Exit(1)
	}
}

// genFlags registers the generator flags on fs.
func genFlags(fs *flag.FlagSet) *config {
	c := &config{}
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the generated input")
	fs.IntVar(&c.ipv4Count, "ipv4-count", allIPv4, "rows for the first N IPv4 /24s (all of them by default)")
	fs.IntVar(&c.ipv6, "ipv6", 4_000_000, "IPv6 /48 rows after the IPv4 ones")
	fs.IntVar(&c.combos, "combos", 200_000, "distinct combinations of regions, coordinates and confidences")
	return c
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a mode: gen, check, profile-ingest or profile-compile")
	}
	mode, args := args[0], args[1:]
	fs := flag.NewFlagSet("buildbench "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch mode {
	case "gen":
		c := genFlags(fs)
		csvPath := fs.String("csv", "", "gzip CSV output (required)")
		jsonPath := fs.String("jsonl", "", "gzip JSONL output (required)")
		level := fs.Int("level", 5, "gzip level (klauspost/compress: 1 fastest to 9 smallest)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if err := c.validate(); err != nil {
			return err
		}
		if *csvPath == "" || *jsonPath == "" || fs.NArg() > 0 {
			return errors.New("gen: want -csv FILE and -jsonl FILE and no arguments")
		}
		t0 := time.Now()
		res, err := generate(*c, *csvPath, *jsonPath, *level)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "gen: %d rows (%d IPv4, %d IPv6, %d combinations, seed %d) in %.1fs: %s %d bytes, %s %d bytes\n",
			res.rows, c.ipv4Count, c.ipv6, c.combos, c.seed, time.Since(t0).Seconds(), *csvPath, res.csvBytes, *jsonPath, res.jsonBytes)
		return nil
	case "check":
		c := genFlags(fs)
		samples := fs.Int("samples", 100_000, "seeded addresses to look up")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if err := c.validate(); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("check: want one FILE.mmdb")
		}
		return runCheck(*c, fs.Arg(0), *samples, stdout)
	case "profile-ingest", "profile-compile":
		db := fs.String("db", "", "the store directory (required)")
		cpu := fs.String("cpuprofile", "", "write a CPU profile to this file")
		mem := fs.String("memprofile", "", "write a heap profile, taken near the peak of the live heap, to this file")
		source := fs.String("source", "bench", "profile-ingest: the layer (source) name")
		out := fs.String("out", "", "profile-compile: the .mmdb to write (required)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *db == "" {
			return fmt.Errorf("%s: -db is required", mode)
		}
		if mode == "profile-ingest" {
			if fs.NArg() != 1 {
				return errors.New("profile-ingest: want one INPUT file")
			}
			return profileIngest(*db, *source, fs.Arg(0), *cpu, *mem, stdout)
		}
		if *out == "" || fs.NArg() > 0 {
			return errors.New("profile-compile: want -out FILE.mmdb and no arguments")
		}
		return profileCompile(*db, *out, *cpu, *mem, stdout)
	}
	return fmt.Errorf("unknown mode %q: want gen, check, profile-ingest or profile-compile", mode)
}
