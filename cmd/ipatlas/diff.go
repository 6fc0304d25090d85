package main

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net/netip"

	"github.com/ipatlas/ipatlas/internal/mmdbtree"
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

A summary line goes to standard error. When more than --limit networks differ, diff says
so before it prints and prints only the first --limit (--limit 0 prints them all; the
summary counts them all).

Exit status, as diff(1) has it: 0 when the answers are the same, 1 when they differ (the
summary says "A and B differ in N networks: ..."), 2 on trouble: a usage error, or a file
missing or corrupt (the error line says which).`

func runDiff(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("diff", "A.mmdb B.mmdb [--ignore-aliases] [--brief]", diffHelp, stderr)
	ignoreAliases := fs.Bool("ignore-aliases", false, "compare only the networks stored in the trees: answers given through an alias of the IPv4 data count as none")
	brief := fs.Bool("brief", false, "print only the summary line (the exit status says whether the files differ)")
	limit := fs.Int("limit", 10000, "print at most `N` differences, and say how many there are first when there are more; 0: no limit")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return usagef("want two files, A.mmdb and B.mmdb; got %d arguments", len(rest))
	}
	if *limit < 0 {
		return usagef("--limit %d: want 0 (no limit) or more", *limit)
	}
	trouble := func(err error) error { return exitError{exitUsage, err} }
	a, err := openDBTree(rest[0])
	if err != nil {
		return trouble(err)
	}
	defer a.Close()
	b, err := openDBTree(rest[1])
	if err != nil {
		return trouble(err)
	}
	total := -1 // not counted
	if !*brief && *limit > 0 {
		// Count first, to say how much is coming when it is a lot.
		c := newDiffer(a, b, *ignoreAliases)
		prog := newProgress(stderr, "diff (counting)", "nodes", int64(a.Nodes+b.Nodes))
		prog.watch(func() int64 { return a.Visited.Load() + b.Visited.Load() })
		err := c.run()
		prog.done()
		if err != nil {
			return trouble(err)
		}
		total = c.counts[changeAdded] + c.counts[changeRemoved] + c.counts[changeChanged]
		if total > *limit {
			fmt.Fprintf(stderr, "ipatlas diff: %d networks differ, more than --limit %d: printing the first %d (--limit 0 prints all, --brief none)\n", total, *limit, *limit)
		}
	}
	defer b.Close()
	out := bufio.NewWriterSize(stdout, 1<<16)
	d := newDiffer(a, b, *ignoreAliases)
	prog := newProgress(stderr, "diff", "nodes", int64(a.Nodes+b.Nodes))
	base := a.Visited.Load() + b.Visited.Load() // the counting pass's
	prog.watch(func() int64 { return a.Visited.Load() + b.Visited.Load() - base })
	if !*brief {
		printed := 0
		d.emit = func(p netip.Prefix, c diffCell) error {
			if *limit > 0 && printed >= *limit {
				return nil
			}
			printed++
			return d.writeLine(out, p, c)
		}
	}
	err = d.run()
	prog.done()
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return trouble(err)
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

// differ walks two trees together (an mmdbtree.PairWalk) and counts
// and emits the networks whose answers differ.
type differ struct {
	a, b         *dbTree
	w            mmdbtree.PairWalk[diffCell]
	printsA      recordPrints
	printsB      recordPrints
	jsonA, jsonB *recordJSON
	emit         func(netip.Prefix, diffCell) error
	counts       [4]int
	line         []byte
}

func newDiffer(a, b *dbTree, ignoreAliases bool) *differ {
	d := &differ{a: a, b: b, jsonA: newRecordJSON(a), jsonB: newRecordJSON(b)}
	d.printsA = recordPrints{t: a, json: d.jsonA, memo: map[uint]recordPrint{}}
	d.printsB = recordPrints{t: b, json: d.jsonB, memo: map[uint]recordPrint{}}
	d.w = mmdbtree.PairWalk[diffCell]{A: a.Tree, B: b.Tree, IgnoreAliases: ignoreAliases,
		Cell: d.leaves,
		Same: func(x, y *diffCell) bool { return x.same(y) },
		Skip: func(c *diffCell) bool { return c.change == changeNone },
		Emit: d.emitOne,
	}
	return d
}

func (d *differ) run() error { return d.w.Run() }

// leaves compares two leaf records.
func (d *differ) leaves(a, b mmdbtree.Leaf) (diffCell, error) {
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
		c.change = changeChanged
	case a.Has && !b.Has:
		c.change = changeRemoved
	case !a.Has && b.Has:
		c.change = changeAdded
	default:
		return diffCell{}, nil
	}
	return c, nil
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
