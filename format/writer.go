package format

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/ipatlas/ipatlas/internal/keycache"
)

// WriterOptions configures a Writer. The zero value writes an IPv6
// database with IPv4 aliases and the smallest record size that fits.
type WriterOptions struct {
	// IPVersion is 4 (a 32-bit tree that holds IPv4 only) or 6 (a 128-bit
	// tree with IPv4 at ::/96). Zero means 6.
	IPVersion int
	// RecordSize is 24, 28 or 32 bits, or 0 for the smallest that fits.
	RecordSize int
	// DatabaseType is the metadata's database_type; empty means
	// "ipatlas-City".
	DatabaseType string
	// Languages lists the locales of the names in the records.
	Languages []string
	// Description maps a language to a description; empty means
	// {"en": "ipatlas database"} (maxminddb-golang's Verify needs one).
	Description map[string]string
	// BuildTime is the metadata's build_epoch; zero means now.
	BuildTime time.Time
	// DisableIPv4Aliases leaves out the aliases of the IPv4 subtree at
	// ::ffff:0:0/96 and 2002::/16 in an IPv6 database. With aliases, a
	// network that covers an alias is stored around it and a network
	// inside one is an error.
	DisableIPv4Aliases bool

	// Memory bounds what the Writer keeps in memory.
	Memory MemoryOptions
}

// MemoryOptions bound a Writer's memory, which grows neither with the
// networks nor with the distinct records: records, their keys and their
// offsets go to temporary files beside the output. Zero values mean the
// defaults.
type MemoryOptions struct {
	// CacheRecords is how many distinct records the Writer remembers
	// (default 524,288, about 12 MiB), so that an equal record met again
	// soon gets the same id without further work. A record it forgot
	// costs time at Close, which stores it once all the same.
	CacheRecords int
	// SortRunEntries is the number of entries (24 bytes each) of the
	// external sort that finds equal records, held in memory at once
	// (default 1,048,576).
	SortRunEntries int
	// SharedValues is the number of sub-values remembered for sharing
	// through pointers (default 1,048,576, about 40 MiB); when full the
	// Writer starts again, so a repeated sub-value may be stored more
	// than once (readers see no difference).
	SharedValues int
}

// Defaults of MemoryOptions.
const (
	defaultCacheRecords   = 1 << 19
	defaultSortRunEntries = 1 << 20
	defaultSharedValues   = 1 << 20
)

// RecordID names a record interned in a Writer.
type RecordID uint32

// maxRecordIDs is the number of ids a Writer can hand out.
const maxRecordIDs = 1<<32 - 1

// Writer streams networks into a .mmdb file. Networks come in address
// order (IPv4 before IPv6 in an IPv6 database: IPv4 lives at ::/96), do
// not overlap, and each carries a record interned with Intern. Adjacent
// sibling networks with the same record are merged, and equal records
// are stored once. Memory is bounded (see MemoryOptions): it grows
// neither with the networks nor with the distinct records. The search
// tree goes to the output's temporary file as it is built; a record goes
// to the data section, in a temporary file beside it, at its first use,
// unless it may repeat one the cache forgot: then Close finds the equal
// ones with an external sort before it writes the rest. A database too
// large for one file fails (ErrTooLarge) as soon as that is certain.
//
// The output appears at its path only when Close succeeds (temporary file,
// fsync, rename); Abort, or an error from Close, leaves the path as it
// was. A Writer is not safe for concurrent use.
type Writer struct {
	path string
	opts WriterOptions
	f    *os.File
	bits int // 32 or 128

	enc     *Encoder
	scratch []byte
	written int // records written to the data section

	// Records. An id is handed out by intern for a record the cache does
	// not know; the record waits in last or pending until its first
	// Insert (use), which adds its key to keys and, if the filter seen
	// says no record used before had its key, encodes it into the data
	// section (data, through enc) and its offset into offsets; else
	// (maybe a duplicate the cache missed) it goes to recs, for Close.
	// INVARIANT: every id below nextID is pending or was used, once.
	// INVARIANT: a record in data is the first used with its key.
	cache       *keycache.Cache // keys of records seen lately to their ids; a forgotten record costs a duplicate that Close finds, never a wrong answer
	nextID      RecordID
	last        pendingRecord // the record of the newest id, if lastPending
	lastPending bool
	pending     map[RecordID]pendingRecord // older ids not yet used
	seen        usedFilter
	data        *os.File // the data section
	dataW       *bufio.Writer
	recs        *os.File // seq(4) | id(4) | len(uvarint) | canonical bytes, by first use
	recsW       *bufio.Writer
	keys        sorter // (key, seq<<32 | id) of each used record
	used        uint64 // records used
	spilled     uint64 // records in recs
	offsets     pagedOffsets
	// limit overrides 1 << record size as the bound of node count + 16
	// + data size (tests make it small).
	limit uint64

	next    u128 // first address not yet covered by input
	full    bool // input reached the last address
	aliases []treeAlias

	// stage 1: the current run of contiguous networks with one value,
	// merged as far as siblings allow.
	run      []treeLeaf
	runValue leafValue

	// stage 2: the open nodes from the root to the last leaf.
	// INVARIANT: frames[i] is the node at depth i on the path to cur.
	frames  []treeFrame
	cur     u128
	nodes   uint64
	ipv4Ref uint64 // tagged record that the IPv4 subtree (::/96) resolves to
	store   nodeStore

	err error // sticky I/O error
}

