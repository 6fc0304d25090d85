package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/reader"
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
	f, err := loadMMDB(path)
	if err != nil {
		return "", nil, err
	}
	defer f.close()
	var problems []error
	add := func(err error) { problems = append(problems, fmt.Errorf("%s: %w", path, err)) }
	rerr := f.r.Verify()
	if rerr != nil && emptyDescriptionOnly(f.md) {
		// maxminddb-golang's Verify wants a description; every reader
		// opens a file without one (DB-IP's and GeoLite2's files in the
		// @ip-location-db npm packages have none). Verify stopped at the
		// metadata: check the tree and the data section here.
		warnings = append(warnings, "metadata: the description is empty: maxminddb-golang's Verify() rejects that, every reader opens the file")
		rerr = nil
		if err := checkTreeAndValues(f); err != nil {
			add(err)
		}
	}
	if rerr != nil {
		add(rerr)
		if metadataRulesBroken(f.md) {
			// The reader stops at the metadata; look at the tree and the
			// data section too, so that one run tells everything.
			if err := checkTreeAndValues(f); err != nil {
				add(err)
			}
		}
	}
	if err := checkMetadataTypes(f); err != nil {
		add(fmt.Errorf("metadata: %w (libmaxminddb refuses to open the file)", err))
	}
	if len(f.buf)-f.marker > format.MaxMetadataSize {
		add(fmt.Errorf("metadata: the section is %d bytes from its marker to the end of the file, more than the spec's %d; libmaxminddb looks for the marker only in the last %d bytes and refuses to open the file",
			len(f.buf)-f.marker, format.MaxMetadataSize, format.MaxMetadataSize))
	}
	if rerr == nil {
		if err := checkDataStructure(f.data); err != nil {
			add(fmt.Errorf("data section: %w", err))
		}
	}
	if len(problems) > 0 {
		return "", nil, errors.Join(problems...)
	}
	reached := reachableNodes(f)
	if n := uint64(f.md.NodeCount) - reached; n > 0 {
		warnings = append(warnings, fmt.Sprintf("%d of the %d search-tree nodes are not reachable from the root", n, f.md.NodeCount))
	}
	summary = fmt.Sprintf("MaxMind DB %d.%d, %q, ip_version %d, record_size %d, %s nodes, %s-byte data section",
		f.md.BinaryFormatMajorVersion, f.md.BinaryFormatMinorVersion, f.md.DatabaseType, f.md.IPVersion,
		f.md.RecordSize, commas(uint64(f.md.NodeCount)), commas(uint64(len(f.data))))
	return summary, warnings, nil
}

// emptyDescriptionOnly reports whether the only metadata rule of
// maxminddb-golang's Verify that m breaks is a non-empty description.
func emptyDescriptionOnly(m reader.Metadata) bool {
	if len(m.Description) != 0 {
		return false
	}
	m.Description = map[string]string{"en": "x"}
	return !metadataRulesBroken(m)
}

// metadataRulesBroken reports whether m breaks one of the rules that
// maxminddb-golang's Verify checks first, before the tree and the data.
func metadataRulesBroken(m reader.Metadata) bool {
	return m.BinaryFormatMajorVersion != 2 || m.BinaryFormatMinorVersion != 0 || m.DatabaseType == "" ||
		len(m.Description) == 0 || (m.IPVersion != 4 && m.IPVersion != 6) ||
		(m.RecordSize != 24 && m.RecordSize != 28 && m.RecordSize != 32) || m.NodeCount == 0
}

