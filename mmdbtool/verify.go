package mmdbtool

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/reader"
)

// VerifyReport is what Verify finds in a file.
type VerifyReport struct {
	// Path names the file.
	Path string
	// Metadata is the file's metadata as the reader decodes it, and
	// DataSectionSize the size of its data section in bytes.
	Metadata        reader.Metadata
	DataSectionSize int
	// Problems are the reasons the file fails, each an error naming the
	// file; none for a good file.
	Problems []error
	// Warnings are what a good file may have and a careful user may not
	// want: search-tree nodes that no path reaches, an empty description.
	// Unreached nodes are looked for only in a file without problems.
	Warnings []string
}

// Err returns the problems joined, one a line, or nil.
func (r *VerifyReport) Err() error { return errors.Join(r.Problems...) }

// Verify maps the file at path and checks its structure in full. It
// returns an error only when the file cannot be read as a MaxMind DB at
// all (missing, not a regular file, no metadata marker, metadata that
// does not decode, a search tree that does not fit before the data
// section); every other problem is in the report. A file fails when:
//
//  1. the reader's Verify rejects it, with the rules of
//     maxminddb-golang's Verify (metadata values, the tree without
//     cycles, every record at the start of a value of the data section,
//     the separator, every value decoding, no orphan values); when the
//     metadata breaks these rules the tree and the data section are
//     still checked, and their problems reported too;
//  2. libmaxminddb would refuse to open it: a metadata key without the
//     type libmaxminddb demands, build_epoch 0, or the marker farther
//     than format.MaxMetadataSize from the end of the file;
//  3. the data section is ambiguous: a pointer into the middle of a
//     value, a pointer to a pointer, a map with the same key twice.
//
// An empty description (which only maxminddb-golang's Verify rejects;
// every reader opens such a file) is a warning, and the tree and the data
// section are then checked here in full.
func Verify(path string) (*VerifyReport, error) {
	f, err := openRaw(path)
	if err != nil {
		return nil, err
	}
	defer f.close()
	rep := &VerifyReport{Path: path, Metadata: f.md, DataSectionSize: len(f.data)}
	add := func(err error) { rep.Problems = append(rep.Problems, fmt.Errorf("%s: %w", path, err)) }
	rerr := f.r.Verify()
	if rerr != nil && emptyDescriptionOnly(f.md) {
		// maxminddb-golang's Verify wants a description; every reader
		// opens a file without one (DB-IP's and GeoLite2's files in the
		// @ip-location-db npm packages have none). Verify stopped at the
		// metadata: check the tree and the data section here.
		rep.Warnings = append(rep.Warnings, "metadata: the description is empty: maxminddb-golang's Verify() rejects that, every reader opens the file")
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
	if err := checkMetadataTypes(f.meta); err != nil {
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
	if len(rep.Problems) == 0 {
		if n := uint64(f.md.NodeCount) - reachableNodes(f); n > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d of the %d search-tree nodes are not reachable from the root", n, f.md.NodeCount))
		}
	}
	return rep, nil
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
// walk of Inspect (no node below the last bit, no cycle, every record in
// range), every top-level value decoding in full and reached from the
// tree, and every record pointing at the start of a value.
func checkTreeAndValues(f *rawFile) error {
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
func checkMetadataTypes(meta []byte) error {
	v, _, err := format.NewDecoder(meta).Value(0)
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
func reachableNodes(f *rawFile) uint64 {
	nc := f.md.NodeCount
	seen := make([]uint64, nc/64+1)
	stack := []uint{0}
	markBit(seen, 0)
	n := uint64(1)
	for len(stack) > 0 {
		node := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		l, r := format.ReadNode(f.tree, f.md.RecordSize, node)
		for _, c := range [2]uint{l, r} {
			if c < nc && !testBit(seen, c) {
				markBit(seen, c)
				n++
				stack = append(stack, c)
			}
		}
	}
	return n
}
