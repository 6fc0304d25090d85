package format

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// This file holds what lets the Writer keep its memory bounded however
// many distinct records it writes: a bounded cache from record to id,
// temporary files that hold the records, their keys and their offsets,
// and an external sort of fixed-size entries.
//
//	Insert (first use of an id)      key sorter: (key, seq<<32 | id), sorted runs on disk
//	  key new to the filter          encoded into the data file at once (sharing sub-values),
//	                                 its offset stored at id in the offsets file
//	  key maybe seen (filter)        records file: seq | id | len | canonical bytes
//	Close: merge the key runs        equal keys: the first seq is kept, the others are
//	       dup sorter                duplicates, all in the records file: (seq, dupID<<32 | keptID)
//	       records file, in order    each kept record appended to the data file; a duplicate
//	                                 takes the offset of the record it repeats
//	       tree rewrite              a leaf's id replaced by its offset

// tempFile creates a temporary file beside path, unlinked at once where
// the platform allows it, so a crash leaves nothing behind.
func tempFile(path, what string) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"."+what+"-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("mmdb writer: %w", err)
	}
	if os.Remove(f.Name()) == nil {
		return f, nil
	}
	return f, nil // removed in closeTemp
}

// closeTemp closes and removes a file of tempFile.
func closeTemp(f *os.File) {
	if f != nil {
		name := f.Name()
		_ = f.Close()
		_ = os.Remove(name)
	}
}

// sortEntry is an entry of an external sort, ordered by a, then b, then c.
type sortEntry struct{ a, b, c uint64 }

func compareEntries(x, y sortEntry) int {
	if c := cmp.Compare(x.a, y.a); c != 0 {
		return c
	}
	if c := cmp.Compare(x.b, y.b); c != 0 {
		return c
	}
	return cmp.Compare(x.c, y.c)
}

const sortEntryBytes = 24

// sorter sorts entries in runs of at most runLen in memory; full runs go
// sorted to a temporary file, and Each merges them. Memory: one run, and
// a read buffer per run while merging.
type sorter struct {
	path   string // the output's path: temporary files go beside it
	what   string
	runLen int
	buf    []sortEntry
	f      *os.File
	bw     *bufio.Writer
	runs   []int64 // end offset of each run in f
	size   int64
}

func (s *sorter) add(e sortEntry) error {
	if s.buf == nil {
		s.buf = make([]sortEntry, 0, min(s.runLen, 1<<12))
	}
	s.buf = append(s.buf, e)
	if len(s.buf) >= s.runLen {
		return s.flushRun()
	}
	return nil
}

func (s *sorter) flushRun() error {
	if len(s.buf) == 0 {
		return nil
	}
	slices.SortFunc(s.buf, compareEntries)
	if s.f == nil {
		f, err := tempFile(s.path, s.what)
		if err != nil {
			return err
		}
		s.f, s.bw = f, bufio.NewWriterSize(f, 1<<20)
	}
	var b [sortEntryBytes]byte
	for _, e := range s.buf {
		binary.LittleEndian.PutUint64(b[0:], e.a)
		binary.LittleEndian.PutUint64(b[8:], e.b)
		binary.LittleEndian.PutUint64(b[16:], e.c)
		if _, err := s.bw.Write(b[:]); err != nil {
			return fmt.Errorf("mmdb writer: %s: %w", s.what, err)
		}
	}
	s.size += int64(len(s.buf)) * sortEntryBytes
	s.runs = append(s.runs, s.size)
	s.buf = s.buf[:0]
	return nil
}