// checkTreeAndValues checks the search tree and the data section with
// the format package's decoder, independently of the reader: the tree
// walk of inspect (no node below the last bit, no cycle, every record in
// range), every top-level value decoding in full and reached from the
// tree, and every record pointing at the start of a value.
func checkTreeAndValues(f *mmdbFile) error {
	st, err := walkTree(f)
	if err != nil {
		return err
	}
	d := format.NewDecoder(f.data)
	for off := uint(0); off < uint(len(f.data)); {
		_, next, err := d.Value(off)
		if err != nil {
			return err // a *format.DataError, which names the section and the offset
		}
		if !testBit(st.offsets, off) {
			return fmt.Errorf("data section: the value at offset %d is not reached from the search tree", off)
		}
		off = next
	}
	w, err := walkData(f.data)
	if err != nil {
		return fmt.Errorf("data section: %w", err)
	}
	for i, bitsSet := range st.offsets {
		if miss := bitsSet &^ w.starts[i]; miss != 0 {
			return fmt.Errorf("search tree: a record points to data offset %d, which is not the start of a value", uint(i)*64+uint(bits.TrailingZeros64(miss)))
		}
	}
	return nil
}

// checkMetadataTypes checks the metadata map as libmaxminddb's
// read_metadata does: every key present with exactly its type.
func checkMetadataTypes(f *mmdbFile) error {
	v, _, err := format.NewDecoder(f.meta).Value(0)
	if err != nil {
		return err
	}
	top, ok := v.(format.Map)
	if !ok {
		return fmt.Errorf("a %s, not a map", v.Kind())
	}
	for _, k := range []struct {
		key  string
		kind format.Kind
	}{
		{"node_count", format.KindUint32},
		{"record_size", format.KindUint16},
		{"ip_version", format.KindUint16},
		{"database_type", format.KindString},
		{"languages", format.KindSlice},
		{"binary_format_major_version", format.KindUint16},
		{"binary_format_minor_version", format.KindUint16},
		{"build_epoch", format.KindUint64},
		{"description", format.KindMap},
	} {
		v, ok := top[k.key]
		if !ok {
			return fmt.Errorf("%s is missing", k.key)
		}
		if v.Kind() != k.kind {
			return fmt.Errorf("%s is a %s, not a %s", k.key, v.Kind(), k.kind)
		}
	}
	for i, l := range top["languages"].(format.Slice) {
		if l.Kind() != format.KindString {
			return fmt.Errorf("languages[%d] is a %s, not a %s", i, l.Kind(), format.KindString)
		}
	}
	for k, d := range top["description"].(format.Map) {
		if d.Kind() != format.KindString {
			return fmt.Errorf("description[%q] is a %s, not a %s", k, d.Kind(), format.KindString)
		}
	}
	if top["build_epoch"].(format.Uint64) == 0 {
		return errors.New("build_epoch is 0")
	}
	return nil
}

// dataWalk walks the data section value by value without following
// pointers, and records in bit sets where every value (nested ones too)
// starts and where pointers point.
type dataWalk struct {
	d       format.Decoder
	starts  []uint64 // bit set of value starts
	targets []uint64 // bit set of pointer targets
	keys    [][]byte // scratch for duplicate-key checks, views of the section
}

func markBit(set []uint64, off uint) { set[off/64] |= 1 << (off % 64) }

func testBit(set []uint64, off uint) bool {
	return off/64 < uint(len(set)) && set[off/64]&(1<<(off%64)) != 0
}

// value walks the value at off and returns the offset after it.
func (w *dataWalk) value(off uint, depth int) (uint, error) {
	if depth > format.MaxDepth {
		return 0, fmt.Errorf("offset %d: nested deeper than %d", off, format.MaxDepth)
	}
	kind, size, payload, err := w.d.Control(off)
	if err != nil {
		return 0, err
	}
	markBit(w.starts, off)
	switch kind {
	case format.KindPointer:
		if size >= uint(len(w.d.Bytes())) {
			return 0, fmt.Errorf("the pointer at offset %d points to %d, past the end of the section", off, size)
		}
		markBit(w.targets, size)
		return payload, nil
	case format.KindMap:
		return w.mapValue(off, size, payload, depth)
	case format.KindSlice:
		next := payload
		for range size {
			if next, err = w.value(next, depth+1); err != nil {
				return 0, err
			}
		}
		return next, nil
	case format.KindBool:
		return payload, nil
	default:
		return payload + size, nil
	}
}

