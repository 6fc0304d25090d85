package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ipatlas/ipatlas/builder"
	"github.com/ipatlas/ipatlas/compile"
	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/kv"
	"github.com/ipatlas/ipatlas/schema"
)

// inputFlags are the flags that say how to read inference results.
type inputFlags struct {
	format, compression, levels, extra string
	skipBad                            bool
	label                              labelFlags // gazetteer.go
}

func (f *inputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.format, "format", "", "input format: csv, tsv, jsonl or raw (raw-record JSONL); default: by file extension")
	fs.StringVar(&f.compression, "compression", "", "input compression: none, gzip or zstd; default: by file extension (.gz, .zst)")
	fs.StringVar(&f.levels, "levels", "", "the region hierarchy, outermost first, comma-separated (default country,province,city,district,street,community)")
	fs.StringVar(&f.extra, "extra", "", "comma-separated CSV/TSV columns to keep as extra attributes (other unknown columns are an error)")
	fs.BoolVar(&f.skipBad, "skip-bad-rows", false, "land a file without its bad rows (reported) instead of rejecting it whole")
	f.label.register(fs)
}

// check refuses a bad --levels as a usage error before any file is read.
func (f *inputFlags) check() error {
	if f.levels == "" {
		return nil
	}
	var fe *schema.FieldError
	if err := schema.ValidateLevels(strings.Split(f.levels, ",")); errors.As(err, &fe) {
		if fe.Value != "" {
			return usagef("--levels %s: %s: %s", f.levels, fe.Value, fe.Msg)
		}
		return usagef("--levels %s: %s", f.levels, fe.Msg)
	}
	return nil
}

func (f *inputFlags) options(stderr io.Writer) builder.Options {
	o := builder.Options{Format: f.format, Compression: f.compression, SkipBadRows: f.skipBad}
	if f.levels != "" {
		o.Levels = strings.Split(f.levels, ",")
	}
	if f.extra != "" {
		o.ExtraColumns = strings.Split(f.extra, ",")
	}
	if w, ok := stderr.(*os.File); ok && isTerminal(w) {
		o.Progress = w
	}
	return o
}

// outputFlags are the flags that say how to write the .mmdb.
type outputFlags struct {
	out, recordSize, dbType string
	ipVersion               int
	zstd, noAliases         bool
	agg                     aggregateFlags // gazetteer.go
	description             map[string]string
	languages               []string
	set                     map[string]bool // the flags given
}

func (f *outputFlags) register(fs *flag.FlagSet) {
	fs.Func("description", "metadata description, `[LANG=]TEXT` (LANG default en); repeat for more languages (default: an input's exported metadata, else \"ipatlas database\")", func(v string) error {
		lang, text := "en", v
		if l, t, ok := strings.Cut(v, "="); ok && isLocale(l) {
			lang, text = l, t
		}
		if text == "" {
			return fmt.Errorf("empty description")
		}
		if f.description == nil {
			f.description = map[string]string{}
		}
		f.description[lang] = text
		return nil
	})
	fs.Func("languages", "metadata languages, comma-separated `LOCALES` such as en,zh-CN (default: the locales of the names the records carry)", func(v string) error {
		for _, l := range strings.Split(v, ",") {
			if !isLocale(l) {
				return fmt.Errorf("%q is not a locale such as en or zh-CN", l)
			}
			f.languages = append(f.languages, l)
		}
		return nil
	})
	fs.StringVar(&f.out, "out", "", "the .mmdb file to write (required); written to a temporary file, then renamed")
	fs.IntVar(&f.ipVersion, "ip-version", 6, "4 (IPv4 only) or 6 (IPv6 with IPv4 at ::/96)")
	fs.StringVar(&f.recordSize, "record-size", "auto", "search-tree record size: auto, 24, 28 or 32")
	fs.StringVar(&f.dbType, "type", "ipatlas-City", "metadata database_type; e.g. GeoIP2-City for readers that check it")
	fs.BoolVar(&f.zstd, "zstd", false, "also write OUT.zst, compressed for distribution")
	fs.BoolVar(&f.noAliases, "no-ipv4-aliases", false, "leave out the IPv4 aliases ::ffff:0:0/96 and 2002::/16")
	f.agg.register(fs)
}

