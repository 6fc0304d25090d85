package format

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// slowWalk is the obvious reading of Tree's rules, kept beside the fast
// walk for tests: a recursion over every path from the root, the IPv4
// root found by its own descent, the visit budget of invariant 2 counted
// as it goes. It collects the leaves, and the error that ends the walk.
type slowWalk struct {
	t       *Tree
	o       WalkOptions
	ipv4    uint // the IPv4 root, or ^0
	budget  int
	visits  int
	follows int
	leaves  []Leaf
	errs    []TreeErrorKind
	stopped bool
}

func newSlowWalk(t *Tree, o WalkOptions) *slowWalk {
	w := &slowWalk{t: t, o: o, ipv4: ^uint(0), budget: int(t.NodeCount)}
	if o.Tolerant {
		w.budget = 64 * int(t.NodeCount)
	}
	if t.IPVersion == 6 {
		r, i := uint(0), 0
		for ; i < 96 && r < t.NodeCount; i++ {
			r, _ = ReadNode(t.nodes, t.RecordSize, r)
		}
		if i == 96 && r < t.NodeCount {
			w.ipv4 = r
		}
	}
	return w
}

func (w *slowWalk) run() {
	if w.t.IPVersion == 4 {
		w.walk(0, [16]byte{}, 96)
	} else {
		w.walk(0, [16]byte{}, 0)
	}
}

func (w *slowWalk) walk(r uint, key [16]byte, depth int) {
	if w.stopped {
		return
	}
	n := w.t.NodeCount
	if r >= n {
		if r == n {
			if w.o.Empty {
				w.leaves = append(w.leaves, Leaf{Key: key, Depth: depth, Record: r})
			}
			return
		}
		off := r - n - DataSectionSeparatorSize
		if r < n+DataSectionSeparatorSize || off >= w.t.DataSize {
			w.errs = append(w.errs, TreeBadRecord)
			return
		}
		w.leaves = append(w.leaves, Leaf{Key: key, Depth: depth, Record: r, Offset: off, HasData: true})
		return
	}
	if r == w.ipv4 && !(depth == 96 && [12]byte(key[:12]) == [12]byte{}) {
		if w.o.Follow == nil || !w.o.Follow(key, depth) {
			return
		}
		if w.follows < MaxAliasWalks && !w.o.Tolerant {
			w.follows++
			w.budget += int(n)
		}
	}
	if depth >= 128 {
		w.errs, w.stopped = append(w.errs, TreeTooDeep), true
		return
	}
	if w.visits++; w.visits > w.budget {
		w.errs, w.stopped = append(w.errs, TreeBudget), true
		return
	}
	left, right := ReadNode(w.t.nodes, w.t.RecordSize, r)
	w.walk(left, key, depth+1)
	key[depth/8] |= 0x80 >> (depth % 8)
	w.walk(right, key, depth+1)
}

// fastWalk collects what Tree.Walk yields.
func fastWalk(t *Tree, o WalkOptions) (leaves []Leaf, errs []TreeErrorKind, visits int) {
	var w Walker
	w.Reset(t, o)
	for {
		l, ok, err := w.Next()
		if err != nil {
			var te *TreeError
			if !errors.As(err, &te) {
				panic(fmt.Sprintf("Walk error %v is not a *TreeError", err))
			}
			errs = append(errs, te.Kind)
		} else if ok {
			leaves = append(leaves, l)
		}
		if !ok {
			break
		}
	}
	// Walk, the iterator, gives the same.
	var seq []Leaf
	var seqErrs []TreeErrorKind
	for l, err := range t.Walk(o) {
		if err != nil {
			seqErrs = append(seqErrs, err.(*TreeError).Kind)
			continue
		}
		seq = append(seq, l)
	}
	if !slices.Equal(seq, leaves) || !slices.Equal(seqErrs, errs) {
		panic("Walk and Walker differ")
	}
	return leaves, errs, w.Visits()
}

func followAll([16]byte, int) bool { return true }

