package main

import (
	"bufio"
	"fmt"
	"io"
	"iter"

	"github.com/ipatlas/ipatlas/mmdbtool"
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
	pathA, pathB, err := parseTwoDatabases(fs, args)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("--limit %d: want 0 (no limit) or more", *limit)
	}
	trouble := func(err error) error { return exitError{exitUsage, err} }
	a, err := mmdbtool.Open(pathA)
	if err != nil {
		return trouble(err)
	}
	defer a.Close()
	b, err := mmdbtool.Open(pathB)
	if err != nil {
		return trouble(err)
	}
	defer b.Close()
	d := mmdbtool.NewDiffer(a, b, mmdbtool.DiffOptions{IgnoreAliases: *ignoreAliases})
	nodes := int64(a.Nodes() + b.Nodes())
	visited := func() int64 { return a.Visited() + b.Visited() }
	if !*brief && *limit > 0 {
		// Count first, to say how much is coming when it is a lot.
		prog := newProgress(stderr, "diff (counting)", "nodes", nodes)
		prog.watch(visited)
		err := drain(d.All())
		prog.done()
		if err != nil {
			return trouble(err)
		}
		if total := d.Counts().Total(); total > *limit {
			fmt.Fprintf(stderr, "ipatlas diff: %d networks differ, more than --limit %d: printing the first %d (--limit 0 prints all, --brief none)\n", total, *limit, *limit)
		}
	}
	out := bufio.NewWriterSize(stdout, 1<<16)
	prog := newProgress(stderr, "diff", "nodes", nodes)
	base := visited() // the counting pass's
	prog.watch(func() int64 { return visited() - base })
	err = func() error {
		var line []byte
		printed := 0
		for x, err := range d.All() {
			if err != nil {
				return err
			}
			if *brief || *limit > 0 && printed >= *limit {
				continue
			}
			printed++
			if line, err = d.AppendJSON(line[:0], x); err != nil {
				return err
			}
			if _, err := out.Write(line); err != nil {
				return err
			}
		}
		return nil
	}()
	prog.done()
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return trouble(err)
	}
	c := d.Counts()
	if c.Total() == 0 {
		fmt.Fprintf(stderr, "ipatlas diff: %s and %s give the same answers\n", pathA, pathB)
		return nil
	}
	return fmt.Errorf("%s and %s differ in %d networks: %d added, %d removed, %d changed",
		pathA, pathB, c.Total(), c.Added, c.Removed, c.Changed)
}

// drain runs an iterator to its end and returns its error.
func drain[T any](seq iter.Seq2[T, error]) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}