func (f *outputFlags) options() (compile.Options, error) {
	o := compile.Options{Zstd: f.zstd, WriterOptions: format.WriterOptions{IPVersion: f.ipVersion, DatabaseType: f.dbType,
		DisableIPv4Aliases: f.noAliases, Description: f.description, Languages: f.languages}}
	if f.out == "" {
		return o, usagef("--out is required")
	}
	if f.ipVersion != 4 && f.ipVersion != 6 {
		return o, usagef("--ip-version %d: want 4 or 6", f.ipVersion)
	}
	if f.recordSize != "auto" {
		n, err := strconv.Atoi(f.recordSize)
		if err != nil || n != 24 && n != 28 && n != 32 {
			return o, usagef("--record-size %q: want auto, 24, 28 or 32", f.recordSize)
		}
		o.RecordSize = n
	}
	return o, f.agg.apply(&o)
}

func runBuild(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("build", "--out FILE.mmdb [flags] INPUT...",
		"Ingests each INPUT (inference results: CSV, TSV, JSONL or raw-record JSONL, plain, .gz or .zst)\n"+
			"as its own layer of a temporary store, later files winning over earlier ones on equal\n"+
			"networks, then compiles the store into FILE.mmdb. If any input is rejected, nothing is\n"+
			"written at FILE.mmdb.\n\n"+inputSchemaHelp, stderr)
	var in inputFlags
	var out outputFlags
	in.register(fs)
	out.register(fs)
	inputs, err := parseWithMemory(fs, args)
	if err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	copts, err := out.options()
	if err != nil {
		return err
	}
	if len(inputs) == 0 {
		return usagef("no INPUT files")
	}
	out.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { out.set[f.Name] = true })
	// The temporary store is named for this process: a build killed
	// before it could remove it leaves it to the next one's sweep.
	outDir := filepath.Dir(out.out)
	format.SweepStale(outDir, buildDirPrefix, "")
	dir, err := os.MkdirTemp(outDir, format.OwnedPattern(buildDirPrefix, ""))
	if err != nil {
		return fmt.Errorf("--out %s: %w", out.out, err) // its folder is missing or not writable
	}
	defer os.RemoveAll(dir)
	return interruptible(func(ctx context.Context) error {
		return buildInto(ctx, dir, inputs, &in, &out, copts, stdout, stderr)
	}, func() {
		os.RemoveAll(dir)
		removeOwnTemps(out.out, out.out+".zst")
	})
}

// buildInto is build's work in the temporary store dir.
func buildInto(ctx context.Context, dir string, inputs []string, in *inputFlags, out *outputFlags, copts compile.Options, stdout, stderr io.Writer) error {
	st, err := kv.Open(dir, kv.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	bopts := in.options(stderr)
	if bopts.Labeler, err = in.label.labeler(); err != nil {
		return err
	}
	entries := 0 // networks ingested: compile reads as many
	for i, path := range inputs {
		layer := fmt.Sprintf("%d:%s", i, filepath.Base(path))
		s, err := builder.IngestFile(ctx, st, layer, int32(i), kv.Replace, path, bopts)
		if err != nil {
			return rejected(err, fmt.Sprintf("%s: rejected, nothing written to %s", path, out.out), bopts.Levels)
		}
		reportIngest(stderr, path, s)
		entries += s.Networks
		if err := carryMetadata(&copts, out, path, bopts); err != nil {
			return err
		}
	}
	return compileStore(st, compileOptions{copts, int64(entries)}, out.out, stdout, stderr)
}

// carryMetadata takes the database type, description and languages of
// an exported database (the metadata line of raw-record JSONL) into
// opts, where no flag set them and no earlier input did.
func carryMetadata(opts *compile.Options, f *outputFlags, path string, bopts builder.Options) error {
	md, ok, err := builder.ReadRawMetadata(path, bopts)
	if err != nil || !ok {
		return err
	}
	if !f.set["type"] && !f.set["carried-type"] && md.DatabaseType != "" {
		opts.DatabaseType, f.set["carried-type"] = md.DatabaseType, true
	}
	if !f.set["description"] && opts.Description == nil && len(md.Description) > 0 {
		opts.Description = md.Description
	}
	if !f.set["languages"] && len(opts.Languages) == 0 && len(md.Languages) > 0 {
		opts.Languages = md.Languages
	}
	return nil
}

// isLocale reports whether s looks like a locale: en, zh-CN, pt-BR.
func isLocale(s string) bool {
	if len(s) < 2 || len(s) > 16 {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c == '-' && i > 0, c == '_' && i > 0:
		default:
			return false
		}
	}
	return true
}

