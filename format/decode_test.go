package format

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// b is a byte-string literal helper: b("\x20\x03") reads better in tables
// than []byte{...}.
func b(s string) []byte { return []byte(s) }

// TestControl checks Decoder.Control on control bytes worked out by hand
// from the spec: the four pointer sizes at their boundaries, the three
// long size forms (29, 30, 31) at theirs, the spec's own examples, the
// extended types, and truncated input.
func TestControl(t *testing.T) {
	cases := []struct {
		name    string
		buf     []byte
		off     uint
		kind    Kind
		size    uint
		payload uint
		err     string
	}{
		// Pointers: 001SSVVV. SS=0: VVV and one byte, 11 bits.
		{name: "pointer size 0 min", buf: b("\x20\x00"), kind: KindPointer, size: 0, payload: 2},
		{name: "pointer size 0 vvv", buf: b("\x25\x01"), kind: KindPointer, size: 0x501, payload: 2},
		{name: "pointer size 0 max", buf: b("\x27\xff"), kind: KindPointer, size: 2047, payload: 2},
		// SS=1: VVV and two bytes, plus 2048.
		{name: "pointer size 1 min", buf: b("\x28\x00\x00"), kind: KindPointer, size: 2048, payload: 3},
		{name: "pointer size 1 max", buf: b("\x2f\xff\xff"), kind: KindPointer, size: 2048 + 0x7ffff, payload: 3},
		// SS=2: VVV and three bytes, plus 526336.
		{name: "pointer size 2 min", buf: b("\x30\x00\x00\x00"), kind: KindPointer, size: 526336, payload: 4},
		{name: "pointer size 2 max", buf: b("\x37\xff\xff\xff"), kind: KindPointer, size: 526336 + 0x7ffffff, payload: 4},
		// SS=3: four bytes, VVV ignored.
		{name: "pointer size 3 zero", buf: b("\x38\x00\x00\x00\x00"), kind: KindPointer, size: 0, payload: 5},
		{name: "pointer size 3 vvv ignored", buf: b("\x3f\x00\x00\x00\x01"), kind: KindPointer, size: 1, payload: 5},
		{name: "pointer size 3 max", buf: b("\x38\xff\xff\xff\xff"), kind: KindPointer, size: math.MaxUint32, payload: 5},
		{name: "pointer at an offset", buf: b("\x00\x00\x00\x29\x02\x03"), off: 3, kind: KindPointer, size: 2048 + 0x10203, payload: 6},
		// Sizes below 29 are the size itself.
		{name: "string size 0", buf: b("\x40"), kind: KindString, size: 0, payload: 1},
		{name: "string size 28", buf: b("\x5c"), kind: KindString, size: 28, payload: 1},
		// 29: 29 + one byte.
		{name: "size 29 min", buf: b("\x5d\x00"), kind: KindString, size: 29, payload: 2},
		{name: "size 29 spec example", buf: b("\x5d\x33"), kind: KindString, size: 80, payload: 2},
		{name: "size 29 max", buf: b("\x5d\xff"), kind: KindString, size: 284, payload: 2},
		// 30: 285 + two bytes.
		{name: "size 30 min", buf: b("\x5e\x00\x00"), kind: KindString, size: 285, payload: 3},
		{name: "size 30 spec example", buf: b("\x5e\x33\x33"), kind: KindString, size: 13392, payload: 3},
		{name: "size 30 max", buf: b("\x5e\xff\xff"), kind: KindString, size: 65820, payload: 3},
		// 31: 65821 + three bytes.
		{name: "size 31 min", buf: b("\x5f\x00\x00\x00"), kind: KindString, size: 65821, payload: 4},
		{name: "size 31 spec example", buf: b("\x5f\x33\x33\x33"), kind: KindString, size: 3421264, payload: 4},
		{name: "size 31 max", buf: b("\x5f\xff\xff\xff"), kind: KindString, size: 16843036, payload: 4},
		{name: "map size 31", buf: b("\xff\x00\x00\x01"), kind: KindMap, size: 65822, payload: 4},
		// The first three bits name types 1-7.
		{name: "double", buf: b("\x68"), kind: KindFloat64, size: 8, payload: 1},
		{name: "bytes", buf: b("\x83"), kind: KindBytes, size: 3, payload: 1},
		{name: "uint16", buf: b("\xa2"), kind: KindUint16, size: 2, payload: 1},
		{name: "uint32", buf: b("\xc1"), kind: KindUint32, size: 1, payload: 1},
		{name: "map", buf: b("\xe2"), kind: KindMap, size: 2, payload: 1},
		// Extended types: 000SSSSS then 7 + the next byte.
		{name: "int32", buf: b("\x04\x01"), kind: KindInt32, size: 4, payload: 2},
		{name: "uint64", buf: b("\x08\x02"), kind: KindUint64, size: 8, payload: 2},
		{name: "uint128 spec example", buf: b("\x03\x03"), kind: KindUint128, size: 3, payload: 2},
		{name: "array", buf: b("\x03\x04"), kind: KindSlice, size: 3, payload: 2},
		{name: "container", buf: b("\x00\x05"), kind: KindContainer, size: 0, payload: 2},
		{name: "end marker", buf: b("\x00\x06"), kind: KindEndMarker, size: 0, payload: 2},
		{name: "boolean false", buf: b("\x00\x07"), kind: KindBool, size: 0, payload: 2},
		{name: "boolean true", buf: b("\x01\x07"), kind: KindBool, size: 1, payload: 2},
		{name: "float", buf: b("\x04\x08"), kind: KindFloat32, size: 4, payload: 2},
		// The size bytes follow the extended-type byte.
		{name: "extended size 29", buf: b("\x1d\x04\x05"), kind: KindSlice, size: 34, payload: 3},
		{name: "extended size 30", buf: b("\x1e\x04\x00\x01"), kind: KindSlice, size: 286, payload: 4},
		{name: "extended size 31", buf: b("\x1f\x04\x00\x00\x02"), kind: KindSlice, size: 65823, payload: 5},
		// Errors.
		{name: "empty", buf: b(""), err: "unexpected end of section"},
		{name: "offset at end", buf: b("\x40"), off: 1, err: "unexpected end of section"},
		{name: "offset far past end", buf: b("\x40"), off: math.MaxUint, err: "unexpected end of section"},
		{name: "pointer size 0 truncated", buf: b("\x20"), err: "pointer runs past"},
		{name: "pointer size 1 truncated", buf: b("\x28\x00"), err: "pointer runs past"},
		{name: "pointer size 2 truncated", buf: b("\x30\x00\x00"), err: "pointer runs past"},
		{name: "pointer size 3 truncated", buf: b("\x38\x00\x00\x00"), err: "pointer runs past"},
		{name: "extended type missing", buf: b("\x00"), err: "extended type"},
		{name: "extended type 7", buf: b("\x00\x00"), err: "invalid extended type 7"},
		{name: "extended type 16", buf: b("\x00\x09"), err: "invalid extended type 16"},
		{name: "extended type 262", buf: b("\x00\xff"), err: "invalid extended type 262"},
		{name: "size 29 truncated", buf: b("\x5d"), err: "size bytes run past"},
		{name: "size 30 truncated", buf: b("\x5e\x00"), err: "size bytes run past"},
		{name: "size 31 truncated", buf: b("\x5f\x00\x00"), err: "size bytes run past"},
		{name: "extended size 31 truncated", buf: b("\x1f\x04\x00\x00"), err: "size bytes run past"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind, size, payload, err := NewDecoder(tc.buf).Control(tc.off)
			if tc.err != "" {
				var de *DataError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &de) {
					t.Fatalf("Control = %s %d %d, %v; want a *DataError with %q", kind, size, payload, err, tc.err)
				}
				return
			}
			if err != nil || kind != tc.kind || size != tc.size || payload != tc.payload {
				t.Fatalf("Control = %s %d %d, %v; want %s %d %d", kind, size, payload, err, tc.kind, tc.size, tc.payload)
			}
		})
	}
}

