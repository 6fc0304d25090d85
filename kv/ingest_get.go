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
// reads only this ingest's own rows, not the layer's published ones.
//
// Get first writes the pending rows to the store (unsynced, still
// invisible to snapshots), so it costs a small batch commit when rows are
// pending: callers should ask only when they have reason to (the builder
// asks on a Bloom filter hit).
func (in *Ingest) Get(p netip.Prefix) ([]byte, bool, error) {
	if in.done {
		return nil, false, fmt.Errorf("kv: get %v from ingest into %q: %w", p, in.layer.Name, ErrClosed)
	}
	if err := checkPrefix(p); err != nil {
		return nil, false, fmt.Errorf("kv: get from ingest into %q: %w", in.layer.Name, err)
	}
	if err := in.flush(); err != nil {
		return nil, false, err
	}
	var key [dataKeyLen]byte
	copy(key[:genPrefixLen], in.key[:genPrefixLen])
	appendNetKey(key[:genPrefixLen], p)
	v, closer, err := in.s.db.Get(key[:])
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("kv: get %v from ingest into %q: %w", p, in.layer.Name, err)
	}
	defer closer.Close()
	if len(v) < valueKindLen || v[0] != kindPut {
		return nil, false, nil
	}
	return bytes.Clone(v[valueKindLen:]), true, nil
}
