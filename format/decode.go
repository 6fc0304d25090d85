package format

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// Decoder reads values from one section: the data section, or the
// metadata section after its marker. It is a read-only view and safe for
// concurrent use. Every read is bounds-checked; malformed input gives a
// *DataError, never a panic.
type Decoder struct {
	buf     []byte
	section string
}

// NewDecoder returns a Decoder over the data section buf.
func NewDecoder(buf []byte) Decoder { return Decoder{buf: buf, section: "data"} }

// Bytes returns the section the decoder reads.
func (d Decoder) Bytes() []byte { return d.buf }

// Control parses the control byte(s) at off (ReadControl, with errors).
// For a pointer it returns KindPointer, the offset the pointer points to
// as size, and the offset just past the pointer. For any other kind, size
// is the payload length in bytes (strings, bytes, numbers), the entry
// count (maps, arrays) or the value itself (booleans), and payload is
// where the payload starts. The kind and size are not checked against
// each other; the typed readers do.
func (d Decoder) Control(off uint) (kind Kind, size uint, payload uint, err error) {
	k, size, payload, st := ReadControl(d.buf, off)
	if st != ControlOK {
		return 0, 0, 0, d.controlErr(off, st)
	}
	return Kind(k), size, payload, nil
}

// controlErr words the status of a control at off that could not be read.
func (d Decoder) controlErr(off uint, st ControlStatus) error {
	switch st {
	case ControlNoByte:
		return d.errf(off, "unexpected end of section reading a control byte")
	case ControlPointerTruncated:
		return d.errf(off, "pointer runs past the end of the section")
	case ControlExtendedTruncated:
		return d.errf(off+1, "unexpected end of section reading an extended type")
	case ControlBadExtended:
		if off+1 >= uint(len(d.buf)) {
			return d.errf(off, "invalid extended type")
		}
		return d.errf(off+1, "invalid extended type %d", uint(d.buf[off+1])+7)
	case ControlSizeTruncated:
		sizeOff := off + 1
		if d.buf[off]>>5 == 0 {
			sizeOff++ // after the extended type byte
		}
		return d.errf(sizeOff, "size bytes run past the end of the section")
	case ControlPointerToPointer:
		return d.errf(off, "pointer to a pointer")
	}
	return d.errf(off, "control status %d", st)
}

// Resolve is Control that follows one pointer (ReadResolved, with
// errors). For a pointer at off it returns the control of the value
// pointed to, pointedFrom true and next, the offset just past the
// pointer. Otherwise pointedFrom is false and next is 0: the value ends
// where its payload and size say. A pointer to a pointer is an error.
func (d Decoder) Resolve(off uint) (kind Kind, size, payload uint, pointedFrom bool, next uint, err error) {
	k, size, payload, next, st := ReadResolved(d.buf, off)
	if st != ControlOK {
		at := payload // the control that failed, for the hard statuses
		if st == ControlBadExtended {
			// payload is where the bad value's payload starts: name its
			// control, at off or at the pointer's target (FuzzFastAnswer
			// found `00 30` indexing past the section here).
			at = off
			if pk, target, _, pst := ReadControl(d.buf, off); pst == ControlOK && pk == uint(KindPointer) {
				at = target
			}
		}
		return 0, 0, 0, false, 0, d.controlErr(at, st)
	}
	return Kind(k), size, payload, next != 0, next, nil
}

