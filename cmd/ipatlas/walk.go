package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"slices"

	"github.com/ipatlas/ipatlas/format"
)

// dbTree is a .mmdb file read whole, for walks over its search tree
// (export, diff). It reads any valid MMDB file; a corrupt one gives an
// error, never a panic or an endless walk. Not safe for concurrent use.
type dbTree struct {
	path  string
	db    *format.Database
	dec   format.Decoder
	nodes uint // node count
	rs    uint // record size
	bits  int  // 32 (IPv4 tree) or 128 (IPv6 tree)
	// ipv4Root is the record that 96 zero bits lead to in an IPv6 tree,
	// the root of its IPv4 subtree, when that is a node reached at depth
	// 96; else it is ^0 (no IPv4 subtree, so nothing can alias one).
	ipv4Root uint
	// budget is the number of node visits left to walks of this tree,
	// so that a corrupt tree (cycles, subtrees shared by many paths)
	// cannot make a walk run for ever.
	budget int
}

// openDBTree reads and parses the .mmdb file at path.
func openDBTree(path string) (*dbTree, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	db, err := format.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	md := db.Metadata
	t := &dbTree{path: path, db: db, dec: db.Decoder(), nodes: uint(md.NodeCount), rs: uint(md.RecordSize), bits: 32, ipv4Root: ^uint(0)}
	switch md.RecordSize {
	case 24, 28, 32:
	default:
		return nil, fmt.Errorf("%s: unsupported record size %d", path, md.RecordSize)
	}
	if uint(len(db.Tree)) < t.nodes*format.NodeBytes(t.rs) {
		return nil, fmt.Errorf("%s: search tree of %d nodes does not fit in the file", path, t.nodes)
	}
	switch md.IPVersion {
	case 4:
	case 6:
		t.bits = 128
		r, i := uint(0), 0
		for ; i < 96 && r < t.nodes; i++ {
			r, _ = t.children(r)
		}
		if i == 96 && r < t.nodes {
			t.ipv4Root = r
		}
	default:
		return nil, fmt.Errorf("%s: unsupported ip_version %d", path, md.IPVersion)
	}
	// A valid tree is walked once, plus once per alias of its IPv4
	// subtree (three in MaxMind's files).
	t.budget = 64*int(t.nodes) + 1024
	return t, nil
}

// children returns the two records of node n (n < t.nodes).
func (t *dbTree) children(n uint) (left, right uint) {
	return format.ReadNode(t.db.Tree, t.rs, n)
}

// visit spends one node visit of the walk budget.
func (t *dbTree) visit() error {
	if t.budget--; t.budget < 0 {
		return fmt.Errorf("%s: invalid search tree: nodes reached too many times (a cycle or a shared subtree)", t.path)
	}
	return nil
}

// offset returns the data-section offset that record r (> t.nodes)
// points to.
func (t *dbTree) offset(r uint) (uint, error) {
	off := r - t.nodes - format.DataSectionSeparatorSize
	if r < t.nodes+format.DataSectionSeparatorSize || off >= uint(len(t.db.Data)) {
		return 0, fmt.Errorf("%s: invalid search tree: record %d points outside the data section (%d bytes)", t.path, r, len(t.db.Data))
	}
	return off, nil
}

// value decodes the record at data offset off.
func (t *dbTree) value(off uint) (format.Value, error) {
	v, _, err := t.dec.Value(off)
	if err != nil {
		return nil, fmt.Errorf("%s: record at data offset %d: %w", t.path, off, err)
	}
	return v, nil
}

// isAlias reports whether record r, met at the given depth and path,
// is an alias of the IPv4 subtree: the subtree's root reached from
// anywhere but ::/96 (::ffff:0:0/96, 2001::/32 and 2002::/16 in MaxMind's
// files).
func (t *dbTree) isAlias(r uint, depth int, path *[16]byte) bool {
	return r == t.ipv4Root && (depth != 96 || [12]byte(path[:12]) != [12]byte{})
}

// treePathPrefix turns the first depth bits of path into a prefix of the
// address space as the tree holds it: IPv4 in an IPv4 tree, IPv6 in an
// IPv6 tree except inside ::/96 at depth 96 or more, given as IPv4.
func treePathPrefix(bits int, path [16]byte, depth int) netip.Prefix {
	if bits == 32 {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(path[:4])), depth)
	}
	if depth >= 96 && [12]byte(path[:12]) == [12]byte{} {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(path[12:])), depth-96)
	}
	return netip.PrefixFrom(netip.AddrFrom16(path), depth)
}

func setPathBit(path *[16]byte, i int)   { path[i/8] |= 0x80 >> (i % 8) }
func clearPathBit(path *[16]byte, i int) { path[i/8] &^= 0x80 >> (i % 8) }

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
	type frame struct {
		r     uint
		depth int
		path  [16]byte
	}
	stack := []frame{{r: 0}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch {
		case f.r == t.nodes: // no data
			continue
		case f.r > t.nodes:
			off, err := t.offset(f.r)
			if err != nil {
				return err
			}
			if err := fn(treePathPrefix(t.bits, f.path, f.depth), off); err != nil {
				return err
			}
			continue
		}
		if t.isAlias(f.r, f.depth, &f.path) && !mode.follows(f.path, f.depth) {
			continue
		}
		if f.depth >= t.bits {
			return fmt.Errorf("%s: invalid search tree: node %d below the last bit at %s", t.path, f.r, treePathPrefix(t.bits, f.path, f.depth))
		}
		if err := t.visit(); err != nil {
			return err
		}
		left, right := t.children(f.r)
		rf := frame{r: right, depth: f.depth + 1, path: f.path}
		setPathBit(&rf.path, f.depth)
		stack = append(stack, rf, frame{r: left, depth: f.depth + 1, path: f.path})
	}
	return nil
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
