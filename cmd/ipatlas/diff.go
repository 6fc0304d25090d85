package main

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net/netip"
)

const diffHelp = `Compares the answers of two MaxMind DB files over the whole address space and prints,
in address order, the fewest networks that cover every address whose answer differs, each
network with one difference throughout, one JSON line each:

  {"network":"1.2.3.0/24","change":"changed","a":RECORD,"b":RECORD}

change is "added" (only B answers; no "a"), "removed" (only A answers; no "b") or
"changed" (both answer, with different records). Records are in the lossless JSON form of
'ipatlas export' (MMDB types kept: a change of type alone is a change). Networks are cut
where either file's networks are, and joined where neighbours differ in the same way, so
two files that store the same answers in different networks do not differ.

An IPv4-only file answers nothing outside IPv4. IPv6 files reach their IPv4 data also
through aliases (::ffff:0:0/96, 2002::/16, and 2001::/32 in MaxMind's files): where both
files alias the same network, its differences are those of IPv4, listed once, as IPv4;
where only one does, the aliased answers are compared like any others (a rebuild of a
MaxMind file by 'ipatlas build' has no Teredo alias, so it differs in 2001::/32).
--ignore-aliases compares only the networks the trees store, as 'ipatlas export' lists
them: aliased answers count as none.

A summary line goes to standard error. Exit status, as diff(1) has it but for trouble,
which is 1 as for every ipatlas command: 0 when the answers are the same, 1 when they
differ (the summary says "A and B differ in N networks: ...") or on an error (a file
missing or corrupt: the error line says so), 2 on a usage error.`

func runDiff(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("diff", "A.mmdb B.mmdb [--ignore-aliases] [--brief]", diffHelp, stderr)
	ignoreAliases := fs.Bool("ignore-aliases", false, "compare only the networks stored in the trees: answers given through an alias of the IPv4 data count as none")
	brief := fs.Bool("brief", false, "print only the summary line (the exit status says whether the files differ)")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return usagef("want two files, A.mmdb and B.mmdb; got %d arguments", len(rest))
	}
	a, err := openDBTree(rest[0])
	if err != nil {
		return err
	}
	b, err := openDBTree(rest[1])
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(stdout, 1<<16)
	d := newDiffer(a, b, *ignoreAliases)
	if !*brief {
		d.emit = func(p netip.Prefix, c diffCell) error { return d.writeLine(out, p, c) }
	}
	err = d.run()
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	n := d.counts[changeAdded] + d.counts[changeRemoved] + d.counts[changeChanged]
	if n == 0 {
		fmt.Fprintf(stderr, "ipatlas diff: %s and %s give the same answers\n", rest[0], rest[1])
		return nil
	}
	return fmt.Errorf("%s and %s differ in %d networks: %d added, %d removed, %d changed",
		rest[0], rest[1], n, d.counts[changeAdded], d.counts[changeRemoved], d.counts[changeChanged])
}

// The kinds of difference.
const (
	changeNone = iota
	changeAdded
	changeRemoved
	changeChanged
)

var changeNames = [...]string{"same", "added", "removed", "changed"}

// diffCell is how A and B compare on a network: the change, and the
// records (data offsets and fingerprints) where a file answers.
type diffCell struct {
	change         int
	offA, offB     uint
	printA, printB recordPrint
}

// same reports whether c and o are the same difference: neighbours with
// the same difference merge.
func (c *diffCell) same(o *diffCell) bool {
	return c.change == o.change && c.printA == o.printA && c.printB == o.printB
}

// differ walks two trees together. Each side is at a record: a node, no
// data (nodes), data (> nodes), or, for an IPv4 tree in an IPv6 walk, the
// virtual path down to ::/96 (virtualRoot).
type differ struct {
	a, b          *dbTree
	bits          int
	ignoreAliases bool
	printsA       recordPrints
	printsB       recordPrints
	jsonA, jsonB  *recordJSON
	// pending are networks whose difference may still merge with their
	// sibling's; each one lies before anything emitted after it.
	pending []pendingCell
	emit    func(netip.Prefix, diffCell) error
	counts  [4]int
	line    []byte
}

