package reader

import (
	"encoding/binary"
	"math"
	"math/big"
	"strconv"
	"sync"
	"unsafe"

	"github.com/ipatlas/ipatlas/format"
)

// The byte layer of the reader's decoder: format.ReadControl and
// format.ReadResolved with the reader's errors, payloads, scalars, map keys
// and skipping, under format's limits.

// Data-section kinds, numbered as the MaxMind DB spec numbers them.
const (
	kPointer   = 1
	kString    = 2
	kFloat64   = 3
	kBytes     = 4
	kUint16    = 5
	kUint32    = 6
	kMap       = 7
	kInt32     = 8
	kUint64    = 9
	kUint128   = 10
	kSlice     = 11
	kContainer = 12
	kEndMarker = 13
	kBool      = 14
	kFloat32   = 15
)

var kindNames = [...]string{"extended", "pointer", "utf8_string", "double", "bytes", "uint16", "uint32", "map", "int32", "uint64", "uint128", "array", "container", "end_marker", "boolean", "float32"}

func kindName(k uint) string {
	if k < uint(len(kindNames)) {
		return kindNames[k]
	}
	return "unknown type: " + strconv.Itoa(int(k))
}

// maxDepth is how deeply maps, arrays and pointers may nest: format's
// limit, which the skip cache's depth field must hold.
const maxDepth = format.MaxDepth

const _ = uint(1<<skipDepthBits - 1 - maxDepth) // skipDepthBits holds maxDepth

var (
	errDepth    = InvalidDatabaseError{"exceeded maximum data structure depth; database is likely corrupt"}
	errTooLarge = InvalidDatabaseError{"exceeded maximum decoded record size; database is likely corrupt"}
)

// decoder reads values of one section. It is a read-only view plus a
// concurrency-safe string cache, and is used by value from any goroutine.
type decoder struct {
	buf     []byte
	strings *stringCache // nil: no cache
	skips   *skipCache   // nil: no cache
	maps    *mapCache    // nil: no cache
}

// state is per-call decoding state.
type state struct {
	budget int // values (and container entries) left to decode
}

var statePool = sync.Pool{New: func() any { return new(state) }}

// getState returns a pooled state with a fresh budget (decode functions
// are called indirectly, so a state on the stack would escape anyway).
func (d *decoder) getState() *state {
	st := statePool.Get().(*state)
	*st = d.newState()
	return st
}

// newState returns the state for one decode. The budget is format's
// ExpansionLimit: it grows with the section, since a record reached
// through pointers may expand beyond its own bytes (shared names), but
// not without bound, so that a corrupt file whose pointers fan out is an
// error, not a long stall.
func (d *decoder) newState() state {
	values, _ := format.ExpansionLimit(len(d.buf))
	return state{budget: values}
}

// ctrl parses the control byte at off (format.ReadControl). For a
// pointer it returns kPointer, the target offset as size and the offset
// after the pointer. Otherwise it returns the kind (an invalid extended
// type as its number, which the kind switches reject), the size and the
// payload offset. Sizes are not checked against the buffer here.
func (d *decoder) ctrl(off uint) (kind, size, next uint, err error) {
	kind, size, next, st := format.ReadControl(d.buf, off)
	if st > format.ControlBadExtended {
		err = errOffset // the other results are 0
	}
	return
}

// resolve is ctrl that follows one pointer (format.ReadResolved). after
// is the offset after the value at off (for a pointer, after the pointer
// itself; for other values only known once the payload is read, so 0). A
// pointer to a pointer is an error.
func (d *decoder) resolve(off uint) (kind, size, payload, after uint, err error) {
	kind, size, payload, after, st := format.ReadResolved(d.buf, off)
	if st > format.ControlBadExtended {
		return 0, 0, 0, 0, controlErr(st, payload)
	}
	return kind, size, payload, after, nil
}

// controlErr words a status of format.ReadResolved for the control at off.
func controlErr(st format.ControlStatus, off uint) error {
	if st == format.ControlPointerToPointer {
		return newInvalidDatabaseError("invalid pointer to pointer at offset %d", off)
	}
	return errOffset
}

// payload returns size bytes at off.
func (d *decoder) payload(off, size uint) ([]byte, error) {
	end := off + size
	if end > uint(len(d.buf)) || end < off {
		return nil, errOffset
	}
	return d.buf[off:end], nil
}

