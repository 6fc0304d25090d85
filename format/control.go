package format

import (
	"encoding/binary"
	"math"
)

// The byte layer of the data section: control bytes, sizes, pointers and
// the limits every decoder of this module applies. format's Decoder and
// the reader's typed decoder both read values through ReadControl and
// ReadResolved and bound their work with MaxDepth and ExpansionLimit, so
// a rule of the format is written here once.

// MaxDepth is the deepest nesting of maps, arrays and pointers that a
// decoder follows before it reports an error. libmaxminddb uses the same.
const MaxDepth = 512

// MaxValues bounds how many values one decode of one record produces, so
// a small file whose pointers fan out into a huge tree is an error, not an
// out-of-memory.
const MaxValues = 1 << 22

// MaxPayloadBytes bounds how many bytes of strings, byte strings and map
// keys one decode copies out of the section, so a small file whose
// pointers fan out to one long string many times is an error, not an
// out-of-memory.
const MaxPayloadBytes = 1 << 26

// ExpansionLimit returns how many values, and how many payload bytes, one
// decode may produce from a section of n bytes: at most 16 per byte of
// the section (plus 1024 of slack for tiny sections), and never more than
// MaxValues and MaxPayloadBytes. Pointers let a record reuse shared
// values, but no real record repeats its section sixteen times over, and
// the work a few bytes can cause stays proportional to their number.
func ExpansionLimit(n int) (values, bytes int) {
	l := 1024
	if n < (math.MaxInt-l)/16 {
		l += 16 * n
	} else {
		l = math.MaxInt
	}
	return min(MaxValues, l), min(MaxPayloadBytes, l)
}

// ControlStatus says whether a control byte could be read, and if not,
// what is wrong. ReadControl and ReadResolved return it instead of an
// error, so that each decoder words its own errors and the hot path
// builds none.
type ControlStatus uint8

const (
	// ControlOK: the control was read.
	ControlOK ControlStatus = iota
	// ControlBadExtended: the control was read whole, but its extended
	// type byte is not one of 1-8 (types 8-15); kind holds byte+7.
	ControlBadExtended
	// ControlNoByte: the offset is at or past the end of the section.
	ControlNoByte
	// ControlPointerTruncated: the pointer's bytes run past the end.
	ControlPointerTruncated
	// ControlExtendedTruncated: the extended type byte is past the end.
	ControlExtendedTruncated
	// ControlSizeTruncated: the size bytes run past the end.
	ControlSizeTruncated
	// ControlPointerToPointer: a pointer points at another pointer
	// (ReadResolved only).
	ControlPointerToPointer
)

// ReadControl parses the control byte(s) at off of the section buf. For
// a pointer it returns KindPointer, the offset the pointer points to as
// size, and the offset just past the pointer as next. For any other kind
// it returns the type number (1-15, or byte+7 of an extended type, which
// may be above 15: see ControlBadExtended), the size (the payload length
// of strings, bytes and numbers, the entry count of maps and arrays, the
// value of booleans) and the offset of the payload as next. The kind and
// the size are not checked against each other (SizeValid does that) and
// the payload is not checked against the section.
//
// On a status other than ControlOK and ControlBadExtended the other
// results are zero.
func ReadControl(buf []byte, off uint) (kind, size, next uint, st ControlStatus) {
	if off >= uint(len(buf)) {
		return 0, 0, 0, ControlNoByte
	}
	c := buf[off]
	off++
	kind = uint(c >> 5)
	size = uint(c & 0x1f)
	if kind == uint(KindPointer) {
		n := (size>>3)&3 + 1
		if off+n > uint(len(buf)) {
			return 0, 0, 0, ControlPointerTruncated
		}
		b := buf[off : off+n]
		v := size & 7
		switch n {
		case 1:
			size = v<<8 | uint(b[0])
		case 2:
			size = (v<<16 | uint(b[0])<<8 | uint(b[1])) + 2048
		case 3:
			size = (v<<24 | uint(b[0])<<16 | uint(b[1])<<8 | uint(b[2])) + 526336
		default:
			size = uint(binary.BigEndian.Uint32(b))
		}
		return uint(KindPointer), size, off + n, ControlOK
	}
	if kind == uint(KindExtended) {
		if off >= uint(len(buf)) {
			return 0, 0, 0, ControlExtendedTruncated
		}
		ext := buf[off]
		if ext == 0 || ext > 8 {
			st = ControlBadExtended
		}
		kind = uint(ext) + 7
		off++
	}
	if size >= 29 {
		n := size - 28
		if off+n > uint(len(buf)) {
			return 0, 0, 0, ControlSizeTruncated
		}
		b := buf[off : off+n]
		switch n {
		case 1:
			size = 29 + uint(b[0])
		case 2:
			size = 285 + (uint(b[0])<<8 | uint(b[1]))
		default:
			size = 65821 + (uint(b[0])<<16 | uint(b[1])<<8 | uint(b[2]))
		}
		off += n
	}
	return kind, size, off, st
}

// ReadResolved is ReadControl that follows one pointer, the rule of the
// format: a value reached through a pointer is never itself a pointer.
// For a pointer at off it returns the control of the value pointed to
// and after, the offset just past the pointer; otherwise after is 0 (the
// value ends where its payload and size say). On a status other than
// ControlOK and ControlBadExtended, payload is the offset of the control
// that could not be read (off, or the pointer's target) and the other
// results are zero.
func ReadResolved(buf []byte, off uint) (kind, size, payload, after uint, st ControlStatus) {
	kind, size, payload, st = ReadControl(buf, off)
	if kind != uint(KindPointer) {
		if st > ControlBadExtended {
			return 0, 0, off, 0, st
		}
		return kind, size, payload, 0, st
	}
	after = payload
	target := size
	kind, size, payload, st = ReadControl(buf, target)
	if st > ControlBadExtended {
		return 0, 0, target, 0, st
	}
	if kind == uint(KindPointer) {
		return 0, 0, target, 0, ControlPointerToPointer
	}
	return kind, size, payload, after, st
}

// SizeValid reports whether size is a valid payload size for a scalar of
// kind: exactly 8 bytes for a double, 4 for a float, at most 2, 4, 4, 8
// and 16 for uint16, uint32, int32, uint64 and uint128, 0 or 1 (the
// value) for a boolean. Strings, bytes, maps and arrays take any size.
func SizeValid(kind Kind, size uint) bool {
	switch kind {
	case KindFloat64:
		return size == 8
	case KindFloat32:
		return size == 4
	case KindUint16:
		return size <= 2
	case KindUint32, KindInt32:
		return size <= 4
	case KindUint64:
		return size <= 8
	case KindUint128:
		return size <= 16
	case KindBool:
		return size <= 1
	}
	return true
}

// MaxSize returns the largest valid payload size of a scalar kind (8 for
// a double, 4 for a float, 1 for a boolean), and 0 for kinds whose size
// is not bounded by their kind.
func MaxSize(kind Kind) uint {
	switch kind {
	case KindFloat64, KindUint64:
		return 8
	case KindFloat32, KindUint32, KindInt32:
		return 4
	case KindUint16:
		return 2
	case KindUint128:
		return 16
	case KindBool:
		return 1
	}
	return 0
}
