package reader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"
)

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

// maxDepth is how deeply maps, arrays and pointers may nest.
const maxDepth = 512

// maxValues bounds the values one decode produces, so pointer fan-out in a
// small corrupt file cannot expand into an out-of-memory.
const maxValues = 1 << 22

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

// newState returns the state for one decode. The budget grows with the
// section: a record reached through pointers may expand beyond its own
// bytes (shared names), but not without bound, so that a corrupt file
// whose pointers fan out is an error, not a long stall.
func (d *decoder) newState() state {
	return state{budget: min(maxValues, 16*len(d.buf)+1024)}
}

// ctrl parses the control byte at off. For a pointer it returns kPointer,
// the target offset as size and the offset after the pointer. Otherwise it
// returns the kind, the size and the payload offset. Sizes are not checked
// against the buffer here.
func (d *decoder) ctrl(off uint) (kind, size, next uint, err error) {
	buf := d.buf
	if off >= uint(len(buf)) {
		return 0, 0, 0, errOffset
	}
	c := buf[off]
	off++
	kind = uint(c >> 5)
	size = uint(c & 0x1f)
	if kind == kPointer {
		n := (size>>3)&3 + 1
		if off+n > uint(len(buf)) {
			return 0, 0, 0, errOffset
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
		return kPointer, size, off + n, nil
	}
	if kind == 0 {
		if off >= uint(len(buf)) {
			return 0, 0, 0, errOffset
		}
		kind = uint(buf[off]) + 7
		off++
	}
	if size >= 29 {
		n := size - 28
		if off+n > uint(len(buf)) {
			return 0, 0, 0, errOffset
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
	return kind, size, off, nil
}

// resolve is ctrl that follows one pointer. after is the offset after the
// value at off (for a pointer, after the pointer itself; for other values
// only known once the payload is read, so 0). A pointer to a pointer is an
// error.
func (d *decoder) resolve(off uint) (kind, size, payload, after uint, err error) {
	kind, size, payload, err = d.ctrl(off)
	if err != nil || kind != kPointer {
		return kind, size, payload, 0, err
	}
	after = payload
	target := size
	kind, size, payload, err = d.ctrl(target)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	if kind == kPointer {
		return 0, 0, 0, 0, newInvalidDatabaseError("invalid pointer to pointer at offset %d", target)
	}
	return kind, size, payload, after, nil
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

// uintAt reads a big-endian unsigned integer of size bytes.
func (d *decoder) uintAt(off, size, max uint, kind uint) (uint64, error) {
	if size > max {
		return 0, newInvalidDatabaseError("invalid %s size: %d", kindDisplay(kind), size)
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

func kindDisplay(kind uint) string {
	switch kind {
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

// scalar decodes the scalar of kind at payload into a Go value of the
// type maxminddb-golang v2 uses for interface{} targets, and returns the
// offset after it.
func (d *decoder) scalar(kind, size, payload uint) (any, uint, error) {
	switch kind {
	case kString:
		s, err := d.str(payload, size)
		return s, payload + size, err
	case kFloat64:
		if size != 8 {
			return nil, 0, newInvalidDatabaseError("invalid Float64 size: %d", size)
		}
		b, err := d.payload(payload, 8)
		if err != nil {
			return nil, 0, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), payload + 8, nil
	case kFloat32:
		if size != 4 {
			return nil, 0, newInvalidDatabaseError("invalid Float32 size: %d", size)
		}
		b, err := d.payload(payload, 4)
		if err != nil {
			return nil, 0, err
		}
		return math.Float32frombits(binary.BigEndian.Uint32(b)), payload + 4, nil
	case kBytes:
		b, err := d.payload(payload, size)
		if err != nil {
			return nil, 0, err
		}
		return append(make([]byte, 0, len(b)), b...), payload + size, nil
	case kUint16, kUint32, kUint64:
		max := uint(2)
		if kind == kUint32 {
			max = 4
		} else if kind == kUint64 {
			max = 8
		}
		v, err := d.uintAt(payload, size, max, kind)
		return v, payload + size, err
	case kInt32:
		v, err := d.uintAt(payload, size, 4, kind)
		return int32(uint32(v)), payload + size, err
	case kUint128:
		if size > 16 {
			return nil, 0, newInvalidDatabaseError("invalid Uint128 size: %d", size)
		}
		b, err := d.payload(payload, size)
		if err != nil {
			return nil, 0, err
		}
		return new(big.Int).SetBytes(b), payload + size, nil
	case kBool:
		if size > 1 {
			return nil, 0, newInvalidDatabaseError("invalid bool size: %d", size)
		}
		return size == 1, payload, nil
	}
	return nil, 0, newInvalidDatabaseError("unknown type: %d", kind)
}

// decodeAny decodes the value at off as maxminddb-golang v2 decodes into
// an empty interface: map[string]any, []any, string, float64, float32,
// []byte, uint64 (for all unsigned kinds up to 64 bits), int32, *big.Int,
// bool.
func (d *decoder) decodeAny(off uint, depth int, st *state) (any, uint, error) {
	if depth > maxDepth {
		return nil, 0, errDepth
	}
	if st.budget--; st.budget < 0 {
		return nil, 0, errTooLarge
	}
	kind, size, payload, err := d.ctrl(off)
	if err != nil {
		return nil, 0, err
	}
	switch kind {
	case kPointer:
		k, _, _, err := d.ctrl(size)
		if err != nil {
			return nil, 0, err
		}
		if k == kPointer {
			return nil, 0, newInvalidDatabaseError("invalid pointer to pointer at offset %d", size)
		}
		v, _, err := d.decodeAny(size, depth, st)
		return v, payload, err
	case kMap:
		if err := d.checkContainer(kind, size, payload, st); err != nil {
			return nil, 0, err
		}
		m := make(map[string]any, size)
		for range size {
			k, next, err := d.key(payload)
			if err != nil {
				return nil, 0, err
			}
			var v any
			v, payload, err = d.decodeAny(next, depth+1, st)
			if err != nil {
				return nil, 0, withKey(err, k)
			}
			m[k] = v
		}
		return m, payload, nil
	case kSlice:
		if err := d.checkContainer(kind, size, payload, st); err != nil {
			return nil, 0, err
		}
		s := make([]any, size)
		for i := range s {
			s[i], payload, err = d.decodeAny(payload, depth+1, st)
			if err != nil {
				return nil, 0, withKey(err, strconv.Itoa(i))
			}
		}
		return s, payload, nil
	}
	return d.scalar(kind, size, payload)
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
			return 0, newInvalidDatabaseError("invalid bool size: %d", size)
		}
		return payload, nil
	case kFloat64:
		if size != 8 && strict {
			return 0, newInvalidDatabaseError("invalid Float64 size: %d", size)
		}
	case kFloat32:
		if size != 4 && strict {
			return 0, newInvalidDatabaseError("invalid Float32 size: %d", size)
		}
	case kUint16:
		if size > 2 && strict {
			return 0, newInvalidDatabaseError("invalid Uint16 size: %d", size)
		}
	case kUint32, kInt32:
		if size > 4 && strict {
			return 0, newInvalidDatabaseError("invalid %s size: %d", kindDisplay(kind), size)
		}
	case kUint64:
		if size > 8 && strict {
			return 0, newInvalidDatabaseError("invalid Uint64 size: %d", size)
		}
	case kUint128:
		if size > 16 && strict {
			return 0, newInvalidDatabaseError("invalid Uint128 size: %d", size)
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

var errNotPointer = errors.New("result param must be a pointer")

// decodeRoot decodes the value at off into v, a non-nil pointer.
func (d *decoder) decodeRoot(off uint, v any) error {
	switch p := v.(type) {
	case *any:
		if p == nil {
			return errNotPointer
		}
		if *p == nil || !isNonNilPointer(*p) {
			st := d.newState()
			x, _, err := d.decodeAny(off, 0, &st)
			if err != nil {
				return withOffset(err, off)
			}
			*p = x
			return nil
		}
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errNotPointer
	}
	pl := planFor(rv.Type().Elem())
	st := d.getState()
	_, err := pl.dec(d, pl, off, noescape(rv.UnsafePointer()), 0, st)
	statePool.Put(st)
	runtime.KeepAlive(v) // the value is reached through p only; see noescape
	return withOffset(err, off)
}

// noescape hides p from escape analysis. The decoders reach the value
// to decode into only through indirect calls (a plan's dec), whose
// arguments the compiler must assume are kept, so without this every
// Decode target would be moved to the heap by its caller: one allocation
// per Decode even when the address has no record. They do not keep it:
//
// INVARIANT: the decode functions store p, and pointers derived from it,
// only in local variables and in reflect.Values that stay local; they
// write through it, never store it in memory that outlives the call
// (TestDecodeTargetDoesNotEscape holds Decode to 0 allocations for a
// target on the caller's stack; FuzzReader and the -race tests run every
// decode path with targets on the stack).
//
// A pointer to the caller's stack held in these frames is updated when
// the stack grows, as any unsafe.Pointer in a frame is.
func noescape(p unsafe.Pointer) unsafe.Pointer {
	x := uintptr(p)
	return *(*unsafe.Pointer)(unsafe.Pointer(&x))
}

func isNonNilPointer(x any) bool {
	v := reflect.ValueOf(x)
	return v.Kind() == reflect.Pointer && !v.IsNil()
}

// decodePath follows path from the value at off and decodes what it
// reaches into v, with maxminddb-golang v2's semantics.
func (d *decoder) decodePath(off uint, path []any, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errNotPointer
	}
	st := d.newState()
PATH:
	for i, elem := range path {
		kind, size, payload, _, err := d.resolve(off)
		if err != nil {
			return err
		}
		if kind == kMap || kind == kSlice {
			if err := d.checkContainer(kind, size, payload, &st); err != nil {
				return withOffset(err, payload)
			}
		}
		off = payload
		switch e := elem.(type) {
		case string:
			if kind != kMap {
				return fmt.Errorf("expected a map for %s but found %s", e, kindName(kind))
			}
			for range size {
				k, next, err := d.keyBytes(off)
				if err != nil {
					return err
				}
				if string(k) == e {
					off = next
					continue PATH
				}
				if off, err = d.skip(next, 0, &st, true); err != nil {
					return err
				}
			}
			return nil
		case int:
			if kind != kSlice {
				return fmt.Errorf("expected a slice for %d but found %s", e, kindName(kind))
			}
			var idx uint
			if e < 0 {
				if size < uint(-e) {
					return nil
				}
				idx = size - uint(-e)
			} else {
				if size <= uint(e) {
					return nil
				}
				idx = uint(e)
			}
			for range idx {
				if off, err = d.skip(off, 0, &st, true); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("unexpected path element at index %d (%v): %T", i, elem, elem)
		}
	}
	if p, ok := v.(*any); ok && (*p == nil || !isNonNilPointer(*p)) {
		x, _, err := d.decodeAny(off, len(path), &st)
		if err != nil {
			return withOffset(err, off)
		}
		*p = x
		return nil
	}
	pl := planFor(rv.Type().Elem())
	_, err := pl.dec(d, pl, off, noescape(rv.UnsafePointer()), len(path), &st)
	runtime.KeepAlive(v)
	return withOffset(err, off)
}

// maxCachedString is the longest string the cache keeps.
const maxCachedString = 256

// stringCache maps data offsets to decoded strings, so the names that
// records share through pointers are allocated once. It is direct-mapped
// and lock-free: a slot holds an immutable entry, replaced whole.
type stringCache struct {
	slots [1 << 14]atomic.Pointer[stringEntry]
}

type stringEntry struct {
	off uint
	s   string
}

func (c *stringCache) get(off uint, b []byte) string {
	slot := &c.slots[(uint32(off)*2654435761)>>18]
	if e := slot.Load(); e != nil && e.off == off && len(e.s) == len(b) {
		return e.s
	}
	s := string(b)
	slot.Store(&stringEntry{off: off, s: s})
	return s
}

// minSkipCached is the fewest values (keys and values of a map, elements of
// an array) a container must hold for skip to remember where it ends.
const minSkipCached = 6

// skipCache remembers where containers end, so that skipping a map that
// many records share (a names map inside a country, say) costs one probe
// instead of a walk over its entries. It is direct-mapped and lock-free:
// a slot is one word, offset | length | depth, written whole.
//
// An entry is stored only after skip walked the container successfully
// from depth, and is used only at that depth or a shallower one, so that
// a hit returns exactly what the walk would have: the section is
// immutable, and a walk that stayed within the depth limit from a depth
// stays within it from any shallower one.
type skipCache struct {
	slots [1 << 12]atomic.Uint64
}

const (
	skipLenBits   = 22
	skipDepthBits = 10 // maxDepth fits
)

func (c *skipCache) get(off uint, depth int) (uint, bool) {
	e := c.slots[(uint32(off)*2654435761)>>20].Load()
	if e>>32 != uint64(off) || e == 0 {
		return 0, false
	}
	if int(e&(1<<skipDepthBits-1)) < depth {
		return 0, false
	}
	return off + uint(e>>skipDepthBits)&(1<<skipLenBits-1), true
}

func (c *skipCache) put(off, end uint, depth int) {
	n := end - off
	if off >= 1<<32 || n >= 1<<skipLenBits || depth >= 1<<skipDepthBits {
		return
	}
	c.slots[(uint32(off)*2654435761)>>20].Store(uint64(off)<<32 | uint64(n)<<skipDepthBits | uint64(depth))
}

// ---------------------------------------------------------------------
// Typed decoding: a plan per Go type, built once and cached.

// decodeFn decodes the value at off into the Go value at p, whose type is
// the plan's, and returns the offset after the value at off.
type decodeFn func(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error)

type plan struct {
	typ  reflect.Type
	dec  decodeFn
	elem *plan // pointer, slice, array and map element
	key  *plan // map key

	// structs
	fields   map[string]*field
	fieldErr error // an invalid tag: reported when a value is decoded
	// the same fields as a list, for a linear scan when it is short
	fieldList []namedField
}

type namedField struct {
	name string
	f    *field
}

// lookupField returns the field the key kb names, or nil.
func (pl *plan) lookupField(kb []byte) *field {
	if pl.fieldList != nil {
		for i := range pl.fieldList {
			if nf := &pl.fieldList[i]; len(nf.name) == len(kb) && nf.name == string(kb) {
				return nf.f
			}
		}
		return nil
	}
	return pl.fields[string(kb)]
}

// offsetOf returns the offset of b, a subslice of the section, in it.
func (d *decoder) offsetOf(b []byte) uint {
	return uint(uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(unsafe.Pointer(unsafe.SliceData(d.buf))))
}

// field is one struct field reachable by a map key.
type field struct {
	plan *plan
	// path from the struct to the field: offsets, and for each step but
	// the last whether it goes through a pointer to an embedded struct
	// (allocated when nil).
	steps []fieldStep
}

type fieldStep struct {
	offset  uintptr
	ptrElem reflect.Type // non-nil: the field at offset is a *ptrElem to follow
}

var plans sync.Map // reflect.Type -> *plan

var planMu sync.Mutex

func planFor(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	planMu.Lock()
	defer planMu.Unlock()
	building := map[reflect.Type]*plan{}
	p := buildPlan(t, building)
	for bt, bp := range building {
		plans.LoadOrStore(bt, bp)
	}
	return p
}

func buildPlan(t reflect.Type, building map[reflect.Type]*plan) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	if p, ok := building[t]; ok {
		return p
	}
	p := &plan{typ: t}
	building[t] = p
	switch t.Kind() {
	case reflect.String:
		p.dec = decString
	case reflect.Bool:
		p.dec = decBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		p.dec = decNumber
	case reflect.Uintptr:
		p.dec = decUintptr
	case reflect.Pointer:
		p.elem = buildPlan(t.Elem(), building)
		p.dec = decPointer
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && t == reflect.TypeFor[[]byte]() {
			p.dec = decGeneric
			break
		}
		p.elem = buildPlan(t.Elem(), building)
		p.dec = decSlice
	case reflect.Map:
		p.key = buildPlan(t.Key(), building)
		p.elem = buildPlan(t.Elem(), building)
		if t == reflect.TypeFor[map[string]string]() {
			p.dec = decMapStringString
		} else {
			p.dec = decMap
		}
	case reflect.Struct:
		if t == bigIntType {
			p.dec = decGeneric
			break
		}
		p.dec = decStruct
		buildFields(p, building)
	default: // interfaces, arrays, channels, funcs, complex
		p.dec = decGeneric
	}
	return p
}

var bigIntType = reflect.TypeFor[big.Int]()

// buildFields resolves the struct's fields by name with maxminddb-golang
// v2's rules: the tag `maxminddb:"name"` names a field ("-" skips it),
// untagged exported fields go by their Go name, embedded structs (and
// pointers to structs) without a tag are flattened, and among fields of
// the same name the shallowest wins, then a tagged one, then the first.
func buildFields(p *plan, building map[reflect.Type]*plan) {
	type cand struct {
		name   string
		depth  int
		hasTag bool
		steps  []fieldStep
		typ    reflect.Type
	}
	type entry struct {
		t     reflect.Type
		steps []fieldStep
		depth int
	}
	var all []cand
	queue := []entry{{t: p.typ}}
	seen := map[reflect.Type]bool{p.typ: true}
	for len(queue) > 0 {
		e := queue[0]
		queue = queue[1:]
		for i := range e.t.NumField() {
			f := e.t.Field(i)
			if !f.IsExported() && (!f.Anonymous || f.Type.Kind() != reflect.Struct) {
				continue
			}
			name := f.Name
			hasTag := false
			if tag, ok := f.Tag.Lookup("maxminddb"); ok {
				opts, err := parseTag(tag)
				if err != nil && p.fieldErr == nil {
					p.fieldErr = fmt.Errorf("invalid maxminddb struct tag on field %q: %w", f.Name, err)
				}
				if opts.ignored {
					continue
				}
				if opts.hasName {
					name, hasTag = opts.name, true
				}
			}
			steps := append(append([]fieldStep(nil), e.steps...), fieldStep{offset: f.Offset})
			if f.Anonymous && !hasTag {
				var et reflect.Type
				if f.Type.Kind() == reflect.Struct {
					et = f.Type
				} else if f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct {
					et = f.Type.Elem()
					steps[len(steps)-1].ptrElem = et
				}
				if et != nil {
					if !seen[et] {
						seen[et] = true
						queue = append(queue, entry{t: et, steps: steps, depth: e.depth + 1})
					}
					continue
				}
			}
			all = append(all, cand{name: name, depth: e.depth, hasTag: hasTag, steps: steps, typ: f.Type})
		}
	}
	p.fields = make(map[string]*field, len(all))
	best := map[string]cand{}
	var order []string
	for _, c := range all {
		b, ok := best[c.name]
		if !ok {
			best[c.name] = c
			order = append(order, c.name)
			continue
		}
		if c.depth < b.depth || (c.depth == b.depth && c.hasTag && !b.hasTag) {
			best[c.name] = c
		}
	}
	for _, n := range order {
		c := best[n]
		p.fields[n] = &field{plan: buildPlan(c.typ, building), steps: c.steps}
	}
	if len(order) <= 16 {
		p.fieldList = make([]namedField, 0, len(order))
		for _, n := range order {
			p.fieldList = append(p.fieldList, namedField{n, p.fields[n]})
		}
	}
}

type tagOptions struct {
	name    string
	hasName bool
	ignored bool
}

// parseTag parses a maxminddb struct tag: "-", or a name optionally
// followed by options (",maxsize:N" is accepted and not enforced).
func parseTag(tag string) (tagOptions, error) {
	var o tagOptions
	if tag == "-" {
		o.ignored = true
		return o, nil
	}
	name := tag
	rest := ""
	for i := 0; i < len(tag); i++ {
		if tag[i] == ',' {
			name, rest = tag[:i], tag[i:]
			break
		}
	}
	if len(name) >= 2 && name[0] == '\'' && name[len(name)-1] == '\'' {
		name = name[1 : len(name)-1]
	} else if name == "-" && rest != "" {
		return o, fmt.Errorf("name %q must be quoted as %q when options are present", "-", "'-'")
	}
	if name != "" || (tag != "" && tag[0] != ',') {
		o.name, o.hasName = name, true
	}
	if rest == "," {
		return o, errors.New("invalid trailing ',' character")
	}
	return o, nil
}

// ---- decode functions ----

// enter checks depth and budget and resolves a pointer at off: it returns
// the control of the value (never a pointer) and the offset after the
// value at off when that is known (after a pointer), else 0.
func (d *decoder) enter(off uint, depth int, st *state) (kind, size, payload, after uint, err error) {
	if depth > maxDepth {
		return 0, 0, 0, 0, errDepth
	}
	if st.budget--; st.budget < 0 {
		return 0, 0, 0, 0, errTooLarge
	}
	return d.resolve(off)
}

// finish returns after if the value was reached through a pointer, else
// the end of its payload.
func finish(after, end uint) uint {
	if after != 0 {
		return after
	}
	return end
}

func decString(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error) {
	kind, size, payload, after, err := d.enter(off, depth, st)
	if err != nil {
		return 0, err
	}
	if kind != kString {
		return d.mismatch(kind, size, payload, pl.typ)
	}
	b, err := d.payload(payload, size)
	if err != nil {
		return 0, err
	}
	if d.strings != nil && size <= maxCachedString && size > 0 {
		*(*string)(p) = d.strings.get(payload, b)
	} else {
		*(*string)(p) = string(b)
	}
	return finish(after, payload+size), nil
}

func decBool(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error) {
	kind, size, payload, after, err := d.enter(off, depth, st)
	if err != nil {
		return 0, err
	}
	if kind != kBool {
		return d.mismatch(kind, size, payload, pl.typ)
	}
	if size > 1 {
		return 0, newInvalidDatabaseError("invalid bool size: %d", size)
	}
	*(*bool)(p) = size == 1
	return finish(after, payload), nil
}

// mismatch decodes the value for the error message and returns an
// UnmarshalTypeError for t.
func (d *decoder) mismatch(kind, size, payload uint, t reflect.Type) (uint, error) {
	switch kind {
	case kMap:
		return 0, newUnmarshalTypeStrError("map", t)
	case kSlice:
		return 0, newUnmarshalTypeStrError("array", t)
	}
	v, _, err := d.scalar(kind, size, payload)
	if err != nil {
		return 0, err
	}
	return 0, newUnmarshalTypeError(v, t)
}

func decNumber(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error) {
	kind, size, payload, after, err := d.enter(off, depth, st)
	if err != nil {
		return 0, err
	}
	t := pl.typ
	switch kind {
	case kUint16, kUint32, kUint64:
		max := uint(2)
		if kind == kUint32 {
			max = 4
		} else if kind == kUint64 {
			max = 8
		}
		u, err := d.uintAt(payload, size, max, kind)
		if err != nil {
			return 0, err
		}
		if !setUint(t.Kind(), p, u) {
			return 0, newUnmarshalTypeError(u, t)
		}
	case kInt32:
		u, err := d.uintAt(payload, size, 4, kind)
		if err != nil {
			return 0, err
		}
		v := int32(uint32(u))
		ok := false
		if v >= 0 {
			ok = setUint(t.Kind(), p, uint64(v))
		}
		if !ok && !setInt(t.Kind(), p, int64(v)) {
			return 0, newUnmarshalTypeError(v, t)
		}
	case kFloat64, kFloat32:
		// Read in place: d.scalar would box the value (an allocation
		// per float); only the error paths box it, with its own type.
		f, err := d.float(kind, size, payload)
		if err != nil {
			return 0, err
		}
		switch t.Kind() {
		case reflect.Float64:
			*(*float64)(p) = f
		case reflect.Float32:
			if kind == kFloat64 && reflect.Zero(t).OverflowFloat(f) {
				return 0, newUnmarshalTypeError(f, t)
			}
			*(*float32)(p) = float32(f)
		default:
			if kind == kFloat32 {
				return 0, newUnmarshalTypeError(float32(f), t)
			}
			return 0, newUnmarshalTypeError(f, t)
		}
	default:
		return d.mismatch(kind, size, payload, t)
	}
	return finish(after, payload+size), nil
}

// float reads the double (kFloat64) or float (kFloat32) payload at off,
// with d.scalar's size checks and errors.
func (d *decoder) float(kind, size, off uint) (float64, error) {
	if kind == kFloat64 {
		if size != 8 {
			return 0, newInvalidDatabaseError("invalid Float64 size: %d", size)
		}
		b, err := d.payload(off, 8)
		if err != nil {
			return 0, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	}
	if size != 4 {
		return 0, newInvalidDatabaseError("invalid Float32 size: %d", size)
	}
	b, err := d.payload(off, 4)
	if err != nil {
		return 0, err
	}
	return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
}

// setUint stores u in the integer at p of kind k if it fits.
func setUint(k reflect.Kind, p unsafe.Pointer, u uint64) bool {
	switch k {
	case reflect.Uint64:
		*(*uint64)(p) = u
	case reflect.Uint, reflect.Uintptr:
		if u > math.MaxUint {
			return false
		}
		*(*uint)(p) = uint(u)
	case reflect.Uint32:
		if u > math.MaxUint32 {
			return false
		}
		*(*uint32)(p) = uint32(u)
	case reflect.Uint16:
		if u > math.MaxUint16 {
			return false
		}
		*(*uint16)(p) = uint16(u)
	case reflect.Uint8:
		if u > math.MaxUint8 {
			return false
		}
		*(*uint8)(p) = uint8(u)
	case reflect.Int64:
		if u > math.MaxInt64 {
			return false
		}
		*(*int64)(p) = int64(u)
	case reflect.Int:
		if u > math.MaxInt {
			return false
		}
		*(*int)(p) = int(u)
	case reflect.Int32:
		if u > math.MaxInt32 {
			return false
		}
		*(*int32)(p) = int32(u)
	case reflect.Int16:
		if u > math.MaxInt16 {
			return false
		}
		*(*int16)(p) = int16(u)
	case reflect.Int8:
		if u > math.MaxInt8 {
			return false
		}
		*(*int8)(p) = int8(u)
	default:
		return false
	}
	return true
}

// setInt stores a negative or any int32 v in the signed integer at p.
func setInt(k reflect.Kind, p unsafe.Pointer, v int64) bool {
	switch k {
	case reflect.Int64:
		*(*int64)(p) = v
	case reflect.Int:
		*(*int)(p) = int(v)
	case reflect.Int32:
		*(*int32)(p) = int32(v)
	case reflect.Int16:
		if v < math.MinInt16 || v > math.MaxInt16 {
			return false
		}
		*(*int16)(p) = int16(v)
	case reflect.Int8:
		if v < math.MinInt8 || v > math.MaxInt8 {
			return false
		}
		*(*int8)(p) = int8(v)
	default:
		return false
	}
	return true
}

// decUintptr stores the data offset of the value (after following a
// pointer) instead of decoding it, as maxminddb-golang v2 does.
func decUintptr(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error) {
	if depth > maxDepth {
		return 0, errDepth
	}
	kind, size, next, err := d.ctrl(off)
	if err != nil {
		return 0, err
	}
	if kind == kPointer {
		k, _, _, err := d.ctrl(size)
		if err != nil {
			return 0, err
		}
		if k == kPointer {
			return 0, newInvalidDatabaseError("invalid pointer to pointer at offset %d", size)
		}
		*(*uintptr)(p) = uintptr(size)
		return next, nil
	}
	*(*uintptr)(p) = uintptr(off)
	return d.skip(off, depth, st, true)
}

func decPointer(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error) {
	pp := (*unsafe.Pointer)(p)
	allocated := false
	if *pp == nil {
		*pp = reflect.New(pl.elem.typ).UnsafePointer()
		allocated = true
	}
	next, err := pl.elem.dec(d, pl.elem, off, *pp, depth, st)
	if err != nil && allocated {
		*pp = nil
	}
	return next, err
}

func decSlice(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error) {
	kind, size, payload, after, err := d.enter(off, depth, st)
	if err != nil {
		return 0, err
	}
	if kind != kSlice {
		return d.mismatch(kind, size, payload, pl.typ)
	}
	if err := d.checkContainer(kind, size, payload, st); err != nil {
		return 0, err
	}
	sv := reflect.NewAt(pl.typ, p).Elem()
	if sv.IsNil() || sv.Cap() < int(size) {
		sv.Set(reflect.MakeSlice(pl.typ, int(size), int(size)))
	} else {
		sv.SetLen(int(size))
	}
	esize := pl.elem.typ.Size()
	base := sv.UnsafePointer()
	for i := range size {
		ep := unsafe.Add(base, uintptr(i)*esize)
		payload, err = pl.elem.dec(d, pl.elem, payload, ep, depth+1, st)
		if err != nil {
			return 0, withKey(err, strconv.Itoa(int(i)))
		}
	}
	return finish(after, payload), nil
}

func decMapStringString(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error) {
	kind, size, payload, after, err := d.enter(off, depth, st)
	if err != nil {
		return 0, err
	}
	if kind != kMap {
		return d.mismatch(kind, size, payload, pl.typ)
	}
	if err := d.checkContainer(kind, size, payload, st); err != nil {
		return 0, err
	}
	mp := (*map[string]string)(p)
	m := *mp
	cacheable := m == nil && size > 0 && d.maps != nil && depth < maxDepth
	if cacheable {
		if e := d.maps.get(payload); e != nil {
			*mp = maps.Clone(e.m)
			return finish(after, e.end), nil
		}
	}
	if m == nil {
		m = make(map[string]string, size)
		*mp = m
	}
	start := payload
	for range size {
		k, next, err := d.key(payload)
		if err != nil {
			return 0, err
		}
		var v string
		payload, err = decString(d, pl.elem, next, unsafe.Pointer(&v), depth+1, st)
		if err != nil {
			return 0, withKey(err, k)
		}
		m[k] = v
	}
	if cacheable {
		d.maps.put(&mapEntry{off: start, end: payload, m: maps.Clone(m)})
	}
	return finish(after, payload), nil
}

// mapCache holds decoded map[string]string values (names maps, mostly) by
// the data offset of their entries. Decoding such a map again clones the
// cached one, which copies its table instead of hashing every key, and
// the caller still gets a map of its own. Direct-mapped and lock-free: a
// slot holds an immutable entry, replaced whole.
type mapCache struct {
	slots [1 << 10]atomic.Pointer[mapEntry]
}

type mapEntry struct {
	off, end uint              // the map's entries, and the offset after them
	m        map[string]string // never modified once stored
}

func (c *mapCache) get(off uint) *mapEntry {
	if e := c.slots[(uint32(off)*2654435761)>>22].Load(); e != nil && e.off == off {
		return e
	}
	return nil
}

func (c *mapCache) put(e *mapEntry) {
	c.slots[(uint32(e.off)*2654435761)>>22].Store(e)
}

func decMap(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error) {
	kind, size, payload, after, err := d.enter(off, depth, st)
	if err != nil {
		return 0, err
	}
	if kind != kMap {
		return d.mismatch(kind, size, payload, pl.typ)
	}
	if err := d.checkContainer(kind, size, payload, st); err != nil {
		return 0, err
	}
	mv := reflect.NewAt(pl.typ, p).Elem()
	if mv.IsNil() {
		mv.Set(reflect.MakeMapWithSize(pl.typ, int(size)))
	}
	kv := reflect.New(pl.key.typ).Elem()
	ev := reflect.New(pl.elem.typ).Elem()
	for range size {
		kv.SetZero()
		var k string
		if pl.key.typ.Kind() == reflect.String {
			var next uint
			k, next, err = d.key(payload)
			if err != nil {
				return 0, err
			}
			kv.SetString(k)
			payload = next
		} else {
			kb, _, err := d.keyBytes(payload)
			if err != nil {
				return 0, err
			}
			k = string(kb)
			if payload, err = pl.key.dec(d, pl.key, payload, kv.Addr().UnsafePointer(), depth+1, st); err != nil {
				return 0, withKey(err, k)
			}
		}
		ev.SetZero()
		payload, err = pl.elem.dec(d, pl.elem, payload, ev.Addr().UnsafePointer(), depth+1, st)
		if err != nil {
			return 0, withKey(err, k)
		}
		mv.SetMapIndex(kv, ev)
	}
	return finish(after, payload), nil
}

func decStruct(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error) {
	kind, size, payload, after, err := d.enter(off, depth, st)
	if err != nil {
		return 0, err
	}
	if kind != kMap {
		return d.mismatch(kind, size, payload, pl.typ)
	}
	if pl.fieldErr != nil {
		return 0, pl.fieldErr
	}
	if err := d.checkContainer(kind, size, payload, st); err != nil {
		return 0, err
	}
	for range size {
		kb, next, err := d.keyBytes(payload)
		if err != nil {
			return 0, err
		}
		f := pl.lookupField(kb)
		if f == nil {
			if payload, err = d.skip(next, depth+1, st, false); err != nil {
				return 0, err
			}
			continue
		}
		fp := p
		if len(f.steps) == 1 {
			fp = unsafe.Add(p, f.steps[0].offset)
		} else {
			fp = f.locate(p)
		}
		payload, err = f.plan.dec(d, f.plan, next, fp, depth+1, st)
		if err != nil {
			return 0, withKey(err, string(kb))
		}
	}
	return finish(after, payload), nil
}

// locate follows the field's steps from the struct at p, allocating nil
// embedded struct pointers on the way.
func (f *field) locate(p unsafe.Pointer) unsafe.Pointer {
	for _, s := range f.steps {
		p = unsafe.Add(p, s.offset)
		if s.ptrElem != nil {
			pp := (*unsafe.Pointer)(p)
			if *pp == nil {
				*pp = reflect.New(s.ptrElem).UnsafePointer()
			}
			p = *pp
		}
	}
	return p
}

// decGeneric handles the types without a specialised path: interfaces,
// []byte, big.Int, arrays and unsupported kinds, with reflection.
func decGeneric(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error) {
	t := pl.typ
	rv := reflect.NewAt(t, p).Elem()
	if t.Kind() == reflect.Interface && !rv.IsNil() {
		if e := rv.Elem(); e.Kind() == reflect.Pointer && !e.IsNil() {
			ep := planFor(e.Type().Elem())
			return ep.dec(d, ep, off, e.UnsafePointer(), depth, st)
		}
	}
	if t.Kind() == reflect.Interface && t.NumMethod() == 0 {
		v, next, err := d.decodeAny(off, depth, st)
		if err != nil {
			return 0, err
		}
		if v == nil {
			rv.SetZero()
		} else {
			rv.Set(reflect.ValueOf(v))
		}
		return next, nil
	}
	kind, size, payload, after, err := d.enter(off, depth, st)
	if err != nil {
		return 0, err
	}
	switch {
	case kind == kBytes && t == reflect.TypeFor[[]byte]():
		v, end, err := d.scalar(kind, size, payload)
		if err != nil {
			return 0, err
		}
		rv.SetBytes(v.([]byte))
		return finish(after, end), nil
	case kind == kUint128 && t == bigIntType:
		v, end, err := d.scalar(kind, size, payload)
		if err != nil {
			return 0, err
		}
		rv.Set(reflect.ValueOf(v).Elem())
		return finish(after, end), nil
	}
	return d.mismatch(kind, size, payload, t)
}
