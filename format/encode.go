package format

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"slices"
	"unicode/utf8"
)

// AppendValue appends the canonical encoding of v to dst: no pointers,
// map keys sorted by their bytes, integers in the fewest bytes. Equal
// values (Equal) have equal canonical encodings. Invalid UTF-8 in a
// string or map key, a nil Value and containers too large for the format
// are errors.
func AppendValue(dst []byte, v Value) ([]byte, error) {
	return appendValue(dst, v, 0)
}

func appendValue(dst []byte, v Value, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return dst, fmt.Errorf("mmdb encode: value nested deeper than %d", MaxDepth)
	}
	switch v := v.(type) {
	case String:
		if !utf8.ValidString(string(v)) {
			return dst, fmt.Errorf("mmdb encode: invalid UTF-8 in string %q", string(v))
		}
		dst, err := AppendControl(dst, KindString, uint(len(v)))
		return append(dst, v...), err
	case Bytes:
		dst, err := AppendControl(dst, KindBytes, uint(len(v)))
		return append(dst, v...), err
	case Float64:
		dst, _ = AppendControl(dst, KindFloat64, 8)
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(float64(v))), nil
	case Float32:
		dst, _ = AppendControl(dst, KindFloat32, 4)
		return binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(v))), nil
	case Uint16:
		return AppendUint(dst, KindUint16, uint64(v)), nil
	case Uint32:
		return AppendUint(dst, KindUint32, uint64(v)), nil
	case Int32:
		return AppendUint(dst, KindInt32, uint64(uint32(v))), nil
	case Uint64:
		return AppendUint(dst, KindUint64, uint64(v)), nil
	case Uint128:
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], v.Hi)
		binary.BigEndian.PutUint64(b[8:], v.Lo)
		i := 0
		for i < 16 && b[i] == 0 {
			i++
		}
		dst, _ = AppendControl(dst, KindUint128, uint(16-i))
		return append(dst, b[i:]...), nil
	case Bool:
		if v {
			return AppendControl(dst, KindBool, 1)
		}
		return AppendControl(dst, KindBool, 0)
	case Map:
		dst, err := AppendControl(dst, KindMap, uint(len(v)))
		if err != nil {
			return dst, err
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if dst, err = appendValue(dst, String(k), depth+1); err != nil {
				return dst, err
			}
			if dst, err = appendValue(dst, v[k], depth+1); err != nil {
				return dst, fmt.Errorf("key %q: %w", k, err)
			}
		}
		return dst, nil
	case Slice:
		dst, err := AppendControl(dst, KindSlice, uint(len(v)))
		if err != nil {
			return dst, err
		}
		for i, e := range v {
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return dst, fmt.Errorf("index %d: %w", i, err)
			}
		}
		return dst, nil
	case nil:
		return dst, fmt.Errorf("mmdb encode: nil value")
	}
	return dst, fmt.Errorf("mmdb encode: unknown value type %T", v)
}

// AppendUint appends an unsigned integer of kind (KindUint16, KindUint32,
// KindUint64) in its fewest bytes, control byte first.
func AppendUint(dst []byte, kind Kind, v uint64) []byte {
	n := uint(0)
	for x := v; x != 0; x >>= 8 {
		n++
	}
	dst, _ = AppendControl(dst, kind, n)
	for i := n; i > 0; i-- {
		dst = append(dst, byte(v>>(8*(i-1))))
	}
	return dst
}

// MaxControlSize is the largest size a control byte can express: the
// longest string or bytes value, the most entries of a map or array.
const MaxControlSize = 65821 + 1<<24 - 1

// AppendControl appends the control byte(s) of a value of kind and size
// (bytes of payload, or entries of a map or array); a size beyond what a
// control byte can express is an error and appends nothing.
func AppendControl(dst []byte, kind Kind, size uint) ([]byte, error) {
	if size > MaxControlSize {
		return dst, fmt.Errorf("mmdb encode: %s of size %d exceeds the format's %d", kind, size, MaxControlSize)
	}
	typeBits := byte(kind) << 5
	if kind > 7 {
		typeBits = 0
	}
	var ext []byte
	switch {
	case size < 29:
		typeBits |= byte(size)
	case size < 285:
		typeBits |= 29
		ext = []byte{byte(size - 29)}
	case size < 65821:
		typeBits |= 30
		s := size - 285
		ext = []byte{byte(s >> 8), byte(s)}
	default:
		typeBits |= 31
		s := size - 65821
		ext = []byte{byte(s >> 16), byte(s >> 8), byte(s)}
	}
	dst = append(dst, typeBits)
	if kind > 7 {
		dst = append(dst, byte(kind-7))
	}
	return append(dst, ext...), nil
}