// pendingRecord is an interned record not yet used by a network.
type pendingRecord struct {
	id RecordID
	k  valueKey
	c  []byte
}

// leafValue is a RecordID, or aliasValue for an IPv4 alias.
type leafValue uint64

const aliasValue leafValue = 1 << 40

type treeLeaf struct {
	start u128
	bits  int
	value leafValue
}

type treeAlias struct {
	start u128
	bits  int
}

type treeFrame struct {
	num         uint64
	left, right uint64 // tagged records
}

// Tagged records in the temporary tree: the top two bits of 40 say what
// the low 38 hold.
const (
	tagNode  = 0 << 38
	tagEmpty = 1 << 38
	tagData  = 2 << 38
	tagMask  = 3 << 38
	tmpNode  = 10 // bytes per node in the temporary tree
)

// Create starts a database that Close will write at path.
func Create(path string, opts WriterOptions) (*Writer, error) {
	if opts.IPVersion == 0 {
		opts.IPVersion = 6
	}
	if opts.IPVersion != 4 && opts.IPVersion != 6 {
		return nil, fmt.Errorf("mmdb writer: IP version %d, want 4 or 6", opts.IPVersion)
	}
	switch opts.RecordSize {
	case 0, 24, 28, 32:
	default:
		return nil, fmt.Errorf("mmdb writer: record size %d, want 24, 28, 32 or 0 for automatic", opts.RecordSize)
	}
	f, err := CreateTemp(path) // removes the stale ones of killed writers
	if err != nil {
		return nil, fmt.Errorf("mmdb writer: %w", err)
	}
	m := &opts.Memory // a setting <= 0 takes its default
	m.CacheRecords = cmp.Or(max(m.CacheRecords, 0), defaultCacheRecords)
	m.SortRunEntries = cmp.Or(max(m.SortRunEntries, 0), defaultSortRunEntries)
	m.SharedValues = cmp.Or(max(m.SharedValues, 0), defaultSharedValues)
	w := &Writer{
		path:    path,
		opts:    opts,
		f:       f,
		bits:    128,
		enc:     NewEncoder(),
		cache:   keycache.New(opts.Memory.CacheRecords),
		keys:    sorter{path: path, what: "keys", runLen: opts.Memory.SortRunEntries},
		offsets: pagedOffsets{path: path},
		frames:  []treeFrame{{num: 0, left: tagEmpty, right: tagEmpty}},
		nodes:   1,
		ipv4Ref: tagEmpty,
		store:   nodeStore{f: f, window: make([]byte, 1<<18*tmpNode)},
	}
	w.enc.maxShared = opts.Memory.SharedValues
	if opts.IPVersion == 4 {
		w.bits = 32
	} else if !opts.DisableIPv4Aliases {
		w.aliases = []treeAlias{
			{u128{0, 0xffff << 32}, 96}, // ::ffff:0:0/96, IPv4-mapped
			{u128{0x2002 << 48, 0}, 16}, // 2002::/16, 6to4
		}
	}
	return w, nil
}

// Intern registers a record and returns its id. Equal values met close
// together get the same id (see MemoryOptions.CacheRecords); equal
// values are stored once whatever their ids. A record is written to the
// data section only if a network uses it; until then it is held in
// memory.
func (w *Writer) Intern(v Value) (RecordID, error) {
	c, err := AppendValue(w.scratch[:0], v)
	w.scratch = c[:0]
	if err != nil {
		return 0, fmt.Errorf("mmdb writer: %w", err)
	}
	return w.intern(c, w.enc.key(c))
}