// TestResolve: Resolve follows one pointer and reports where the pointer
// ends; a pointer to a pointer is an error.
func TestResolve(t *testing.T) {
	// 0: pointer to 4; 2: pointer to 0; 4: "hi".
	d := NewDecoder(b("\x20\x04\x20\x00\x42hi"))
	kind, size, payload, ptr, next, err := d.Resolve(0)
	if err != nil || kind != KindString || size != 2 || payload != 5 || !ptr || next != 2 {
		t.Errorf("Resolve(0) = %s %d %d %v %d %v; want utf8_string 2 5 true 2", kind, size, payload, ptr, next, err)
	}
	kind, size, payload, ptr, next, err = d.Resolve(4)
	if err != nil || kind != KindString || size != 2 || payload != 5 || ptr || next != 0 {
		t.Errorf("Resolve(4) = %s %d %d %v %d %v; want utf8_string 2 5 false 0", kind, size, payload, ptr, next, err)
	}
	if _, _, _, _, _, err := d.Resolve(2); err == nil || !strings.Contains(err.Error(), "pointer to a pointer") {
		t.Errorf("Resolve(2) = %v, want pointer to a pointer", err)
	}
	if _, _, _, _, _, err := NewDecoder(b("\x20\x09")).Resolve(0); err == nil {
		t.Error("Resolve of a pointer past the end succeeded")
	}
}