// Uint reads a big-endian unsigned integer of size bytes (at most 8) at off.
func (d Decoder) Uint(off, size uint) (uint64, error) {
	if size > 8 {
		return 0, d.errf(off, "integer of %d bytes", size)
	}
	if off+size > uint(len(d.buf)) || off+size < off {
		return 0, d.errf(off, "integer of %d bytes runs past the end of the section", size)
	}
	var v uint64
	for _, c := range d.buf[off : off+size] {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// payload returns the size bytes at off, bounds-checked.
func (d Decoder) payload(off, size uint) ([]byte, error) {
	end := off + size
	if end > uint(len(d.buf)) || end < off {
		return nil, d.errf(off, "payload of %d bytes runs past the end of the section", size)
	}
	return d.buf[off:end], nil
}

// StringAt reads the string value at off (following a pointer) and returns
// it without copying, as a slice of the section, and the offset after the
// value at off. It checks that the bytes are valid UTF-8.
func (d Decoder) StringAt(off uint) (s []byte, next uint, err error) {
	kind, size, payload, ptr, after, err := d.Resolve(off)
	if err != nil {
		return nil, 0, err
	}
	if kind != KindString {
		return nil, 0, d.errf(off, "expected utf8_string, found %s", kind)
	}
	b, err := d.payload(payload, size)
	if err != nil {
		return nil, 0, err
	}
	if !utf8.Valid(b) {
		return nil, 0, d.errf(payload, "invalid UTF-8 in string")
	}
	if !ptr {
		after = payload + size
	}
	return b, after, nil
}

// Skip returns the offset just past the value at off without decoding it:
// a pointer counts as its own few bytes, containers are skipped entry by
// entry.
func (d Decoder) Skip(off uint) (uint, error) {
	return d.skip(off, 0)
}

func (d Decoder) skip(off uint, depth int) (uint, error) {
	if depth > MaxDepth {
		return 0, d.errf(off, "data nested deeper than %d", MaxDepth)
	}
	kind, size, payload, err := d.Control(off)
	if err != nil {
		return 0, err
	}
	switch kind {
	case KindPointer:
		return payload, nil
	case KindMap:
		if size > (uint(len(d.buf))-payload)/2 {
			return 0, d.errf(off, "map of %d entries exceeds the section", size)
		}
		size *= 2
		fallthrough
	case KindSlice:
		if size > uint(len(d.buf))-payload {
			return 0, d.errf(off, "array of %d entries exceeds the section", size)
		}
		next := payload
		for range size {
			if next, err = d.skip(next, depth+1); err != nil {
				return 0, err
			}
		}
		return next, nil
	case KindBool:
		if size > 1 {
			return 0, d.errf(off, "boolean of size %d", size)
		}
		return payload, nil
	case KindContainer, KindEndMarker:
		return 0, d.errf(off, "invalid data type %s", kind)
	}
	if err := checkSize(kind, size); err != "" {
		return 0, d.errf(off, "%s", err)
	}
	if _, err := d.payload(payload, size); err != nil {
		return 0, err
	}
	return payload + size, nil
}

// checkSize returns why size is wrong for a scalar kind (SizeValid), or "".
func checkSize(kind Kind, size uint) string {
	if SizeValid(kind, size) {
		return ""
	}
	switch kind {
	case KindFloat64:
		return "double of " + itoa(size) + " bytes, want 8"
	case KindFloat32:
		return "float of " + itoa(size) + " bytes, want 4"
	}
	return kind.String() + " of " + itoa(size) + " bytes, at most " + itoa(MaxSize(kind))
}

func itoa(n uint) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// Value decodes the value at off into a Value tree, following pointers,
// and returns the offset just past the value at off. Strings are copied
// out of the section. Invalid UTF-8, sizes that do not fit their kind,
// nesting deeper than MaxDepth, pointer cycles and runaway pointer fan-out
// (more values or payload bytes than 16 per byte of the section, see
// ExpansionLimit) are errors.
func (d Decoder) Value(off uint) (Value, uint, error) {
	var st valueState
	st.maxValues, st.maxBytes = ExpansionLimit(len(d.buf))
	st.budget, st.bytes = st.maxValues, st.maxBytes
	return d.value(off, 0, &st)
}

type valueState struct {
	maxValues, maxBytes int    // the limits, for error messages
	budget              int    // values left to produce
	bytes               int    // payload bytes left to copy
	path                []uint // pointer targets being decoded, to detect cycles
}

// spend takes n payload bytes from the budget, or reports that the value
// expands past it.
func (st *valueState) spend(d Decoder, off uint, n uint) error {
	if n > uint(st.bytes) {
		return d.errf(off, "value expands to more than %d bytes of strings and bytes", st.maxBytes)
	}
	st.bytes -= int(n)
	return nil
}

func (d Decoder) value(off uint, depth int, st *valueState) (Value, uint, error) {
	if depth > MaxDepth {
		return nil, 0, d.errf(off, "data nested deeper than %d", MaxDepth)
	}
	st.budget--
	if st.budget < 0 {
		return nil, 0, d.errf(off, "value expands to more than %d values", st.maxValues)
	}
	kind, size, payload, err := d.Control(off)
	if err != nil {
		return nil, 0, err
	}
	switch kind {
	case KindPointer:
		for _, t := range st.path {
			if t == size {
				return nil, 0, d.errf(off, "pointer cycle through offset %d", size)
			}
		}
		if _, _, _, _, _, err := d.Resolve(off); err != nil {
			return nil, 0, err // the target is unreadable, or a pointer
		}
		st.path = append(st.path, size)
		v, _, err := d.value(size, depth+1, st)
		st.path = st.path[:len(st.path)-1]
		return v, payload, err
	case KindMap:
		if size > (uint(len(d.buf))-payload)/2 {
			return nil, 0, d.errf(off, "map of %d entries exceeds the section", size)
		}
		if size > uint(st.budget) { // each entry is at least one value
			return nil, 0, d.errf(off, "value expands to more than %d values", st.maxValues)
		}
		m := make(Map, size)
		next := payload
		for range size {
			var key []byte
			key, next, err = d.StringAt(next)
			if err != nil {
				return nil, 0, err
			}
			if err := st.spend(d, off, uint(len(key))); err != nil {
				return nil, 0, err
			}
			var v Value
			v, next, err = d.value(next, depth+1, st)
			if err != nil {
				return nil, 0, err
			}
			m[string(key)] = v
		}
		return m, next, nil
	case KindSlice:
		if size > uint(len(d.buf))-payload {
			return nil, 0, d.errf(off, "array of %d entries exceeds the section", size)
		}
		if size > uint(st.budget) { // each element is at least one value
			return nil, 0, d.errf(off, "value expands to more than %d values", st.maxValues)
		}
		s := make(Slice, size)
		next := payload
		for i := range s {
			s[i], next, err = d.value(next, depth+1, st)
			if err != nil {
				return nil, 0, err
			}
		}
		return s, next, nil
	case KindBool:
		if size > 1 {
			return nil, 0, d.errf(off, "boolean of size %d", size)
		}
		return Bool(size == 1), payload, nil
	case KindContainer, KindEndMarker:
		return nil, 0, d.errf(off, "invalid data type %s", kind)
	}
	if msg := checkSize(kind, size); msg != "" {
		return nil, 0, d.errf(off, "%s", msg)
	}
	b, err := d.payload(payload, size)
	if err != nil {
		return nil, 0, err
	}
	next := payload + size
	if kind == KindString || kind == KindBytes {
		if err := st.spend(d, off, size); err != nil {
			return nil, 0, err
		}
	}
	switch kind {
	case KindString:
		if !utf8.Valid(b) {
			return nil, 0, d.errf(payload, "invalid UTF-8 in string")
		}
		return String(b), next, nil
	case KindBytes:
		return Bytes(append([]byte(nil), b...)), next, nil
	case KindFloat64:
		return Float64(math.Float64frombits(binary.BigEndian.Uint64(b))), next, nil
	case KindFloat32:
		return Float32(math.Float32frombits(binary.BigEndian.Uint32(b))), next, nil
	case KindUint128:
		var u Uint128
		for _, c := range b {
			u.Hi = u.Hi<<8 | u.Lo>>56
			u.Lo = u.Lo<<8 | uint64(c)
		}
		return u, next, nil
	}
	var u uint64
	for _, c := range b {
		u = u<<8 | uint64(c)
	}
	switch kind {
	case KindUint16:
		return Uint16(u), next, nil
	case KindUint32:
		return Uint32(u), next, nil
	case KindInt32:
		return Int32(int32(uint32(u))), next, nil
	default: // KindUint64
		return Uint64(u), next, nil
	}
}

func (d Decoder) errf(off uint, format string, args ...any) error {
	return dataErr(d.section, off, format, args...)
}