// InternBytes is Intern for a value already encoded in the MMDB data
// encoding without pointers (as AppendValue writes it). It is checked, and
// stored canonically, so equal values share an id however their map keys
// were ordered.
func (w *Writer) InternBytes(b []byte) (RecordID, error) {
	k := w.enc.key(b)
	if id, ok := w.cache.Get(k); ok {
		return RecordID(id), nil
	}
	c, err := CanonicalRecord(w.scratch[:0], b)
	w.scratch = c[:0]
	if err != nil {
		return 0, err
	}
	kc := k
	if string(c) != string(b) {
		kc = w.enc.key(c)
	}
	id, err := w.intern(c, kc)
	if err == nil && kc != k {
		w.cache.Put(k, uint32(id))
	}
	return id, err
}

// CanonicalRecord checks b, a value in the MMDB data encoding without
// pointers, as InternBytes does, and appends its canonical encoding (see
// AppendValue) to dst. It is safe for concurrent use: a caller can do
// this part of InternBytes on another goroutine, and give the result to
// InternCanonical.
func CanonicalRecord(dst, b []byte) ([]byte, error) {
	if end, ok := canonicalAt(b, 0, 0); ok && end == uint(len(b)) {
		return append(dst, b...), nil // already canonical: as AppendValue writes it
	}
	d := Decoder{buf: b, section: "record"}
	v, end, err := d.Value(0)
	if err != nil {
		return dst, fmt.Errorf("mmdb writer: record: %w", err)
	}
	if end != uint(len(b)) {
		return dst, fmt.Errorf("mmdb writer: record: %d bytes after the value", uint(len(b))-end)
	}
	if hasPointer(d, 0) {
		return dst, fmt.Errorf("mmdb writer: record holds a pointer; records are self-contained")
	}
	c, err := AppendValue(dst, v)
	if err != nil {
		return dst, fmt.Errorf("mmdb writer: %w", err)
	}
	return c, nil
}

// canonicalAt reports whether the value at off in b is in canonical form
// exactly as AppendValue writes it (and so valid and pointer-free), and
// returns its end. It allocates nothing; false says only "not sure", and
// the caller decodes and re-encodes.
func canonicalAt(b []byte, off uint, depth int) (uint, bool) {
	if depth > MaxDepth {
		return 0, false
	}
	d := Decoder{buf: b}
	kind, size, payload, err := d.Control(off)
	if err != nil || kind == KindPointer {
		return 0, false
	}
	var ctrl [5]byte
	if c, err := AppendControl(ctrl[:0], kind, size); err != nil || string(c) != string(b[off:payload]) {
		return 0, false // not the shortest control
	}
	switch kind {
	case KindMap:
		var prev []byte
		at := payload
		for i := range size {
			kk, ks, kp, err := d.Control(at)
			if err != nil || kk != KindString || kp+ks > uint(len(b)) {
				return 0, false
			}
			key := b[kp : kp+ks]
			if i > 0 && string(key) <= string(prev) {
				return 0, false // keys out of order
			}
			end, ok := canonicalAt(b, at, depth+1)
			if !ok {
				return 0, false
			}
			prev = key
			if at, ok = canonicalAt(b, end, depth+1); !ok {
				return 0, false
			}
		}
		return at, true
	case KindSlice:
		at := payload
		for range size {
			var ok bool
			if at, ok = canonicalAt(b, at, depth+1); !ok {
				return 0, false
			}
		}
		return at, true
	}
	if kind == KindBool {
		return payload, size <= 1 // a bool has no payload
	}
	end := payload + size
	if end > uint(len(b)) || end < payload {
		return 0, false
	}
	v := b[payload:end]
	switch kind {
	case KindString:
		return end, utf8.Valid(v)
	case KindBytes:
		return end, true
	case KindFloat64:
		return end, size == 8
	case KindFloat32:
		return end, size == 4
	case KindUint16:
		return end, size <= 2 && (size == 0 || v[0] != 0)
	case KindUint32, KindInt32:
		return end, size <= 4 && (size == 0 || v[0] != 0)
	case KindUint64:
		return end, size <= 8 && (size == 0 || v[0] != 0)
	case KindUint128:
		return end, size <= 16 && (size == 0 || v[0] != 0)
	}
	return 0, false
}

// InternCanonical is Intern for a record CanonicalRecord returned (c is
// copied); it is not checked again.
func (w *Writer) InternCanonical(c []byte) (RecordID, error) {
	return w.intern(c, w.enc.key(c))
}

// hasPointer reports whether the valid value at off holds a pointer.
func hasPointer(d Decoder, off uint) bool {
	kind, size, payload, _ := d.Control(off)
	switch kind {
	case KindPointer:
		return true
	case KindMap:
		size *= 2
	case KindSlice:
	default:
		return false
	}
	for range size {
		if hasPointer(d, payload) {
			return true
		}
		payload, _ = d.Skip(payload)
	}
	return false
}

