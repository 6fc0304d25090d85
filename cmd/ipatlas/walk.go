package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/mmdbtree"
)

// dbTree is a .mmdb file mapped for walks over its search tree (export,
// diff), an mmdbtree.Tree with the names this package's code uses. Not
// safe for concurrent use.
type dbTree struct {
	*mmdbtree.Tree
	path string
	dec  format.Decoder
}

// openDBTree maps and parses the .mmdb file at path.
func openDBTree(path string) (*dbTree, error) {
	t, err := mmdbtree.Open(path)
	if err != nil {
		return nil, err
	}
	return &dbTree{Tree: t, path: path, dec: t.Dec}, nil
}

// value decodes the record at data offset off.
func (t *dbTree) value(off uint) (format.Value, error) {
	v, _, err := t.dec.Value(off)
	if err != nil {
		return nil, fmt.Errorf("%s: record at data offset %d: %w", t.path, off, err)
	}
	return v, nil
}

// inTeredoPath reports whether the first depth bits of path lie in 2001::/32.
func inTeredoPath(path [16]byte, depth int) bool {
	return depth >= 32 && path[0] == 0x20 && path[1] == 0x01 && path[2] == 0 && path[3] == 0
}

// aliasMode says which aliases of the IPv4 subtree a walk follows.
type aliasMode int

const (
	aliasNone   aliasMode = iota // none: each network once, IPv4 as IPv4
	aliasTeredo                  // those inside 2001::/32 (Teredo)
	aliasAll                     // all of them
)

func parseAliasMode(s string) (aliasMode, error) {
	switch s {
	case "none":
		return aliasNone, nil
	case "teredo":
		return aliasTeredo, nil
	case "all":
		return aliasAll, nil
	}
	return 0, usagef("--aliases %q: want none, teredo or all", s)
}

// follows reports whether a walk in mode m enters an alias met at the
// given path and depth.
func (m aliasMode) follows(path [16]byte, depth int) bool {
	return m == aliasAll || m == aliasTeredo && inTeredoPath(path, depth)
}

// walk calls fn for every network with data, in address order, with the
// data offset of its record. Aliases of the IPv4 subtree are followed as
// mode says, their networks given as the IPv6 networks they are.
func (t *dbTree) walk(mode aliasMode, fn func(p netip.Prefix, off uint) error) error {
	return t.Walk(mode.follows, fn)
}

// maxRecordJSON bounds the JSON form of one record, so that a corrupt
// file whose pointers fan out cannot make one record fill the memory.
const maxRecordJSON = 1 << 26

// recordJSON makes the JSON form of a tree's records, exactly what
// format.AppendJSON writes for the value format.Decoder.Value decodes,
// but faster: a value that records reach through a pointer (MaxMind's and
// ipatlas's writers share names maps, countries, ... that way) is
// converted once and its JSON reused, up to a memory bound. Only the
// containers outside shared values are walked here: map keys sorted (the
// last of repeated keys kept, as Decoder.Value does), a map with a "$type"
// key wrapped; every scalar and shared value goes through format.
type recordJSON struct {
	t       *dbTree
	frag    map[uint][]byte // JSON of pointer targets
	size    int             // bytes held in frag
	limit   int
	entries []jsonEntry
	start   int // where the record being made starts in dst
}

type jsonEntry struct {
	key []byte
	val uint
}

func newRecordJSON(t *dbTree) *recordJSON {
	return &recordJSON{t: t, frag: map[uint][]byte{}, limit: 64 << 20}
}

// appendRecord appends the JSON form of the record at data offset off.
func (m *recordJSON) appendRecord(dst []byte, off uint) ([]byte, error) {
	m.start = len(dst)
	dst, _, err := m.appendAt(dst, off, 0)
	if err != nil {
		return dst, fmt.Errorf("%s: record at data offset %d: %w", m.t.path, off, err)
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
	d := m.t.dec
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
		if size > (uint(len(d.Bytes()))-payload)/2 {
			return dst, 0, fmt.Errorf("map of %d entries at %d exceeds the data section", size, off)
		}
		base := len(m.entries)
		next := payload
		typed := false
		for range size {
			var key []byte
			if key, next, err = d.StringAt(next); err != nil {
				return dst, 0, err
			}
			typed = typed || string(key) == "$type"
			m.entries = append(m.entries, jsonEntry{key, next})
			if next, err = d.Skip(next); err != nil {
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
			dst = format.AppendJSON(dst, format.String(e.key))
			dst = append(dst, ':')
			if dst, _, err = m.appendAt(dst, e.val, depth+1); err != nil {
				return dst, 0, err
			}
		}
		m.entries = m.entries[:base]
		dst = append(dst, '}')
		if typed {
			dst = append(dst, '}')
		}
		return dst, next, nil
	}
	v, next, err := d.Value(off)
	if err != nil {
		return dst, 0, err
	}
	return format.AppendJSON(dst, v), next, nil
}

// fragment returns the JSON of the value at a pointer's target.
func (m *recordJSON) fragment(target uint) ([]byte, error) {
	if f, ok := m.frag[target]; ok {
		return f, nil
	}
	d := m.t.dec
	kind, _, _, err := d.Control(target)
	if err != nil {
		return nil, err
	}
	if kind == format.KindPointer {
		return nil, fmt.Errorf("pointer to a pointer at %d", target)
	}
	v, _, err := d.Value(target)
	if err != nil {
		return nil, err
	}
	f := format.AppendJSON(nil, v)
	if m.size+len(f) > m.limit {
		clear(m.frag)
		m.size = 0
	}
	m.frag[target] = f
	m.size += len(f)
	return f, nil
}
