package reader

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"unsafe"
)

// Decoding into untyped values (interface{} targets, metadata checks)
// and the entry points Decode and DecodePath.

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
		if _, _, _, _, err := d.resolve(off); err != nil {
			return nil, 0, err // the target is unreadable, or a pointer
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