func (w *Writer) intern(c []byte, k valueKey) (RecordID, error) {
	if id, ok := w.cache.Get(k); ok {
		return RecordID(id), nil
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.nextID == maxRecordIDs {
		return 0, fmt.Errorf("mmdb writer: more than %d distinct records", maxRecordIDs)
	}
	id := w.nextID
	w.nextID++
	w.cache.Put(k, uint32(id))
	if w.lastPending {
		if w.pending == nil {
			w.pending = make(map[RecordID]pendingRecord)
		}
		w.last.c = bytes.Clone(w.last.c)
		w.pending[w.last.id] = w.last
		w.last.c = nil
	}
	w.last = pendingRecord{id: id, k: k, c: append(w.last.c[:0], c...)}
	w.lastPending = true
	return id, nil
}

// use writes record id at its first use by a network: into the data
// section if no record used before has its key, else to recs.
func (w *Writer) use(id RecordID) error {
	var r pendingRecord
	switch {
	case w.lastPending && id == w.last.id:
		r, w.lastPending = w.last, false
	case len(w.pending) > 0:
		var ok bool
		if r, ok = w.pending[id]; !ok {
			return nil
		}
		delete(w.pending, id)
	default:
		return nil
	}
	if err := w.keys.add(sortEntry{r.k[0], r.k[1], w.used<<32 | uint64(r.id)}); err != nil {
		return err
	}
	seq := w.used
	w.used++
	if w.seen.testAndSet(r.k) {
		return w.spill(seq, r)
	}
	if w.data == nil {
		f, err := tempFile(w.path, "data")
		if err != nil {
			return err
		}
		w.data, w.dataW = f, bufio.NewWriterSize(f, 1<<20)
		w.enc.out = w.dataW
	}
	off, err := w.enc.appendRecord(r.c)
	if err != nil {
		return err
	}
	if err := w.checkSize(off); err != nil {
		return err
	}
	w.written++
	return w.offsets.set(r.id, uint32(off))
}

// spill writes record r, number seq in order of first use, to recs.
func (w *Writer) spill(seq uint64, r pendingRecord) error {
	if w.recs == nil {
		f, err := tempFile(w.path, "records")
		if err != nil {
			return err
		}
		w.recs, w.recsW = f, bufio.NewWriterSize(f, 1<<20)
	}
	var hdr [8 + binary.MaxVarintLen64]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(seq))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(r.id))
	n := binary.PutUvarint(hdr[8:], uint64(len(r.c)))
	if _, err := w.recsW.Write(hdr[:8+n]); err != nil {
		return fmt.Errorf("mmdb writer: records: %w", err)
	}
	if _, err := w.recsW.Write(r.c); err != nil {
		return fmt.Errorf("mmdb writer: records: %w", err)
	}
	w.spilled++
	return nil
}

// ErrTooLarge says the networks and records given to a Writer need more
// than one .mmdb can address: the node count plus 16 plus the data
// section's size must stay below 2^32 with 32-bit records (2^24 and 2^28
// with the smaller sizes), and a record must start in the first 4 GiB of
// data.
var ErrTooLarge = errors.New("mmdb writer: database too large for one file")

// checkSize fails as soon as the database is sure to outgrow its
// records: the record just written at off starts past 4 GiB, or the
// nodes so far and the data so far pass the bound. The data section of
// the finished file starts with the bytes written so far (Close only
// appends), so the failure is certain.
func (w *Writer) checkSize(off uint64) error {
	rs := w.opts.RecordSize
	if rs == 0 {
		rs = 32
	}
	limit := w.limit
	if limit == 0 {
		limit = 1 << rs
	}
	size := w.nodes + DataSectionSeparatorSize + uint64(w.enc.Len())
	if size < limit && off <= math.MaxUint32 {
		return nil
	}
	return fmt.Errorf("%w: after %d distinct records the search tree has %d nodes and the data section %d bytes, past the limit of %d that %d-bit records can address (node count + 16 + data size); split the networks over several files, or aggregate them into fewer distinct records",
		ErrTooLarge, w.written+1, w.nodes, w.enc.Len(), limit, rs)
}

