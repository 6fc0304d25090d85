package kv

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"

	"github.com/cockroachdb/pebble/v2"
)

// Get returns a copy of the record that an earlier Put of this ingest gave
// p, and whether there is one (a Delete, or no write, gives false). It
// reads only this ingest's own rows, not the layer's published ones. If the
// layer was dropped meanwhile, Get may return ErrLayerDropped.
//
// For sorted input Get costs nothing: a network beyond every key written so
// far was not written, and the last row of the table being built is at hand.
// Otherwise Get first writes the pending rows to the store (unsynced, still
// invisible to snapshots: a small batch commit, or ingesting the table so
// far), so callers should ask only when they have reason to (the builder
// asks on a Bloom filter hit).
func (in *Ingest) Get(p netip.Prefix) ([]byte, bool, error) {
	if in.done {
		return nil, false, fmt.Errorf("kv: get %v from ingest into %q: %w", p, in.layer.Name, ErrClosed)
	}
	if err := checkPrefix(p); err != nil {
		return nil, false, fmt.Errorf("kv: get from ingest into %q: %w", in.layer.Name, err)
	}
	var key [dataKeyLen]byte
	copy(key[:genPrefixLen], in.key[:genPrefixLen])
	appendNetKey(key[:genPrefixLen], p)
	if !in.wrote || bytes.Compare(key[:], in.max[:]) > 0 {
		return nil, false, nil
	}
	if in.table != nil && key == in.last {
		// The newest write of the key: a later one would have gone into this
		// table after it, or broken the order and ended the table.
		v, ok, err := in.resolve(in.val)
		if !ok || err != nil {
			return nil, false, err
		}
		return v, true, nil
	}
	if err := in.flush(); err != nil {
		return nil, false, err
	}
	v, closer, err := in.s.db.Get(key[:])
	if errors.Is(err, pebble.ErrNotFound) {
		// DropLayer deletes in-flight rows too: not found may mean dropped.
		return nil, false, in.checkLayer()
	}
	if err != nil {
		return nil, false, fmt.Errorf("kv: get %v from ingest into %q: %w", p, in.layer.Name, err)
	}
	defer closer.Close()
	if err := in.checkLayer(); err != nil {
		return nil, false, err
	}
	rec, ok, err := in.resolve(v)
	if !ok || err != nil {
		return nil, false, err
	}
	return rec, true, nil
}

// checkLayer returns ErrLayerDropped if the ingest's layer was dropped.
func (in *Ingest) checkLayer() error {
	in.s.mu.Lock()
	m := in.s.layers[in.layer.Name]
	in.s.mu.Unlock()
	if m == nil || m.ID != in.layer.ID {
		return fmt.Errorf("kv: get from ingest into %q: %w", in.layer.Name, ErrLayerDropped)
	}
	return nil
}

// Networks calls fn for every network this ingest has written so far
// (put or deleted), in key order, and stops at fn's first error. Like Get
// it first writes the pending rows to the store. It lets a caller that
// skipped remembering networks while they came in order catch up when
// the order breaks.
func (in *Ingest) Networks(fn func(netip.Prefix) error) error {
	if in.done {
		return fmt.Errorf("kv: networks of ingest into %q: %w", in.layer.Name, ErrClosed)
	}
	if !in.wrote {
		return nil
	}
	if err := in.flush(); err != nil {
		return err
	}
	lo, _ := genBounds(in.layer.ID, in.gen)
	it, err := in.s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: dictStart(in.layer.ID, in.gen)})
	if err != nil {
		return fmt.Errorf("kv: networks of ingest into %q: %w", in.layer.Name, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != dataKeyLen {
			return errors.Join(fmt.Errorf("kv: networks of ingest into %q: malformed key %x", in.layer.Name, k), it.Close())
		}
		p, err := decodeNetKey(k[genPrefixLen:])
		if err == nil {
			err = fn(p)
		}
		if err != nil {
			return errors.Join(err, it.Close())
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("kv: networks of ingest into %q: %w", in.layer.Name, err)
	}
	return nil
}
