package format

import (
	"math"
	"math/big"
)

// Value is one value of the data section: a sealed set of types, one per
// MMDB kind. Outside packages cannot add types, so a Value always encodes.
//
// Map keys are Go strings; Encode writes them sorted, so equal maps encode
// to equal bytes whatever their iteration order.
type Value interface {
	// Kind is the MMDB type the value is written as.
	Kind() Kind
	sealed()
}

// The Value types. Each is written as the MMDB kind its name says.
type (
	// String is a UTF-8 string (kind 2).
	String string
	// Float64 is an IEEE 754 double (kind 3).
	Float64 float64
	// Bytes is an opaque byte string (kind 4).
	Bytes []byte
	// Uint16 is an unsigned 16-bit integer (kind 5).
	Uint16 uint16
	// Uint32 is an unsigned 32-bit integer (kind 6).
	Uint32 uint32
	// Map is a map with string keys (kind 7).
	Map map[string]Value
	// Int32 is a signed 32-bit integer (kind 8).
	Int32 int32
	// Uint64 is an unsigned 64-bit integer (kind 9).
	Uint64 uint64
	// Slice is an array of values (kind 11).
	Slice []Value
	// Bool is a boolean (kind 14).
	Bool bool
	// Float32 is an IEEE 754 single (kind 15).
	Float32 float32
)

// Uint128 is an unsigned 128-bit integer (kind 10), as two halves.
type Uint128 struct {
	Hi, Lo uint64
}

// Big returns u as a big.Int.
func (u Uint128) Big() *big.Int {
	b := new(big.Int).SetUint64(u.Hi)
	b.Lsh(b, 64)
	return b.Or(b, new(big.Int).SetUint64(u.Lo))
}

func (String) Kind() Kind  { return KindString }
func (Float64) Kind() Kind { return KindFloat64 }
func (Bytes) Kind() Kind   { return KindBytes }
func (Uint16) Kind() Kind  { return KindUint16 }
func (Uint32) Kind() Kind  { return KindUint32 }
func (Map) Kind() Kind     { return KindMap }
func (Int32) Kind() Kind   { return KindInt32 }
func (Uint64) Kind() Kind  { return KindUint64 }
func (Uint128) Kind() Kind { return KindUint128 }
func (Slice) Kind() Kind   { return KindSlice }
func (Bool) Kind() Kind    { return KindBool }
func (Float32) Kind() Kind { return KindFloat32 }

func (String) sealed()  {}
func (Float64) sealed() {}
func (Bytes) sealed()   {}
func (Uint16) sealed()  {}
func (Uint32) sealed()  {}
func (Map) sealed()     {}
func (Int32) sealed()   {}
func (Uint64) sealed()  {}
func (Uint128) sealed() {}
func (Slice) sealed()   {}
func (Bool) sealed()    {}
func (Float32) sealed() {}

// Equal reports whether a and b are the same value of the same kinds,
// deeply. Float values compare by bits, so NaN equals itself.
func Equal(a, b Value) bool {
	switch a := a.(type) {
	case Map:
		b, ok := b.(Map)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !Equal(av, bv) {
				return false
			}
		}
		return true
	case Slice:
		b, ok := b.(Slice)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !Equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case Bytes:
		b, ok := b.(Bytes)
		return ok && string(a) == string(b)
	case Float64:
		b, ok := b.(Float64)
		return ok && math.Float64bits(float64(a)) == math.Float64bits(float64(b))
	case Float32:
		b, ok := b.(Float32)
		return ok && math.Float32bits(float32(a)) == math.Float32bits(float32(b))
	case nil:
		return b == nil
	default:
		return a == b
	}
}
