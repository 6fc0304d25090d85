package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipatlas/ipatlas/builder"
	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/mmdbtool"
	"github.com/ipatlas/ipatlas/reader"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

const exportHelp = `Writes every network of FILE.mmdb that has data, with its record, in address order.
Any MaxMind DB file works.

Formats (--format, default by the --out name once .gz/.zst is removed):
  jsonl (.jsonl, .ndjson, .raw.jsonl)  a first line {"metadata":{"database_type":...,
        "description":{...},"languages":[...]}} (build carries them into the rebuild), then
        one {"network":"1.2.3.0/24","record":R} per line, R in
        ipatlas's lossless JSON form: plain JSON where that gives the MMDB type back, else
        {"$type":"uint16","value":5} and the like, so every MMDB type survives. This is the
        raw-record input of 'ipatlas build', which recognises it by itself; build gives back
        a database that answers every lookup with the same record (prefixes may differ
        where build merges adjacent equal networks; build takes only records that are
        maps, as GeoIP2-style records are).
  csv   (.csv)  a header row, then one row per network. The first column is network; the
        others are the union of the records' leaf paths, dotted (country.iso_code,
        city.names.en, subdivisions.0.iso_code: an array element is its index), sorted
        segment by segment (indexes as numbers). A '.' or '\' inside a map key is escaped
        with '\'. A cell is empty where the record has no such leaf; empty maps and arrays
        have no cells. Strings as they are; numbers in the shortest form that reads back
        to the same value (float at 32 bits); booleans true/false; bytes in base64;
        a record that is not a map or array is in the column with the empty name.

Compression by the --out name: .gz (gzip), .zst (zstd), else none. --out - writes
uncompressed to standard output. A file is written to a temporary file in the same
directory and renamed when complete: a failed export leaves nothing at --out.

Aliases: IPv6 databases reach their IPv4 data also through aliases (::ffff:0:0/96 and
2002::/16 in ipatlas's and MaxMind's files; MaxMind's also alias Teredo, 2001::/32).
--aliases none (the default) writes each network once, IPv4 as IPv4: 'ipatlas build'
makes the ::ffff:0:0/96 and 2002::/16 aliases itself but never a Teredo alias (such an
alias answers for the Teredo server's IPv4 address, in bits 32-63, not for the client's,
which the address holds obfuscated), so a rebuild of a MaxMind file answers nothing
inside 2001::/32. --aliases teredo also writes the networks that aliases inside
2001::/32 lead to, as IPv6 networks, so that a rebuild answers there as the original
does. --aliases all writes every aliased network (for other tools; build rejects
networks inside ::ffff:0:0/96).

A summary line goes to standard output (standard error with --out -).`

func runExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "FILE.mmdb --out ROWS.jsonl|ROWS.csv|- [--format jsonl|csv] [--aliases none|teredo|all]", exportHelp, stderr)
	out := fs.String("out", "", "the file to write (required): .raw.jsonl, .jsonl, .ndjson or .csv, optionally .gz or .zst; - for standard output")
	formatName := fs.String("format", "", "jsonl or csv; default: by the --out name (jsonl for -)")
	aliases := fs.String("aliases", "none", "aliases of the IPv4 data to write as IPv6 networks: none, teredo (inside 2001::/32) or all")
	path, err := parseOneDatabase(fs, args)
	if err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	mode, err := mmdbtool.ParseAliases(*aliases)
	if err != nil {
		return usagef("--aliases %q: want none, teredo or all", *aliases)
	}
	kind, compression, err := exportKind(*out, *formatName)
	if err != nil {
		return err
	}
	if sameExistingFile(path, *out) {
		// The rename at the end would put the rows in place of the
		// database they come from.
		return usagef("--out %s is FILE.mmdb itself; write the rows elsewhere", *out)
	}
	f, err := mmdbtool.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var prog io.Writer
	if t, ok := stderr.(*os.File); ok && isTerminal(t) {
		prog = t
	}
	start := time.Now()
	return interruptible(func(context.Context) error {
		return exportTo(f, *out, kind, compression, mode, start, prog, stdout, stderr)
	}, func() { removeOwnTemps(*out) })
}

