package reader

import (
	"bytes"
	"fmt"
	"math/big"
	"runtime"
	"unicode/utf8"

	"github.com/ipatlas/ipatlas/format"
)

// Verify checks the whole database: the metadata (format 2.0, a database
// type, a description, a valid IP version, record size and node count),
// the search tree (no cycles, no path longer than 128 bits, every record
// pointing into the data section), the separator, and the data section
// (every value decodes, valid UTF-8, every top-level value reached from
// the tree and every record the tree points to starting a value). It
// returns the first problem as an InvalidDatabaseError. It runs in time
// and memory linear in the file size.
func (r *Reader) Verify() error {
	if r == nil {
		return errNilReader
	}
	if r.buffer == nil {
		return newInvalidDatabaseError("cannot call Verify on a closed database")
	}
	defer runtime.KeepAlive(r) // the file is mapped memory; see Lookup
	if err := r.verifyMetadata(); err != nil {
		return err
	}
	offsets, err := r.verifyTree()
	if err != nil {
		return err
	}
	sepStart := uint(len(r.tree))
	if sepStart+dataSectionSeparatorSize > uint(len(r.buffer)) {
		return newInvalidDatabaseError("unexpected end of database while reading data section separator")
	}
	sep := r.buffer[sepStart : sepStart+dataSectionSeparatorSize]
	if !bytes.Equal(sep, make([]byte, dataSectionSeparatorSize)) {
		return newInvalidDatabaseError("unexpected byte in data separator: %v", sep)
	}
	return r.verifyData(offsets)
}

func verifyErr(field string, expected, actual any) error {
	return newInvalidDatabaseError("%v - Expected: %v Actual: %v", field, expected, actual)
}

func (r *Reader) verifyMetadata() error {
	i := bytes.LastIndex(r.buffer, metadataStartMarker)
	if i < 0 {
		return newInvalidDatabaseError("metadata marker not found")
	}
	md := decoder{buf: r.buffer[i+len(metadataStartMarker):]}
	off := uint(0)
	for first := true; first || off < uint(len(md.buf)); first = false {
		st := md.newState()
		v, next, err := md.decodeAny(off, 0, &st)
		if err != nil {
			if first {
				return withOffset(err, off)
			}
			return newInvalidDatabaseError("invalid value after the metadata map (%v) at offset of %v", err, off)
		}
		if err := checkUTF8(v); err != nil {
			return newInvalidDatabaseError("metadata: %v", err)
		}
		off = next
	}
	m := r.Metadata
	switch {
	case m.BinaryFormatMajorVersion != 2:
		return verifyErr("binary_format_major_version", 2, m.BinaryFormatMajorVersion)
	case m.BinaryFormatMinorVersion != 0:
		return verifyErr("binary_format_minor_version", 0, m.BinaryFormatMinorVersion)
	case m.DatabaseType == "":
		return verifyErr("database_type", "non-empty string", m.DatabaseType)
	case len(m.Description) == 0:
		return verifyErr("description", "non-empty map", m.Description)
	case m.IPVersion != 4 && m.IPVersion != 6:
		return verifyErr("ip_version", "4 or 6", m.IPVersion)
	case !r.validRecordSize:
		return verifyErr("record_size", "24, 28, or 32", m.RecordSize)
	case m.NodeCount == 0:
		return verifyErr("node_count", "positive integer", m.NodeCount)
	}
	return nil
}