// TestUintAndStringAt checks the two small readers on hand-made bytes.
func TestUintAndStringAt(t *testing.T) {
	d := NewDecoder(b("\x01\x02\x03\x04\x05\x06\x07\x08\x09"))
	for _, tc := range []struct {
		off, size uint
		want      uint64
		err       bool
	}{
		{0, 0, 0, false},
		{0, 1, 1, false},
		{1, 2, 0x0203, false},
		{0, 8, 0x0102030405060708, false},
		{1, 8, 0x0203040506070809, false},
		{0, 9, 0, true},            // more than 8 bytes
		{2, 8, 0, true},            // past the end
		{math.MaxUint, 2, 0, true}, // offset overflow
	} {
		got, err := d.Uint(tc.off, tc.size)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("Uint(%d, %d) = %#x, %v; want %#x, error %v", tc.off, tc.size, got, err, tc.want, tc.err)
		}
	}

	// 0: "key"; 4: pointer to 0; 6: uint16 7; 8: bad UTF-8; 11: pointer to 6.
	d = NewDecoder(b("\x43key\x20\x00\xa1\x07\x42\xff\xfe\x20\x06"))
	for _, tc := range []struct {
		off  uint
		want string
		next uint
		err  string
	}{
		{off: 0, want: "key", next: 4},
		{off: 4, want: "key", next: 6},
		{off: 6, err: "expected utf8_string, found uint16"},
		{off: 8, err: "invalid UTF-8"},
		{off: 11, err: "expected utf8_string, found uint16"},
		{off: 13, err: "end of section"},
	} {
		s, next, err := d.StringAt(tc.off)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("StringAt(%d) = %q, %v; want error %q", tc.off, s, err, tc.err)
			}
			continue
		}
		if err != nil || string(s) != tc.want || next != tc.next {
			t.Errorf("StringAt(%d) = %q, %d, %v; want %q, %d", tc.off, s, next, err, tc.want, tc.next)
		}
	}
}

// nested returns n arrays of one element each around the empty string.
func nested(n int) []byte {
	return append(bytes.Repeat(b("\x01\x04"), n), 0x40)
}