// sameExistingFile reports whether paths a and b both exist and are the
// same file (a link, another spelling of the path).
func sameExistingFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// exportTo is export's work: f written to out.
func exportTo(f *mmdbtool.File, out, kind, compression string, mode mmdbtool.Aliases, start time.Time, prog, stdout, stderr io.Writer) error {
	w, err := createExportOutput(out, compression, stdout)
	if err != nil {
		return err
	}
	p := newProgress(prog, "export "+f.Path(), "networks", 0)
	opts := mmdbtool.ExportOptions{Aliases: mode, Progress: func() { p.add(1) }}
	var s mmdbtool.ExportStats
	// The file is mapped: one truncated while it is read faults. Guard
	// makes that an error, so that the temporary file is removed (a
	// SIGBUS ended the process and left it: TestExportTruncatedWhileRead).
	fault := reader.Guard(func() error {
		if kind == "csv" {
			s, err = mmdbtool.WriteCSV(w, f, opts)
		} else {
			md := f.Metadata()
			line := builder.AppendRawMetadataLine(nil, builder.RawMetadata{
				DatabaseType: md.DatabaseType, Description: md.Description, Languages: md.Languages})
			if _, err = w.Write(line); err == nil {
				s, err = mmdbtool.WriteJSONL(w, f, opts)
			}
		}
		return nil
	})
	if fault != nil {
		err = fmt.Errorf("%s: %w", f.Path(), fault)
	}
	p.done()
	if err != nil {
		w.abort()
		if out == "-" {
			return fmt.Errorf("%w; the output is incomplete", err)
		}
		return fmt.Errorf("%w; nothing written to %s", err, out)
	}
	n, err := w.commit()
	if err != nil {
		return err
	}
	summary := stdout
	if out == "-" {
		summary = stderr
	}
	fmt.Fprintf(summary, "%s: %d networks, %d distinct records, %s written to %s (%d bytes) in %s\n",
		f.Path(), s.Networks, s.Records, kind, out, n, time.Since(start).Round(time.Millisecond))
	return nil
}

// exportKind picks the format and compression from --out and --format.
func exportKind(out, formatName string) (kind, compression string, err error) {
	name := strings.ToLower(filepath.Base(out))
	compression = "none"
	if out != "-" {
		for _, c := range []struct{ ext, name string }{{".gz", "gzip"}, {".zst", "zstd"}, {".zstd", "zstd"}} {
			if b, ok := strings.CutSuffix(name, c.ext); ok {
				name, compression = b, c.name
				break
			}
		}
	}
	switch formatName {
	case "jsonl", "csv":
		return formatName, compression, nil
	case "":
	default:
		return "", "", usagef("--format %q: want jsonl or csv", formatName)
	}
	switch {
	case out == "-":
		return "jsonl", compression, nil
	case strings.HasSuffix(name, ".jsonl"), strings.HasSuffix(name, ".ndjson"):
		return "jsonl", compression, nil
	case strings.HasSuffix(name, ".csv"):
		return "csv", compression, nil
	}
	return "", "", usagef("cannot tell the format from --out %s (want .raw.jsonl, .jsonl, .ndjson or .csv, optionally .gz or .zst); give --format", out)
}

// exportOutput is where an export goes: a temporary file renamed into place
// when complete, or standard output; compressed as asked.
type exportOutput struct {
	path, tmp string
	f         *os.File
	bw        *bufio.Writer
	zw        io.WriteCloser // the compressor, or nil
	w         io.Writer      // what the rows are written to
	stdout    io.Writer
	n         int64 // bytes written to standard output
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n *int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	*c.n += int64(n)
	return n, err
}

func createExportOutput(path, compression string, stdout io.Writer) (*exportOutput, error) {
	o := &exportOutput{path: path, stdout: stdout}
	if path == "-" {
		o.bw = bufio.NewWriterSize(&countingWriter{w: stdout, n: &o.n}, 1<<16)
		o.w = o.bw
		return o, nil
	}
	f, err := format.CreateTemp(path)
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", path, err)
	}
	o.f, o.tmp = f, f.Name()
	if err := f.Chmod(0o644); err != nil {
		o.abort()
		return nil, err
	}
	o.bw = bufio.NewWriterSize(f, 1<<16)
	o.w = o.bw
	switch compression {
	case "gzip":
		o.zw = gzip.NewWriter(o.bw)
	case "zstd":
		zw, err := zstd.NewWriter(o.bw, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(2))
		if err != nil {
			o.abort()
			return nil, fmt.Errorf("zstd: %w", err)
		}
		o.zw = zw
	}
	if o.zw != nil {
		// Rows arrive in small writes; the compressors like large ones.
		o.w = bufio.NewWriterSize(o.zw, 1<<16)
	}
	return o, nil
}

// commit finishes the output and returns its size in bytes.
func (o *exportOutput) commit() (int64, error) {
	if o.f == nil {
		err := o.bw.Flush()
		return o.n, err
	}
	err := func() error {
		if bw, ok := o.w.(*bufio.Writer); ok && bw != o.bw {
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		if o.zw != nil {
			if err := o.zw.Close(); err != nil {
				return err
			}
		}
		if err := o.bw.Flush(); err != nil {
			return err
		}
		if err := o.f.Sync(); err != nil {
			return err
		}
		return o.f.Close()
	}()
	if err != nil {
		o.abort()
		return 0, fmt.Errorf("%s: %w", o.path, err)
	}
	fi, err := os.Stat(o.tmp)
	if err != nil {
		o.abort()
		return 0, err
	}
	if err := os.Rename(o.tmp, o.path); err != nil {
		o.abort()
		return 0, err
	}
	return fi.Size(), nil
}

// abort discards a file output; standard output gets what was written.
func (o *exportOutput) abort() {
	if o.f == nil {
		o.bw.Flush()
		return
	}
	if o.zw != nil {
		o.zw.Close()
	}
	o.f.Close()
	os.Remove(o.tmp)
}

// Write writes rows to the output.
func (o *exportOutput) Write(b []byte) (int, error) { return o.w.Write(b) }
