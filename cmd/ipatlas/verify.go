package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/ipatlas/ipatlas/mmdbtool"
)

const verifyHelp = `Checks each file's structure in full and prints one line per good file.
A file fails (exit status 1, its problems on stderr, one a line) when:

  1. it does not open: no metadata marker, metadata that does not decode,
     a search tree that does not fit before the data section;
  2. the reader's Verify() rejects it, with the rules of maxminddb-golang's
     Verify(): format 2.0, a database_type, a non-empty description,
     ip_version 4 or 6, record_size 24, 28 or 32, node_count > 0; no value
     after the metadata map; a search tree without cycles or paths longer
     than the address; every record pointing into the data section at the
     start of a value; 16 zero bytes between tree and data; every value of
     the data section decoding, with valid UTF-8, and reached from the
     tree (no orphans). When the metadata breaks these rules, the tree and
     the data section are still checked, and their problems reported too;
  3. libmaxminddb would refuse to open it: each metadata key with the type
     libmaxminddb demands (node_count uint32; record_size, ip_version and
     the format versions uint16; build_epoch uint64 and not 0;
     database_type a string; languages an array of strings; description a
     map of strings), and the marker within the last 128 KiB of the file;
  4. the data section is ambiguous: a pointer that lands inside a value
     instead of at its start (maxminddb-golang v2 rejects it too), a pointer
     to a pointer, or a map with the same key twice (readers disagree on
     which one wins).

Warnings: search-tree nodes that no path from the root reaches (wasted
space, harmless to readers), and an empty description (rule 2 above;
every reader opens such a file, and third-party files such as DB-IP's
have none: it is checked as a warning, and the tree and the data section
in full). --strict makes warnings failures. Any MaxMind DB file can be checked.`

func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", "[-q] [--strict] FILE.mmdb...", verifyHelp, stderr)
	quiet := fs.Bool("q", false, "print nothing for good files")
	strict := fs.Bool("strict", false, "fail on warnings too")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("no FILE.mmdb")
	}
	if os.Getenv("GOGC") == "" {
		// Verify decodes every record into short-lived values: a small
		// live heap and much garbage. main's GOGC 400, right for ingest,
		// makes this hold twice the memory (0.5 GB on GeoLite2-City) for
		// more CPU time, not less.
		debug.SetGCPercent(100)
	}
	failed := 0
	prog := newProgress(stderr, "verify", "files", int64(len(files)))
	defer prog.done()
	for i, path := range files {
		prog.set(int64(i))
		prog.setWhat("verify " + path)
		summary, warnings, err := verifyFile(path)
		for _, w := range warnings {
			fmt.Fprintf(stderr, "ipatlas verify: %s: warning: %s\n", path, w)
		}
		if err == nil && *strict && len(warnings) > 0 {
			err = fmt.Errorf("%s: %d warning(s) and --strict", path, len(warnings))
		}
		if err != nil {
			if len(files) == 1 {
				return err
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(stderr, "ipatlas verify: %s\n", line)
			}
			failed++
			continue
		}
		if !*quiet {
			fmt.Fprintf(stdout, "%s: ok: %s\n", path, summary)
		}
	}
	prog.set(int64(len(files)))
	prog.setWhat("verify")
	prog.done()
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed", failed, len(files))
	}
	return nil
}

// verifyFile runs every check on the file at path and returns a summary
// of a good file and its warnings, or the problems found, one error per
// line, each naming the file.
func verifyFile(path string) (summary string, warnings []string, err error) {
	rep, err := mmdbtool.Verify(path)
	if err != nil {
		return "", nil, err
	}
	if err := rep.Err(); err != nil {
		return "", nil, err
	}
	md := rep.Metadata
	summary = fmt.Sprintf("MaxMind DB %d.%d, %q, ip_version %d, record_size %d, %s nodes, %s-byte data section",
		md.BinaryFormatMajorVersion, md.BinaryFormatMinorVersion, md.DatabaseType, md.IPVersion,
		md.RecordSize, commas(uint64(md.NodeCount)), commas(uint64(rep.DataSectionSize)))
	return summary, rep.Warnings, nil
}