// TestValue decodes hand-made values, each type and the pointer cases,
// and checks the end offset and that Skip agrees with it.
func TestValue(t *testing.T) {
	cases := []struct {
		name string
		buf  []byte
		want Value
		end  uint
	}{
		{"string", b("\x43abc"), String("abc"), 4},
		{"empty string", b("\x40"), String(""), 1},
		{"utf8 string", b("\x46\xe2\x98\xaf\xe2\x99\xab"), String("☯♫"), 7},
		{"double 1", b("\x68\x3f\xf0\x00\x00\x00\x00\x00\x00"), Float64(1), 9},
		{"double -2", b("\x68\xc0\x00\x00\x00\x00\x00\x00\x00"), Float64(-2), 9},
		{"double +inf", b("\x68\x7f\xf0\x00\x00\x00\x00\x00\x00"), Float64(math.Inf(1)), 9},
		{"float 1", b("\x04\x08\x3f\x80\x00\x00"), Float32(1), 6},
		{"float -0.5", b("\x04\x08\xbf\x00\x00\x00"), Float32(-0.5), 6},
		{"bytes", b("\x83\x01\x02\x03"), Bytes{1, 2, 3}, 4},
		{"empty bytes", b("\x80"), Bytes{}, 1},
		{"uint16 zero size", b("\xa0"), Uint16(0), 1},
		{"uint16 256", b("\xa2\x01\x00"), Uint16(256), 3},
		{"uint32 one byte", b("\xc1\x2a"), Uint32(42), 2},
		{"uint32 max", b("\xc4\xff\xff\xff\xff"), Uint32(math.MaxUint32), 5},
		{"int32 -1", b("\x04\x01\xff\xff\xff\xff"), Int32(-1), 6},
		{"int32 min", b("\x04\x01\x80\x00\x00\x00"), Int32(math.MinInt32), 6},
		{"int32 short is positive", b("\x01\x01\xff"), Int32(255), 3},
		{"int32 three bytes", b("\x03\x01\x80\x00\x00"), Int32(0x800000), 5},
		{"int32 zero size", b("\x00\x01"), Int32(0), 2},
		{"uint64", b("\x08\x02\x01\x02\x03\x04\x05\x06\x07\x08"), Uint64(0x0102030405060708), 10},
		{"uint64 max", b("\x08\x02\xff\xff\xff\xff\xff\xff\xff\xff"), Uint64(math.MaxUint64), 10},
		{"uint128 small", b("\x01\x03\x05"), Uint128{Lo: 5}, 3},
		{"uint128 2^64", b("\x09\x03\x01\x00\x00\x00\x00\x00\x00\x00\x00"), Uint128{Hi: 1}, 11},
		{"uint128 max", append(b("\x10\x03"), bytes.Repeat([]byte{0xff}, 16)...), Uint128{Hi: math.MaxUint64, Lo: math.MaxUint64}, 18},
		{"bool false", b("\x00\x07"), Bool(false), 2},
		{"bool true", b("\x01\x07"), Bool(true), 2},
		{"empty map", b("\xe0"), Map{}, 1},
		{"map", b("\xe2\x41a\x41b\x41c\xa1\x07"), Map{"a": String("b"), "c": Uint16(7)}, 9},
		{"empty array", b("\x00\x04"), Slice{}, 2},
		{"array", b("\x02\x04\xa1\x01\x40"), Slice{Uint16(1), String("")}, 5},
		// 0: pointer to 3; 3: "hi". The pointer ends at 2.
		{"pointer", b("\x20\x03\x00\x42hi"), String("hi"), 2},
		// 0: map {key at 1: "k", value at 3: pointer to 5}; 5: "v".
		{"pointer as map value", b("\xe1\x41k\x20\x05\x41v"), Map{"k": String("v")}, 5},
		// 0: map {key at 1: pointer to 5, value at 3: "v"}; 5: "k".
		{"pointer as map key", b("\xe1\x20\x05\x41v\x41k"), Map{"k": String("v")}, 5},
		// 0: [ptr to 6, ptr to 6, ptr to 6]; 8: {"x": 1} pointed to thrice.
		{"shared target", b("\x03\x04\x20\x08\x20\x08\x20\x08\xe1\x41x\xa1\x01"),
			Slice{Map{"x": Uint16(1)}, Map{"x": Uint16(1)}, Map{"x": Uint16(1)}}, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(tc.buf)
			got, end, err := d.Value(0)
			if err != nil || !Equal(got, tc.want) || end != tc.end {
				t.Fatalf("Value = %#v, %d, %v; want %#v, %d", got, end, err, tc.want, tc.end)
			}
			if got.Kind() != tc.want.Kind() {
				t.Fatalf("kind %s, want %s", got.Kind(), tc.want.Kind())
			}
			if skip, err := d.Skip(0); err != nil || skip != tc.end {
				t.Fatalf("Skip = %d, %v; want %d", skip, err, tc.end)
			}
		})
	}
}

// TestValueCopies: strings and bytes do not alias the section.
func TestValueCopies(t *testing.T) {
	buf := b("\xe1\x41k\x82\x01\x02")
	v, _, err := NewDecoder(buf).Value(0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 0
	}
	if !Equal(v, Map{"k": Bytes{1, 2}}) {
		t.Fatalf("after the section changed, the value is %#v", v)
	}
}

