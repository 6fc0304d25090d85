package reader

import (
	"maps"
	"math"
	"reflect"
	"strconv"
	"unsafe"

	"github.com/ipatlas/ipatlas/format"
)

// The decode functions of the plans, one per kind of Go target.

// anyKind is the want of enter for a target that takes several kinds.
const anyKind = ^uint(0)

// enter checks depth and budget and resolves a pointer at off: it returns
// the control of the value (never a pointer) and the offset after the
// value at off when that is known (after a pointer), else 0. Unless want
// is anyKind, it also checks the value is of kind want (else the
// UnmarshalTypeError for pl's type), that pl has no invalid field tag,
// and, for a map or an array, that the container fits the data and the
// budget: the preamble every typed decoder shares, in one call.
func (d *decoder) enter(off uint, depth int, st *state, pl *plan, want uint) (kind, size, payload, after uint, err error) {
	if depth > maxDepth {
		return 0, 0, 0, 0, errDepth
	}
	if st.budget--; st.budget < 0 {
		return 0, 0, 0, 0, errTooLarge
	}
	// d.resolve, written out: one call less per value.
	kind, size, payload, after, cs := format.ReadResolved(d.buf, off)
	if cs > format.ControlBadExtended {
		return 0, 0, 0, 0, controlErr(cs, payload)
	}
	if want != anyKind {
		if kind != want {
			return 0, 0, 0, 0, d.mismatch(kind, size, payload, pl.typ)
		}
		if pl.fieldErr != nil {
			return 0, 0, 0, 0, pl.fieldErr
		}
		if kind == kMap || kind == kSlice {
			if err := d.checkContainer(kind, size, payload, st); err != nil {
				return 0, 0, 0, 0, err
			}
		}
	}
	return kind, size, payload, after, nil
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
	_, size, payload, after, err := d.enter(off, depth, st, pl, kString)
	if err != nil {
		return 0, err
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
	_, size, payload, after, err := d.enter(off, depth, st, pl, kBool)
	if err != nil {
		return 0, err
	}
	if size > 1 {
		return 0, newInvalidDatabaseError("invalid bool size: %d", size)
	}
	*(*bool)(p) = size == 1
	return finish(after, payload), nil
}

// mismatch decodes the value for the error message and returns an
// UnmarshalTypeError for t.
func (d *decoder) mismatch(kind, size, payload uint, t reflect.Type) error {
	switch kind {
	case kMap:
		return newUnmarshalTypeStrError("map", t)
	case kSlice:
		return newUnmarshalTypeStrError("array", t)
	}
	v, _, err := d.scalar(kind, size, payload)
	if err != nil {
		return err
	}
	return newUnmarshalTypeError(v, t)
}

func decNumber(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error) {
	kind, size, payload, after, err := d.enter(off, depth, st, pl, anyKind)
	if err != nil {
		return 0, err
	}
	t := pl.typ
	switch kind {
	case kUint16, kUint32, kUint64:
		u, err := d.uintAt(payload, size, kind)
		if err != nil {
			return 0, err
		}
		if !setUint(t.Kind(), p, u) {
			return 0, newUnmarshalTypeError(u, t)
		}
	case kInt32:
		u, err := d.uintAt(payload, size, kind)
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
		return 0, d.mismatch(kind, size, payload, t)
	}
	return finish(after, payload+size), nil
}

// intKind is what an integer target of one reflect.Kind holds: its
// width in bytes (0: not an integer) and its least and greatest values.
type intKind struct {
	size uint8
	min  int64
	max  uint64
}

// intKinds describes the integer kinds, indexed by reflect.Kind.
var intKinds = [...]intKind{
	reflect.Int:     {strconv.IntSize / 8, math.MinInt, math.MaxInt},
	reflect.Int8:    {1, math.MinInt8, math.MaxInt8},
	reflect.Int16:   {2, math.MinInt16, math.MaxInt16},
	reflect.Int32:   {4, math.MinInt32, math.MaxInt32},
	reflect.Int64:   {8, math.MinInt64, math.MaxInt64},
	reflect.Uint:    {strconv.IntSize / 8, 0, math.MaxUint},
	reflect.Uint8:   {1, 0, math.MaxUint8},
	reflect.Uint16:  {2, 0, math.MaxUint16},
	reflect.Uint32:  {4, 0, math.MaxUint32},
	reflect.Uint64:  {8, 0, math.MaxUint64},
	reflect.Uintptr: {strconv.IntSize / 8, 0, math.MaxUint},
}

// setUint stores u in the integer at p of kind k if it fits.
func setUint(k reflect.Kind, p unsafe.Pointer, u uint64) bool {
	if uint(k) >= uint(len(intKinds)) {
		return false
	}
	ik := intKinds[k]
	if ik.size == 0 || u > ik.max {
		return false
	}
	storeInt(p, ik.size, u)
	return true
}

// setInt stores v in the signed integer at p of kind k if it fits.
func setInt(k reflect.Kind, p unsafe.Pointer, v int64) bool {
	if uint(k) >= uint(len(intKinds)) {
		return false
	}
	ik := intKinds[k]
	if ik.size == 0 || ik.min == 0 || v < ik.min || v > int64(ik.max) {
		return false
	}
	storeInt(p, ik.size, uint64(v))
	return true
}

// storeInt writes the low size bytes of u, in the machine's order, to
// the integer at p: a signed value in two's complement stores the same
// bits as its uint64 conversion, so one store serves every integer kind.
func storeInt(p unsafe.Pointer, size uint8, u uint64) {
	switch size {
	case 1:
		*(*uint8)(p) = uint8(u)
	case 2:
		*(*uint16)(p) = uint16(u)
	case 4:
		*(*uint32)(p) = uint32(u)
	default:
		*(*uint64)(p) = u
	}
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
		if _, _, _, _, err := d.resolve(off); err != nil {
			return 0, err // the target is unreadable, or a pointer
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
	_, size, payload, after, err := d.enter(off, depth, st, pl, kSlice)
	if err != nil {
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
	_, size, payload, after, err := d.enter(off, depth, st, pl, kMap)
	if err != nil {
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

func decMap(d *decoder, pl *plan, off uint, p unsafe.Pointer, depth int, st *state) (uint, error) {
	_, size, payload, after, err := d.enter(off, depth, st, pl, kMap)
	if err != nil {
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
	_, size, payload, after, err := d.enter(off, depth, st, pl, kMap)
	if err != nil {
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
	kind, size, payload, after, err := d.enter(off, depth, st, pl, anyKind)
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
	return 0, d.mismatch(kind, size, payload, t)
}