// appendPointer appends a pointer to offset off in the fewest bytes.
func appendPointer(dst []byte, off uint) []byte {
	switch {
	case off < 2048:
		return append(dst, 0x20|byte(off>>8), byte(off))
	case off < 526336:
		o := off - 2048
		return append(dst, 0x28|byte(o>>16), byte(o>>8), byte(o))
	case off < 526336+1<<27:
		o := off - 526336
		return append(dst, 0x30|byte(o>>24), byte(o>>16), byte(o>>8), byte(o))
	default:
		return append(dst, 0x38, byte(off>>24), byte(off>>16), byte(off>>8), byte(off))
	}
}

// pointerLen is the size of a pointer to off.
func pointerLen(off uint) int {
	switch {
	case off < 2048:
		return 2
	case off < 526336:
		return 3
	case off < 526336+1<<27:
		return 4
	default:
		return 5
	}
}

// valueKey identifies a canonical encoding by two independent 64-bit
// hashes; a collision needs both to collide (about 2^-128 per pair).
type valueKey [2]uint64

// Encoder builds a data section. Each top-level value it writes is stored
// once; sub-values (maps, arrays, strings, map keys) that it has written
// before are replaced by a pointer to their first copy where the pointer
// is shorter. An Encoder is not safe for concurrent use.
//
// INVARIANT: every offset in shared points at the start of a value inside
// a top-level value, in canonical (pointer-free) form or with pointers to
// earlier values that decode to the same thing.
type Encoder struct {
	buf    []byte
	top    map[valueKey]uint32 // top-level values already written
	shared offsetTable         // sub-values already written
	seeds  [2]maphash.Seed

	// For the Writer: out receives the data section as it grows, base
	// bytes of it so far (buf holds what follows); shared is cleared when
	// it holds maxShared values (0: never).
	out       io.Writer
	base      uint64
	maxShared int
}

// NewEncoder returns an empty Encoder.
func NewEncoder() *Encoder {
	return &Encoder{
		top:   make(map[valueKey]uint32),
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
	}
}

// Bytes returns the data section written so far. It is valid until the
// next call to an Encode method.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len returns the size of the data section written so far.
func (e *Encoder) Len() int { return int(e.base) + len(e.buf) }

// appendRecord writes the canonical value c as a top-level value without
// looking for an equal one written before (the Writer has found them),
// sharing its sub-values, and returns its offset, which the caller checks
// against the format's limits (past 4 GiB no sub-value is shared). With
// out set it writes the data section to out as it grows.
func (e *Encoder) appendRecord(c []byte) (uint64, error) {
	off := e.base + uint64(len(e.buf))
	if e.maxShared > 0 && e.shared.n >= e.maxShared {
		e.shared.reset()
	}
	// The record itself is not looked up nor remembered for sharing:
	// the Writer stores equal records once already, and a record that
	// equals a sub-value of another is rare, while remembering every
	// distinct record would push out the sub-values that do repeat.
	if err := e.writeShared(c, valueKey{}, true); err != nil {
		return 0, err
	}
	if e.out != nil && len(e.buf) >= 1<<20 {
		if err := e.flush(); err != nil {
			return 0, err
		}
	}
	return off, nil
}

// flush writes buf to out.
func (e *Encoder) flush() error {
	if e.out == nil || len(e.buf) == 0 {
		return nil
	}
	if _, err := e.out.Write(e.buf); err != nil {
		return fmt.Errorf("mmdb writer: data section: %w", err)
	}
	e.base += uint64(len(e.buf))
	e.buf = e.buf[:0]
	return nil
}

// Encode writes v as a top-level value, unless an equal one was written
// before, and returns its offset in the data section.
func (e *Encoder) Encode(v Value) (uint32, error) {
	c, err := AppendValue(nil, v)
	if err != nil {
		return 0, err
	}
	return e.EncodeCanonical(c)
}

