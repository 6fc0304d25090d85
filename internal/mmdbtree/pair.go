package mmdbtree

import (
	"fmt"
	"net/netip"
)

// Leaf is one file's answer over a network of a pair walk: whether it
// has data there, and the data offset of its record.
type Leaf struct {
	Has bool
	Off uint
}

// PairWalk walks two trees together, cutting the address space where
// either tree's networks are cut, and reports, in address order, the
// fewest networks that cover every address whose cell is not skipped,
// each network with one cell throughout: sibling networks whose cells are
// the same are joined.
//
// An IPv4 tree walked with an IPv6 one stands at ::/96 of it. Where both
// trees alias their IPv4 subtree, the walk reports nothing (the IPv4
// networks are reported once, as IPv4); where one does, its aliased
// answers are compared like any others, unless IgnoreAliases, which makes
// aliases answer nothing.
type PairWalk[C any] struct {
	A, B          *Tree
	IgnoreAliases bool
	// Cell says how the answers of A and B over a network compare. The
	// zero C must be a cell that Skip reports: it stands for networks
	// that both trees alias.
	Cell func(a, b Leaf) (C, error)
	// Same reports whether two cells are the same, so that their
	// networks can be joined.
	Same func(x, y *C) bool
	// Skip reports a cell whose networks are not emitted.
	Skip func(c *C) bool
	// Emit receives each network and its cell.
	Emit func(p netip.Prefix, c C) error

	bits int
	// pending are networks whose cell may still join their sibling's;
	// each one lies before anything emitted after it.
	pending []pending[C]
}

type pending[C any] struct {
	p netip.Prefix
	c C
}

// virtualRoot stands for the part of an IPv6 walk above an IPv4 tree's
// root, which that tree places at ::/96.
const virtualRoot = ^uint(0)

// Bits returns the width of the walk's addresses: 32 when both trees are
// IPv4 trees, else 128.
func (w *PairWalk[C]) Bits() int {
	if w.A.Bits == 32 && w.B.Bits == 32 {
		return 32
	}
	return 128
}

func (w *PairWalk[C]) start(t *Tree) uint {
	if t.Bits == 32 && w.bits == 128 {
		return virtualRoot
	}
	return 0
}

// Run walks the trees once.
func (w *PairWalk[C]) Run() error {
	w.bits = w.Bits()
	w.pending = w.pending[:0]
	var path [16]byte
	uniform, c, err := w.walk(w.start(w.A), w.start(w.B), 0, &path)
	if err != nil {
		return err
	}
	if uniform && !w.Skip(&c) {
		return w.output(PathPrefix(w.bits, path, 0), c)
	}
	return w.flush()
}

// side resolves one side's record at a point of the walk: whether it is
// a node to descend (and which), or a leaf.
func (w *PairWalk[C]) side(t *Tree, r uint, depth int, path *[16]byte) (node bool, rr uint, alias bool) {
	switch {
	case r == virtualRoot:
		return true, r, false
	case r < t.Nodes:
		if t.IsAlias(r, depth, path) {
			if w.IgnoreAliases {
				return false, t.Nodes, false
			}
			return true, r, true
		}
		return true, r, false
	}
	return false, r, false
}

// children returns a side's records one bit deeper.
func (w *PairWalk[C]) children(t *Tree, r uint, depth int) (left, right uint, err error) {
	if r == virtualRoot {
		if depth == 95 {
			return 0, t.Nodes, nil
		}
		return virtualRoot, t.Nodes, nil
	}
	if err := t.Visit(); err != nil {
		return 0, 0, err
	}
	l, rt := t.Children(r)
	return l, rt, nil
}

// leaf returns a leaf record's answer.
func leaf(t *Tree, r uint) (Leaf, error) {
	if r <= t.Nodes {
		return Leaf{}, nil
	}
	off, err := t.Offset(r)
	return Leaf{Has: true, Off: off}, err
}

// walk compares the subtrees at ra and rb. When the whole subtree has one
// cell it returns uniform and that cell, and leaves the output to the
// caller; otherwise it has emitted (or left pending) every network inside
// that is not skipped.
func (w *PairWalk[C]) walk(ra, rb uint, depth int, path *[16]byte) (bool, C, error) {
	var zero C
	nodeA, ra, aliasA := w.side(w.A, ra, depth, path)
	nodeB, rb, aliasB := w.side(w.B, rb, depth, path)
	if aliasA && aliasB {
		// Both alias their IPv4 data here: it is reported under IPv4.
		return true, zero, nil
	}
	if !nodeA && !nodeB {
		la, err := leaf(w.A, ra)
		if err != nil {
			return false, zero, err
		}
		lb, err := leaf(w.B, rb)
		if err != nil {
			return false, zero, err
		}
		c, err := w.Cell(la, lb)
		return true, c, err
	}
	if depth >= w.bits {
		t, r := w.A, ra
		if !nodeA {
			t, r = w.B, rb
		}
		return false, zero, fmt.Errorf("%s: invalid search tree: node %d below the last bit at %s", t.Path, r, PathPrefix(w.bits, *path, depth))
	}
	la, rta := ra, ra
	if nodeA {
		var err error
		if la, rta, err = w.children(w.A, ra, depth); err != nil {
			return false, zero, err
		}
	}
	lb, rtb := rb, rb
	if nodeB {
		var err error
		if lb, rtb, err = w.children(w.B, rb, depth); err != nil {
			return false, zero, err
		}
	}
	lu, lc, err := w.walk(la, lb, depth+1, path)
	if err != nil {
		return false, zero, err
	}
	mark := len(w.pending)
	if lu && !w.Skip(&lc) {
		w.pending = append(w.pending, pending[C]{PathPrefix(w.bits, *path, depth+1), lc})
	}
	SetPathBit(path, depth)
	ru, rc, err := w.walk(rta, rtb, depth+1, path)
	rightPrefix := PathPrefix(w.bits, *path, depth+1)
	ClearPathBit(path, depth)
	if err != nil {
		return false, zero, err
	}
	if lu && ru && w.Same(&lc, &rc) {
		// The right half emitted nothing, so the left one is still the
		// last pending: the parent takes both.
		w.pending = w.pending[:mark]
		return true, lc, nil
	}
	if err := w.flush(); err != nil {
		return false, zero, err
	}
	if ru && !w.Skip(&rc) {
		if err := w.output(rightPrefix, rc); err != nil {
			return false, zero, err
		}
	}
	return false, zero, nil
}

// flush emits the pending networks.
func (w *PairWalk[C]) flush() error {
	for _, pc := range w.pending {
		if err := w.Emit(pc.p, pc.c); err != nil {
			return err
		}
	}
	w.pending = w.pending[:0]
	return nil
}

// output emits the pending networks, then p.
func (w *PairWalk[C]) output(p netip.Prefix, c C) error {
	if err := w.flush(); err != nil {
		return err
	}
	return w.Emit(p, c)
}