// mapValue walks the entries of the map at off and checks that no key
// repeats: small maps by a scan of the keys so far, large ones with a set.
func (w *dataWalk) mapValue(off, size, payload uint, depth int) (uint, error) {
	base := len(w.keys)
	defer func() { w.keys = w.keys[:base] }()
	var set map[string]bool
	if size > 32 {
		set = make(map[string]bool, min(size, 1<<16))
	}
	next := payload
	for range size {
		k, _, err := w.d.StringAt(next)
		if err != nil {
			return 0, fmt.Errorf("map key at offset %d: %w", next, err)
		}
		dup := false
		if set != nil {
			dup = set[string(k)]
			set[string(k)] = true
		} else {
			dup = slices.ContainsFunc(w.keys[base:], func(x []byte) bool { return bytes.Equal(x, k) })
			w.keys = append(w.keys, k)
		}
		if dup {
			return 0, fmt.Errorf("the map at offset %d has the key %q twice (readers disagree on which value wins)", off, k)
		}
		if next, err = w.value(next, depth+1); err != nil {
			return 0, err
		}
		if next, err = w.value(next, depth+1); err != nil {
			return 0, err
		}
	}
	return next, nil
}

// walkData walks the whole data section, value by value, and returns
// where values start and where pointers point. A map with a repeated key
// is an error.
func walkData(data []byte) (*dataWalk, error) {
	w := &dataWalk{d: format.NewDecoder(data), starts: make([]uint64, len(data)/64+1), targets: make([]uint64, len(data)/64+1)}
	for off := uint(0); off < uint(len(data)); {
		next, err := w.value(off, 0)
		if err != nil {
			return nil, err
		}
		if next <= off {
			return nil, fmt.Errorf("offset %d: the value does not advance", off)
		}
		off = next
	}
	return w, nil
}

// checkDataStructure checks that every pointer of the data section lands
// at the start of a value that is not itself a pointer, and that no map
// repeats a key. It runs after the reader's Verify, so the values decode.
func checkDataStructure(data []byte) error {
	w, err := walkData(data)
	if err != nil {
		return err
	}
	for i, t := range w.targets {
		for t != 0 {
			target := uint(i)*64 + uint(bits.TrailingZeros64(t))
			t &= t - 1
			if !testBit(w.starts, target) {
				return fmt.Errorf("%s points to offset %d, inside a value rather than at its start", w.pointerTo(target), target)
			}
			if k, _, _, err := w.d.Control(target); err == nil && k == format.KindPointer {
				return fmt.Errorf("%s points to another pointer at offset %d", w.pointerTo(target), target)
			}
		}
	}
	return nil
}

// pointerTo names the first pointer of the data section that points to
// target, for an error message: the section is scanned again, which only
// happens once, on the way out.
func (w *dataWalk) pointerTo(target uint) string {
	data := w.d.Bytes()
	for off := uint(0); off < uint(len(data)); off++ {
		if !testBit(w.starts, off) {
			continue
		}
		if k, size, _, err := w.d.Control(off); err == nil && k == format.KindPointer && size == target {
			return fmt.Sprintf("the pointer at offset %d", off)
		}
	}
	return "a pointer"
}

// reachableNodes counts the distinct search-tree nodes reachable from the
// root, expanding each once. It runs after the reader's Verify, which has
// checked that the tree has no cycles and that every record is valid.
func reachableNodes(f *mmdbFile) uint64 {
	nc := f.md.NodeCount
	seen := make([]uint64, nc/64+1)
	stack := []uint{0}
	seen[0] = 1
	n := uint64(1)
	for len(stack) > 0 {
		node := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		l, r := format.ReadNode(f.tree, f.md.RecordSize, node)
		for _, c := range [2]uint{l, r} {
			if c < nc && seen[c/64]&(1<<(c%64)) == 0 {
				seen[c/64] |= 1 << (c % 64)
				n++
				stack = append(stack, c)
			}
		}
	}
	return n
}
