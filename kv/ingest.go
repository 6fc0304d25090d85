package kv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Mode says how a committed ingest combines with what its layer held.
type Mode int

const (
	// Upsert adds the ingest's rows on top of the layer: its puts replace
	// equal prefixes, its tombstones hide them, other prefixes stay.
	Upsert Mode = iota
	// Replace makes the ingest's rows the whole layer.
	Replace
)

// String returns "upsert" or "replace".
func (m Mode) String() string {
	switch m {
	case Upsert:
		return "upsert"
	case Replace:
		return "replace"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Ingest is one file's worth of writes into a layer: a new generation of the
// layer, published by Commit. Until then no snapshot sees any of it. An
// Ingest is not safe for concurrent use; several Ingests may run at once.
//
// Rows that arrive in ascending key order (sorted input, the common case) are
// written straight into sstables of at most 128 MiB, which are synced and
// ingested into Pebble as they fill (no write-ahead log, no memtable, no
// compaction). When the order breaks, the table so far is ingested and a new
// one begun; after a short run (fewer than 4096 rows) the ingest falls back to
// unsynced batches of bounded size for the rest of the file. Either way
// memory stays flat and the rows are invisible until Commit.
type Ingest struct {
	s        *Store
	layer    Layer
	mode     Mode
	sourceID string
	gen      uint32
	// key holds the data key being built; key[:genPrefixLen] is fixed.
	key [dataKeyLen]byte
	val []byte // scratch for kind | value

	// The sorted-run path. INVARIANT: table rows are strictly ascending,
	// and every row of an ingested table is older than every later write.
	table      *sstable.Writer
	tablePath  string
	tableRows  int
	tableBytes int
	tables     int // tables made so far, to name the next one
	last       [dataKeyLen]byte

	// max is the greatest key written so far, if wrote.
	max   [dataKeyLen]byte
	wrote bool

	// The batch path, once the input proved unsorted.
	batch *pebble.Batch
	done  bool

	// The dictionary: a record longer than minDictValue that comes again
	// while the cache still knows it is stored once, in the dictionary,
	// and its later rows refer to it by number (kindRef); its first row
	// holds it. Inference results repeat a few hundred thousand records
	// over millions of networks, so this saves most of the bytes to
	// compress, write and read back; per-address results, where each
	// record is new, pay nothing. The dictionary's rows go to a table of
	// their own as they come (numbers ascend, so do their keys).
	// INVARIANT: a kindRef row written by this ingest names a number below
	// dictN; numbers below dictIngested are in Pebble, the others in dict.
	cache        *recordCache
	dictN        uint32
	dict         *sstable.Writer
	dictPath     string
	dictBytes    int
	dictIngested uint32
	ref          []byte // scratch for a kindRef value
}

// minDictValue: shorter records are stored in their rows.
const minDictValue = 8

// BeginIngest starts one file's worth of writes into the existing layer
// called layer, invisible to readers and snapshots until Commit.
//
// sourceID identifies the input (for instance a SHA-256 of the file's bytes
// and the options that shape its rows); "" disables the check that follows.
// BeginIngest returns ErrAlreadyIngested when committing the same input again
// could not change the layer: in Upsert mode when the layer's newest
// generation came from sourceID, in Replace mode when the layer's only
// generation came from sourceID. A layer that changed since (another file
// upserted on top, say) is ingested again.
func (s *Store) BeginIngest(layer string, mode Mode, sourceID string) (*Ingest, error) {
	if mode != Upsert && mode != Replace {
		return nil, fmt.Errorf("kv: begin ingest into %q: bad mode %v", layer, mode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.layers[layer]
	if m == nil {
		return nil, fmt.Errorf("kv: begin ingest into %q: %w", layer, ErrNoLayer)
	}
	if sourceID != "" && len(m.gens) > 0 && m.gens[len(m.gens)-1].sourceID == sourceID &&
		(mode == Upsert || (len(m.gens) == 1 && !m.gens[0].merged)) {
		return nil, fmt.Errorf("kv: begin ingest of %q into %q: %w", sourceID, layer, ErrAlreadyIngested)
	}
	if s.nextGen == ^uint32(0) {
		return nil, fmt.Errorf("kv: begin ingest into %q: out of generation numbers", layer)
	}
	in := &Ingest{s: s, layer: m.Layer, mode: mode, sourceID: sourceID, gen: s.nextGen}
	s.nextGen++
	appendGenPrefix(in.key[:0], in.layer.ID, in.gen)
	return in, nil
}

// newIngestBatch returns a batch sized for Options.BatchSize, that keeps its
// buffer across flushes. (Pebble's NewBatchWithSize breaks on Reset below
// 12 bytes, the batch header; hence the floor.)
func (s *Store) newIngestBatch() *pebble.Batch {
	size := max(s.batchSize+s.batchSize/8, 1<<10)
	return s.db.NewBatch(pebble.WithInitialSizeBytes(size), pebble.WithMaxRetainedSizeBytes(2*size))
}

// Layer returns the layer the ingest writes into.
func (in *Ingest) Layer() Layer { return in.layer }

// Put writes value as the record of the network p; a later Put or Delete of
// the same p in this ingest replaces it. p must be masked; IPv4 networks are
// given as IPv4 (1.2.3.0/24), not IPv4-mapped. Put copies value.
func (in *Ingest) Put(p netip.Prefix, value []byte) error {
	return in.write(p, kindPut, value, true)
}

// Delete writes a tombstone for p: once committed, p has no record in this
// layer (in Upsert mode it hides the record older ingests gave p).
func (in *Ingest) Delete(p netip.Prefix) error {
	return in.write(p, kindTombstone, nil, false)
}

// Record returns the number of value in the ingest's dictionary, adding
// it if the cache does not know it there, for PutRecord: a record the
// caller knows it will write for many networks is then looked up once,
// not at every write. It returns false when value stays out of the
// dictionary (short, or the dictionary is full): write it with Put.
func (in *Ingest) Record(value []byte) (uint32, bool, error) {
	if len(value) <= minDictValue {
		return 0, false, nil
	}
	k := in.recordCache().key(value)
	if st, ok := in.cache.Get(k); ok && st != seenOnce {
		return st, true, nil
	}
	return in.addDict(k, value)
}

// PutRecord is Put with record number id of the ingest's dictionary, as
// Record returned it.
func (in *Ingest) PutRecord(p netip.Prefix, id uint32) error {
	if id >= in.dictN {
		return fmt.Errorf("kv: write %v into %q: record number %d not in the dictionary", p, in.layer.Name, id)
	}
	in.ref = binary.AppendUvarint(in.ref[:0], uint64(id))
	return in.write(p, kindRef, in.ref, false)
}

func (in *Ingest) recordCache() *recordCache {
	if in.cache == nil {
		in.cache = newRecordCache(in.s.recordCache)
	}
	return in.cache
}

// intern returns the dictionary number of value if it is, or now goes,
// in the dictionary: at its second sight while the cache knows it.
func (in *Ingest) intern(value []byte) (uint32, bool, error) {
	if len(value) <= minDictValue {
		return 0, false, nil
	}
	k := in.recordCache().key(value)
	st, ok := in.cache.Get(k)
	switch {
	case !ok:
		in.cache.Put(k, seenOnce)
		return 0, false, nil
	case st != seenOnce:
		return st, true, nil
	}
	return in.addDict(k, value)
}

// addDict adds value, whose cache key is k, to the dictionary.
func (in *Ingest) addDict(k [2]uint64, value []byte) (uint32, bool, error) {
	if in.dictN == seenOnce {
		return 0, false, nil // full
	}
	if in.dict == nil {
		in.tables++
		in.dictPath = in.s.fs.PathJoin(in.s.tmpDir, fmt.Sprintf("%08x-%08x-%d.sst", in.layer.ID, in.gen, in.tables))
		f, err := in.s.fs.Create(in.dictPath, vfs.WriteCategoryUnspecified)
		if err != nil {
			return 0, false, fmt.Errorf("kv: ingest into %q: %w", in.layer.Name, err)
		}
		in.dict = sstable.NewWriter(objstorageprovider.NewFileWritable(f), in.s.po.MakeWriterOptions(0, in.s.db.TableFormat()))
		in.dictBytes = 0
	}
	id := in.dictN
	var key [dictKeyLen]byte
	if err := in.dict.Set(appendDictKey(key[:0], in.layer.ID, in.gen, id), value); err != nil {
		return 0, false, fmt.Errorf("kv: ingest into %q: write table %s: %w", in.layer.Name, in.dictPath, err)
	}
	in.dictN++
	in.cache.Put(k, id)
	in.dictBytes += dictKeyLen + len(value)
	if in.dictBytes >= in.s.maxTable {
		if err := in.ingestDict(); err != nil {
			return 0, false, err
		}
	}
	return id, true, nil
}

// ingestDict finishes the dictionary's table and ingests it.
func (in *Ingest) ingestDict() error {
	if in.dict == nil {
		return nil
	}
	t := in.dict
	in.dict = nil
	if err := in.finishTable(t, in.dictPath); err != nil {
		return err
	}
	in.dictIngested = in.dictN
	return nil
}

// write writes a data row; a kindPut value goes through the dictionary if
// lookup is set.
func (in *Ingest) write(p netip.Prefix, kind byte, value []byte, lookup bool) error {
	if in.done {
		return fmt.Errorf("kv: write %v into %q: %w", p, in.layer.Name, ErrClosed)
	}
	if err := checkPrefix(p); err != nil {
		return fmt.Errorf("kv: write into %q: %w", in.layer.Name, err)
	}
	appendNetKey(in.key[:genPrefixLen], p)
	if !in.wrote || bytes.Compare(in.key[:], in.max[:]) > 0 {
		in.max, in.wrote = in.key, true
	}
	if kind == kindPut && lookup {
		id, ok, err := in.intern(value)
		if err != nil {
			return err
		}
		if ok {
			in.ref = binary.AppendUvarint(in.ref[:0], uint64(id))
			kind, value = kindRef, in.ref
		}
	}
	if in.batch == nil {
		err := in.writeTable(kind, value)
		if err != nil || in.batch == nil {
			return err
		}
	}
	op := in.batch.SetDeferred(dataKeyLen, valueKindLen+len(value))
	copy(op.Key, in.key[:])
	op.Value[0] = kind
	copy(op.Value[valueKindLen:], value)
	if err := op.Finish(); err != nil {
		return fmt.Errorf("kv: write %v into %q: %w", p, in.layer.Name, err)
	}
	if in.batch.Len() >= in.s.batchSize {
		return in.flushBatch()
	}
	return nil
}

// writeTable adds the row in in.key to the current table, rotating tables
// when they fill or the order breaks. When it switches the ingest to the
// batch path it returns with in.batch set and the row not yet written.
func (in *Ingest) writeTable(kind byte, value []byte) error {
	if in.table != nil && bytes.Compare(in.key[:], in.last[:]) <= 0 {
		short := in.tableRows < in.s.minRun
		if err := in.ingestTable(); err != nil {
			return err
		}
		if short {
			in.batch = in.s.newIngestBatch()
			return nil
		}
	}
	if in.table == nil {
		if err := in.newTable(); err != nil {
			return err
		}
	}
	in.val = append(append(in.val[:0], kind), value...)
	if err := in.table.Set(in.key[:], in.val); err != nil {
		return fmt.Errorf("kv: ingest into %q: write table %s: %w", in.layer.Name, in.tablePath, err)
	}
	in.last = in.key
	in.tableRows++
	in.tableBytes += dataKeyLen + len(in.val)
	if in.tableBytes >= in.s.maxTable {
		return in.ingestTable()
	}
	return nil
}

// newTable starts a table file in the store's temporary directory.
func (in *Ingest) newTable() error {
	in.tables++
	in.tablePath = in.s.fs.PathJoin(in.s.tmpDir, fmt.Sprintf("%08x-%08x-%d.sst", in.layer.ID, in.gen, in.tables))
	f, err := in.s.fs.Create(in.tablePath, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("kv: ingest into %q: %w", in.layer.Name, err)
	}
	in.table = sstable.NewWriter(objstorageprovider.NewFileWritable(f), in.s.po.MakeWriterOptions(0, in.s.db.TableFormat()))
	in.tableRows, in.tableBytes = 0, 0
	return nil
}

// ingestTable finishes the current table (Close syncs it) and ingests it.
func (in *Ingest) ingestTable() error {
	t := in.table
	in.table = nil
	return in.finishTable(t, in.tablePath)
}

// finishTable closes t, the table at path (Close syncs it), and ingests
// it; on an error the file is removed.
func (in *Ingest) finishTable(t *sstable.Writer, path string) error {
	if err := t.Close(); err != nil {
		return errors.Join(fmt.Errorf("kv: ingest into %q: finish table %s: %w", in.layer.Name, path, err), in.s.fs.Remove(path))
	}
	if err := in.s.db.Ingest(context.Background(), []string{path}); err != nil {
		return errors.Join(fmt.Errorf("kv: ingest into %q: ingest table %s: %w", in.layer.Name, path, err), in.s.fs.Remove(path))
	}
	return nil
}

// flush writes what is pending (a table, or a batch unsynced: the synced
// batch of Commit makes it durable, as the write-ahead log is sequential).
func (in *Ingest) flush() error {
	if in.table != nil {
		if err := in.ingestTable(); err != nil {
			return err
		}
	}
	if in.batch != nil {
		return in.flushBatch()
	}
	return nil
}

func (in *Ingest) flushBatch() error {
	if in.batch.Empty() {
		return nil
	}
	if err := in.batch.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("kv: ingest into %q: write batch: %w", in.layer.Name, err)
	}
	in.batch.Reset()
	return nil
}

// writeDict ingests the dictionary's last table.
func (in *Ingest) writeDict() error {
	return in.ingestDict()
}

// resolve returns a copy of the record of a stored data value of this
// ingest, and whether it is a put. A reference is read from the store
// (its table ingested first if need be).
func (in *Ingest) resolve(v []byte) ([]byte, bool, error) {
	if len(v) < valueKindLen {
		return nil, false, fmt.Errorf("kv: ingest into %q: empty value", in.layer.Name)
	}
	switch v[0] {
	case kindPut:
		return bytes.Clone(v[valueKindLen:]), true, nil
	case kindRef:
		id, n := binary.Uvarint(v[valueKindLen:])
		if n <= 0 || id >= uint64(in.dictN) {
			return nil, false, fmt.Errorf("kv: ingest into %q: bad record reference %x", in.layer.Name, v)
		}
		if uint32(id) >= in.dictIngested {
			if err := in.ingestDict(); err != nil {
				return nil, false, err
			}
		}
		var key [dictKeyLen]byte
		rec, closer, err := in.s.db.Get(appendDictKey(key[:0], in.layer.ID, in.gen, uint32(id)))
		if err != nil {
			return nil, false, fmt.Errorf("kv: ingest into %q: record %d: %w", in.layer.Name, id, err)
		}
		defer closer.Close()
		return bytes.Clone(rec), true, nil
	}
	return nil, false, nil
}

// release drops the ingest's table and batch.
func (in *Ingest) release() error {
	var err error
	if in.table != nil {
		// Closing finishes the file; it is removed unread.
		err = errors.Join(in.table.Close(), in.s.fs.Remove(in.tablePath))
		in.table = nil
	}
	if in.dict != nil {
		err = errors.Join(err, in.dict.Close(), in.s.fs.Remove(in.dictPath))
		in.dict = nil
	}
	if in.batch != nil {
		in.batch.Close()
		in.batch = nil
	}
	if err != nil {
		return fmt.Errorf("kv: ingest into %q: drop table: %w", in.layer.Name, err)
	}
	return nil
}

// Commit publishes the ingest atomically and durably: one small synced batch
// adds its generation to the layer's list (Upsert) or makes it the only one
// and deletes the others (Replace). If the layer was dropped meanwhile,
// Commit deletes the rows and returns ErrLayerDropped.
func (in *Ingest) Commit() error {
	if in.done {
		return fmt.Errorf("kv: commit into %q: %w", in.layer.Name, ErrClosed)
	}
	if err := in.flush(); err != nil {
		return errors.Join(err, in.Abort())
	}
	if err := in.writeDict(); err != nil {
		return errors.Join(err, in.Abort())
	}
	in.done = true
	if err := in.release(); err != nil {
		return errors.Join(err, in.deleteRows())
	}
	s := in.s
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.layers[in.layer.Name]
	if m == nil || m.ID != in.layer.ID {
		return errors.Join(fmt.Errorf("kv: commit into %q: %w", in.layer.Name, ErrLayerDropped), in.deleteRows())
	}
	next := *m
	b := s.db.NewBatch()
	defer b.Close()
	g := genMeta{gen: in.gen, sourceID: in.sourceID}
	if in.mode == Replace {
		for _, old := range m.gens {
			lo, hi := genBounds(m.ID, old.gen)
			if err := b.DeleteRange(lo, hi, nil); err != nil {
				return fmt.Errorf("kv: commit into %q: %w", in.layer.Name, err)
			}
		}
		next.gens = []genMeta{g}
	} else {
		next.gens = append(slices.Clip(m.gens), g)
	}
	if err := b.Set(metaKey(next.Name), encodeMeta(&next), nil); err != nil {
		return fmt.Errorf("kv: commit into %q: %w", in.layer.Name, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("kv: commit into %q: %w", in.layer.Name, err)
	}
	s.layers[next.Name] = &next
	return nil
}

// Abort drops the ingest: its rows written so far are deleted (a crash before
// that point leaves them for Open to delete). Abort after Commit or Abort
// returns ErrClosed.
func (in *Ingest) Abort() error {
	if in.done {
		return fmt.Errorf("kv: abort ingest into %q: %w", in.layer.Name, ErrClosed)
	}
	in.done = true
	return errors.Join(in.release(), in.deleteRows())
}

// deleteRows deletes every row of the ingest's generation, unsynced: if the
// deletion is lost, Open deletes the unpublished rows again.
func (in *Ingest) deleteRows() error {
	lo, hi := genBounds(in.layer.ID, in.gen)
	if err := in.s.db.DeleteRange(lo, hi, pebble.NoSync); err != nil {
		return fmt.Errorf("kv: delete rows of ingest into %q: %w", in.layer.Name, err)
	}
	return nil
}