func (e *Encoder) key(c []byte) valueKey {
	return valueKey{maphash.Bytes(e.seeds[0], c), maphash.Bytes(e.seeds[1], c)}
}

// EncodeCanonical is Encode for a value already in canonical form (from
// AppendValue): exactly one value, without pointers. It checks neither.
func (e *Encoder) EncodeCanonical(c []byte) (uint32, error) {
	k := e.key(c)
	if off, ok := e.top[k]; ok {
		return off, nil
	}
	off := uint(e.Len())
	if off > math.MaxUint32 {
		return 0, fmt.Errorf("mmdb encode: data section exceeds 4 GiB")
	}
	if err := e.writeShared(c, k, false); err != nil {
		return 0, err
	}
	e.top[k] = uint32(off)
	return uint32(off), nil
}

// writeShared appends the canonical value c (whose key is k), replacing
// it, or its sub-values, by pointers to earlier copies; with top, c
// itself is neither replaced nor remembered (k is unused).
func (e *Encoder) writeShared(c []byte, k valueKey, top bool) error {
	var off uint32
	known := top // not looked up, not remembered
	if !top {
		off, known = e.shared.get(k)
	}
	if !top && known && pointerLen(uint(off)) < len(c) {
		e.buf = appendPointer(e.buf, uint(off))
		return nil
	}
	start := uint(e.base) + uint(len(e.buf))
	d := Decoder{buf: c, section: "canonical value"}
	kind, size, payload, err := d.Control(0)
	if err != nil {
		return err
	}
	switch kind {
	case KindMap, KindSlice:
		e.buf = append(e.buf, c[:payload]...)
		if kind == KindMap {
			size *= 2
		}
		next := payload
		for range size {
			end, err := d.Skip(next)
			if err != nil {
				return err
			}
			sub := c[next:end]
			// Values no pointer can shorten (a pointer takes 2 to 5
			// bytes), and doubles (per-address coordinates are all
			// distinct: remembering them would only push out the values
			// that do repeat), are written as they are.
			if len(sub) <= 2 || len(sub) == 9 && sub[0] == byte(KindFloat64)<<5|8 {
				e.buf = append(e.buf, sub...)
			} else if err := e.writeShared(sub, e.key(sub), false); err != nil {
				return err
			}
			next = end
		}
	default:
		e.buf = append(e.buf, c...)
	}
	// k is not in shared yet unless it was known above: what was
	// written since are c's sub-values, all shorter than c.
	if !known && len(c) > 2 && start <= math.MaxUint32 {
		e.shared.put(k, uint32(start), e.maxShared)
	}
	return nil
}

// offsetTable maps value keys to offsets: open addressing with linear
// probing, indexed by the key's first hash (already uniform), at most
// half full (it doubles). One cache line per lookup, where a Go map
// would touch two.
type offsetTable struct {
	slots []offsetSlot
	n     int
}

type offsetSlot struct {
	k    valueKey
	off  uint32
	used bool
}

func (t *offsetTable) get(k valueKey) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := k[0] & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			return 0, false
		}
		if s.k == k {
			return s.off, true
		}
	}
}

// put adds k, which must not be in t; t will hold at most limit keys
// (0: unknown).
func (t *offsetTable) put(k valueKey, off uint32, limit int) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow(limit)
	}
	mask := uint64(len(t.slots) - 1)
	i := k[0] & mask
	for t.slots[i].used {
		i = (i + 1) & mask
	}
	t.slots[i] = offsetSlot{k: k, off: off, used: true}
	t.n++
}

// grow makes t larger: four times (each key moved costs a probe),
// but no more than limit keys need at half full.
func (t *offsetTable) grow(limit int) {
	old := t.slots
	n := max(1024, 4*len(old))
	if limit > 0 {
		need := 1024
		for need < 2*limit {
			need *= 2
		}
		n = max(min(n, need), 2*len(old))
	}
	t.slots = make([]offsetSlot, n)
	t.n = 0
	for _, s := range old {
		if s.used {
			t.put(s.k, s.off, 0)
		}
	}
}

// reset empties t, keeping its slots.
func (t *offsetTable) reset() {
	clear(t.slots)
	t.n = 0
}
