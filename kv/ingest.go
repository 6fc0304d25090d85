package kv

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/cockroachdb/pebble/v2"
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
// layer, written in bounded unsynced batches and published by Commit. Until
// then no snapshot sees any of it. An Ingest is not safe for concurrent use;
// several Ingests may run at once.
type Ingest struct {
	s        *Store
	layer    Layer
	mode     Mode
	sourceID string
	gen      uint32
	batch    *pebble.Batch
	// key holds the data key being built; key[:genPrefixLen] is fixed.
	key  [dataKeyLen]byte
	done bool
}

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
		(mode == Upsert || len(m.gens) == 1) {
		return nil, fmt.Errorf("kv: begin ingest of %q into %q: %w", sourceID, layer, ErrAlreadyIngested)
	}
	if s.nextGen == ^uint32(0) {
		return nil, fmt.Errorf("kv: begin ingest into %q: out of generation numbers", layer)
	}
	in := &Ingest{s: s, layer: m.Layer, mode: mode, sourceID: sourceID, gen: s.nextGen,
		batch: s.newIngestBatch()}
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
	return in.write(p, kindPut, value)
}

// Delete writes a tombstone for p: once committed, p has no record in this
// layer (in Upsert mode it hides the record older ingests gave p).
func (in *Ingest) Delete(p netip.Prefix) error {
	return in.write(p, kindTombstone, nil)
}

func (in *Ingest) write(p netip.Prefix, kind byte, value []byte) error {
	if in.done {
		return fmt.Errorf("kv: write %v into %q: %w", p, in.layer.Name, ErrClosed)
	}
	if err := checkPrefix(p); err != nil {
		return fmt.Errorf("kv: write into %q: %w", in.layer.Name, err)
	}
	appendNetKey(in.key[:genPrefixLen], p)
	op := in.batch.SetDeferred(dataKeyLen, valueKindLen+len(value))
	copy(op.Key, in.key[:])
	op.Value[0] = kind
	copy(op.Value[valueKindLen:], value)
	if err := op.Finish(); err != nil {
		return fmt.Errorf("kv: write %v into %q: %w", p, in.layer.Name, err)
	}
	if in.batch.Len() >= in.s.batchSize {
		return in.flush()
	}
	return nil
}

// flush writes the pending rows to the store, unsynced: the synced batch of
// Commit makes them durable (the write-ahead log is sequential).
func (in *Ingest) flush() error {
	if in.batch.Empty() {
		return nil
	}
	if err := in.batch.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("kv: ingest into %q: write batch: %w", in.layer.Name, err)
	}
	in.batch.Reset()
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
	in.done = true
	in.batch.Close()
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
	in.batch.Close()
	return in.deleteRows()
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
