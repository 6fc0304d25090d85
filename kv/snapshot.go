package kv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// Snapshot is a consistent, read-only view of the store: ingests committed
// after it was taken, and layers dropped or changed since, do not show. Its
// methods may be called from several goroutines, but each iteration of All is
// used by one.
type Snapshot struct {
	s    *Store
	snap *pebble.Snapshot
	// layers are the layers as of the snapshot, with their generations.
	layers []*layerMeta
}

// Snapshot takes a consistent view of the store. Close it when done: it pins
// the data it sees.
func (s *Store) Snapshot() (*Snapshot, error) {
	snap := s.db.NewSnapshot()
	metas, _, err := readMeta(snap)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("kv: snapshot: %w", err), snap.Close())
	}
	slices.SortFunc(metas, func(a, b *layerMeta) int { return compareLayers(a.Layer, b.Layer) })
	return &Snapshot{s: s, snap: snap, layers: metas}, nil
}

// Close releases the snapshot.
func (sn *Snapshot) Close() error {
	if err := sn.snap.Close(); err != nil {
		return fmt.Errorf("kv: close snapshot: %w", err)
	}
	return nil
}

// Layers returns the layers as of the snapshot, by priority descending, then ID.
func (sn *Snapshot) Layers() []Layer {
	out := make([]Layer, len(sn.layers))
	for i, m := range sn.layers {
		out[i] = m.Layer
	}
	return out
}

// Entry is one live network of one layer.
type Entry struct {
	Prefix netip.Prefix
	Layer  Layer
	// Value is the record. It is valid until the iteration takes its next
	// step; copy it to keep it.
	Value []byte
	// Record, when not zero, names Value within the iteration: entries
	// with the same Record have equal Values. (Records stored once per
	// ingest and referred to by number have one; zero says nothing.) Its
	// high 32 bits name a dictionary and its low 32 bits a number in it,
	// numbers dense from 0.
	Record uint64
}

// source is one generation of one layer being merged by All.
type source struct {
	it *pebble.Iterator
	// rank orders sources that are at the same network: layer priority
	// descending, layer ID ascending, then newer generation first.
	rank  int
	layer int // index into Snapshot.layers
	net   []byte
	gen   uint32
	// dict reads the generation's dictionary, opened at the first
	// reference.
	dict *pebble.Iterator
}

// before reports whether a sorts before b in the merged order.
func (a *source) before(b *source) bool {
	if c := bytes.Compare(a.net, b.net); c != 0 {
		return c < 0
	}
	return a.rank < b.rank
}

// All yields every live network of every layer, one Entry per network and
// layer, in the order the compiler needs: by start address in the IPv6 tree's
// space (IPv4 a.b.c.d/n sorts as ::a.b.c.d/(96+n), so all of IPv4 comes
// first), then prefix length ascending (a network before the networks inside
// it), then layer priority descending, then layer ID ascending.
//
// Within a layer the newest generation's row for a network wins, and a
// tombstone hides the network. After an error All yields nothing more.
func (sn *Snapshot) All() iter.Seq2[Entry, error] {
	return sn.merge(-1)
}

