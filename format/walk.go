package format

import (
	"fmt"
	"iter"
	"net/netip"
)

// Tree is the search tree of an MMDB file, with the rules every walk of
// it follows: where the IPv4 space starts, which records alias it, how
// a record becomes a data offset, and how many node visits a walk may
// make. Lookups, network iteration, verification, export and diff all
// walk trees through it (reader, internal/mmdbtree and Database use it).
//
// Keys are 128 bits in every tree: an IPv4 tree's root stands at bit 96,
// as the node that 96 zero bits lead to stands in an IPv6 tree, so an
// IPv4 address a.b.c.d is the key ::a.b.c.d in both.
//
// Invariants (TestTreeWalkMatchesLookup, FuzzTreeWalk):
//
//  1. A walk reads only nodes below NodeCount, at most one per bit of the
//     key (128), so it never reads outside the tree, and a node met
//     below the last bit is an error (TreeTooDeep), not a longer walk.
//  2. A walk visits each node at most once per path to it, and at most
//     VisitBudget nodes in all: NodeCount, plus NodeCount for each of the
//     first MaxAliasWalks aliases it follows (a Tolerant walk has the
//     largest of these budgets from the start). A valid tree needs
//     exactly one visit per node it walks, so a cycle or a subtree shared
//     by more paths than that is an error (TreeBudget), never a walk of
//     exponential length.
//  3. An alias is a record equal to the IPv4 root (the node that 96 zero
//     bits lead to, when they lead to a node at bit 96) met anywhere but
//     at ::/96: ::ffff:0:0/96 and 2002::/16 in the files compile writes,
//     2001::/32 as well in MaxMind's. A walk skips aliases unless told
//     to follow them, so IPv4 networks come once, as IPv4.
//  4. Leaves come in address order, and a record past the node count
//     that does not point into the data section is an error
//     (TreeBadRecord).
//
// A Tree is a read-only view and safe for concurrent use.
type Tree struct {
	nodes     []byte // INVARIANT: len(nodes) >= NodeCount*RecordSize/4
	aliasRoot uint   // IPv4Root's node, or ^0 when there is none

	// NodeCount is the number of nodes; a record equal to it means no
	// data, a larger one points into the data section.
	NodeCount uint
	// RecordSize is 24, 28 or 32 (bits per record).
	RecordSize uint
	// IPVersion is 4 (32-bit keys, the root at bit 96) or 6.
	IPVersion uint
	// DataSize is the size of the data section in bytes.
	DataSize uint
	// IPv4Start is the record that 96 zero bits lead to from the root of
	// an IPv6 tree (a record that ends that walk early, if one does), 0
	// in an IPv4 tree; IPv4StartBits is the bit at which it stands (96,
	// or less when the walk ended early).
	IPv4Start     uint
	IPv4StartBits int
}

// NewTree returns the tree held in nodes, of nodeCount nodes of
// recordSize bits (24, 28 or 32), for IP version 4 or 6, over a data
// section of dataSize bytes. It walks the 96 bits from the root to the
// IPv4 space of an IPv6 tree and touches no other node.
func NewTree(nodes []byte, nodeCount, recordSize, ipVersion, dataSize uint) (*Tree, error) {
	switch recordSize {
	case 24, 28, 32:
	default:
		return nil, fmt.Errorf("mmdb: unsupported record size %d", recordSize)
	}
	if ipVersion != 4 && ipVersion != 6 {
		return nil, fmt.Errorf("mmdb: unsupported ip_version %d", ipVersion)
	}
	if nodeCount > uint(len(nodes))/NodeBytes(recordSize) {
		return nil, fmt.Errorf("mmdb: search tree of %d nodes does not fit in %d bytes", nodeCount, len(nodes))
	}
	t := &Tree{nodes: nodes, NodeCount: nodeCount, RecordSize: recordSize, IPVersion: ipVersion, DataSize: dataSize, IPv4StartBits: 96}
	if ipVersion == 6 {
		node, i := uint(0), 0
		for ; i < 96 && node < nodeCount; i++ {
			node, _ = t.Children(node)
		}
		t.IPv4Start, t.IPv4StartBits = node, i
	}
	t.aliasRoot = ^uint(0)
	if r, ok := t.IPv4Root(); ok {
		t.aliasRoot = r
	}
	return t, nil
}