// TestValueErrors: malformed values give a *DataError naming the problem;
// skipErr is what Skip says of the same bytes ("" when Skip, which
// neither follows pointers nor checks UTF-8, succeeds).
func TestValueErrors(t *testing.T) {
	cases := []struct {
		name    string
		buf     []byte
		err     string
		skipErr string
	}{
		{"empty", b(""), "end of section", "end of section"},
		{"string past end", b("\x44ab"), "runs past the end", "runs past the end"},
		{"bad utf8", b("\x42\xff\xfe"), "invalid UTF-8", ""},
		{"double of 7", b("\x67\x00\x00\x00\x00\x00\x00\x00"), "double of 7 bytes", "double of 7 bytes"},
		{"double of 9", b("\x69\x00\x00\x00\x00\x00\x00\x00\x00\x00"), "double of 9 bytes", "double of 9 bytes"},
		{"double past end", b("\x68\x00"), "runs past the end", "runs past the end"},
		{"float of 3", b("\x03\x08\x00\x00\x00"), "float of 3 bytes", "float of 3 bytes"},
		{"uint16 of 3", b("\xa3\x00\x00\x00"), "uint16 of 3 bytes", "uint16 of 3 bytes"},
		{"uint32 of 5", b("\xc5\x00\x00\x00\x00\x00"), "uint32 of 5 bytes", "uint32 of 5 bytes"},
		{"int32 of 5", b("\x05\x01\x00\x00\x00\x00\x00"), "int32 of 5 bytes", "int32 of 5 bytes"},
		{"uint64 of 9", b("\x09\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00"), "uint64 of 9 bytes", "uint64 of 9 bytes"},
		{"uint128 of 17", append(b("\x11\x03"), make([]byte, 17)...), "uint128 of 17 bytes", "uint128 of 17 bytes"},
		{"uint32 past end", b("\xc4\x00"), "runs past the end", "runs past the end"},
		{"bool of 2", b("\x02\x07"), "boolean of size 2", "boolean of size 2"},
		{"container", b("\x00\x05"), "invalid data type container", "invalid data type container"},
		{"end marker", b("\x00\x06"), "invalid data type end_marker", "invalid data type end_marker"},
		{"extended 7", b("\x00\x00"), "invalid extended type 7", "invalid extended type 7"},
		{"map key not a string", b("\xe1\xa0\xa0"), "expected utf8_string, found uint16", ""},
		{"map key bad utf8", b("\xe1\x41\xff\xa0"), "invalid UTF-8", ""},
		{"map larger than section", b("\xe3\x41a\x41b"), "map of 3 entries exceeds", "map of 3 entries exceeds"},
		{"map truncated", b("\xe2\x41a\x41b\x41c"), "end of section", "end of section"},
		{"array larger than section", b("\x1f\x04\xff\xff\xff"), "array of 16843036 entries exceeds", "array of 16843036 entries exceeds"},
		{"array truncated", b("\x02\x04\x41a"), "end of section", "end of section"},
		{"pointer to itself", b("\x20\x00"), "pointer to a pointer", ""},
		{"pointer to pointer", b("\x20\x02\x20\x04\x40"), "pointer to a pointer", ""},
		{"pointer past end", b("\x20\x05"), "end of section", ""},
		{"pointer far past end", b("\x38\xff\xff\xff\xff"), "end of section", ""},
		// 0: map {"k": pointer to 0}: the map contains itself.
		{"pointer cycle", b("\xe1\x41k\x20\x00"), "pointer cycle", ""},
		// 0: [pointer to 4]; 4: [pointer to 0].
		{"two-step cycle", b("\x01\x04\x20\x04\x01\x04\x20\x00"), "pointer cycle", ""},
		{"nested too deep", nested(MaxDepth + 1), "nested deeper than 512", "nested deeper than 512"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(tc.buf)
			v, _, err := d.Value(0)
			var de *DataError
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &de) {
				t.Fatalf("Value = %#v, %v; want a *DataError with %q", v, err, tc.err)
			}
			end, err := d.Skip(0)
			if tc.skipErr == "" {
				if err != nil {
					t.Fatalf("Skip = %v, want success", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.skipErr) || !errors.As(err, &de) {
				t.Fatalf("Skip = %d, %v; want a *DataError with %q", end, err, tc.skipErr)
			}
		})
	}
}

// TestValueDepthLimit: a value inside MaxDepth containers decodes, one
// more level is an error, for Value and Skip alike.
func TestValueDepthLimit(t *testing.T) {
	d := NewDecoder(nested(MaxDepth))
	v, end, err := d.Value(0)
	if err != nil || end != uint(2*MaxDepth+1) {
		t.Fatalf("Value of %d nested arrays: end %d, %v", MaxDepth, end, err)
	}
	for range MaxDepth {
		s, ok := v.(Slice)
		if !ok || len(s) != 1 {
			t.Fatalf("expected a one-element array, got %#v", v)
		}
		v = s[0]
	}
	if !Equal(v, String("")) {
		t.Fatalf("innermost value %#v", v)
	}
	if skip, err := d.Skip(0); err != nil || skip != end {
		t.Fatalf("Skip = %d, %v; want %d", skip, err, end)
	}
}

