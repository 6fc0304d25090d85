package kv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Errors callers branch on. They are returned wrapped: test with errors.Is.
var (
	// ErrAlreadyIngested is returned by BeginIngest when the layer's newest
	// committed ingest has the same sourceID and re-ingesting it could not
	// change the layer (see BeginIngest).
	ErrAlreadyIngested = errors.New("kv: already ingested")
	// ErrNoLayer is returned when a named layer does not exist.
	ErrNoLayer = errors.New("kv: no such layer")
	// ErrLayerDropped is returned by Commit when the layer was dropped (or
	// dropped and created again) while the ingest ran.
	ErrLayerDropped = errors.New("kv: layer dropped during ingest")
	// ErrClosed is returned by the methods of an Ingest that was committed
	// or aborted already.
	ErrClosed = errors.New("kv: ingest already finished")
)

// Defaults for the zero Options.
const (
	defaultCacheSize    = 64 << 20
	defaultMemTableSize = 64 << 20
	defaultBatchSize    = 4 << 20
	defaultMinRun       = 4096
	defaultMaxTable     = 128 << 20
	tmpDirName          = "ipatlas-ingest"
	maxNameLen          = 1024
)

// Options tune a Store. The zero value is sensible.
type Options struct {
	// CacheSize is the size of the block cache in bytes; 0 means 64 MiB.
	CacheSize int64
	// MemTableSize is the size of one memtable in bytes; 0 means 64 MiB.
	// Bigger memtables make bulk ingest faster at the cost of memory.
	MemTableSize uint64
	// BatchSize is the size in bytes at which an Ingest of unsorted rows
	// writes its pending rows to the store (unsynced, invisible until
	// Commit); 0 means 4 MiB. It bounds the memory such an Ingest holds.
	// (Sorted rows go into sstables instead; see the package doc.)
	BatchSize int
	// Logf receives Pebble's error messages; nil means log.Printf.
	// Pebble's informational messages are dropped.
	Logf func(format string, args ...any)
	// RecordCache is the number of records an Ingest remembers to store
	// a repeated record once (in the dictionary); 0 means 1,048,576
	// (24 MiB). A record it forgot is stored in its row again.
	RecordCache int
	// DictionaryCache is the bytes of dictionary records a scan (All)
	// keeps in memory; 0 means 256 MiB. Records not held are read again
	// from the store.
	DictionaryCache int

	// fs replaces the real file system (tests use a crashable in-memory
	// one to simulate power loss).
	fs vfs.FS
	// minRun and maxTable override defaultMinRun and defaultMaxTable
	// (tests make them small to exercise table rotation and fallback).
	minRun   int
	maxTable int
	// dictBlock overrides dictBlockRecords (tests make it small).
	dictBlock int
	// allowVersion lets Open accept a store of that format version
	// (Migrate opens an older store with it).
	allowVersion int
}

// Store is an ipatlas store: layers of prefix-keyed records in one Pebble
// database. Its methods are safe for concurrent use.
type Store struct {
	db        *pebble.DB
	po        *pebble.Options
	fs        vfs.FS
	tmpDir    string // where ingests build their tables
	batchSize int
	minRun    int
	maxTable  int
	// recordCache, dictCache and dictBlock: Options.RecordCache,
	// Options.DictionaryCache and the records of a dictionary block.
	recordCache int
	dictCache   int
	dictBlock   int

	// mu serialises changes of layer metadata (EnsureLayer, DropLayer, the
	// publishing step of Commit) and guards the fields below.
	mu sync.Mutex
	// layers mirrors the metadata records on disk, by layer name.
	// INVARIANT: layers[n] equals the decoded record at metaKey(n).
	layers map[string]*layerMeta
	// nextLayerID is the ID EnsureLayer gives the next new layer.
	// INVARIANT: greater than the ID of every layer that ever existed, and
	// equal to the counter on disk.
	nextLayerID uint32
	// nextGen is the generation number the next BeginIngest takes.
	// INVARIANT: greater than every generation number present on disk.
	nextGen uint32
	// closed is set by Close.
	closed bool
}