func reportIngest(w io.Writer, path string, s builder.Stats) {
	fmt.Fprintf(w, "%s: %d rows, %d networks", path, s.Rows, s.Networks)
	if s.Skipped > 0 {
		fmt.Fprintf(w, ", %d bad rows skipped", s.Skipped)
	}
	fmt.Fprintln(w)
	reportLabel(w, path, s.Label)
	for _, e := range s.Errors {
		fmt.Fprintf(w, "  skipped: %v\n", e)
	}
}

// compileOptions are compile.Options with what the CLI knows beyond them.
type compileOptions struct {
	compile.Options
	// ExpectEntries is the number of stored networks, when known (build
	// counted them), for the progress line's ETA; 0 when not.
	ExpectEntries int64
}

func compileStore(st *kv.Store, opts compileOptions, out string, stdout, stderr io.Writer) error {
	snap, err := st.Snapshot()
	if err != nil {
		return err
	}
	defer snap.Close()
	prog := newProgress(stderr, "compile "+filepath.Base(out), "networks", opts.ExpectEntries)
	opts.Options.Progress = func(n int) { prog.set(int64(n)) }
	s, err := compile.Compile(snap, out, opts.Options)
	prog.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d networks from %d stored (%d skipped), %d distinct records, %d bytes\n",
		out, s.Networks, s.Entries, s.Skipped, s.Records, s.Bytes)
	if opts.Zstd {
		// Say where --zstd wrote: OUT.zst, beside OUT (x.mmdb.zst.zst
		// when OUT already ends in .zst).
		fi, err := os.Stat(out + ".zst")
		if err != nil {
			return fmt.Errorf("--zstd: %w", err)
		}
		fmt.Fprintf(stdout, "%s.zst: %d bytes, zstd-compressed\n", out, fi.Size())
	}
	if opts.Aggregate.Level != "" {
		fmt.Fprintf(stdout, "%s: %s\n", out, s.Aggregate.Summary(opts.Aggregate))
	}
	if s.Networks == 0 {
		why := "the store has no networks"
		if s.Entries > 0 {
			why = fmt.Sprintf("all %d stored networks were left out (--ip-version 4 with IPv6 networks, or inside an IPv4 alias)", s.Entries)
		}
		fmt.Fprintf(stderr, "warning: %s answers no address: %s\n", out, why)
	}
	return nil
}

