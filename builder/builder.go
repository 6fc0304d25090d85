package builder

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ipatlas/ipatlas/gazetteer"
	"github.com/ipatlas/ipatlas/kv"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Options say how to read a file of inference results. The zero value
// reads by extension, with the default levels.
type Options struct {
	// Format is "csv", "tsv", "jsonl" or "raw" (raw-record JSONL); "" picks
	// it by the file's extension once a compression extension is removed:
	// .csv, .tsv or .tab, .jsonl or .ndjson, .raw.jsonl or .raw.ndjson.
	Format string
	// Compression is "none", "gzip" or "zstd"; "" picks it by extension
	// (.gz, .zst or .zstd; anything else is uncompressed).
	Compression string
	// Levels is the region hierarchy, outermost first; nil means
	// schema.DefaultLevels.
	Levels []string
	// ExtraColumns are CSV/TSV columns (JSONL keys) kept as extra
	// attributes, under ipatlas.extra as strings; other unknown columns
	// are an error.
	ExtraColumns []string
	// SkipBadRows lands a file without its bad rows, which Stats reports,
	// instead of rejecting the whole file at the first bad row.
	SkipBadRows bool
	// Progress, when not nil, receives a progress line about every second,
	// rewritten in place with "\r", and a last one ending in "\n".
	Progress io.Writer
	// Source is the source name of rows that do not name one.
	Source string
	// Labeler, when not nil, fills the region levels that rows with
	// coordinates lack (country, subdivision, city) from its gazetteer;
	// Stats.Label counts what it did. Raw-record rows are not labeled.
	Labeler *gazetteer.Labeler
}

// MaxReportedErrors is the most bad rows Stats.Errors lists; Stats.Skipped
// counts them all.
const MaxReportedErrors = 100

// Stats describes one file's ingest.
type Stats struct {
	// Rows is the number of data rows read, good and bad.
	Rows int
	// Networks is the number of networks written (a range row gives
	// several; a repeated network with the same data counts once).
	Networks int
	// Skipped is the number of bad rows left out (SkipBadRows).
	Skipped int
	// Bytes is the number of bytes of the file read (compressed).
	Bytes int64
	// Errors are the first MaxReportedErrors bad rows left out, each a
	// *RowError.
	Errors []error
	// Label counts what Options.Labeler did, by good row.
	Label LabelStats
}

// LabelStats counts the rows that labeling touched (see
// gazetteer.Outcome); a row may count in several.
type LabelStats struct {
	// Labeled rows got at least one level.
	Labeled int
	// CountryDisagreements are rows whose country is not that of the
	// nearest place; the row's country was kept.
	CountryDisagreements int
	// SubdivisionDisagreements are rows whose subdivision is not that of
	// the nearest place in their country; no city was added.
	SubdivisionDisagreements int
	// NoCity are rows left without a city: no place near enough.
	NoCity int
	// NoPlace are rows with no place within the region distance (the
	// open sea): nothing was added.
	NoPlace int
}

// ensureLayer creates layer with priority, or sets the priority of the
// existing one, and returns what puts the store back as it was: a file
// that does not land leaves no empty layer and no changed priority
// behind (TestRejectedIngestLeavesStore).
func ensureLayer(st *kv.Store, layer string, priority int32) (undo func(), err error) {
	layers, err := st.Layers()
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(layers, func(l kv.Layer) bool { return l.Name == layer })
	if _, err := st.EnsureLayer(layer, priority); err != nil {
		return nil, err
	}
	if i < 0 {
		// Best effort: the caller reports the ingest's own error.
		return func() { _ = st.DropLayer(layer) }, nil
	}
	old := layers[i].Priority
	return func() { _, _ = st.EnsureLayer(layer, old) }, nil
}

// resolved are Options with the format and compression picked.
type resolved struct {
	Options
	format, compression string
}

