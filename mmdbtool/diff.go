package mmdbtool

import (
	"crypto/sha256"
	"fmt"
	"iter"
	"net/netip"

	"github.com/ipatlas/ipatlas/internal/mmdbtree"
)

// Change is how two files' answers over a network differ.
type Change uint8

const (
	// Added: only B answers.
	Added Change = iota + 1
	// Removed: only A answers.
	Removed
	// Changed: both answer, with different records.
	Changed
)

// String returns "added", "removed" or "changed".
func (c Change) String() string {
	switch c {
	case Added:
		return "added"
	case Removed:
		return "removed"
	case Changed:
		return "changed"
	}
	return fmt.Sprintf("Change(%d)", uint8(c))
}

// Difference is a network over which two files answer differently, in
// the same way throughout.
type Difference struct {
	Prefix netip.Prefix
	Change Change
	// A and B are the data offsets of the records of A (unless Added) and
	// of B (unless Removed), for File.Record and File.AppendRecordJSON.
	A, B uint
}

// DiffCounts counts the differences of a walk.
type DiffCounts struct {
	Added, Removed, Changed int
}

// Total returns the number of differing networks.
func (c DiffCounts) Total() int { return c.Added + c.Removed + c.Changed }

// DiffOptions configures a Differ.
type DiffOptions struct {
	// IgnoreAliases compares only the networks the trees store: answers
	// given through an alias of the IPv4 subtree count as none.
	IgnoreAliases bool
}

// Differ compares the answers of two files over the whole address
// space. Records are compared by their lossless JSON form (so by value
// and type, whatever pointers and key order the files used). A Differ
// is not safe for concurrent use; neither are its files while it runs.
type Differ struct {
	a, b    *File
	opts    DiffOptions
	printsA recordPrints
	printsB recordPrints
	counts  DiffCounts
}

// NewDiffer returns a Differ of a and b.
func NewDiffer(a, b *File, opts DiffOptions) *Differ {
	return &Differ{a: a, b: b, opts: opts,
		printsA: recordPrints{f: a, memo: map[uint]recordPrint{}},
		printsB: recordPrints{f: b, memo: map[uint]recordPrint{}},
	}
}

// diffCell is how A and B compare on a network: the change, and the
// records (data offsets and fingerprints) where a file answers.
type diffCell struct {
	change         Change
	offA, offB     uint
	printA, printB recordPrint
}

// All returns an iterator over the fewest networks that cover every
// address whose answer differs, in address order, each with one
// difference throughout: networks are cut where either file's networks
// are, and joined where neighbours differ in the same way, so two files
// that store the same answers in different networks do not differ.
//
// An IPv4 tree stands at ::/96 of an IPv6 one and answers nothing
// elsewhere. Where both files alias their IPv4 subtree, the differences
// there are those of IPv4, given once, as IPv4; where one does, the
// aliased answers are compared like any others (unless IgnoreAliases).
// A corrupt file ends the iteration with one (Difference{}, error) pair
// naming it. Each run of All counts anew (Counts).
func (d *Differ) All() iter.Seq2[Difference, error] {
	return func(yield func(Difference, error) bool) {
		d.counts = DiffCounts{}
		w := mmdbtree.PairWalk[diffCell]{A: d.a.startWalk(), B: d.b.startWalk(), IgnoreAliases: d.opts.IgnoreAliases,
			Cell: d.leaves,
			Same: func(x, y *diffCell) bool {
				return x.change == y.change && x.printA == y.printA && x.printB == y.printB
			},
			Skip: func(c *diffCell) bool { return c.change == 0 },
			Emit: func(p netip.Prefix, c diffCell) error {
				switch c.change {
				case Added:
					d.counts.Added++
				case Removed:
					d.counts.Removed++
				case Changed:
					d.counts.Changed++
				}
				if !yield(Difference{Prefix: p, Change: c.change, A: c.offA, B: c.offB}, nil) {
					return errStop
				}
				return nil
			},
		}
		if err := w.Run(); err != nil && err != errStop {
			yield(Difference{}, err)
		}
	}
}

// Counts returns the differences counted by the last run of All, so far.
func (d *Differ) Counts() DiffCounts { return d.counts }

// leaves compares two leaf records.
func (d *Differ) leaves(a, b mmdbtree.Leaf) (diffCell, error) {
	var c diffCell
	var err error
	if a.Has {
		c.offA = a.Off
		if c.printA, err = d.printsA.get(c.offA); err != nil {
			return c, err
		}
	}
	if b.Has {
		c.offB = b.Off
		if c.printB, err = d.printsB.get(c.offB); err != nil {
			return c, err
		}
	}
	switch {
	case a.Has && b.Has && c.printA != c.printB:
		c.change = Changed
	case a.Has && !b.Has:
		c.change = Removed
	case !a.Has && b.Has:
		c.change = Added
	default:
		return diffCell{}, nil
	}
	return c, nil
}

// AppendJSON appends x as one JSON line, ending in "\n":
//
//	{"network":"1.2.3.0/24","change":"changed","a":RECORD,"b":RECORD}
//
// with "a" left out of an added network, "b" of a removed one, records
// in the lossless JSON form of File.AppendRecordJSON.
func (d *Differ) AppendJSON(dst []byte, x Difference) ([]byte, error) {
	var err error
	dst = append(dst, `{"network":"`...)
	dst = x.Prefix.AppendTo(dst)
	dst = append(dst, `","change":"`...)
	dst = append(dst, x.Change.String()...)
	dst = append(dst, '"')
	if x.Change != Added {
		dst = append(dst, `,"a":`...)
		if dst, err = d.a.AppendRecordJSON(dst, x.A); err != nil {
			return dst, err
		}
	}
	if x.Change != Removed {
		dst = append(dst, `,"b":`...)
		if dst, err = d.b.AppendRecordJSON(dst, x.B); err != nil {
			return dst, err
		}
	}
	return append(dst, "}\n"...), nil
}

// recordPrint identifies a record by the SHA-256 of its JSON form, which
// is lossless and canonical (sorted keys, types kept): equal prints mean
// equal values, types included, whatever pointers and key order the
// files used.
type recordPrint [sha256.Size]byte

// recordPrints caches the print of each record offset of one file.
type recordPrints struct {
	f    *File
	memo map[uint]recordPrint
	buf  []byte
}

func (p *recordPrints) get(off uint) (recordPrint, error) {
	if fp, ok := p.memo[off]; ok {
		return fp, nil
	}
	var err error
	if p.buf, err = p.f.AppendRecordJSON(p.buf[:0], off); err != nil {
		return recordPrint{}, err
	}
	fp := recordPrint(sha256.Sum256(p.buf))
	p.memo[off] = fp
	return fp, nil
}
