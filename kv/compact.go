package kv

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// CompactLayer rewrites the generations of the layer called name into one,
// so that scans merge one iterator for it instead of one per upserted file.
// It changes nothing a snapshot shows: the live networks are written, in
// order, into a new generation (tombstones are dropped, as nothing older is
// left for them to hide), which replaces the generations it was made from in
// one synced batch.
//
// Ingests may run meanwhile. Upserts committed during the compaction stay
// on top of the compacted generation; if the layer was replaced or dropped
// meanwhile, the compaction is thrown away and CompactLayer returns nil (the
// layer's generations then were rewritten anyway) or ErrLayerDropped.
//
// Idempotence is kept: the compacted generation carries the newest source
// it merged, so re-upserting that source is still refused, but it is marked
// as merged, so a Replace with that source is not.
func (s *Store) CompactLayer(name string) error {
	sn, err := s.Snapshot()
	if err != nil {
		return fmt.Errorf("kv: compact layer %q: %w", name, err)
	}
	defer sn.Close()
	li := slices.IndexFunc(sn.layers, func(m *layerMeta) bool { return m.Name == name })
	if li < 0 {
		return fmt.Errorf("kv: compact layer %q: %w", name, ErrNoLayer)
	}
	from := sn.layers[li]
	if len(from.gens) <= 1 {
		return nil
	}
	s.mu.Lock()
	in := &Ingest{s: s, layer: from.Layer, mode: Replace, gen: s.nextGen}
	s.nextGen++
	s.mu.Unlock()
	appendGenPrefix(in.key[:0], in.layer.ID, in.gen)
	for e, err := range sn.merge(li) {
		if err == nil {
			// A record that was in a dictionary stays in one.
			id, ok := uint32(0), false
			if e.Record != 0 {
				id, ok, err = in.Record(e.Value)
			}
			switch {
			case err != nil:
			case ok:
				err = in.PutRecord(e.Prefix, id)
			default:
				err = in.Put(e.Prefix, e.Value)
			}
		}
		if err != nil {
			return errors.Join(fmt.Errorf("kv: compact layer %q: %w", name, err), in.Abort())
		}
	}
	if err := in.flush(); err != nil {
		return errors.Join(fmt.Errorf("kv: compact layer %q: %w", name, err), in.Abort())
	}
	if err := in.writeDict(); err != nil {
		return errors.Join(fmt.Errorf("kv: compact layer %q: %w", name, err), in.Abort())
	}
	in.done = true
	if err := in.release(); err != nil {
		return errors.Join(err, in.deleteRows())
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.layers[name]
	if m == nil || m.ID != from.ID {
		return errors.Join(fmt.Errorf("kv: compact layer %q: %w", name, ErrLayerDropped), in.deleteRows())
	}
	if len(m.gens) < len(from.gens) || !slices.Equal(m.gens[:len(from.gens)], from.gens) {
		return in.deleteRows() // replaced meanwhile
	}
	newest := from.gens[len(from.gens)-1]
	next := *m
	next.gens = append([]genMeta{{gen: in.gen, sourceID: newest.sourceID, merged: true}}, m.gens[len(from.gens):]...)
	b := s.db.NewBatch()
	defer b.Close()
	for _, old := range from.gens {
		lo, hi := genBounds(m.ID, old.gen)
		if err := b.DeleteRange(lo, hi, nil); err != nil {
			return fmt.Errorf("kv: compact layer %q: %w", name, err)
		}
	}
	if err := b.Set(metaKey(name), encodeMeta(&next), nil); err != nil {
		return fmt.Errorf("kv: compact layer %q: %w", name, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("kv: compact layer %q: %w", name, err)
	}
	s.layers[name] = &next
	return nil
}