// Insert adds network p with the record id. Networks come in address
// order and do not overlap; an IPv4-mapped IPv6 prefix (::ffff:a.b.c.d/
// 96+n) is taken as IPv4. Out-of-order or overlapping input, an IPv6
// network in an IPv4 database and a network inside an IPv4 alias are
// errors that leave the Writer as it was.
func (w *Writer) Insert(p netip.Prefix, id RecordID) error {
	if w.err != nil {
		return w.err
	}
	if id >= w.nextID {
		return fmt.Errorf("mmdb writer: network %s: unknown record id %d", p, id)
	}
	start, l, err := w.key(p)
	if err != nil {
		return err
	}
	if w.full || start.less(w.next) {
		return fmt.Errorf("mmdb writer: network %s is out of order or overlaps an earlier network (input must be sorted by address, IPv4 first)", p)
	}
	end := start.or(hostMask(l))
	for _, a := range w.aliases {
		if l >= a.bits && start.andNot(hostMask(a.bits)) == a.start {
			return fmt.Errorf("mmdb writer: network %s lies inside the IPv4 alias %s; disable the aliases to store it", p, a.prefix())
		}
	}
	w.next, w.full = end.inc()
	if err := w.use(id); err != nil {
		w.err = err
		return err
	}
	if err := w.insertKey(start, l, leafValue(id)); err != nil {
		w.err = err
	}
	return w.err
}

// Records returns the number of distinct records in the data section:
// those that a network has used. It is known after Close.
func (w *Writer) Records() int { return w.written }

// InsertValue interns v and inserts p with it.
func (w *Writer) InsertValue(p netip.Prefix, v Value) error {
	id, err := w.Intern(v)
	if err != nil {
		return fmt.Errorf("network %s: %w", p, err)
	}
	return w.Insert(p, id)
}

func (a treeAlias) prefix() netip.Prefix {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], a.start.hi)
	binary.BigEndian.PutUint64(b[8:], a.start.lo)
	return netip.PrefixFrom(netip.AddrFrom16(b), a.bits)
}

// key turns p into its place in the tree: the start key and prefix length.
func (w *Writer) key(p netip.Prefix) (u128, int, error) {
	if !p.IsValid() {
		return u128{}, 0, fmt.Errorf("mmdb writer: invalid network %s", p)
	}
	if p.Masked() != p {
		return u128{}, 0, fmt.Errorf("mmdb writer: network %s has host bits set (want %s)", p, p.Masked())
	}
	addr, l := p.Addr(), p.Bits()
	if addr.Is4In6() && l >= 96 {
		addr, l = addr.Unmap(), l-96
	}
	if addr.Is4() {
		a := uint64(binary.BigEndian.Uint32(addr.AsSlice()))
		if w.bits == 32 {
			return u128{a << 32, 0}, l, nil
		}
		return u128{0, a}, l + 96, nil
	}
	if w.bits == 32 {
		return u128{}, 0, fmt.Errorf("mmdb writer: IPv6 network %s in an IPv4 database", p)
	}
	b := addr.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}, l, nil
}

// insertKey emits the aliases that come before the network, splits the
// network around an alias it covers, and pushes the rest to stage 1.
func (w *Writer) insertKey(start u128, l int, v leafValue) error {
	end := start.or(hostMask(l))
	for len(w.aliases) > 0 {
		a := w.aliases[0]
		if a.start.or(hostMask(a.bits)).less(start) {
			if err := w.push(a.start, a.bits, aliasValue); err != nil {
				return err
			}
			w.aliases = w.aliases[1:]
			continue
		}
		if end.less(a.start) {
			break
		}
		// The network covers the alias: store its halves, less the alias.
		for _, h := range [2]u128{start, start.withBit(l)} {
			if h == a.start && l+1 == a.bits {
				continue
			}
			if err := w.insertKey(h, l+1, v); err != nil {
				return err
			}
		}
		return nil
	}
	return w.push(start, l, v)
}

// push adds a network to the current run, merging siblings, and hands
// the run to the tree when the value changes or the run breaks.
func (w *Writer) push(start u128, l int, v leafValue) error {
	if n := len(w.run); n > 0 {
		last := w.run[n-1]
		after, _ := last.start.or(hostMask(last.bits)).inc()
		if v != w.runValue || v == aliasValue || after != start {
			if err := w.flushRun(); err != nil {
				return err
			}
		}
	}
	w.run = append(w.run, treeLeaf{start, l, v})
	w.runValue = v
	for n := len(w.run); n >= 2; n = len(w.run) {
		a, b := w.run[n-2], w.run[n-1]
		if a.bits != b.bits || a.bits == 0 || a.start.bit(a.bits-1) != 0 {
			break
		}
		w.run = append(w.run[:n-2], treeLeaf{a.start, a.bits - 1, v})
	}
	return nil
}

func (w *Writer) flushRun() error {
	for _, l := range w.run {
		if err := w.leaf(l.start, l.bits, l.value); err != nil {
			return err
		}
	}
	w.run = w.run[:0]
	return nil
}

