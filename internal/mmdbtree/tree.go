package mmdbtree

import (
	"fmt"
	"iter"
	"net/netip"
	"sync/atomic"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/mmapfile"
	"github.com/ipatlas/ipatlas/reader"
)

// Tree is a .mmdb file opened for walks over its search tree.
type Tree struct {
	// Path names the file in errors.
	Path string
	// DB is the parsed file; Dec decodes its data section.
	DB  *format.Database
	Dec format.Decoder
	// Search is the search tree's rules and single-tree walk.
	Search *format.Tree
	// Nodes is the node count, RecordSize the record size in bits.
	Nodes, RecordSize uint
	// Bits is 32 for an IPv4 tree, 128 for an IPv6 tree.
	Bits int
	// IPv4Root is the record that 96 zero bits lead to in an IPv6 tree,
	// the root of its IPv4 subtree, when that is a node reached at depth
	// 96; else it is ^0 (no IPv4 subtree, so nothing can alias one).
	IPv4Root uint
	// Budget is the number of node visits left to walks of this tree.
	Budget int
	// Visited counts node visits (Visit), for progress lines; it may be
	// read while a walk runs.
	Visited atomic.Int64

	file   []byte // the whole file
	mapped []byte // the file's mapping, if mapped
}

// Open memory-maps the .mmdb file at path (where the file system cannot
// map files it is read instead) and parses it. Close releases it. A path
// that is not a regular file (a FIFO, a device, a directory) is refused
// without blocking, by reader.OpenRegular; the error wraps
// reader.ErrNotRegular.
func Open(path string) (*Tree, error) {
	f, err := reader.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, mapped, err := mmapfile.Whole(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t, err := FromBytes(path, data)
	if err != nil {
		if mapped {
			_ = mmapfile.Unmap(data)
		}
		return nil, err
	}
	if mapped {
		t.mapped = data
	}
	return t, nil
}

// Bytes returns the whole file.
func (t *Tree) Bytes() []byte { return t.file }

// Close unmaps the file of a Tree made by Open; the Tree, and every
// slice of its file, must not be used afterwards.
func (t *Tree) Close() error {
	if t.mapped == nil {
		return nil
	}
	m := t.mapped
	t.mapped = nil
	return mmapfile.Unmap(m)
}

// FromBytes parses the .mmdb file held in b, which must not change while
// the Tree is in use; path names it in errors.
func FromBytes(path string, b []byte) (*Tree, error) {
	db, err := format.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	md := db.Metadata
	st := db.SearchTree()
	t := &Tree{Path: path, file: b, DB: db, Dec: db.Decoder(), Search: st, Nodes: st.NodeCount, RecordSize: st.RecordSize, Bits: 32, IPv4Root: ^uint(0)}
	if md.IPVersion == 6 {
		t.Bits = 128
		if r, ok := st.IPv4Root(); ok {
			t.IPv4Root = r
		}
	}
	// The largest budget of format.Tree's rule: a pair walk may follow
	// each alias of the IPv4 subtree (three in MaxMind's files).
	t.Budget = st.VisitBudget(format.MaxAliasWalks)
	return t, nil
}

// Children returns the two records of node n (n < t.Nodes).
func (t *Tree) Children(n uint) (left, right uint) {
	return t.Search.Children(n)
}

// Visit spends one node visit of the walk budget.
func (t *Tree) Visit() error {
	t.Visited.Add(1)
	if t.Budget--; t.Budget < 0 {
		return fmt.Errorf("%s: invalid search tree: nodes reached too many times (a cycle or a shared subtree)", t.Path)
	}
	return nil
}

// Offset returns the data-section offset that record r (> t.Nodes)
// points to.
func (t *Tree) Offset(r uint) (uint, error) {
	off, ok := t.Search.DataOffset(r)
	if !ok {
		return 0, fmt.Errorf("%s: invalid search tree: record %d points outside the data section (%d bytes)", t.Path, r, len(t.DB.Data))
	}
	return off, nil
}

// IsAlias reports whether record r, met at the given depth and path,
// is an alias of the IPv4 subtree (format.Tree.IsAlias): the subtree's
// root reached from anywhere but ::/96 (::ffff:0:0/96, 2001::/32 and
// 2002::/16 in MaxMind's files).
func (t *Tree) IsAlias(r uint, depth int, path *[16]byte) bool {
	return t.Bits == 128 && t.Search.IsAlias(r, path, depth)
}

// PathPrefix turns the first depth bits of path into a prefix of the
// address space as a tree of bits (32 or 128) holds it: IPv4 in an IPv4
// tree, IPv6 in an IPv6 tree except inside ::/96 at depth 96 or more,
// given as IPv4.
func PathPrefix(bits int, path [16]byte, depth int) netip.Prefix {
	if bits == 32 {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(path[:4])), depth)
	}
	if depth >= 96 && [12]byte(path[:12]) == [12]byte{} {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(path[12:])), depth-96)
	}
	return netip.PrefixFrom(netip.AddrFrom16(path), depth)
}

// SetPathBit sets bit i of path; ClearPathBit clears it.
func SetPathBit(path *[16]byte, i int) { path[i/8] |= 0x80 >> (i % 8) }

// ClearPathBit clears bit i of path.
func ClearPathBit(path *[16]byte, i int) { path[i/8] &^= 0x80 >> (i % 8) }

// Walk calls fn for every network with data, in address order, with the
// data offset of its record: format.Tree.Walk, with its visit budget,
// counted in Visited. An alias of the IPv4 subtree met at a path and
// depth is entered when follow says so, its networks given as the IPv6
// networks they are. A corrupt tree is an error naming the file.
func (t *Tree) Walk(follow func(path [16]byte, depth int) bool, fn func(p netip.Prefix, off uint) error) error {
	var w format.Walker
	w.Reset(t.Search, format.WalkOptions{Follow: follow, Tolerant: true})
	counted := 0
	for {
		l, ok, err := w.Next()
		if v := w.Visits(); v != counted {
			t.Visited.Add(int64(v - counted))
			counted = v
		}
		if err != nil {
			return fmt.Errorf("%s: %w", t.Path, err)
		}
		if !ok {
			return nil
		}
		if err := fn(l.Prefix(), l.Offset); err != nil {
			return err
		}
	}
}

// Leaves returns format.Tree.Walk of the tree with these options, its
// errors naming the file: every network (with data, and without when
// o.Empty), for callers that want an iterator rather than a callback.
func (t *Tree) Leaves(o format.WalkOptions) iter.Seq2[format.Leaf, error] {
	return func(yield func(format.Leaf, error) bool) {
		for l, err := range t.Search.Walk(o) {
			if err != nil {
				err = fmt.Errorf("%s: %w", t.Path, err)
			}
			if !yield(l, err) {
				return
			}
		}
	}
}