// layerMeta is a layer's metadata record.
type layerMeta struct {
	Layer
	// gens are the published generations, oldest first: later ones win.
	// INVARIANT: only listed generations are visible to snapshots; every
	// listed generation's rows were durable before it was listed.
	gens []genMeta
}

// genMeta describes one published generation.
type genMeta struct {
	gen      uint32
	sourceID string
	// merged marks a generation made by CompactLayer from several; its
	// sourceID is that of the newest it merged.
	merged bool
}

// pebbleLogger adapts Options.Logf to Pebble's Logger.
type pebbleLogger struct{ logf func(string, ...any) }

func (l pebbleLogger) Infof(string, ...any)              {}
func (l pebbleLogger) Errorf(format string, args ...any) { l.logf("pebble: "+format, args...) }
func (l pebbleLogger) Fatalf(format string, args ...any) {
	l.logf("pebble: fatal: "+format, args...)
	panic(fmt.Sprintf("pebble: fatal: "+format, args...))
}

// Open opens the store in dir, creating it if missing. It deletes the rows of
// every generation that no layer lists: the remains of ingests that were in
// flight when a process died, or whose layer was dropped meanwhile.
//
// Open ratchets the Pebble format major version to the newest this build of
// Pebble knows.
func Open(dir string, opts Options) (*Store, error) {
	po := &pebble.Options{
		FormatMajorVersion:    pebble.FormatNewest,
		CacheSize:             opts.CacheSize,
		MemTableSize:          opts.MemTableSize,
		L0CompactionThreshold: 4,
		L0StopWritesThreshold: 1000,
		LBaseMaxBytes:         256 << 20,
		FS:                    opts.fs,
	}
	if po.CacheSize == 0 {
		po.CacheSize = defaultCacheSize
	}
	if po.MemTableSize == 0 {
		po.MemTableSize = defaultMemTableSize
	}
	po.CompactionConcurrencyRange = func() (int, int) { return 1, 2 }
	logf := opts.Logf
	if logf == nil {
		logf = log.Printf
	}
	po.Logger = pebbleLogger{logf: logf}
	// Compile scans everything in order: big blocks mean fewer block reads,
	// cache insertions and decompression calls per row.
	for i := range po.Levels {
		po.Levels[i].BlockSize = 32 << 10
	}
	po.EnsureDefaults()
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", dir, err)
	}
	s := &Store{db: db, po: po, fs: po.FS, tmpDir: po.FS.PathJoin(dir, tmpDirName),
		batchSize:   positiveOr(opts.BatchSize, defaultBatchSize),
		minRun:      positiveOr(opts.minRun, defaultMinRun),
		maxTable:    positiveOr(opts.maxTable, defaultMaxTable),
		recordCache: positiveOr(opts.RecordCache, defaultRecordCache),
		dictCache:   positiveOr(opts.DictionaryCache, defaultDictCache),
		dictBlock:   positiveOr(opts.dictBlock, dictBlockRecords),
		layers:      map[string]*layerMeta{}}
	if err := checkVersion(db, dir, opts.allowVersion); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	// Tables of ingests that were in flight when a process died.
	if err := errors.Join(s.fs.RemoveAll(s.tmpDir), s.fs.MkdirAll(s.tmpDir, 0o755)); err != nil {
		return nil, errors.Join(fmt.Errorf("kv: open %s: clear %s: %w", dir, s.tmpDir, err), db.Close())
	}
	if err := s.load(); err != nil {
		return nil, errors.Join(fmt.Errorf("kv: open %s: %w", dir, err), db.Close())
	}
	return s, nil
}