// Children returns the left and right records of node n < NodeCount.
func (t *Tree) Children(n uint) (left, right uint) {
	return ReadNode(t.nodes, t.RecordSize, n)
}

// DataOffset returns the data-section offset that record r (> NodeCount)
// points to, and false when r falls in the separator or past the data.
func (t *Tree) DataOffset(r uint) (uint, bool) {
	off := r - t.NodeCount - DataSectionSeparatorSize
	return off, r >= t.NodeCount+DataSectionSeparatorSize && off < t.DataSize
}

// IPv4Root returns the root of the IPv4 subtree of an IPv6 tree: the node
// that 96 zero bits lead to, if they lead to a node at bit 96.
func (t *Tree) IPv4Root() (uint, bool) {
	return t.IPv4Start, t.IPVersion == 6 && t.IPv4StartBits == 96 && t.IPv4Start < t.NodeCount
}

// IsAlias reports whether record r, met at depth on the path key, is an
// alias of the IPv4 subtree (invariant 3).
func (t *Tree) IsAlias(r uint, key *[16]byte, depth int) bool {
	return r == t.aliasRoot && (depth != 96 || [12]byte(key[:12]) != [12]byte{})
}

// MaxAliasWalks is how many aliases of the IPv4 subtree one walk may
// follow with a budget of their own (invariant 2); a walk that follows
// more shares what the first ones left.
const MaxAliasWalks = 63

// VisitBudget returns the node visits a walk that follows the given
// number of aliases may make (invariant 2): (1 + min(aliases,
// MaxAliasWalks)) * NodeCount.
func (t *Tree) VisitBudget(aliases int) int {
	return (1 + min(max(aliases, 0), MaxAliasWalks)) * int(t.NodeCount)
}

// Leaf is one network of a walk: the first Depth bits of Key (the rest
// zero) and the record that ends the walk there.
type Leaf struct {
	// Key holds the network's bits; see Tree for the 128-bit keys.
	Key [16]byte
	// Depth is the network's length in bits of the 128-bit key.
	Depth int
	// Record is the record value: NodeCount for no data, larger for data.
	Record uint
	// Offset is the data offset the record points to, when HasData.
	Offset uint
	// HasData says whether the record points to data.
	HasData bool
}

// Prefix returns the network as a prefix: inside ::/96 (all of an IPv4
// tree, the IPv4 subtree of an IPv6 tree) at bit 96 or deeper as an IPv4
// prefix, else as an IPv6 prefix.
func (l Leaf) Prefix() netip.Prefix {
	return KeyPrefix(l.Key, l.Depth)
}

// KeyPrefix returns the prefix of the first depth bits of a 128-bit key,
// as Leaf.Prefix does.
func KeyPrefix(key [16]byte, depth int) netip.Prefix {
	if depth >= 96 && [12]byte(key[:12]) == [12]byte{} {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(key[12:])), depth-96)
	}
	return netip.PrefixFrom(netip.AddrFrom16(key), depth)
}

// WalkOptions says what a walk covers and yields.
type WalkOptions struct {
	// Within restricts the walk to the networks inside this prefix (an
	// IPv4 prefix is the IPv4 space, ::a.b.c.d); when the prefix lies
	// inside one network of the tree, that network is the walk's one
	// leaf. The zero Prefix walks the whole tree.
	Within netip.Prefix
	// Empty makes the walk also yield networks without data.
	Empty bool
	// Follow, when set, is asked at each alias of the IPv4 subtree
	// whether to walk it (its networks then come as the IPv6 networks
	// they are); nil skips every alias.
	Follow func(key [16]byte, depth int) bool
	// Tolerant gives the walk the largest budget of invariant 2 from the
	// start, VisitBudget(MaxAliasWalks): a subtree shared by up to 64
	// paths (on average) is walked once per path instead of being an
	// error. The reader asks for it, so that it answers as
	// maxminddb-golang (which has no bound) does on such files.
	Tolerant bool
}

// TreeErrorKind says what a TreeError found.
type TreeErrorKind uint8

