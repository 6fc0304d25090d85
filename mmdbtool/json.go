package mmdbtool

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/mmdbjson"
)

// maxRecordJSON bounds the JSON form of one record, so that a corrupt
// file whose pointers fan out cannot make one record fill the memory.
const maxRecordJSON = 1 << 26

// textCacheLimit bounds each cache of text made per data offset.
const textCacheLimit = 64 << 20

// textCache keeps text made for data offsets, up to limit bytes: when
// full it is emptied and starts again. Records and the values they share
// through pointers repeat, so most are made once.
type textCache struct {
	m           map[uint][]byte
	size, limit int
}

func newTextCache(limit int) *textCache { return &textCache{m: map[uint][]byte{}, limit: limit} }

func (c *textCache) get(off uint) ([]byte, bool) {
	b, ok := c.m[off]
	return b, ok
}

func (c *textCache) put(off uint, b []byte) {
	if c.size+len(b) > c.limit {
		clear(c.m)
		c.size = 0
	}
	c.m[off] = b
	c.size += len(b)
}

// recordJSON makes the JSON form of a data section's records, exactly
// what mmdbjson.AppendJSON writes for the value format.Decoder.Value
// decodes, but faster: a value that records reach through a pointer
// (MaxMind's and ipatlas's writers share names maps, countries, ... that
// way) is converted once and its JSON reused, up to a memory bound. Only
// the containers outside shared values are walked here: map keys sorted
// (the last of repeated keys kept, as Decoder.Value does), a map with a
// "$type" key wrapped; every scalar and shared value goes through format.
type recordJSON struct {
	path    string
	dec     format.Decoder
	frag    *textCache // JSON of pointer targets
	entries []jsonEntry
	start   int // where the record being made starts in dst
}

type jsonEntry struct {
	key []byte
	val uint
}

func newRecordJSON(path string, dec format.Decoder) *recordJSON {
	return &recordJSON{path: path, dec: dec, frag: newTextCache(textCacheLimit)}
}

// appendRecord appends the JSON form of the record at data offset off.
func (m *recordJSON) appendRecord(dst []byte, off uint) ([]byte, error) {
	m.start = len(dst)
	dst, _, err := m.appendAt(dst, off, 0)
	if err != nil {
		return dst, fmt.Errorf("%s: record at data offset %d: %w", m.path, off, err)
	}
	return dst, nil
}

func (m *recordJSON) appendAt(dst []byte, off uint, depth int) ([]byte, uint, error) {
	if depth > format.MaxDepth {
		return dst, 0, fmt.Errorf("data nested deeper than %d", format.MaxDepth)
	}
	if len(dst)-m.start > maxRecordJSON {
		return dst, 0, fmt.Errorf("record expands to more than %d bytes of JSON", maxRecordJSON)
	}
	d := m.dec
	kind, size, payload, err := d.Control(off)
	if err != nil {
		return dst, 0, err
	}
	switch kind {
	case format.KindPointer:
		f, err := m.fragment(size)
		if err != nil {
			return dst, 0, err
		}
		return append(dst, f...), payload, nil
	case format.KindSlice:
		if size > uint(len(d.Bytes()))-payload {
			return dst, 0, fmt.Errorf("array of %d entries at %d exceeds the data section", size, off)
		}
		dst = append(dst, '[')
		next := payload
		for i := range size {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, next, err = m.appendAt(dst, next, depth+1); err != nil {
				return dst, 0, err
			}
		}
		return append(dst, ']'), next, nil
	case format.KindMap:
		return m.appendMap(dst, off, size, payload, depth)
	}
	v, next, err := d.Value(off)
	if err != nil {
		return dst, 0, err
	}
	return mmdbjson.AppendJSON(dst, v), next, nil
}

// appendMap appends the map of size entries at off, whose entries start
// at payload.
func (m *recordJSON) appendMap(dst []byte, off, size, payload uint, depth int) ([]byte, uint, error) {
	d := m.dec
	if size > (uint(len(d.Bytes()))-payload)/2 {
		return dst, 0, fmt.Errorf("map of %d entries at %d exceeds the data section", size, off)
	}
	base := len(m.entries)
	defer func() { m.entries = m.entries[:base] }()
	next := payload
	typed := false
	for range size {
		key, n, err := d.StringAt(next)
		if err != nil {
			return dst, 0, err
		}
		typed = typed || string(key) == "$type"
		m.entries = append(m.entries, jsonEntry{key, n})
		if next, err = d.Skip(n); err != nil {
			return dst, 0, err
		}
	}
	es := m.entries[base:]
	// Sorted by key, repeated keys in their order, the last one kept.
	slices.SortStableFunc(es, func(a, b jsonEntry) int { return bytes.Compare(a.key, b.key) })
	if typed {
		dst = append(dst, `{"$type":"map","value":`...)
	}
	dst = append(dst, '{')
	first := true
	for i, e := range es {
		if i+1 < len(es) && bytes.Equal(e.key, es[i+1].key) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = mmdbjson.AppendJSON(dst, format.String(e.key))
		dst = append(dst, ':')
		var err error
		if dst, _, err = m.appendAt(dst, e.val, depth+1); err != nil {
			return dst, 0, err
		}
	}
	dst = append(dst, '}')
	if typed {
		dst = append(dst, '}')
	}
	return dst, next, nil
}

// fragment returns the JSON of the value at a pointer's target.
func (m *recordJSON) fragment(target uint) ([]byte, error) {
	if f, ok := m.frag.get(target); ok {
		return f, nil
	}
	kind, _, _, err := m.dec.Control(target)
	if err != nil {
		return nil, err
	}
	if kind == format.KindPointer {
		return nil, fmt.Errorf("pointer to a pointer at %d", target)
	}
	v, _, err := m.dec.Value(target)
	if err != nil {
		return nil, err
	}
	f := mmdbjson.AppendJSON(nil, v)
	m.frag.put(target, f)
	return f, nil
}