// load reads the metadata into memory and deletes unpublished generations.
func (s *Store) load() error {
	metas, next, err := readMeta(s.db)
	if err != nil {
		return err
	}
	s.nextLayerID = next
	byID := map[uint32]*layerMeta{}
	for _, m := range metas {
		s.layers[m.Name] = m
		byID[m.ID] = m
		for _, g := range m.gens {
			s.nextGen = max(s.nextGen, g.gen+1)
		}
	}
	// Walk the data key space generation by generation, seeking past each.
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagData}, UpperBound: []byte{tagData + 1}})
	if err != nil {
		return fmt.Errorf("scan for unpublished generations: %w", err)
	}
	b := s.db.NewBatch()
	defer b.Close()
	for ok := it.First(); ok; {
		layer, gen, _, err := parseDataKey(it.Key())
		if err != nil {
			return errors.Join(err, it.Close())
		}
		s.nextGen = max(s.nextGen, gen+1)
		m := byID[layer]
		switch {
		case m == nil:
			lo, hi := layerBounds(layer)
			if err := b.DeleteRange(lo, hi, nil); err != nil {
				return errors.Join(err, it.Close())
			}
			ok = it.SeekGE(hi)
		default:
			lo, hi := genBounds(layer, gen)
			if !slices.ContainsFunc(m.gens, func(g genMeta) bool { return g.gen == gen }) {
				if err := b.DeleteRange(lo, hi, nil); err != nil {
					return errors.Join(err, it.Close())
				}
			}
			ok = it.SeekGE(hi)
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("scan for unpublished generations: %w", err)
	}
	if b.Empty() {
		return nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete unpublished generations: %w", err)
	}
	return nil
}

// metaReader is what readMeta needs: a DB or a Snapshot.
type metaReader interface {
	NewIter(*pebble.IterOptions) (*pebble.Iterator, error)
}

// readMeta reads every layer's metadata record and the layer ID counter.
func readMeta(r metaReader) ([]*layerMeta, uint32, error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte{tagMeta}, UpperBound: []byte{tagCounter + 1}})
	if err != nil {
		return nil, 0, fmt.Errorf("read layer metadata: %w", err)
	}
	var metas []*layerMeta
	next := uint32(1)
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, 0, errors.Join(fmt.Errorf("read layer metadata %q: %w", k, err), it.Close())
		}
		switch k[0] {
		case tagMeta:
			m, err := decodeMeta(string(k[1:]), v)
			if err != nil {
				return nil, 0, errors.Join(err, it.Close())
			}
			metas = append(metas, m)
		case tagCounter:
			if len(v) != 4 {
				return nil, 0, errors.Join(fmt.Errorf("kv: layer ID counter has %d bytes, want 4", len(v)), it.Close())
			}
			next = binary.BigEndian.Uint32(v)
		}
	}
	if err := it.Close(); err != nil {
		return nil, 0, fmt.Errorf("read layer metadata: %w", err)
	}
	return metas, next, nil
}

// metaVersion is the first byte of a metadata record. Version 1 records
// (without the flags byte) are read too.
const metaVersion = 2

// Flags of a generation in a metadata record.
const genFlagMerged = 1

// encodeMeta encodes m (without its name, which is in the key):
//
//	version(1) | id(4) | priority(4) | ngens(uvarint) | ngens × (gen(4) | flags(1) | len(uvarint) | sourceID)
func encodeMeta(m *layerMeta) []byte {
	b := []byte{metaVersion}
	b = binary.BigEndian.AppendUint32(b, m.ID)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Priority))
	b = binary.AppendUvarint(b, uint64(len(m.gens)))
	for _, g := range m.gens {
		b = binary.BigEndian.AppendUint32(b, g.gen)
		var flags byte
		if g.merged {
			flags |= genFlagMerged
		}
		b = append(b, flags)
		b = binary.AppendUvarint(b, uint64(len(g.sourceID)))
		b = append(b, g.sourceID...)
	}
	return b
}

// decodeMeta decodes a metadata record of the layer called name.
func decodeMeta(name string, b []byte) (*layerMeta, error) {
	bad := func(what string) error { return fmt.Errorf("kv: layer %q: corrupt metadata: %s", name, what) }
	if len(b) < 9 || (b[0] != 1 && b[0] != metaVersion) {
		return nil, bad("short record or unknown version")
	}
	version := b[0]
	m := &layerMeta{Layer: Layer{ID: binary.BigEndian.Uint32(b[1:5]), Name: name, Priority: int32(binary.BigEndian.Uint32(b[5:9]))}}
	b = b[9:]
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)) {
		return nil, bad("generation count")
	}
	b = b[w:]
	m.gens = make([]genMeta, 0, n)
	for range n {
		if len(b) < 4 {
			return nil, bad("truncated generation")
		}
		g := genMeta{gen: binary.BigEndian.Uint32(b)}
		b = b[4:]
		if version >= 2 {
			if len(b) < 1 || b[0]&^genFlagMerged != 0 {
				return nil, bad("generation flags")
			}
			g.merged = b[0]&genFlagMerged != 0
			b = b[1:]
		}
		l, w := binary.Uvarint(b)
		if w <= 0 || l > uint64(len(b)-w) {
			return nil, bad("source ID length")
		}
		g.sourceID = string(b[w : w+int(l)])
		b = b[w+int(l):]
		m.gens = append(m.gens, g)
	}
	if len(b) != 0 {
		return nil, bad("trailing bytes")
	}
	return m, nil
}