// leaf adds a final network to the tree: it closes the nodes that do not
// hold it, opens the nodes down to it and sets its record.
func (w *Writer) leaf(start u128, l int, v leafValue) error {
	if l == 0 {
		if err := w.leaf(start, 1, v); err != nil {
			return err
		}
		return w.leaf(start.withBit(0), 1, v)
	}
	if v == aliasValue && w.ipv4Ref == tagEmpty {
		return nil // no IPv4 data to alias
	}
	rec, err := w.record(v)
	if err != nil {
		return err
	}
	keep := min(start.commonPrefixLen(w.cur), l-1) + 1
	for len(w.frames) > keep {
		if err := w.closeFrame(); err != nil {
			return err
		}
	}
	w.cur = start
	for d := len(w.frames) - 1; d < l-1; d++ {
		child := treeFrame{num: w.nodes, left: tagEmpty, right: tagEmpty}
		w.nodes++
		w.setRecord(d, start.bit(d), tagNode|child.num)
		w.frames = append(w.frames, child)
		if d+1 == 96 && w.bits == 128 && start.hi == 0 && start.lo>>32 == 0 {
			w.ipv4Ref = tagNode | child.num
		}
	}
	w.setRecord(l-1, start.bit(l-1), rec)
	if w.bits == 128 && l <= 96 && start.hi == 0 && start.lo == 0 {
		w.ipv4Ref = rec
	}
	return nil
}

func (w *Writer) setRecord(depth int, side uint, rec uint64) {
	if side == 0 {
		w.frames[depth].left = rec
	} else {
		w.frames[depth].right = rec
	}
}

// record returns the tagged record of a leaf value: for a record, its
// id, which finish replaces by its offset in the data section.
func (w *Writer) record(v leafValue) (uint64, error) {
	if v == aliasValue {
		return w.ipv4Ref, nil
	}
	return tagData | uint64(v), nil
}

func (w *Writer) closeFrame() error {
	f := w.frames[len(w.frames)-1]
	w.frames = w.frames[:len(w.frames)-1]
	return w.store.put(f.num, f.left, f.right)
}

