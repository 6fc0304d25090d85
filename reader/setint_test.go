package reader

import (
	"math"
	"reflect"
	"testing"
)

// TestSetIntMatchesReflect holds setUint and setInt, the table-driven
// integer stores of the decoder, to reflect's own range checks and
// conversions (the slow, obviously correct reference) for every integer
// kind at the edges of every width, and to refusing every other kind.
func TestSetIntMatchesReflect(t *testing.T) {
	types := []reflect.Type{
		reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[int16](),
		reflect.TypeFor[int32](), reflect.TypeFor[int64](), reflect.TypeFor[uint](),
		reflect.TypeFor[uint8](), reflect.TypeFor[uint16](), reflect.TypeFor[uint32](),
		reflect.TypeFor[uint64](), reflect.TypeFor[uintptr](),
		reflect.TypeFor[float64](), reflect.TypeFor[string](), reflect.TypeFor[bool](),
	}
	var uints []uint64
	var ints []int64
	for _, b := range []uint{7, 8, 15, 16, 31, 32, 63, 64} {
		m := uint64(1)<<(b-1) - 1 + uint64(1)<<(b-1) // 2^b - 1 without overflow
		uints = append(uints, m>>1, m>>1+1, m, m+1)
		ints = append(ints, -int64(m>>1)-1, -int64(m>>1)-2, int64(m>>1), int64(m>>1)+1)
	}
	uints = append(uints, 0, 1)
	ints = append(ints, 0, 1, -1, math.MinInt64, math.MaxInt64)
	for _, typ := range types {
		isInt := typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Int64
		isUint := typ.Kind() >= reflect.Uint && typ.Kind() <= reflect.Uintptr
		for _, u := range uints {
			got := reflect.New(typ)
			ok := setUint(typ.Kind(), got.UnsafePointer(), u)
			want := reflect.New(typ).Elem()
			wantOK := isUint && !want.OverflowUint(u) || isInt && u <= math.MaxInt64 && !want.OverflowInt(int64(u))
			if wantOK && isUint {
				want.SetUint(u)
			} else if wantOK {
				want.SetInt(int64(u))
			}
			if ok != wantOK || !reflect.DeepEqual(got.Elem().Interface(), want.Interface()) {
				t.Errorf("setUint(%v, %d) = %v, %v; want %v, %v", typ, u, got.Elem(), ok, want, wantOK)
			}
		}
		for _, v := range ints {
			got := reflect.New(typ)
			ok := setInt(typ.Kind(), got.UnsafePointer(), v)
			want := reflect.New(typ).Elem()
			wantOK := isInt && !want.OverflowInt(v)
			if wantOK {
				want.SetInt(v)
			}
			if ok != wantOK || !reflect.DeepEqual(got.Elem().Interface(), want.Interface()) {
				t.Errorf("setInt(%v, %d) = %v, %v; want %v, %v", typ, v, got.Elem(), ok, want, wantOK)
			}
		}
	}
}