// checkUTF8 checks every string and map key of a decoded value.
func checkUTF8(v any) error {
	switch v := v.(type) {
	case string:
		if !utf8.ValidString(v) {
			return fmt.Errorf("invalid UTF-8 in string %q", v)
		}
	case map[string]any:
		for k, e := range v {
			if !utf8.ValidString(k) {
				return fmt.Errorf("invalid UTF-8 in map key %q", k)
			}
			if err := checkUTF8(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range v {
			if err := checkUTF8(e); err != nil {
				return err
			}
		}
	case *big.Int, []byte, bool, float32, float64, int32, uint64:
	}
	return nil
}

// verifyTree walks the tree (format.Tree.Walk, aliases of the IPv4
// subtree skipped) and returns the set of data offsets its records point
// to. The walk's bound on node visits makes it linear in the tree's size:
// a cycle, a path longer than 128 bits, or a subtree shared by more paths
// than the Tolerant budget allows is an error; a subtree shared within it
// is not, as in maxminddb-golang's Verify.
func (r *Reader) verifyTree() (map[uint]bool, error) {
	offsets := make(map[uint]bool)
	for l, err := range r.searchTree.Walk(format.WalkOptions{Tolerant: true}) {
		if err != nil {
			return nil, treeError(err).err
		}
		offsets[l.Offset] = true
	}
	return offsets, nil
}

// verifyData decodes the data section value by value, then checks that
// every search-tree record and every pointer lands on the start of a value
// (a top-level value or one nested in it), as maxminddb-golang v2 does.
func (r *Reader) verifyData(offsets map[uint]bool) error {
	d := decoder{buf: r.dec.buf}
	end := uint(len(d.buf))
	off := uint(0)
	for off < end {
		st := d.newState()
		v, next, err := d.decodeAny(off, 0, &st)
		if err != nil {
			return withOffset(err, off)
		}
		if next <= off {
			return newInvalidDatabaseError("data section offset unexpectedly went from %v to %v", off, next)
		}
		if !offsets[off] {
			return newInvalidDatabaseError("found data (%v) at %v that the search tree does not point to", v, off)
		}
		if err := checkUTF8(v); err != nil {
			return newInvalidDatabaseError("data section at offset %d: %v", off, err)
		}
		off = next
	}
	starts, err := d.valueStarts()
	if err != nil {
		return err
	}
	// A record may point at a value nested inside a top-level value (a
	// map, a key, an array element): MaxMind's Perl writer writes such
	// records when a record repeats a nested value. Only a record into the
	// middle of a value is an error; the lowest one is reported, so that
	// the error is the same on each run.
	missing := 0
	bad := end
	for o := range offsets {
		if o >= end {
			missing++
		} else if !starts.has(o) && o < bad {
			bad = o
		}
	}
	if bad != end {
		return newInvalidDatabaseError("search tree points into the middle of a field in the data record at %v (offset %v)", d.recordStart(bad), bad)
	}
	if missing != 0 {
		return newInvalidDatabaseError("found %v pointers (of %v) in the search tree that we did not see in the data section", missing, len(offsets))
	}
	return nil
}

// bitset has one bit per byte offset of a section.
type bitset []uint64

func (b bitset) set(off uint)      { b[off/64] |= 1 << (off % 64) }
func (b bitset) has(off uint) bool { return b[off/64]&(1<<(off%64)) != 0 }

// valueStarts returns the offset of every value in the section, nested
// ones included (a map or array header is followed by its entries), and
// checks that every pointer targets one of them. The section has been
// decoded value by value before, so it is well formed.
func (d *decoder) valueStarts() (bitset, error) {
	end := uint(len(d.buf))
	starts := make(bitset, end/64+1)
	var pointers []uint // offsets of forward pointers, checked at the end
	for off := uint(0); off < end; {
		kind, size, next, err := d.ctrl(off)
		if err != nil {
			return nil, withOffset(err, off)
		}
		starts.set(off)
		switch kind {
		case kPointer:
			// size is the target; the writers point backwards, at values
			// already seen, so most pointers are checked at once.
			if size < off {
				if !starts.has(size) {
					return nil, pointerTargetError(off, size)
				}
			} else {
				pointers = append(pointers, off)
			}
		case kMap, kSlice, kBool:
			// Entries follow the header; a bool has no payload.
		default:
			next += size
		}
		off = next
	}
	for _, off := range pointers {
		_, target, _, _ := d.ctrl(off)
		if target >= end || !starts.has(target) {
			return nil, pointerTargetError(off, target)
		}
	}
	return starts, nil
}

func pointerTargetError(off, target uint) error {
	return newInvalidDatabaseError("data section pointer at offset %v does not point to the start of a field (offset %v)", off, target)
}

// recordStart returns the start of the top-level value that holds off, for
// an error message. The section is well formed.
func (d *decoder) recordStart(off uint) uint {
	start := uint(0)
	for {
		st := d.newState()
		next, err := d.skip(start, 0, &st, true)
		if err != nil || next > off || next <= start {
			return start
		}
		start = next
	}
}