func runIngest(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ingest", "--db DIR --source NAME [--priority N] [--replace] [flags] INPUT...",
		"Ingests each INPUT into the layer NAME of the store at DIR (created if missing). Each file\n"+
			"lands whole or not at all; re-ingesting the same file changes nothing. With --replace the\n"+
			"layer is replaced by this run's files; otherwise their rows are upserted.\n\n"+
			"The store keeps each source's settings: a later ingest of NAME without --priority,\n"+
			"--levels or --extra keeps those it had, and one with them says what it changed.\n"+
			"'ipatlas sources --db DIR' lists the sources.\n\n"+inputSchemaHelp, stderr)
	var in inputFlags
	in.register(fs)
	db := fs.String("db", "", "the store directory (required)")
	source := fs.String("source", "", "the layer (source) name (required)")
	priority := fs.Int("priority", 0, "the layer's priority: on equal networks the higher wins (default: the source's, else 0)")
	replace := fs.Bool("replace", false, "replace the layer whole instead of upserting")
	inputs, err := parseWithMemory(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *db == "":
		return usagef("--db is required")
	case *source == "":
		return usagef("--source is required")
	case len(inputs) == 0:
		return usagef("no INPUT files")
	}
	if err := in.check(); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	st, infos, err := openStoreSources(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	info := infos[*source]
	if info == nil {
		info = &sourceInfo{}
	}
	// Settings: the flags given, else the source's.
	var changes []string
	cur, exists, err := layerPriority(st, *source)
	if err != nil {
		return err
	}
	prio := int32(*priority)
	switch {
	case !set["priority"]:
		prio = cur
	case exists && cur != prio:
		changes = append(changes, fmt.Sprintf("priority %d -> %d", cur, prio))
	}
	for _, c := range []struct {
		flag   string
		value  *string
		stored *[]string
		empty  string // how a change reports an empty list
	}{{"levels", &in.levels, &info.Levels, "(default)"}, {"extra", &in.extra, &info.Extra, "(none)"}} {
		if !set[c.flag] {
			*c.value = strings.Join(*c.stored, ",")
			continue
		}
		var v []string
		if *c.value != "" {
			v = strings.Split(*c.value, ",")
		}
		if exists && !sameStrings(v, *c.stored) {
			old, now := strings.Join(*c.stored, ","), *c.value
			if old == "" {
				old = c.empty
			}
			if now == "" {
				now = c.empty
			}
			changes = append(changes, fmt.Sprintf("%s %s -> %s", c.flag, old, now))
		}
		*c.stored = v
	}
	// The settings are saved when a file lands (or was already in): a
	// rejected file leaves the store and its sources as they were.
	saved := false
	saveSettings := func() error {
		if saved {
			return nil
		}
		saved = true
		if _, err := st.EnsureLayer(*source, prio); err != nil {
			return err
		}
		if len(changes) > 0 {
			fmt.Fprintf(stdout, "source %s: %s\n", *source, strings.Join(changes, ", "))
		}
		infos[*source] = info
		if !exists || len(changes) > 0 {
			return writeSources(*db, infos)
		}
		return nil
	}
	bopts := in.options(stderr)
	bopts.Source = *source
	if bopts.Labeler, err = in.label.labeler(); err != nil {
		return err
	}
	for i, path := range inputs {
		mode := kv.Upsert
		if *replace && i == 0 {
			mode = kv.Replace
		}
		s, err := builder.IngestFile(context.Background(), st, *source, prio, mode, path, bopts)
		if errors.Is(err, kv.ErrAlreadyIngested) {
			fmt.Fprintf(stdout, "%s: already ingested into %s, its rows are unchanged\n", path, *source)
			if err := saveSettings(); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return rejected(err, fmt.Sprintf("%s: rejected, the store is unchanged", path), bopts.Levels)
		}
		if err := saveSettings(); err != nil {
			return err
		}
		reportIngest(stdout, path, s)
		info.LastIngest, info.LastFile, info.Rows, info.Networks = time.Now().UTC(), path, s.Rows, s.Networks
		if err := writeSources(*db, infos); err != nil {
			return err
		}
	}
	return nil
}

func runCompile(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compile", "--db DIR --out FILE.mmdb [flags]",
		"Compiles a snapshot of the store at DIR into FILE.mmdb: the most specific network wins, then\n"+
			"the layer with the higher priority, then the higher overall confidence. The store is locked\n"+
			"while compile runs: an ingest (another process) fails with \"in use\" until it ends.", stderr)
	var out outputFlags
	out.register(fs)
	db := fs.String("db", "", "the store directory (required)")
	rest, err := parseWithMemory(fs, args)
	if err != nil {
		return err
	}
	copts, err := out.options()
	if err != nil {
		return err
	}
	if err := storeOnly(rest, *db); err != nil {
		return err
	}
	st, err := openStore(*db)
	if err != nil {
		return err
	}
	defer st.Close()
	return interruptible(func(context.Context) error {
		return compileStore(st, compileOptions{Options: copts}, out.out, stdout, stderr)
	}, func() { removeOwnTemps(out.out, out.out+".zst") })
}