// Close closes the store. Snapshots and ingests must be finished first.
// Closing a closed store returns an error.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("kv: close: store already closed")
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("kv: close: %w", err)
	}
	return nil
}

// Layer names one source of networks in the store.
type Layer struct {
	// ID is assigned by the store and never reused, even after DropLayer.
	ID uint32
	// Name is the caller's name for the layer (a source, a model).
	Name string
	// Priority orders layers that hold the same prefix: higher wins.
	Priority int32
}

// Layers returns the layers, sorted by priority descending, then ID.
func (s *Store) Layers() ([]Layer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Layer, 0, len(s.layers))
	for _, m := range s.layers {
		out = append(out, m.Layer)
	}
	slices.SortFunc(out, compareLayers)
	return out, nil
}

// compareLayers orders layers by priority descending, then ID ascending.
func compareLayers(a, b Layer) int {
	if a.Priority != b.Priority {
		if a.Priority > b.Priority {
			return -1
		}
		return 1
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// checkName reports whether name can name a layer: non-empty UTF-8 of at most
// 1024 bytes.
func checkName(name string) error {
	if name == "" || len(name) > maxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("kv: bad layer name %q: want 1 to %d bytes of UTF-8", name, maxNameLen)
	}
	return nil
}

// EnsureLayer creates the layer called name with the given priority, or sets
// the priority of the existing one. The change is durable when it returns.
func (s *Store) EnsureLayer(name string, priority int32) (Layer, error) {
	if err := checkName(name); err != nil {
		return Layer{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.layers[name]
	var m layerMeta
	if old != nil {
		if old.Priority == priority {
			return old.Layer, nil
		}
		m = *old
		m.Priority = priority
	} else {
		if s.nextLayerID == ^uint32(0) {
			return Layer{}, fmt.Errorf("kv: create layer %q: out of layer IDs", name)
		}
		m.Layer = Layer{ID: s.nextLayerID, Name: name, Priority: priority}
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Set(metaKey(name), encodeMeta(&m), nil); err != nil {
		return Layer{}, fmt.Errorf("kv: ensure layer %q: %w", name, err)
	}
	if old == nil {
		if err := b.Set(counterKey, binary.BigEndian.AppendUint32(nil, m.ID+1), nil); err != nil {
			return Layer{}, fmt.Errorf("kv: ensure layer %q: %w", name, err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return Layer{}, fmt.Errorf("kv: ensure layer %q: %w", name, err)
	}
	if old == nil {
		s.nextLayerID++
	}
	s.layers[name] = &m
	return m.Layer, nil
}

// DropLayer deletes the layer called name and all its networks, durably and
// atomically. Snapshots taken before still see it. Ingests into it that are
// in flight fail at Commit with ErrLayerDropped.
func (s *Store) DropLayer(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.layers[name]
	if m == nil {
		return fmt.Errorf("kv: drop layer %q: %w", name, ErrNoLayer)
	}
	b := s.db.NewBatch()
	defer b.Close()
	lo, hi := layerBounds(m.ID)
	if err := errors.Join(b.Delete(metaKey(name), nil), b.DeleteRange(lo, hi, nil)); err != nil {
		return fmt.Errorf("kv: drop layer %q: %w", name, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("kv: drop layer %q: %w", name, err)
	}
	delete(s.layers, name)
	return nil
}

// positiveOr returns v, or def when v is not positive: an option left at
// zero (or set below it) takes its default.
func positiveOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