// Close finishes the database and moves it to its path.
func (w *Writer) Close() (err error) {
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	if w.err != nil {
		return w.err
	}
	for len(w.aliases) > 0 {
		a := w.aliases[0]
		if err := w.push(a.start, a.bits, aliasValue); err != nil {
			return err
		}
		w.aliases = w.aliases[1:]
	}
	if err := w.flushRun(); err != nil {
		return err
	}
	for len(w.frames) > 0 {
		if err := w.closeFrame(); err != nil {
			return err
		}
	}
	if err := w.store.flush(w.nodes); err != nil {
		return err
	}
	data, err := w.writeData()
	defer closeTemp(data)
	if err != nil {
		return err
	}
	size, err := w.finish(data)
	if err != nil {
		return err
	}
	if err := w.f.Truncate(size); err != nil {
		return fmt.Errorf("mmdb writer: %w", err)
	}
	if err := w.f.Chmod(0o644); err != nil {
		return fmt.Errorf("mmdb writer: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("mmdb writer: %w", err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("mmdb writer: %w", err)
	}
	if err := os.Rename(w.f.Name(), w.path); err != nil {
		return fmt.Errorf("mmdb writer: %w", err)
	}
	w.f = nil
	w.release()
	w.err = errors.New("mmdb writer: closed") // later calls fail, never touch the path
	if d, err := os.Open(filepath.Dir(w.path)); err == nil {
		_ = d.Sync() // make the rename durable where the platform allows
		_ = d.Close()
	}
	return nil
}

// Abort discards the database; the path is left as it was.
func (w *Writer) Abort() {
	if w.f != nil {
		_ = w.f.Close()
		_ = os.Remove(w.f.Name())
		w.f = nil
	}
	w.release()
	if w.err == nil {
		w.err = errors.New("mmdb writer: closed")
	}
}

// release drops the temporary files and what is held in memory.
func (w *Writer) release() {
	closeTemp(w.data)
	closeTemp(w.recs)
	w.data, w.dataW, w.recs, w.recsW = nil, nil, nil, nil
	w.seen.bits = nil
	w.keys.close()
	w.offsets.close()
	w.pending, w.last = nil, pendingRecord{}
}

// writeData finds the equal records among those used (sorting their
// keys), writes the records use left in recs to the data section (a
// duplicate takes the offset of the record it repeats, which came
// before it) and returns the finished data section in a temporary file,
// which the caller closes, with the offset of every id in w.offsets.
func (w *Writer) writeData() (*os.File, error) {
	if w.data == nil {
		f, err := tempFile(w.path, "data")
		if err != nil {
			return nil, err
		}
		w.data, w.dataW = f, bufio.NewWriterSize(f, 1<<20)
		w.enc.out = w.dataW
	}
	data := w.data
	if w.spilled > 0 {
		if err := w.writeSpilled(); err != nil {
			return nil, err
		}
	}
	w.keys.close()
	if err := w.enc.flush(); err != nil {
		return nil, err
	}
	if err := w.dataW.Flush(); err != nil {
		return nil, fmt.Errorf("mmdb writer: data section: %w", err)
	}
	w.data, w.dataW = nil, nil // the caller's now
	return data, nil
}

// writeSpilled writes the records of recs that are not duplicates.
func (w *Writer) writeSpilled() error {
	// Equal keys: the first use is kept, the others are duplicates (all
	// in recs: a record in data is the first of its key).
	dups := sorter{path: w.path, what: "dups", runLen: w.opts.Memory.SortRunEntries}
	defer dups.close()
	var first sortEntry
	have := false
	err := w.keys.each(func(e sortEntry) error {
		if have && e.a == first.a && e.b == first.b {
			return dups.add(sortEntry{a: e.c >> 32, c: (e.c&0xffffffff)<<32 | first.c&0xffffffff})
		}
		first, have = e, true
		return nil
	})
	if err != nil {
		return err
	}
	if err := w.recsW.Flush(); err != nil {
		return fmt.Errorf("mmdb writer: records: %w", err)
	}
	size, err := w.recs.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("mmdb writer: records: %w", err)
	}
	r := bufio.NewReaderSize(io.NewSectionReader(w.recs, 0, size), 1<<20)
	var rec []byte
	var hdr [8]byte
	read := uint64(0) // records of recs read
	// next reads the next record of recs.
	next := func() (uint64, RecordID, []byte, error) {
		if read == w.spilled {
			return 0, 0, nil, fmt.Errorf("mmdb writer: records: a duplicate is not among the %d records set aside", w.spilled)
		}
		read++
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return 0, 0, nil, fmt.Errorf("mmdb writer: records: %w", err)
		}
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return 0, 0, nil, fmt.Errorf("mmdb writer: records: %w", err)
		}
		rec = slices.Grow(rec[:0], int(n))[:n]
		if _, err := io.ReadFull(r, rec); err != nil {
			return 0, 0, nil, fmt.Errorf("mmdb writer: records: %w", err)
		}
		return uint64(binary.LittleEndian.Uint32(hdr[:])), RecordID(binary.LittleEndian.Uint32(hdr[4:])), rec, nil
	}
	write := func(id RecordID, c []byte) error {
		off, err := w.enc.appendRecord(c)
		if err == nil {
			err = w.checkSize(off)
		}
		if err != nil {
			return err
		}
		w.written++
		return w.offsets.set(id, uint32(off))
	}
	err = dups.each(func(d sortEntry) error {
		for {
			seq, id, c, err := next()
			if err != nil {
				return err
			}
			if seq != d.a {
				if err := write(id, c); err != nil {
					return err
				}
				continue
			}
			off, err := w.offsets.get(RecordID(d.c & 0xffffffff))
			if err == nil {
				err = w.offsets.set(id, off)
			}
			return err
		}
	})
	for err == nil && read < w.spilled {
		var id RecordID
		var c []byte
		if _, id, c, err = next(); err == nil {
			err = write(id, c)
		}
	}
	return err
}