// merge yields the merged rows of every layer, or of sn.layers[only] alone
// if only >= 0.
func (sn *Snapshot) merge(only int) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		h, err := sn.openSources(only)
		dc := newDictCache(sn.s.dictCache, sn.s.dictBlock)
		all := slices.Clone(h)
		defer func() {
			for _, src := range h {
				src.it.Close()
			}
			for _, src := range all {
				if src.dict != nil {
					src.dict.Close()
				}
			}
		}()
		if err != nil {
			yield(Entry{}, err)
			return
		}
		heapInit(h)
		var last [netKeyLen]byte
		lastLayer := -1
		for len(h) > 0 {
			src := h[0]
			dup := src.layer == lastLayer && bytes.Equal(src.net, last[:])
			if !dup {
				lastLayer = src.layer
				copy(last[:], src.net)
				v, err := src.it.ValueAndErr()
				if err != nil {
					yield(Entry{}, fmt.Errorf("kv: scan layer %q: %w", sn.layers[src.layer].Name, err))
					return
				}
				if len(v) < valueKindLen {
					yield(Entry{}, fmt.Errorf("kv: scan layer %q: empty value at %x", sn.layers[src.layer].Name, src.it.Key()))
					return
				}
				if v[0] == kindPut || v[0] == kindRef {
					p, err := decodeNetKey(src.net)
					if err != nil {
						yield(Entry{}, fmt.Errorf("kv: scan layer %q: %w", sn.layers[src.layer].Name, err))
						return
					}
					e := Entry{Prefix: p, Layer: sn.layers[src.layer].Layer, Value: v[valueKindLen:]}
					if v[0] == kindRef {
						id, n := binary.Uvarint(v[valueKindLen:])
						var rec []byte
						if n > 0 && id < 1<<32 {
							rec, err = dc.get(sn, src, uint32(id))
						}
						if rec == nil || err != nil {
							if err == nil {
								err = fmt.Errorf("bad record reference %x at %x", v, src.it.Key())
							}
							yield(Entry{}, fmt.Errorf("kv: scan layer %q: %w", sn.layers[src.layer].Name, err))
							return
						}
						e.Value, e.Record = rec, uint64(src.rank+1)<<32|id
					}
					if !yield(e, nil) {
						return
					}
				}
			}
			if src.it.Next() {
				src.net = src.it.Key()[genPrefixLen:]
				heapFix0(h)
				continue
			}
			if err := src.it.Error(); err != nil {
				yield(Entry{}, fmt.Errorf("kv: scan layer %q: %w", sn.layers[src.layer].Name, err))
				return
			}
			src.it.Close()
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
			heapFix0(h)
		}
	}
}

// openSources opens one iterator per published generation (of layer only,
// if only >= 0), positioned at its first row; empty generations are left out.
func (sn *Snapshot) openSources(only int) ([]*source, error) {
	var h []*source
	rank := 0
	for li, m := range sn.layers {
		if only >= 0 && li != only {
			continue
		}
		for gi := len(m.gens) - 1; gi >= 0; gi-- {
			lo, _ := genBounds(m.ID, m.gens[gi].gen)
			it, err := sn.snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: dictStart(m.ID, m.gens[gi].gen)})
			if err != nil {
				return h, fmt.Errorf("kv: scan layer %q: %w", m.Name, err)
			}
			if !it.First() {
				err := it.Error()
				it.Close()
				if err != nil {
					return h, fmt.Errorf("kv: scan layer %q: %w", m.Name, err)
				}
				continue
			}
			k := it.Key()
			if len(k) != dataKeyLen {
				it.Close()
				return h, fmt.Errorf("kv: scan layer %q: malformed key %x", m.Name, k)
			}
			h = append(h, &source{it: it, rank: rank, layer: li, net: k[genPrefixLen:], gen: m.gens[gi].gen})
			rank++
		}
	}
	return h, nil
}

// Bounds of the dictionary records a scan keeps in memory.
const (
	defaultDictCache = 256 << 20 // bytes
	dictBlockRecords = 64        // records read at a time
)

// dictCache holds blocks of consecutive dictionary records that a scan
// read lately, up to a number of bytes (the oldest block out first).
// Numbers are given in order of first use, so the rows of a generation
// refer mostly to blocks read lately.
type dictCache struct {
	blocks map[uint64]*dictBlock // by source rank << 32 | first number
	fifo   []uint64
	bytes  int
	limit  int
	block  int // records a block
}

type dictBlock struct {
	recs [][]byte
	size int
}

func newDictCache(limit, block int) *dictCache {
	return &dictCache{blocks: map[uint64]*dictBlock{}, limit: limit, block: block}
}