// each calls fn for every entry in order, and stops at fn's first error.
func (s *sorter) each(fn func(sortEntry) error) error {
	if s.f == nil {
		slices.SortFunc(s.buf, compareEntries)
		for _, e := range s.buf {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.flushRun(); err != nil {
		return err
	}
	if err := s.bw.Flush(); err != nil {
		return fmt.Errorf("mmdb writer: %s: %w", s.what, err)
	}
	s.buf = nil // free the run's memory while merging
	type cursor struct {
		r   *bufio.Reader
		e   sortEntry
		end bool
	}
	var b [sortEntryBytes]byte
	next := func(c *cursor) error {
		if _, err := io.ReadFull(c.r, b[:]); err != nil {
			if errors.Is(err, io.EOF) {
				c.end = true
				return nil
			}
			return fmt.Errorf("mmdb writer: %s: %w", s.what, err)
		}
		c.e = sortEntry{binary.LittleEndian.Uint64(b[0:]), binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[16:])}
		return nil
	}
	h := make([]*cursor, 0, len(s.runs))
	start := int64(0)
	for _, end := range s.runs {
		c := &cursor{r: bufio.NewReaderSize(io.NewSectionReader(s.f, start, end-start), 32<<10)}
		if err := next(c); err != nil {
			return err
		}
		if !c.end {
			h = append(h, c)
		}
		start = end
	}
	less := func(i, j int) bool { return compareEntries(h[i].e, h[j].e) < 0 }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			j := l
			if r := l + 1; r < len(h) && less(r, l) {
				j = r
			}
			if !less(j, i) {
				return
			}
			h[i], h[j] = h[j], h[i]
			i = j
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(h) > 0 {
		if err := fn(h[0].e); err != nil {
			return err
		}
		if err := next(h[0]); err != nil {
			return err
		}
		if h[0].end {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		down(0)
	}
	return nil
}

func (s *sorter) close() {
	closeTemp(s.f)
	s.f, s.buf = nil, nil
}

// pagedOffsets is an array of uint32 indexed by record id, kept in a
// temporary file and read and written through a small cache of pages.
// Ids come mostly in increasing order, so a page is read about once.
type pagedOffsets struct {
	path  string
	f     *os.File
	pages []offsetPage
	mask  uint64
}

const (
	offsetPageBits = 12 // 4096 offsets, 16 KiB, a page
	offsetPages    = 256
)

type offsetPage struct {
	num   uint64 // page number + 1; 0: empty
	dirty bool
	v     []uint32
}

func (p *pagedOffsets) page(id RecordID) (*offsetPage, error) {
	num := uint64(id) >> offsetPageBits
	if p.pages == nil {
		p.pages = make([]offsetPage, offsetPages)
		p.mask = offsetPages - 1
	}
	pg := &p.pages[num&p.mask]
	if pg.num == num+1 {
		return pg, nil
	}
	if err := p.writeBack(pg); err != nil {
		return nil, err
	}
	if pg.v == nil {
		pg.v = make([]uint32, 1<<offsetPageBits)
	}
	clear(pg.v)
	if p.f == nil {
		f, err := tempFile(p.path, "offsets")
		if err != nil {
			return nil, err
		}
		p.f = f
	}
	b := make([]byte, 4<<offsetPageBits)
	n, err := p.f.ReadAt(b, int64(num)*int64(len(b)))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("mmdb writer: offsets: %w", err)
	}
	for i := 0; i+4 <= n; i += 4 {
		pg.v[i/4] = binary.LittleEndian.Uint32(b[i:])
	}
	pg.num, pg.dirty = num+1, false
	return pg, nil
}

func (p *pagedOffsets) writeBack(pg *offsetPage) error {
	if !pg.dirty {
		return nil
	}
	b := make([]byte, 4<<offsetPageBits)
	for i, v := range pg.v {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	if _, err := p.f.WriteAt(b, int64(pg.num-1)*int64(len(b))); err != nil {
		return fmt.Errorf("mmdb writer: offsets: %w", err)
	}
	pg.dirty = false
	return nil
}

func (p *pagedOffsets) get(id RecordID) (uint32, error) {
	pg, err := p.page(id)
	if err != nil {
		return 0, err
	}
	return pg.v[uint64(id)&(1<<offsetPageBits-1)], nil
}

func (p *pagedOffsets) set(id RecordID, off uint32) error {
	pg, err := p.page(id)
	if err != nil {
		return err
	}
	pg.v[uint64(id)&(1<<offsetPageBits-1)] = off
	pg.dirty = true
	return nil
}

func (p *pagedOffsets) close() {
	closeTemp(p.f)
	p.f, p.pages = nil, nil
}

// usedFilter is a Bloom filter of the keys of the records a Writer
// used: a key it has not seen is surely the first of its kind, and is
// encoded into the data section at once; a key it may have seen (the
// record repeats one the cache forgot, or the filter errs) is set aside
// for Close, which knows. Its size is fixed (32 MiB, allocated at the
// first use; pages never touched cost nothing): at 50 million records
// it errs for about 1 in 13 (1 in 125 at 20 million).
type usedFilter struct {
	bits []uint64
	log  uint // log2 of the filter's bits; 0: defaultFilterLog
}

const defaultFilterLog = 28

// testAndSet adds k and reports whether it was (maybe) there before.
func (f *usedFilter) testAndSet(k valueKey) bool {
	if f.log == 0 {
		f.log = defaultFilterLog
	}
	if f.bits == nil {
		f.bits = make([]uint64, max(1, (1<<f.log)/64))
	}
	shift := 64 - f.log
	there := true
	for i := range uint64(3) {
		b := (k[0] + i*k[1]) >> shift
		w, m := &f.bits[b/64], uint64(1)<<(b%64)
		if *w&m == 0 {
			there = false
			*w |= m
		}
	}
	return there
}