func resolve(path string, opts Options) (resolved, error) {
	r := resolved{Options: opts, format: opts.Format, compression: opts.Compression}
	name := strings.ToLower(filepath.Base(path))
	base := name
	for _, ext := range []string{".gz", ".zst", ".zstd"} {
		if b, ok := strings.CutSuffix(name, ext); ok {
			base = b
			if r.compression == "" {
				r.compression = map[string]string{".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}[ext]
			}
		}
	}
	switch r.compression {
	case "", "none":
		r.compression = "none"
	case "gzip", "zstd":
	default:
		return r, fmt.Errorf("%s: unknown compression %q (want none, gzip or zstd)", path, r.compression)
	}
	if r.format == "" {
		switch {
		case strings.HasSuffix(base, ".raw.jsonl"), strings.HasSuffix(base, ".raw.ndjson"):
			r.format = "raw"
		case strings.HasSuffix(base, ".csv"):
			r.format = "csv"
		case strings.HasSuffix(base, ".tsv"), strings.HasSuffix(base, ".tab"):
			r.format = "tsv"
		case strings.HasSuffix(base, ".jsonl"), strings.HasSuffix(base, ".ndjson"):
			r.format = "jsonl"
		default:
			return r, fmt.Errorf("%s: cannot tell the format from the file name; give one (csv, tsv, jsonl or raw)", path)
		}
	}
	switch r.format {
	case "csv", "tsv", "jsonl", "raw":
	default:
		return r, fmt.Errorf("%s: unknown format %q (want csv, tsv, jsonl or raw)", path, r.format)
	}
	return r, nil
}

// key returns the options that shape the rows, as text for the source ID.
func (r resolved) key() string {
	k := fmt.Sprintf("ipatlas-builder/1\x00format=%s\x00compression=%s\x00levels=%q\x00extra=%q\x00skip=%t\x00source=%q",
		r.format, r.compression, r.Levels, r.ExtraColumns, r.SkipBadRows, r.Source)
	if l := r.Labeler; l != nil {
		k += fmt.Sprintf("\x00gazetteer=%s\x00city-km=%v\x00region-km=%v", l.G.ID(), l.CityMaxKm, l.RegionMaxKm)
	}
	return k
}

// ReadFile parses the file at path and calls fn for every network of every
// good row, in file order, with the record's canonical MMDB encoding
// (valid until fn returns) and the row's line. An error from fn stops the
// reading and is returned as is. A bad row is an error (a *RowError)
// unless opts.SkipBadRows. ReadFile does not look for duplicate networks:
// IngestFile does, with the store's help.
func ReadFile(path string, opts Options, fn func(p netip.Prefix, record []byte, line int) error) (Stats, error) {
	r, err := resolve(path, opts)
	if err != nil {
		return Stats{}, err
	}
	return scan(context.Background(), path, r, func(row *row) error {
		for _, p := range row.nets {
			if err := fn(p, row.rec, row.line); err != nil {
				return callerError{err}
			}
		}
		return nil
	})
}

// callerError carries an error of the caller's callback through scan.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }

// IngestFile parses the file at path and writes its networks into the
// layer called layer of st (created with priority if missing; an existing
// layer keeps its priority) as one kv ingest in mode: the file lands whole
// or not at all. With opts.SkipBadRows it lands without its bad rows,
// which the Stats report.
//
// A network given twice in the file with different records is a bad row
// (the second one); given twice with the same record it is written once.
//
// The ingest's source ID is the SHA-256 of the file's bytes and of the
// options that shape its rows, so ingesting the same file again returns
// an error wrapping kv.ErrAlreadyIngested and changes nothing. When ctx is
// cancelled the ingest is aborted and ctx's error returned.
func IngestFile(ctx context.Context, st *kv.Store, layer string, priority int32, mode kv.Mode, path string, opts Options) (Stats, error) {
	r, err := resolve(path, opts)
	if err != nil {
		return Stats{}, err
	}
	if _, err := newColumns(r.Levels, r.ExtraColumns, r.Source); err != nil {
		return Stats{}, fmt.Errorf("%s: %w", path, err)
	}
	id, err := sourceID(path, r)
	if err != nil {
		return Stats{}, err
	}
	undo, err := ensureLayer(st, layer, priority)
	if err != nil {
		return Stats{}, err
	}
	landed := false
	defer func() {
		if !landed {
			undo()
		}
	}()
	in, err := st.BeginIngest(layer, mode, id)
	if err != nil {
		return Stats{}, fmt.Errorf("%s: %w", path, err)
	}
	// seen remembers the networks written, once the order broke: until
	// then a network after the last one written is new without asking
	// (sorted input never pays for the filter), and at the first break
	// the filter is filled from what the ingest wrote.
	var seen *bloom
	var networks int
	var fresh []bool
	// last is the greatest network written, in store order: a network
	// after it is new without asking the Bloom filter (sorted input).
	var last treeKey
	wrote := false
	// records remembers, for the numbered records (row.recID) met lately,
	// 1 + the store's dictionary number, or that the record was met once
	// (written in its row; at its second sight it goes into the
	// dictionary), or that the dictionary did not take it: a repeated
	// record is not looked up again. Fixed size: memory does not grow
	// with the records.
	records := newRecordNums()
	stats, err := scan(ctx, path, r, func(row *row) error {
		// Check every network of the row before writing any, so that a
		// bad row leaves nothing behind.
		fresh = fresh[:0]
		for _, p := range row.nets {
			isNew := true
			if wrote && !last.less(treeKeyOf(p)) && seen == nil {
				seen = newBloom()
				if err := in.Networks(func(p netip.Prefix) error { seen.add(p); return nil }); err != nil {
					return err
				}
			}
			if wrote && !last.less(treeKeyOf(p)) && seen.mayContain(p) {
				old, ok, err := in.Get(p)
				if err != nil {
					return err
				}
				if ok && !bytes.Equal(old, row.rec) {
					return rowErr(path, row.line, "network", fmt.Errorf("duplicate network %s with different data (an earlier row of the file gives it)", p))
				}
				isNew = !ok
			}
			fresh = append(fresh, isNew)
		}
		dictID := uint32(0)
		if row.recID != 0 {
			switch st, ok := records.get(row.recID); {
			case !ok:
				records.put(row.recID, metOnce)
			case st == metOnce:
				id, inDict, err := in.Record(row.rec)
				if err != nil {
					return err
				}
				st = notInDict
				if inDict {
					st = id + 1
				}
				records.put(row.recID, st)
				fallthrough
			default:
				if st != notInDict {
					dictID = st
				}
			}
		}
		for i, p := range row.nets {
			if !fresh[i] {
				continue
			}
			var err error
			if dictID != 0 {
				err = in.PutRecord(p, dictID-1)
			} else {
				err = in.Put(p, row.rec)
			}
			if err != nil {
				return err
			}
			if seen != nil {
				seen.add(p)
			}
			if k := treeKeyOf(p); !wrote || last.less(k) {
				last, wrote = k, true
			}
			networks++
		}
		return nil
	})
	stats.Networks = networks
	if err != nil {
		if aerr := in.Abort(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return stats, err
	}
	if err := in.Commit(); err != nil {
		return stats, fmt.Errorf("%s: %w", path, err)
	}
	landed = true
	return stats, nil
}

// sourceID hashes the file's bytes and the options that shape its rows.
func sourceID(path string, r resolved) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	h.Write([]byte(r.key()))
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// scan reads the file at path row by row and calls fn for each good row.
// fn may return a *RowError for a row it finds bad (counted like a bad
// row), a callerError, or any other error to stop.
func scan(ctx context.Context, path string, r resolved, fn func(*row) error) (stats Stats, err error) {
	cols, err := newColumns(r.Levels, r.ExtraColumns, r.Source)
	if err != nil {
		return stats, fmt.Errorf("%s: %w", path, err)
	}
	cols.labeler = r.Labeler
	// Deferred first, so run last: after the parser goroutine, which
	// counts, is done.
	defer func() { stats.Label = cols.label }()
	f, err := os.Open(path)
	if err != nil {
		return stats, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return stats, err
	}
	cr := &countingReader{r: f}
	defer func() { stats.Bytes = cr.n.Load() }()
	br, closeInput, err := decompress(path, r.compression, cr)
	if err != nil {
		return stats, err
	}
	defer closeInput()
	if r.format == "jsonl" && r.Options.Format == "" && sniffRaw(br) {
		r.format = "raw" // a .jsonl of raw records, such as 'ipatlas export' writes
	}
	var p parser
	switch r.format {
	case "csv":
		p, err = newCSVParser(path, br, cols)
	case "tsv":
		p, err = newTSVParser(path, br, cols)
	case "jsonl":
		p = newJSONLParser(path, br, cols)
	case "raw":
		p = &rawParser{file: path, lr: lineReader{r: br}}
	}
	if err != nil {
		return stats, unwrapFatal(err)
	}
	prog := newProgress(r.Progress, path, fi.Size(), cr)
	defer prog.finish(&stats)
	// One goroutine decompresses and parses, this one checks the rows
	// and hands them to fn: two cores for one file.
	batches, free, stop := make(chan *scanBatch, 8), make(chan *scanBatch, 10), make(chan struct{})
	go parseAhead(p, batches, free, stop)
	defer func() {
		close(stop)
		for range batches { // wait until parseAhead is done with the file
		}
	}()
	iter := 0
	var rejected *BadRowsError // bad rows met without SkipBadRows
	for b := range batches {
		for i := range b.items {
			it := &b.items[i]
			if iter&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return stats, err
				}
				prog.update(stats.Rows)
			}
			iter++
			err := it.err
			counted := false
			if err == nil {
				stats.Rows++
				counted = true
				if rejected != nil {
					continue // the file is rejected: only look for more bad rows
				}
				rw := row{line: it.line, nets: b.nets[it.nets[0]:it.nets[1]], rec: it.rec, stable: true, recID: it.recID}
				if err = fn(&rw); err == nil {
					continue
				}
			}
			if err == io.EOF {
				if rejected != nil {
					return stats, rejected
				}
				return stats, nil
			}
			re, bad := err.(*RowError)
			if !bad {
				if ce, ok := err.(callerError); ok {
					return stats, ce.err
				}
				return stats, unwrapFatal(err)
			}
			if !counted {
				stats.Rows++
			}
			if !r.SkipBadRows {
				// Reject the file, but name up to MaxReportedErrors bad
				// rows first, so that one run shows what to fix.
				if rejected == nil {
					rejected = &BadRowsError{}
				}
				rejected.Errors = append(rejected.Errors, re)
				if len(rejected.Errors) == MaxReportedErrors {
					rejected.More = true
					return stats, rejected
				}
				continue
			}
			stats.Skipped++
			if len(stats.Errors) < MaxReportedErrors {
				stats.Errors = append(stats.Errors, re)
			}
		}
		select {
		case free <- b:
		default:
		}
	}
	return stats, errors.New("internal error: the parser stopped without an error")
}