const (
	// TreeTooDeep: a node below the last bit of the key.
	TreeTooDeep TreeErrorKind = iota + 1
	// TreeBudget: more node visits than VisitBudget (a cycle or a shared
	// subtree).
	TreeBudget
	// TreeBadRecord: a record that points outside the data section.
	TreeBadRecord
)

// TreeError is a corrupt search tree found by a walk.
type TreeError struct {
	Kind TreeErrorKind
	// Key and Depth are where the walk stood; Record is the record met
	// there (a node for TreeTooDeep and TreeBudget).
	Key    [16]byte
	Depth  int
	Record uint
	// NodeCount and DataSize of the tree, for the message.
	NodeCount, DataSize uint
}

// Msg says what is wrong, without the "mmdb:" prefix.
func (e *TreeError) Msg() string {
	switch e.Kind {
	case TreeTooDeep:
		return fmt.Sprintf("node %d below the last bit at %s", e.Record, KeyPrefix(e.Key, e.Depth))
	case TreeBudget:
		return fmt.Sprintf("search tree reaches more nodes than its %d (at %s): a cycle or shared subtree", e.NodeCount, KeyPrefix(e.Key, e.Depth))
	default:
		return fmt.Sprintf("record %d points outside the data section (%d bytes)", e.Record, e.DataSize)
	}
}

func (e *TreeError) Error() string { return "mmdb: invalid search tree: " + e.Msg() }

type walkFrame struct {
	key    [16]byte
	depth  int
	record uint
}

// Walker is a walk of a tree in progress, for loops that pull leaves
// (Next) rather than range over Walk; Reset starts it. It holds its own
// stack, so a Walker on the caller's stack walks without allocating. The
// zero Walker must be Reset before use.
type Walker struct {
	t       *Tree
	o       WalkOptions
	n       walkFrame // the record to look at next, unless pop
	pop     bool      // take the next record from the stack
	done    bool
	budget  int // node visits allowed so far (invariant 2)
	visits  int
	follows int
	sp      int
	// stack holds the right siblings still to walk, each as record<<8 |
	// depth; its key is the current key's first depth-1 bits and a 1.
	// INVARIANT: the entries have distinct depths of 1 to 128 (each is
	// the right sibling of a node on the current path), so 128 hold any
	// walk, and the current key agrees with each on its first depth-1
	// bits (it lies in the left sibling's subtree).
	stack [128]uint64
}

// Reset starts w on a walk of t as the options say, positioned before
// its first leaf: the descent to o.Within is done, nothing else. A Walker
// is reset in place (it holds its 1 KiB stack), so that one on the
// caller's stack walks without allocating or copying.
func (w *Walker) Reset(t *Tree, o WalkOptions) {
	w.t, w.o, w.pop, w.done, w.visits, w.follows, w.sp = t, o, false, false, 0, 0, 0
	w.budget = t.VisitBudget(0)
	if o.Tolerant {
		w.budget = t.VisitBudget(MaxAliasWalks)
	}
	key, stop := [16]byte{}, 128
	node, depth := uint(0), 96
	if t.IPVersion == 6 {
		depth = 0
	}
	if o.Within.IsValid() {
		a := o.Within.Addr()
		if a.Is4() {
			a4 := a.As4()
			copy(key[12:], a4[:])
			stop = 96 + o.Within.Bits()
			node, depth = t.IPv4Start, t.IPv4StartBits
		} else {
			key, stop = a.As16(), o.Within.Bits()
			if t.IPVersion == 4 && ([12]byte(key[:12]) != [12]byte{} || stop < 96) {
				w.done = true // outside the IPv4 space, the whole of an IPv4 tree
				return
			}
		}
		for ; depth < stop && node < t.NodeCount; depth++ {
			l, r := t.Children(node)
			node = l
			if key[depth>>3]>>(7-depth&7)&1 == 1 {
				node = r
			}
		}
		// Clear the bits past the depth reached.
		p, _ := netip.AddrFrom16(key).Prefix(depth)
		key = p.Addr().As16()
	}
	w.n = walkFrame{key: key, depth: depth, record: node}
}