type pendingCell struct {
	p netip.Prefix
	c diffCell
}

// virtualRoot stands for the part of an IPv6 walk above an IPv4 tree's
// root, which that tree places at ::/96.
const virtualRoot = ^uint(0)

func newDiffer(a, b *dbTree, ignoreAliases bool) *differ {
	d := &differ{a: a, b: b, bits: 128, ignoreAliases: ignoreAliases,
		jsonA: newRecordJSON(a), jsonB: newRecordJSON(b)}
	d.printsA = recordPrints{t: a, json: d.jsonA, memo: map[uint]recordPrint{}}
	d.printsB = recordPrints{t: b, json: d.jsonB, memo: map[uint]recordPrint{}}
	if a.bits == 32 && b.bits == 32 {
		d.bits = 32
	}
	return d
}

func (d *differ) start(t *dbTree) uint {
	if t.bits == 32 && d.bits == 128 {
		return virtualRoot
	}
	return 0
}

func (d *differ) run() error {
	var path [16]byte
	uniform, c, err := d.walk(d.start(d.a), d.start(d.b), 0, &path)
	if err != nil {
		return err
	}
	if uniform && c.change != changeNone {
		return d.output(treePathPrefix(d.bits, path, 0), c)
	}
	return nil
}

// side resolves one side's record at a point of the walk: whether it is
// a node to descend (and which), or a leaf.
func (d *differ) side(t *dbTree, r uint, depth int, path *[16]byte) (node bool, rr uint, alias bool) {
	switch {
	case r == virtualRoot:
		return true, r, false
	case r < t.nodes:
		if t.isAlias(r, depth, path) {
			if d.ignoreAliases {
				return false, t.nodes, false
			}
			return true, r, true
		}
		return true, r, false
	}
	return false, r, false
}

// children returns a side's records one bit deeper.
func (d *differ) children(t *dbTree, r uint, depth int) (left, right uint, err error) {
	if r == virtualRoot {
		if depth == 95 {
			return 0, t.nodes, nil
		}
		return virtualRoot, t.nodes, nil
	}
	if err := t.visit(); err != nil {
		return 0, 0, err
	}
	l, rt := t.children(r)
	return l, rt, nil
}

// walk compares the subtrees at ra and rb. When the whole subtree has one
// difference (or none) it returns uniform and that difference, and leaves
// the output to the caller; otherwise it has emitted (or left pending)
// every differing network inside.
func (d *differ) walk(ra, rb uint, depth int, path *[16]byte) (bool, diffCell, error) {
	nodeA, ra, aliasA := d.side(d.a, ra, depth, path)
	nodeB, rb, aliasB := d.side(d.b, rb, depth, path)
	if aliasA && aliasB {
		// Both alias their IPv4 data here: its differences are listed
		// under IPv4.
		return true, diffCell{}, nil
	}
	if !nodeA && !nodeB {
		c, err := d.leaves(ra, rb)
		return true, c, err
	}
	if depth >= d.bits {
		t, r := d.a, ra
		if !nodeA {
			t, r = d.b, rb
		}
		return false, diffCell{}, fmt.Errorf("%s: invalid search tree: node %d below the last bit at %s", t.path, r, treePathPrefix(d.bits, *path, depth))
	}
	la, rta := ra, ra
	if nodeA {
		var err error
		if la, rta, err = d.children(d.a, ra, depth); err != nil {
			return false, diffCell{}, err
		}
	}
	lb, rtb := rb, rb
	if nodeB {
		var err error
		if lb, rtb, err = d.children(d.b, rb, depth); err != nil {
			return false, diffCell{}, err
		}
	}
	lu, lc, err := d.walk(la, lb, depth+1, path)
	if err != nil {
		return false, diffCell{}, err
	}
	mark := len(d.pending)
	if lu && lc.change != changeNone {
		d.pending = append(d.pending, pendingCell{treePathPrefix(d.bits, *path, depth+1), lc})
	}
	setPathBit(path, depth)
	ru, rc, err := d.walk(rta, rtb, depth+1, path)
	rightPrefix := treePathPrefix(d.bits, *path, depth+1)
	clearPathBit(path, depth)
	if err != nil {
		return false, diffCell{}, err
	}
	if lu && ru && lc.same(&rc) {
		// The right half emitted nothing, so the left one is still the
		// last pending: the parent takes both.
		d.pending = d.pending[:mark]
		return true, lc, nil
	}
	if err := d.flush(); err != nil {
		return false, diffCell{}, err
	}
	if ru && rc.change != changeNone {
		if err := d.output(rightPrefix, rc); err != nil {
			return false, diffCell{}, err
		}
	}
	return false, diffCell{}, nil
}