// finish rewrites the temporary tree in place with the final record
// size, then appends the separator, the data section (from data) and the
// metadata. It returns the file's size.
func (w *Writer) finish(data *os.File) (int64, error) {
	nodes, dataLen := w.nodes, uint64(w.enc.Len())
	maxRecord := nodes + DataSectionSeparatorSize + dataLen
	rs := uint(w.opts.RecordSize)
	if rs == 0 {
		for rs = 24; rs < 32 && maxRecord >= 1<<rs; rs += 4 {
		}
	}
	if maxRecord >= 1<<rs {
		return 0, fmt.Errorf("%w: %d nodes and %d bytes of data need records larger than %d bits", ErrTooLarge, nodes, dataLen, rs)
	}
	nb := uint64(NodeBytes(rs))
	const chunk = 1 << 16
	in := make([]byte, chunk*tmpNode)
	out := make([]byte, 0, chunk*nb)
	var rerr error
	resolve := func(b []byte) uint {
		r := uint64(b[0])<<32 | uint64(binary.BigEndian.Uint32(b[1:]))
		switch r & tagMask {
		case tagNode:
			return uint(r)
		case tagData:
			off, err := w.offsets.get(RecordID(r &^ tagMask))
			if err != nil && rerr == nil {
				rerr = err
			}
			return uint(nodes + DataSectionSeparatorSize + uint64(off))
		}
		return uint(nodes)
	}
	for i := uint64(0); i < nodes; i += chunk {
		n := min(chunk, nodes-i)
		if _, err := w.f.ReadAt(in[:n*tmpNode], int64(i*tmpNode)); err != nil {
			return 0, fmt.Errorf("mmdb writer: reading back the tree: %w", err)
		}
		out = out[:0]
		for j := uint64(0); j < n; j++ {
			b := in[j*tmpNode:]
			out = AppendNode(out, rs, resolve(b[:5]), resolve(b[5:10]))
		}
		if rerr != nil {
			return 0, rerr
		}
		if _, err := w.f.WriteAt(out, int64(i*nb)); err != nil {
			return 0, fmt.Errorf("mmdb writer: %w", err)
		}
	}
	md := Metadata{
		BinaryFormatMajorVersion: 2,
		DatabaseType:             w.opts.DatabaseType,
		Languages:                w.opts.Languages,
		Description:              w.opts.Description,
		IPVersion:                uint(w.opts.IPVersion),
		NodeCount:                uint(nodes),
		RecordSize:               rs,
	}
	if md.DatabaseType == "" {
		md.DatabaseType = "ipatlas-City"
	}
	if len(md.Description) == 0 {
		md.Description = map[string]string{"en": "ipatlas database"}
	}
	bt := w.opts.BuildTime
	if bt.IsZero() {
		bt = time.Now()
	}
	md.BuildEpoch = uint(bt.Unix())
	at := int64(nodes * nb)
	if _, err := w.f.WriteAt(make([]byte, DataSectionSeparatorSize), at); err != nil {
		return 0, fmt.Errorf("mmdb writer: %w", err)
	}
	at += DataSectionSeparatorSize
	if _, err := w.f.Seek(at, io.SeekStart); err != nil {
		return 0, fmt.Errorf("mmdb writer: %w", err)
	}
	if _, err := data.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("mmdb writer: data section: %w", err)
	}
	if n, err := io.CopyN(w.f, data, int64(dataLen)); err != nil || n != int64(dataLen) {
		return 0, fmt.Errorf("mmdb writer: copying the data section (%d of %d bytes): %v", n, dataLen, err)
	}
	at += int64(dataLen)
	tail := append([]byte(nil), MetadataMarker...)
	tail, err := AppendValue(tail, md.Value())
	if err != nil {
		return 0, fmt.Errorf("mmdb writer: metadata: %w", err)
	}
	if _, err := w.f.WriteAt(tail, at); err != nil {
		return 0, fmt.Errorf("mmdb writer: %w", err)
	}
	return at + int64(len(tail)), nil
}

// nodeStore writes nodes of the temporary tree (tmpNode bytes each, at
// num*tmpNode) through a window of consecutive node numbers. Nodes are
// numbered in pre-order but finished in post-order, so a node that falls
// behind the window (it spans more than a window of nodes) is written
// directly; the window's slots of nodes still open are garbage until
// those nodes are written.
type nodeStore struct {
	f      *os.File
	window []byte
	base   uint64 // node number of window[0]
	buf    [tmpNode]byte
}

func (s *nodeStore) put(num, left, right uint64) error {
	w := uint64(len(s.window) / tmpNode)
	var b []byte
	switch {
	case num < s.base:
		b = s.buf[:]
	case num >= s.base+w:
		if err := s.flush(s.base + w); err != nil {
			return err
		}
		s.base = num - num%w
		fallthrough
	default:
		i := (num - s.base) * tmpNode
		b = s.window[i : i+tmpNode]
	}
	b[0] = byte(left >> 32)
	binary.BigEndian.PutUint32(b[1:], uint32(left))
	b[5] = byte(right >> 32)
	binary.BigEndian.PutUint32(b[6:], uint32(right))
	if num < s.base {
		if _, err := s.f.WriteAt(b, int64(num*tmpNode)); err != nil {
			return fmt.Errorf("mmdb writer: %w", err)
		}
	}
	return nil
}

// flush writes the window's nodes below end.
func (s *nodeStore) flush(end uint64) error {
	if end <= s.base {
		return nil
	}
	n := min(end-s.base, uint64(len(s.window)/tmpNode))
	if _, err := s.f.WriteAt(s.window[:n*tmpNode], int64(s.base*tmpNode)); err != nil {
		return fmt.Errorf("mmdb writer: %w", err)
	}
	return nil
}