// Visits returns the node visits the walk has made so far.
func (w *Walker) Visits() int { return w.visits }

// Next returns the next leaf in address order. ok is false at the end of
// the walk, and with an error that ends it (TreeTooDeep, TreeBudget); a
// TreeBadRecord error comes with ok true and the bad record's leaf
// (HasData false), and the walk goes on after it.
func (w *Walker) Next() (l Leaf, ok bool, err error) {
	t := w.t
	nc := t.NodeCount
outer:
	for !w.done {
		if w.pop {
			if w.sp == 0 {
				w.done = true
				break
			}
			w.sp--
			e := w.stack[w.sp]
			w.n.record, w.n.depth = uint(e>>8), int(e&0xff)
			setLastBit(&w.n.key, w.n.depth)
		}
		w.pop = true
		// Down the left records, in locals, to the next record that is
		// not a node.
		rec, depth, sp, visits := w.n.record, w.n.depth, w.sp, w.visits
		for rec < nc {
			if rec == t.aliasRoot {
				w.n.record, w.n.depth, w.sp, w.visits = rec, depth, sp, visits
				if t.IsAlias(rec, &w.n.key, depth) && !w.follow() {
					continue outer
				}
			}
			if depth >= 128 || visits >= w.budget {
				w.n.record, w.n.depth, w.sp, w.visits = rec, depth, sp, visits
				w.done = true
				if depth >= 128 {
					return Leaf{}, false, t.err(TreeTooDeep, &w.n)
				}
				return Leaf{}, false, t.err(TreeBudget, &w.n)
			}
			visits++
			left, right := t.Children(rec)
			w.stack[sp] = uint64(right)<<8 | uint64(depth+1)
			sp++
			depth++
			rec = left
		}
		w.n.record, w.n.depth, w.sp, w.visits = rec, depth, sp, visits
		n := &w.n
		if rec == nc {
			if w.o.Empty {
				return Leaf{Key: n.key, Depth: depth, Record: rec}, true, nil
			}
			continue
		}
		off, ok := t.DataOffset(rec)
		if !ok {
			return Leaf{Key: n.key, Depth: depth, Record: rec}, true, t.err(TreeBadRecord, n)
		}
		return Leaf{Key: n.key, Depth: depth, Record: rec, Offset: off, HasData: true}, true, nil
	}
	return Leaf{}, false, nil
}

// setLastBit keeps the first depth-1 bits of key, sets bit depth-1 and
// clears the rest: the key of the right child at depth of a node whose
// subtree key lies in.
func setLastBit(key *[16]byte, depth int) {
	i := depth - 1
	b := i >> 3
	key[b] = key[b]&^(0xff>>(i&7)) | 0x80>>(i&7)
	for j := b + 1; j < 16; j++ {
		key[j] = 0
	}
}

// follow asks whether to walk the alias at w.n and, when it is walked,
// grants it its budget (invariant 2).
func (w *Walker) follow() bool {
	if w.o.Follow == nil || !w.o.Follow(w.n.key, w.n.depth) {
		return false
	}
	if w.follows < MaxAliasWalks && !w.o.Tolerant {
		w.follows++
		w.budget += int(w.t.NodeCount)
	}
	return true
}

// Walk returns an iterator over the leaves of the tree in address order
// (invariant 4), as the options say: a Walker's leaves. A corrupt tree
// yields a *TreeError: TreeTooDeep and TreeBudget end the iteration;
// TreeBadRecord comes with the leaf of the bad record (HasData false),
// and the walk goes on past it if the loop does. A valid tree never
// yields an error.
func (t *Tree) Walk(o WalkOptions) iter.Seq2[Leaf, error] {
	return func(yield func(Leaf, error) bool) {
		var w Walker
		w.Reset(t, o)
		for {
			l, ok, err := w.Next()
			if !ok && err == nil {
				return
			}
			if !yield(l, err) || !ok {
				return
			}
		}
	}
}

func (t *Tree) err(kind TreeErrorKind, n *walkFrame) error {
	return &TreeError{Kind: kind, Key: n.key, Depth: n.depth, Record: n.record, NodeCount: t.NodeCount, DataSize: t.DataSize}
}