// decompress returns a buffered reader of src's text, decompressed as
// compression says ("none", "gzip" or "zstd") on a goroutine of its own,
// and the function that releases it.
func decompress(path, compression string, src io.Reader) (*bufio.Reader, func(), error) {
	var closers []func()
	done := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	switch compression {
	case "gzip":
		zr, err := gzip.NewReader(bufio.NewReaderSize(src, 1<<16))
		if err != nil {
			return nil, done, fmt.Errorf("%s: gzip: %w", path, err)
		}
		closers = append(closers, func() { zr.Close() })
		src = zr
	case "zstd":
		zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<27))
		if err != nil {
			return nil, done, fmt.Errorf("%s: zstd: %w", path, err)
		}
		closers = append(closers, zr.Close)
		src = zr
	}
	src = &decompressErrReader{r: src, compression: compression}
	if compression != "none" {
		// Decompress on a goroutine of its own, ahead of the parser.
		ar := newAheadReader(src)
		closers = append(closers, ar.stop)
		src = ar
	}
	return bufio.NewReaderSize(src, 1<<16), done, nil
}

// batchRows is the number of rows parseAhead sends at a time.
const batchRows = 512

// scanBatch is a run of parsed rows, or of the errors parsing them gave.
type scanBatch struct {
	items []scanItem
	nets  []netip.Prefix // the networks of the items
	recs  []byte         // the records of the items that are not stable
}