// leaves compares two leaf records.
func (d *differ) leaves(ra, rb uint) (diffCell, error) {
	var c diffCell
	hasA, hasB := ra > d.a.nodes, rb > d.b.nodes
	var err error
	if hasA {
		if c.offA, err = d.a.offset(ra); err != nil {
			return c, err
		}
		if c.printA, err = d.printsA.get(c.offA); err != nil {
			return c, err
		}
	}
	if hasB {
		if c.offB, err = d.b.offset(rb); err != nil {
			return c, err
		}
		if c.printB, err = d.printsB.get(c.offB); err != nil {
			return c, err
		}
	}
	switch {
	case hasA && hasB && c.printA != c.printB:
		c.change = changeChanged
	case hasA && !hasB:
		c.change = changeRemoved
	case !hasA && hasB:
		c.change = changeAdded
	default:
		return diffCell{}, nil
	}
	return c, nil
}

// flush outputs the pending networks.
func (d *differ) flush() error {
	for _, pc := range d.pending {
		if err := d.emitOne(pc.p, pc.c); err != nil {
			return err
		}
	}
	d.pending = d.pending[:0]
	return nil
}

// output outputs the pending networks, then p.
func (d *differ) output(p netip.Prefix, c diffCell) error {
	if err := d.flush(); err != nil {
		return err
	}
	return d.emitOne(p, c)
}

// emitOne counts a differing network and emits it.
func (d *differ) emitOne(p netip.Prefix, c diffCell) error {
	d.counts[c.change]++
	if d.emit == nil {
		return nil
	}
	return d.emit(p, c)
}

// writeLine writes one JSON line.
func (d *differ) writeLine(w io.Writer, p netip.Prefix, c diffCell) error {
	var err error
	l := append(d.line[:0], `{"network":"`...)
	l = p.AppendTo(l)
	l = append(l, `","change":"`...)
	l = append(l, changeNames[c.change]...)
	l = append(l, '"')
	if c.change != changeAdded {
		l = append(l, `,"a":`...)
		if l, err = d.jsonA.appendRecord(l, c.offA); err != nil {
			return err
		}
	}
	if c.change != changeRemoved {
		l = append(l, `,"b":`...)
		if l, err = d.jsonB.appendRecord(l, c.offB); err != nil {
			return err
		}
	}
	l = append(l, "}\n"...)
	d.line = l
	_, err = w.Write(l)
	return err
}

// recordPrint identifies a record by the SHA-256 of its JSON form, which
// is lossless and canonical (sorted keys, types kept): equal prints mean
// equal values, types included, whatever pointers and key order the
// files used.
type recordPrint [sha256.Size]byte

// recordPrints caches the print of each record offset of one tree.
type recordPrints struct {
	t    *dbTree
	json *recordJSON
	memo map[uint]recordPrint
	buf  []byte
}

func (f *recordPrints) get(off uint) (recordPrint, error) {
	if fp, ok := f.memo[off]; ok {
		return fp, nil
	}
	var err error
	if f.buf, err = f.json.appendRecord(f.buf[:0], off); err != nil {
		return recordPrint{}, err
	}
	fp := recordPrint(sha256.Sum256(f.buf))
	f.memo[off] = fp
	return fp, nil
}