// fanOut returns a section in which each of levels arrays holds two
// pointers to the next, and the last holds two pointers to leaf: decoding
// it makes 2^levels copies of leaf from a few bytes.
func fanOut(levels int, leaf []byte) []byte {
	var buf []byte
	for i := range levels {
		next := uint32((i + 1) * 12)
		buf = append(buf, 0x02, 0x04) // array of 2
		for range 2 {
			buf = append(buf, 0x38, byte(next>>24), byte(next>>16), byte(next>>8), byte(next))
		}
	}
	return append(buf, leaf...)
}

// TestValueFanOut: pointers that fan out from a small section into a huge
// tree are an error, whether the tree has many values or few values of
// many bytes; Skip, which does not follow pointers, is not affected.
func TestValueFanOut(t *testing.T) {
	bigString := append(b("\x5e\x0e\x83"), bytes.Repeat(b("x"), 4000)...) // 285 + 0x0e83 = 4000 bytes
	for _, tc := range []struct {
		name   string
		levels int
		leaf   []byte
	}{
		{"many values", 23, b("\xa1\x01")}, // 2^23 values
		{"many bytes", 16, bigString},      // 2^16 strings of 4000 bytes: 262 MB
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(fanOut(tc.levels, tc.leaf))
			if _, _, err := d.Value(0); err == nil || !strings.Contains(err.Error(), "expands to more than") {
				t.Fatalf("Value = %v, want an expansion error", err)
			}
			if end, err := d.Skip(0); err != nil || end != 12 {
				t.Fatalf("Skip = %d, %v; want 12", end, err)
			}
		})
	}
	// The limit is 16 values per byte of the section plus 1024. L levels
	// take 12L+2 bytes and make 2^L-1 arrays, 2^(L+1)-2 pointers and 2^L
	// leaves: 2^(L+2)-3 values, a pointer counting as one. 9 levels: 2045
	// values, limit 16*110+1024 = 2784. 10 levels: 4093 values, limit
	// 16*122+1024 = 2976.
	if _, _, err := NewDecoder(fanOut(9, b("\xa1\x01"))).Value(0); err != nil {
		t.Errorf("9 levels: %v", err)
	}
	if _, _, err := NewDecoder(fanOut(10, b("\xa1\x01"))).Value(0); err == nil || !strings.Contains(err.Error(), "more than 2976 values") {
		t.Errorf("10 levels: %v, want more than 2976 values", err)
	}
	// A fan-out below the limits decodes.
	d := NewDecoder(fanOut(4, b("\xa1\x01")))
	v, _, err := d.Value(0)
	if err != nil {
		t.Fatal(err)
	}
	leaves := 0
	var count func(Value)
	count = func(v Value) {
		if s, ok := v.(Slice); ok {
			for _, e := range s {
				count(e)
			}
			return
		}
		leaves++
	}
	count(v)
	if leaves != 16 {
		t.Fatalf("%d leaves, want 16", leaves)
	}
}

// checkSkipAgrees decodes the value at off with Value and checks that
// Skip ends at the same offset, then does the same for every value nested
// in it (map keys and values, array elements; pointers are not followed:
// their targets are values of the section in their own right). It returns
// the end of the value and how many values it checked.
func checkSkipAgrees(t *testing.T, d Decoder, off uint, depth int) (uint, int) {
	t.Helper()
	_, end, err := d.Value(off)
	if err != nil {
		t.Fatalf("Value(%d): %v", off, err)
	}
	skip, err := d.Skip(off)
	if err != nil || skip != end {
		t.Fatalf("at %d: Value ends at %d, Skip at %d (%v)", off, end, skip, err)
	}
	n := 1
	kind, size, payload, err := d.Control(off)
	if err != nil {
		t.Fatal(err)
	}
	switch kind {
	case KindMap:
		size *= 2
	case KindSlice:
	default:
		return end, n
	}
	next := payload
	for range size {
		var m int
		next, m = checkSkipAgrees(t, d, next, depth+1)
		n += m
	}
	if next != end {
		t.Fatalf("at %d: the entries end at %d, Value at %d", off, next, end)
	}
	return end, n
}