// scanItem is one parser.next result: a row, or err.
type scanItem struct {
	err   error
	line  int
	nets  [2]int // nets[0]:nets[1] in scanBatch.nets
	rec   []byte
	recID uint32
}

// parseAhead reads rows from p into batches until the parser returns
// io.EOF or an error after which it cannot go on (that is the last item
// sent), or stop is closed. It closes out when done.
func parseAhead(p parser, out chan<- *scanBatch, free <-chan *scanBatch, stop <-chan struct{}) {
	defer close(out)
	b := &scanBatch{}
	var rw row
	for {
		err := p.next(&rw)
		it := scanItem{err: err, line: rw.line}
		if err == nil {
			n := len(b.nets)
			b.nets = append(b.nets, rw.nets...)
			it.nets = [2]int{n, len(b.nets)}
			it.rec, it.recID = rw.rec, rw.recID
			if !rw.stable {
				n := len(b.recs)
				b.recs = append(b.recs, rw.rec...)
				it.rec = b.recs[n:len(b.recs):len(b.recs)]
			}
		}
		b.items = append(b.items, it)
		_, bad := err.(*RowError)
		last := err != nil && !bad
		if !last && len(b.items) < batchRows {
			continue
		}
		select {
		case out <- b:
		case <-stop:
			return
		}
		if last {
			return
		}
		select {
		case b = <-free:
			b.items, b.nets, b.recs = b.items[:0], b.nets[:0], b.recs[:0]
		default:
			b = &scanBatch{}
		}
	}
}

// unwrapFatal returns the error a fatalError carries.
func unwrapFatal(err error) error {
	if fe, ok := err.(fatalError); ok {
		return fe.err
	}
	return err
}

// aheadReader reads its source on another goroutine, a few chunks ahead
// of its reader. Read returns the source's bytes, then its error.
type aheadReader struct {
	chunks chan aheadChunk
	free   chan []byte
	quit   chan struct{}
	cur    aheadChunk
}