// str returns the string payload at off as a Go string, from the cache
// when it has it.
func (d *decoder) str(off, size uint) (string, error) {
	b, err := d.payload(off, size)
	if err != nil {
		return "", err
	}
	if d.strings != nil && size <= maxCachedString && size > 0 {
		return d.strings.get(off, b), nil
	}
	return string(b), nil
}

// uintAt reads a big-endian unsigned integer of size bytes, of a kind
// whose sizes format.SizeValid bounds.
func (d *decoder) uintAt(off, size uint, kind uint) (uint64, error) {
	if !format.SizeValid(format.Kind(kind), size) {
		return 0, sizeErr(kind, size)
	}
	b, err := d.payload(off, size)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// kindDisplay names a kind as maxminddb-golang's size errors do.
func kindDisplay(kind uint) string {
	switch kind {
	case kFloat64:
		return "Float64"
	case kFloat32:
		return "Float32"
	case kBool:
		return "bool"
	case kUint16:
		return "Uint16"
	case kUint32:
		return "Uint32"
	case kUint64:
		return "Uint64"
	case kUint128:
		return "Uint128"
	case kInt32:
		return "Int32"
	}
	return kindName(kind)
}

// sizeErr reports a scalar whose size is not valid for its kind
// (format.SizeValid), in maxminddb-golang's words.
func sizeErr(kind, size uint) error {
	return newInvalidDatabaseError("invalid %s size: %d", kindDisplay(kind), size)
}

// scalar decodes the scalar of kind at payload into a Go value of the
// type maxminddb-golang v2 uses for interface{} targets, and returns the
// offset after it.
func (d *decoder) scalar(kind, size, payload uint) (any, uint, error) {
	switch kind {
	case kString:
		s, err := d.str(payload, size)
		return s, payload + size, err
	case kFloat64:
		f, err := d.float(kind, size, payload)
		return f, payload + 8, err
	case kFloat32:
		f, err := d.float(kind, size, payload)
		return float32(f), payload + 4, err
	case kBytes:
		b, err := d.payload(payload, size)
		if err != nil {
			return nil, 0, err
		}
		return append(make([]byte, 0, len(b)), b...), payload + size, nil
	case kUint16, kUint32, kUint64:
		v, err := d.uintAt(payload, size, kind)
		return v, payload + size, err
	case kInt32:
		v, err := d.uintAt(payload, size, kind)
		return int32(uint32(v)), payload + size, err
	case kUint128:
		if !format.SizeValid(format.KindUint128, size) {
			return nil, 0, sizeErr(kind, size)
		}
		b, err := d.payload(payload, size)
		if err != nil {
			return nil, 0, err
		}
		return new(big.Int).SetBytes(b), payload + size, nil
	case kBool:
		if size > 1 {
			return nil, 0, sizeErr(kind, size)
		}
		return size == 1, payload, nil
	}
	return nil, 0, newInvalidDatabaseError("unknown type: %d", kind)
}

// checkContainer rejects containers that cannot fit in the rest of the
// section (every entry takes at least one byte, a map entry two) or that
// exceed the value budget.
func (d *decoder) checkContainer(kind, size, payload uint, st *state) error {
	rest := uint(len(d.buf)) - min(payload, uint(len(d.buf)))
	n := size
	if kind == kMap {
		n *= 2
	}
	if n > rest {
		return errTooLarge
	}
	if st.budget -= int(size); st.budget < 0 {
		return errTooLarge
	}
	return nil
}

// key reads a map key (a string, possibly through a pointer) at off and
// returns it and the offset after it.
func (d *decoder) key(off uint) (string, uint, error) {
	b, next, err := d.keyBytes(off)
	if err != nil {
		return "", 0, err
	}
	if d.strings != nil && len(b) <= maxCachedString && len(b) > 0 {
		return d.strings.get(d.offsetOf(b), b), next, nil
	}
	return string(b), next, nil
}

// keyBytes is key without copying: the bytes are a view of the section.
func (d *decoder) keyBytes(off uint) ([]byte, uint, error) {
	// Fast path: a short string, or a pointer to one, the forms nearly
	// every key takes; anything else, or anything near the end of the
	// section, goes the general way, which also reports the errors.
	buf := d.buf
	if off+5 <= uint(len(buf)) {
		c := buf[off]
		switch c >> 5 {
		case kString:
			if n := uint(c & 0x1f); n < 29 && off+1+n <= uint(len(buf)) {
				return buf[off+1 : off+1+n], off + 1 + n, nil
			}
		case kPointer:
			v := uint(c & 7)
			var target, next uint
			switch (c >> 3) & 3 {
			case 0:
				target, next = v<<8|uint(buf[off+1]), off+2
			case 1:
				target, next = (v<<16|uint(buf[off+1])<<8|uint(buf[off+2]))+2048, off+3
			case 2:
				target, next = (v<<24|uint(buf[off+1])<<16|uint(buf[off+2])<<8|uint(buf[off+3]))+526336, off+4
			default:
				target, next = uint(binary.BigEndian.Uint32(buf[off+1:off+5])), off+5
			}
			if target < uint(len(buf)) {
				t := buf[target]
				if n := uint(t & 0x1f); t>>5 == kString && n < 29 && target+1+n <= uint(len(buf)) {
					return buf[target+1 : target+1+n], next, nil
				}
			}
		}
	}
	kind, size, payload, after, err := d.resolve(off)
	if err != nil {
		return nil, 0, err
	}
	if kind != kString {
		return nil, 0, newInvalidDatabaseError("unexpected type when decoding string: %s", kindName(kind))
	}
	b, err := d.payload(payload, size)
	if err != nil {
		return nil, 0, err
	}
	if after == 0 {
		after = payload + size
	}
	return b, after, nil
}

// skip returns the offset after the value at off. Scalar sizes are checked
// when strict; containers always check the values inside them (as
// maxminddb-golang does when it skips an unknown struct field).
func (d *decoder) skip(off uint, depth int, st *state, strict bool) (uint, error) {
	if depth > maxDepth {
		return 0, errDepth
	}
	// Fast path: a pointer, or a short string, double or small unsigned
	// integer that fits in the section, valid in any mode.
	if buf := d.buf; off+5 <= uint(len(buf)) {
		c := buf[off]
		n := uint(c & 0x1f)
		switch c >> 5 {
		case kPointer:
			return off + 2 + (n>>3)&3, nil
		case kString:
			if n < 29 && off+1+n <= uint(len(buf)) {
				return off + 1 + n, nil
			}
		case kFloat64:
			if n == 8 && off+9 <= uint(len(buf)) {
				return off + 9, nil
			}
		case kUint16, kUint32:
			// n <= 4 fits: off+5 <= len(buf).
			if n <= 2 || c>>5 == kUint32 && n <= 4 {
				return off + 1 + n, nil
			}
		}
	}
	kind, size, payload, err := d.ctrl(off)
	if err != nil {
		return 0, err
	}
	switch kind {
	case kPointer:
		return payload, nil
	case kMap, kSlice:
		n := size
		if kind == kMap {
			n *= 2
		}
		cache := d.skips != nil && n >= minSkipCached
		if cache {
			if end, ok := d.skips.get(off, depth); ok {
				return end, nil
			}
		}
		if err := d.checkContainer(kind, size, payload, st); err != nil {
			return 0, err
		}
		for range n {
			if payload, err = d.skip(payload, depth+1, st, true); err != nil {
				return 0, err
			}
		}
		if cache {
			d.skips.put(off, payload, depth)
		}
		return payload, nil
	case kBool:
		if size > 1 {
			return 0, sizeErr(kind, size)
		}
		return payload, nil
	case kFloat64, kFloat32, kUint16, kUint32, kInt32, kUint64, kUint128:
		if strict && !format.SizeValid(format.Kind(kind), size) {
			return 0, sizeErr(kind, size)
		}
	case kString, kBytes:
	default:
		return 0, newInvalidDatabaseError("unknown type: %d", kind)
	}
	if _, err := d.payload(payload, size); err != nil {
		return 0, err
	}
	return payload + size, nil
}

// isEmptyAt reports whether the value at off (following a pointer) is an
// empty map or array.
func (d *decoder) isEmptyAt(off uint) (bool, error) {
	kind, size, _, _, err := d.resolve(off)
	if err != nil {
		return false, err
	}
	return (kind == kMap || kind == kSlice) && size == 0, nil
}

// offsetOf returns the offset of b, a subslice of the section, in it.
func (d *decoder) offsetOf(b []byte) uint {
	return uint(uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(unsafe.Pointer(unsafe.SliceData(d.buf))))
}

// float reads the double (kFloat64) or float (kFloat32) payload at off,
// with d.scalar's size checks and errors.
func (d *decoder) float(kind, size, off uint) (float64, error) {
	if !format.SizeValid(format.Kind(kind), size) {
		return 0, sizeErr(kind, size)
	}
	b, err := d.payload(off, size)
	if err != nil {
		return 0, err
	}
	if kind == kFloat64 {
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	}
	return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
}