// TestSkipAgreesWithValue reads the data section of every valid test-data
// file from its first byte as a sequence of values, and the metadata:
// Skip and Value agree on the end of every value, nested ones included,
// and the values tile the section exactly.
func TestSkipAgreesWithValue(t *testing.T) {
	for _, rel := range validTestData(t) {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			file := readConformance(t, rel)
			db := mustParse(t, file)
			md, err := FindMetadata(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []Decoder{db.Decoder(), {buf: file[md:], section: "metadata"}} {
				off, total := uint(0), 0
				for off < uint(len(d.buf)) {
					var n int
					off, n = checkSkipAgrees(t, d, off, 0)
					total += n
				}
				if off != uint(len(d.buf)) || total == 0 {
					t.Fatalf("%s section: values end at %d of %d bytes (%d values)", d.section, off, len(d.buf), total)
				}
			}
		})
	}
}

// TestMapsWithPointers decodes test-data/maps-with-pointers.raw, a bare
// data section, value after value; the values and their ends are worked
// out by hand from its 59 bytes (xxd): keys and values reached through
// pointers, and pointers to whole maps.
func TestMapsWithPointers(t *testing.T) {
	d := NewDecoder(readConformance(t, "test-data/maps-with-pointers.raw"))
	want := []struct {
		off, end uint
		value    Value
	}{
		{0, 22, Map{"long_key": String("long_value1")}},   // inline key and value
		{22, 37, Map{"long_key": String("long_value2")}},  // key: pointer to 1
		{37, 50, Map{"long_key2": String("long_value1")}}, // value: pointer to 10
		{50, 55, Map{"long_key2": String("long_value2")}}, // pointers to 38 and 25
		{55, 57, Map{"long_key": String("long_value1")}},  // pointer to 0
		{57, 59, Map{"long_key2": String("long_value2")}}, // pointer to 50
	}
	off := uint(0)
	for _, w := range want {
		if off != w.off {
			t.Fatalf("value at %d, want %d", off, w.off)
		}
		v, end, err := d.Value(off)
		if err != nil || end != w.end || !Equal(v, w.value) {
			t.Fatalf("Value(%d) = %#v, %d, %v; want %#v, %d", off, v, end, err, w.value, w.end)
		}
		if skip, err := d.Skip(off); err != nil || skip != w.end {
			t.Fatalf("Skip(%d) = %d, %v; want %d", off, skip, err, w.end)
		}
		off = end
	}
	if off != uint(len(d.Bytes())) {
		t.Fatalf("values end at %d of %d bytes", off, len(d.Bytes()))
	}
}

// TestValueRejectsBeforeAllocating: an array or map with more entries
// than the value budget (MaxValues, once the section is large enough) is
// rejected before its Go slice or map is made: the section holds enough
// bytes for every entry, but decoding them would exceed the budget anyway.
func TestValueRejectsBeforeAllocating(t *testing.T) {
	const n = MaxValues + 1 // 65821 + 0x3efee4 = 4194305
	for _, tc := range []struct {
		name string
		head []byte
		tail []byte // one entry
	}{
		{"array", b("\x1f\x04\x3e\xfe\xe4"), b("\xa0")},
		{"map", b("\xff\x3e\xfe\xe4"), b("\x40\xa0")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := append(bytes.Clone(tc.head), bytes.Repeat(tc.tail, n)...)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _, err := NewDecoder(buf).Value(0)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), "more than 4194304 values") {
				t.Fatalf("Value = %v, want the value budget error", err)
			}
			if a := after.TotalAlloc - before.TotalAlloc; a > 1<<20 {
				t.Fatalf("Value allocated %d bytes before rejecting the %s", a, tc.name)
			}
		})
	}
}

