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
	// step, unless Record is not zero; copy it to keep it.
	Value []byte
	// Record, when not zero, names Value within the iteration: entries
	// with the same Record have equal Values, and such a Value stays valid
	// until the iteration ends. (Records stored once per ingest and
	// referred to by number have one; zero says nothing.) Its high 32
	// bits name a dictionary and its low 32 bits a number in it, numbers
	// dense from 0: a caller can index slices with them.
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
	// dict is the generation's dictionary of records, by number.
	dict [][]byte
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
		defer func() {
			for _, src := range h {
				src.it.Close()
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
						if n <= 0 || id >= uint64(len(src.dict)) {
							yield(Entry{}, fmt.Errorf("kv: scan layer %q: bad record reference %x at %x", sn.layers[src.layer].Name, v, src.it.Key()))
							return
						}
						e.Value, e.Record = src.dict[id], uint64(src.rank+1)<<32|id
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
			dict, err := sn.readDict(m, m.gens[gi].gen)
			if err != nil {
				return h, err
			}
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
			h = append(h, &source{it: it, rank: rank, layer: li, net: k[genPrefixLen:], dict: dict})
			rank++
		}
	}
	return h, nil
}

// readDict reads the dictionary of generation gen of layer m: its records
// by number, in chunks of at least 1 MiB (no buffer grown by copying).
func (sn *Snapshot) readDict(m *layerMeta, gen uint32) ([][]byte, error) {
	_, hi := genBounds(m.ID, gen)
	it, err := sn.snap.NewIter(&pebble.IterOptions{LowerBound: dictStart(m.ID, gen), UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("kv: scan layer %q: %w", m.Name, err)
	}
	var dict [][]byte
	var chunk []byte
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != dictKeyLen || binary.BigEndian.Uint32(k[dictKeyLen-4:]) != uint32(len(dict)) {
			return nil, errors.Join(fmt.Errorf("kv: scan layer %q: malformed dictionary key %x", m.Name, k), it.Close())
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, errors.Join(fmt.Errorf("kv: scan layer %q: %w", m.Name, err), it.Close())
		}
		if len(chunk)+len(v) > cap(chunk) {
			chunk = make([]byte, 0, max(1<<20, len(v)))
		}
		n := len(chunk)
		chunk = append(chunk, v...)
		dict = append(dict, chunk[n:len(chunk):len(chunk)])
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("kv: scan layer %q: %w", m.Name, err)
	}
	return dict, nil
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