type aheadChunk struct {
	buf []byte // the whole buffer, for reuse
	b   []byte // what is left to read of it
	err error
}

const aheadChunkSize = 256 << 10

func newAheadReader(src io.Reader) *aheadReader {
	a := &aheadReader{chunks: make(chan aheadChunk, 4), free: make(chan []byte, 6), quit: make(chan struct{})}
	go func() {
		defer close(a.chunks)
		for {
			var buf []byte
			select {
			case buf = <-a.free:
			default:
				buf = make([]byte, aheadChunkSize)
			}
			n, err := io.ReadFull(src, buf[:aheadChunkSize])
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			select {
			case a.chunks <- aheadChunk{buf, buf[:n], err}:
			case <-a.quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return a
}

func (a *aheadReader) Read(b []byte) (int, error) {
	for len(a.cur.b) == 0 {
		if a.cur.err != nil {
			return 0, a.cur.err
		}
		if a.cur.buf != nil {
			select {
			case a.free <- a.cur.buf:
			default:
			}
		}
		c, ok := <-a.chunks
		if !ok {
			return 0, errors.New("read after the reader stopped")
		}
		a.cur = c
	}
	n := copy(b, a.cur.b)
	a.cur.b = a.cur.b[n:]
	return n, nil
}

// stop ends the reading goroutine and waits for it, so that the source
// can be closed.
func (a *aheadReader) stop() {
	close(a.quit)
	for range a.chunks {
	}
}

// countingReader counts the bytes read from the file. The progress line
// reads the count while the file is read on another goroutine.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// decompressErrReader names the compression in read errors (the parsers
// add the file and line).
type decompressErrReader struct {
	r           io.Reader
	compression string
}

func (d *decompressErrReader) Read(b []byte) (int, error) {
	n, err := d.r.Read(b)
	if err != nil && err != io.EOF {
		if d.compression == "none" {
			err = fmt.Errorf("read: %w", err)
		} else {
			err = fmt.Errorf("%s: %w", d.compression, err)
		}
	}
	return n, err
}

// progress writes the progress line.
type progress struct {
	w           io.Writer
	path        string
	total       int64
	cr          *countingReader
	start, last time.Time
	shown       bool
	// now is time.Now; tests replace it.
	now func() time.Time
}

func newProgress(w io.Writer, path string, total int64, cr *countingReader) *progress {
	now := time.Now()
	return &progress{w: w, path: path, total: total, cr: cr, start: now, last: now, now: time.Now}
}

// update writes the line if a second passed since the last one.
func (p *progress) update(rows int) {
	if p.w == nil {
		return
	}
	now := p.now()
	if now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	p.shown = true
	fmt.Fprint(p.w, "\r"+p.line(rows, now)+"\x1b[K")
}

// line is the progress text: rows, rows/s, MB read of total, ETA.
func (p *progress) line(rows int, now time.Time) string {
	el := now.Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(rows) / el
	}
	read := p.cr.n.Load()
	s := fmt.Sprintf("%s: %d rows, %.0f rows/s, %.1f/%.1f MB", filepath.Base(p.path), rows, rate, float64(read)/1e6, float64(p.total)/1e6)
	if read > 0 && read < p.total && el > 0 {
		eta := time.Duration(el * float64(p.total-read) / float64(read) * float64(time.Second))
		s += ", ETA " + eta.Round(time.Second).String()
	}
	return s
}

// finish ends the progress line, if one was written.
func (p *progress) finish(st *Stats) {
	if p.w == nil || !p.shown {
		return
	}
	fmt.Fprint(p.w, "\r"+p.line(st.Rows, p.now())+", done\x1b[K\n")
}

// recordNums maps the numbers of the records a file's rows were built
// into (row.recID, dense from 1) to what the ingest did with them, for
// the records met lately: a table indexed by the number's low bits.
type recordNums struct {
	slots []recordNum
}

type recordNum struct {
	recID uint32 // 0: empty
	v     uint32 // 1 + dictionary number, metOnce or notInDict
}

const (
	recordNumSlots = 1 << 18
	metOnce        = ^uint32(0)
	notInDict      = ^uint32(0) - 1
)

func newRecordNums() *recordNums { return &recordNums{slots: make([]recordNum, recordNumSlots)} }

func (r *recordNums) get(recID uint32) (uint32, bool) {
	s := r.slots[recID&(recordNumSlots-1)]
	return s.v, s.recID == recID
}

func (r *recordNums) put(recID, v uint32) {
	r.slots[recID&(recordNumSlots-1)] = recordNum{recID, v}
}