// TestDecodeMetadata decodes hand-made metadata maps: a full one, and one
// flaw at a time.
func TestDecodeMetadata(t *testing.T) {
	base := func() Map {
		return Map{
			"binary_format_major_version": Uint16(2),
			"binary_format_minor_version": Uint16(0),
			"build_epoch":                 Uint64(1000000000),
			"database_type":               String("Test-City"),
			"description":                 Map{"en": String("Test"), "zh": String("测试")},
			"ip_version":                  Uint16(6),
			"languages":                   Slice{String("en"), String("zh")},
			"node_count":                  Uint32(1234),
			"record_size":                 Uint16(28),
		}
	}
	enc := func(v Value) []byte {
		buf, err := AppendValue(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		return buf
	}
	md, err := DecodeMetadata(enc(base()))
	if err != nil {
		t.Fatal(err)
	}
	if md.NodeCount != 1234 || md.RecordSize != 28 || md.IPVersion != 6 || md.BinaryFormatMajorVersion != 2 ||
		md.BuildEpoch != 1000000000 || md.DatabaseType != "Test-City" || md.Description["zh"] != "测试" ||
		len(md.Description) != 2 || len(md.Languages) != 2 || md.Languages[1] != "zh" {
		t.Fatalf("decoded %+v", md)
	}
	if got, want := md.BuildTime().UTC().Format(time.RFC3339), "2001-09-09T01:46:40Z"; got != want {
		t.Errorf("BuildTime() = %s, want %s", got, want)
	}
	if md.SearchTreeSize() != 1234*7 {
		t.Errorf("SearchTreeSize() = %d, want %d", md.SearchTreeSize(), 1234*7)
	}
	for _, tc := range []struct {
		name string
		edit func(m Map) Value
		err  string
	}{
		{"not a map", func(Map) Value { return String("x") }, "metadata is a utf8_string, not a map"},
		{"node_count missing", func(m Map) Value { delete(m, "node_count"); return m }, `required key "node_count" missing`},
		{"record_size missing", func(m Map) Value { delete(m, "record_size"); return m }, `required key "record_size" missing`},
		{"ip_version missing", func(m Map) Value { delete(m, "ip_version"); return m }, `required key "ip_version" missing`},
		{"major version missing", func(m Map) Value { delete(m, "binary_format_major_version"); return m }, `"binary_format_major_version" missing`},
		{"node_count a string", func(m Map) Value { m["node_count"] = String("1"); return m }, `"node_count" is a utf8_string`},
		{"node_count signed", func(m Map) Value { m["node_count"] = Int32(1); return m }, `"node_count" is a int32`},
		{"record_size 16", func(m Map) Value { m["record_size"] = Uint16(16); return m }, "record_size 16"},
		{"ip_version 5", func(m Map) Value { m["ip_version"] = Uint16(5); return m }, "ip_version 5"},
		{"major version 3", func(m Map) Value { m["binary_format_major_version"] = Uint16(3); return m }, "binary_format_major_version 3"},
		{"database_type a number", func(m Map) Value { m["database_type"] = Uint16(1); return m }, "database_type is a uint16"},
		{"languages a string", func(m Map) Value { m["languages"] = String("en"); return m }, "languages is a utf8_string"},
		{"languages of numbers", func(m Map) Value { m["languages"] = Slice{Uint16(1)}; return m }, "languages holds a uint16"},
		{"description an array", func(m Map) Value { m["description"] = Slice{}; return m }, "description is a array"},
		{"description of numbers", func(m Map) Value { m["description"] = Map{"en": Uint16(1)}; return m }, `description "en" is a uint16`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeMetadata(enc(tc.edit(base())))
			var de *DataError
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &de) || de.Section != "metadata" {
				t.Fatalf("DecodeMetadata = %v, want a metadata *DataError with %q", err, tc.err)
			}
		})
	}
}

// TestBuildTime: epochs up to what time.Time holds convert exactly, larger
// ones (build_epoch is a uint64) give the latest time, never a wrapped one.
func TestBuildTime(t *testing.T) {
	for _, tc := range []struct {
		epoch uint
		want  string
	}{
		{0, "1970-01-01T00:00:00Z"},
		{1700000000, "2023-11-14T22:13:20Z"},
	} {
		if got := (Metadata{BuildEpoch: tc.epoch}).BuildTime().UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("BuildTime(%d) = %s, want %s", tc.epoch, got, tc.want)
		}
	}
	latest := time.Unix(1<<63-1-62135596800, 0)
	for _, e := range []uint{1<<63 - 1 - 62135596800, 1<<63 - 62135596800, 1 << 63, math.MaxUint} {
		if got := (Metadata{BuildEpoch: e}).BuildTime(); !got.Equal(latest) {
			t.Errorf("BuildTime(%d) = %v, want %v", e, got, latest)
		}
	}
}