// checkWalkAgainstSlow holds Tree.Walk to slowWalk with and without
// networks without data and aliases.
func checkWalkAgainstSlow(t testing.TB, tr *Tree) {
	for _, o := range []WalkOptions{{}, {Empty: true}, {Follow: followAll}, {Empty: true, Follow: followAll}, {Tolerant: true}, {Follow: followAll, Tolerant: true}} {
		got, gotErrs, visits := fastWalk(tr, o)
		sw := newSlowWalk(tr, o)
		sw.run()
		if !slices.Equal(got, sw.leaves) || !slices.Equal(gotErrs, sw.errs) {
			t.Fatalf("options empty=%v follow=%v tolerant=%v: Walk gave %d leaves, errors %v; the slow walk %d leaves, errors %v\nfirst difference: %s",
				o.Empty, o.Follow != nil, o.Tolerant, len(got), gotErrs, len(sw.leaves), sw.errs, firstDiff(got, sw.leaves))
		}
		if visits > tr.VisitBudget(MaxAliasWalks) {
			t.Fatalf("Walk made %d visits, more than %d", visits, tr.VisitBudget(MaxAliasWalks))
		}
		// Address order, no overlap.
		for i := 1; i < len(got); i++ {
			if cmpKey(lastKey(got[i-1]), got[i].Key) >= 0 {
				t.Fatalf("leaf %s at or before the end of %s", got[i].Prefix(), got[i-1].Prefix())
			}
		}
	}
}

func firstDiff(a, b []Leaf) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("#%d %s rec %d vs %s rec %d", i, a[i].Prefix(), a[i].Record, b[i].Prefix(), b[i].Record)
		}
	}
	return fmt.Sprintf("one is a prefix of the other (%d vs %d)", len(a), len(b))
}

func cmpKey(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) }

// maskKey clears the bits of k from depth on.
func maskKey(k [16]byte, depth int) [16]byte {
	for i := depth; i < 128; i++ {
		k[i/8] &^= 0x80 >> (i % 8)
	}
	return k
}

// lastKey returns the last key of a leaf's network.
func lastKey(l Leaf) [16]byte {
	k := l.Key
	for i := l.Depth; i < 128; i++ {
		k[i/8] |= 0x80 >> (i % 8)
	}
	return k
}

// TestTreeWalkMatchesLookup walks every conformance test database: the
// walk agrees with the slow reference walk; the networks of a walk with
// networks without data tile the space outside the aliases, and a
// Lookup of the first and last address of each (an independent descent)
// ends at the same record and depth; a walk within a prefix gives the
// leaves of the full walk that overlap it.
func TestTreeWalkMatchesLookup(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	for _, rel := range conformanceFiles(t, "test-data/*.mmdb") {
		db, err := Parse(readConformance(t, rel))
		if err != nil {
			continue // the files that test broken metadata or trees
		}
		tr := db.SearchTree()
		t.Run(rel, func(t *testing.T) {
			checkWalkAgainstSlow(t, tr)
			all, errs, _ := fastWalk(tr, WalkOptions{Empty: true})
			if len(errs) != 0 {
				t.Skipf("a corrupt tree (%v): the slow walk agreed", errs)
			}
			for _, l := range all {
				for _, k := range [][16]byte{l.Key, lastKey(l)} {
					a := netip.AddrFrom16(k)
					bits := l.Depth
					if tr.IPVersion == 4 || (l.Depth >= 96 && [12]byte(k[:12]) == [12]byte{}) {
						a = netip.AddrFrom4([4]byte(k[12:]))
						bits -= 96
					}
					off, plen, found, err := db.Lookup(a)
					if err != nil || found != l.HasData || found && off != l.Offset || plen != max(bits, 0) {
						t.Fatalf("Lookup(%s) = %d, /%d, %v, %v; leaf %s has record %d (offset %d)", a, off, plen, found, err, l.Prefix(), l.Record, l.Offset)
					}
				}
			}
			for range 200 {
				l := all[rng.IntN(len(all))]
				lo := 0
				if tr.IPVersion == 4 {
					lo = 96
				}
				bits := lo + rng.IntN(129-lo)
				p := KeyPrefix(l.Key, bits)
				p = p.Masked()
				var want []Leaf
				for _, m := range all {
					// m inside p, or p inside m.
					if bits <= m.Depth && maskKey(m.Key, bits) == maskKey(l.Key, bits) || bits > m.Depth && maskKey(l.Key, m.Depth) == m.Key {
						want = append(want, m)
					}
				}
				got, errs, _ := fastWalk(tr, WalkOptions{Within: p, Empty: true})
				if len(errs) != 0 || !slices.Equal(got, want) {
					t.Fatalf("Walk within %s: %d leaves, %v; want %d (%s)", p, len(got), errs, len(want), firstDiff(got, want))
				}
			}
		})
	}
}