// get returns record id of src's dictionary, or nil if it has none; it
// is valid until the next call.
func (dc *dictCache) get(sn *Snapshot, src *source, id uint32) ([]byte, error) {
	first := id - id%uint32(dc.block)
	key := uint64(src.rank)<<32 | uint64(first)
	b := dc.blocks[key]
	if b == nil {
		var err error
		if b, err = dc.load(sn, src, first); err != nil {
			return nil, err
		}
		for dc.bytes+b.size > dc.limit && len(dc.fifo) > 0 {
			old := dc.fifo[0]
			dc.fifo = dc.fifo[1:]
			dc.bytes -= dc.blocks[old].size
			delete(dc.blocks, old)
		}
		dc.blocks[key] = b
		dc.fifo = append(dc.fifo, key)
		dc.bytes += b.size
	}
	if i := id - first; int(i) < len(b.recs) {
		return b.recs[i], nil
	}
	return nil, nil
}

// load reads the records first, first+1, ... of src's dictionary, up to
// a block's worth.
func (dc *dictCache) load(sn *Snapshot, src *source, first uint32) (*dictBlock, error) {
	m := sn.layers[src.layer]
	if src.dict == nil {
		_, hi := genBounds(m.ID, src.gen)
		it, err := sn.snap.NewIter(&pebble.IterOptions{LowerBound: dictStart(m.ID, src.gen), UpperBound: hi})
		if err != nil {
			return nil, err
		}
		src.dict = it
	}
	var key [dictKeyLen]byte
	b := &dictBlock{}
	var buf []byte
	it := src.dict
	for ok := it.SeekGE(appendDictKey(key[:0], m.ID, src.gen, first)); ok && len(b.recs) < dc.block; ok = it.Next() {
		k := it.Key()
		if len(k) != dictKeyLen {
			return nil, fmt.Errorf("malformed dictionary key %x", k)
		}
		if binary.BigEndian.Uint32(k[dictKeyLen-4:]) != first+uint32(len(b.recs)) {
			break
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		if buf == nil {
			buf = make([]byte, 0, 64*len(v)+4096)
		}
		if len(buf)+len(v) > cap(buf) {
			buf = make([]byte, 0, max(2*cap(buf), len(v)))
		}
		n := len(buf)
		buf = append(buf, v...)
		b.recs = append(b.recs, buf[n:len(buf):len(buf)])
		b.size += len(v) + 24
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	return b, nil
}

// heapInit orders h as a binary min-heap by source.before.
func heapInit(h []*source) {
	for i := len(h)/2 - 1; i >= 0; i-- {
		heapDown(h, i)
	}
}

// heapFix0 restores the heap after h[0] changed.
func heapFix0(h []*source) {
	if len(h) > 1 {
		heapDown(h, 0)
	}
}

func heapDown(h []*source, i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && h[r].before(h[l]) {
			j = r
		}
		if !h[j].before(h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// LayerStats counts one layer's live networks.
type LayerStats struct {
	Layer Layer
	// Networks is the number of live networks in the layer.
	Networks int64
	// Generations is the number of published generations (ingests) the
	// layer's networks are spread over.
	Generations int
}

// Stats describes the store as of a snapshot.
type Stats struct {
	// Layers, by priority descending, then ID.
	Layers []LayerStats
	// DiskBytes is the approximate size of the whole store on disk
	// (tables, logs, manifests), as of now rather than as of the snapshot.
	DiskBytes uint64
}

// Stats counts the live networks of every layer. It scans the whole
// snapshot, so it takes as long as All.
func (sn *Snapshot) Stats() (Stats, error) {
	st := Stats{Layers: make([]LayerStats, len(sn.layers))}
	idx := make(map[uint32]int, len(sn.layers))
	for i, m := range sn.layers {
		st.Layers[i] = LayerStats{Layer: m.Layer, Generations: len(m.gens)}
		idx[m.ID] = i
	}
	for e, err := range sn.All() {
		if err != nil {
			return Stats{}, err
		}
		st.Layers[idx[e.Layer.ID]].Networks++
	}
	st.DiskBytes = sn.s.db.Metrics().DiskSpaceUsage()
	return st, nil
}