// TestTreeWalkCorrupt: hand-made corrupt trees give the error their
// fault calls for, and a walk goes on past a bad record when asked.
func TestTreeWalkCorrupt(t *testing.T) {
	chain := func(n uint) []byte { // node i's records both lead to node i+1
		var b []byte
		for i := range n {
			b = AppendNode(b, 24, i+1, i+1)
		}
		return b
	}
	cases := []struct {
		name     string
		tree     []byte
		nodes    uint
		ipv      uint
		want     []TreeErrorKind
		leaves   int
		dataSize uint
	}{
		{"cycle", AppendNode(nil, 24, 0, 0), 1, 4, []TreeErrorKind{TreeBudget}, 0, 8},
		{"shared subtree", append(AppendNode(nil, 24, 1, 1), AppendNode(nil, 24, 18, 18)...), 2, 4, []TreeErrorKind{TreeBudget}, 2, 8},
		// Left first: 33 nodes down the line, below the last bit.
		{"chain in an IPv4 tree", chain(40), 40, 4, []TreeErrorKind{TreeTooDeep}, 0, 8},
		// 2^40 paths: the 41st visit is over the budget.
		{"chain in an IPv6 tree", chain(40), 40, 6, []TreeErrorKind{TreeBudget}, 0, 8},
		// 40 nodes in a line, one path: the 33rd node is below the last bit.
		{"line below the last bit", func() []byte {
			var b []byte
			for i := range uint(40) {
				b = AppendNode(b, 24, i+1, 40)
			}
			return b
		}(), 40, 4, []TreeErrorKind{TreeTooDeep}, 0, 8},
		{"bad records, then data", AppendNode(nil, 24, 2, 17), 1, 4, []TreeErrorKind{TreeBadRecord}, 1, 8},
		{"record past the data", AppendNode(nil, 24, 17, 1+16+8), 1, 4, []TreeErrorKind{TreeBadRecord}, 1, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := NewTree(tc.tree, tc.nodes, 24, tc.ipv, tc.dataSize)
			if err != nil {
				t.Fatal(err)
			}
			checkWalkAgainstSlow(t, tr)
			leaves, errs, _ := fastWalk(tr, WalkOptions{})
			if !slices.Equal(errs, tc.want) || len(leaves) != tc.leaves {
				t.Fatalf("Walk: %d leaves, errors %v; want %d, %v", len(leaves), errs, tc.leaves, tc.want)
			}
			if tc.name == "shared subtree" {
				// Two paths to node 1: within a Tolerant walk's budget.
				leaves, errs, _ := fastWalk(tr, WalkOptions{Tolerant: true})
				if len(errs) != 0 || len(leaves) != 4 {
					t.Fatalf("Tolerant walk: %d leaves, errors %v; want 4, none", len(leaves), errs)
				}
			}
		})
	}
	if _, err := NewTree(nil, 1, 24, 4, 0); err == nil {
		t.Error("NewTree of a tree larger than its bytes: no error")
	}
	if _, err := NewTree(nil, 0, 16, 4, 0); err == nil {
		t.Error("NewTree with record size 16: no error")
	}
}

// FuzzTreeWalk walks arbitrary trees: Walk must not panic, must stay
// within its visit budget and must agree with the slow reference walk,
// with and without networks without data and aliases.
func FuzzTreeWalk(f *testing.F) {
	// Seeds: conformance trees of each record size and IP version.
	for _, name := range []string{"ipv4-24", "mixed-28", "ipv6-32"} {
		if db, err := Parse(readConformance(f, "test-data/MaxMind-DB-test-"+name+".mmdb")); err == nil {
			sizeSel := uint8(db.Metadata.RecordSize/4 - 6) // 24, 28, 32 -> 0, 1, 2
			f.Add(db.Tree, uint16(db.Metadata.NodeCount), sizeSel, db.Metadata.IPVersion == 6, uint16(len(db.Data)))
		} else {
			f.Fatal(err)
		}
	}
	f.Add(AppendNode(AppendNode(nil, 24, 1, 1), 24, 0, 1), uint16(2), uint8(0), true, uint16(4))
	f.Fuzz(func(t *testing.T, tree []byte, nodes uint16, sizeSel uint8, v6 bool, dataSize uint16) {
		size := []uint{24, 28, 32}[sizeSel%3]
		nb := NodeBytes(size)
		if uint(nodes) > uint(len(tree))/nb {
			nodes = uint16(uint(len(tree)) / nb)
		}
		ipv := uint(4)
		if v6 {
			ipv = 6
		}
		tr, err := NewTree(tree, uint(nodes), size, ipv, uint(dataSize))
		if err != nil {
			t.Fatal(err)
		}
		checkWalkAgainstSlow(t, tr)
	})
}
