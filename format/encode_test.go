package format

import (
	"bytes"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// hexBytes turns "E1 45 6E" (spaces ignored) into bytes; the expected
// encodings below are written out by hand from MaxMind-DB-spec.md.
func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

func TestAppendValueHandWorked(t *testing.T) {
	str := func(n int) String { return String(strings.Repeat("x", n)) }
	xs := func(n int) []byte { return bytes.Repeat([]byte("x"), n) }
	h := func(s string) []byte { return hexBytes(t, s) }
	tests := []struct {
		name string
		v    Value
		want []byte
	}{
		// Strings (type 2, control 010sssss) at every size-encoding edge.
		{"string len 0", String(""), h("40")},
		{"string len 1", String("a"), h("41 61")},
		{"string len 28", str(28), cat(h("5C"), xs(28))},
		{"string len 29", str(29), cat(h("5D 00"), xs(29))},
		{"string len 284", str(284), cat(h("5D FF"), xs(284))},
		{"string len 285", str(285), cat(h("5E 00 00"), xs(285))},
		{"string len 65820", str(65820), cat(h("5E FF FF"), xs(65820))},
		{"string len 65821", str(65821), cat(h("5F 00 00 00"), xs(65821))},
		{"string len 65822", str(65822), cat(h("5F 00 00 01"), xs(65822))},
		{"string UTF-8", String("日本"), h("46 E6 97 A5 E6 9C AC")},
		// Bytes (type 4, 100sssss).
		{"bytes empty", Bytes{}, h("80")},
		{"bytes nil", Bytes(nil), h("80")},
		{"bytes 3", Bytes{1, 2, 0xff}, h("83 01 02 FF")},
		{"bytes len 300", Bytes(bytes.Repeat([]byte{7}, 300)), cat(h("9E 00 0F"), bytes.Repeat([]byte{7}, 300))},
		// uint16 (type 5, 101sssss), fewest bytes.
		{"uint16 0", Uint16(0), h("A0")},
		{"uint16 1", Uint16(1), h("A1 01")},
		{"uint16 255", Uint16(255), h("A1 FF")},
		{"uint16 256", Uint16(256), h("A2 01 00")},
		{"uint16 max", Uint16(math.MaxUint16), h("A2 FF FF")},
		// uint32 (type 6, 110sssss).
		{"uint32 0", Uint32(0), h("C0")},
		{"uint32 255", Uint32(255), h("C1 FF")},
		{"uint32 256", Uint32(256), h("C2 01 00")},
		{"uint32 2^16-1", Uint32(1<<16 - 1), h("C2 FF FF")},
		{"uint32 2^16", Uint32(1 << 16), h("C3 01 00 00")},
		{"uint32 2^24-1", Uint32(1<<24 - 1), h("C3 FF FF FF")},
		{"uint32 2^24", Uint32(1 << 24), h("C4 01 00 00 00")},
		{"uint32 max", Uint32(math.MaxUint32), h("C4 FF FF FF FF")},
		// int32 (extended 8: 000sssss 00000001), two's complement.
		{"int32 0", Int32(0), h("00 01")},
		{"int32 1", Int32(1), h("01 01 01")},
		{"int32 127", Int32(127), h("01 01 7F")},
		{"int32 128", Int32(128), h("01 01 80")},
		{"int32 2^24", Int32(1 << 24), h("04 01 01 00 00 00")},
		{"int32 max", Int32(math.MaxInt32), h("04 01 7F FF FF FF")},
		{"int32 -1", Int32(-1), h("04 01 FF FF FF FF")},
		{"int32 -256", Int32(-256), h("04 01 FF FF FF 00")},
		{"int32 -268435456", Int32(-268435456), h("04 01 F0 00 00 00")},
		{"int32 min", Int32(math.MinInt32), h("04 01 80 00 00 00")},
		// uint64 (extended 9: 000sssss 00000010).
		{"uint64 0", Uint64(0), h("00 02")},
		{"uint64 1", Uint64(1), h("01 02 01")},
		{"uint64 2^32", Uint64(1 << 32), h("05 02 01 00 00 00 00")},
		{"uint64 2^56-1", Uint64(1<<56 - 1), h("07 02 FF FF FF FF FF FF FF")},
		{"uint64 2^56", Uint64(1 << 56), h("08 02 01 00 00 00 00 00 00 00")},
		{"uint64 max", Uint64(math.MaxUint64), h("08 02 FF FF FF FF FF FF FF FF")},
		// uint128 (extended 10: 000sssss 00000011).
		{"uint128 0", Uint128{}, h("00 03")},
		{"uint128 1", Uint128{Lo: 1}, h("01 03 01")},
		{"uint128 2^64-1", Uint128{Lo: math.MaxUint64}, h("08 03 FF FF FF FF FF FF FF FF")},
		{"uint128 2^64", Uint128{Hi: 1}, h("09 03 01 00 00 00 00 00 00 00 00")},
		{"uint128 2^120", Uint128{Hi: 1 << 56}, h("10 03 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")},
		{"uint128 max", Uint128{math.MaxUint64, math.MaxUint64}, h("10 03 FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF")},
		// double (type 3, 011sssss, always 8 bytes) and float (extended 15).
		{"double 0", Float64(0), h("68 00 00 00 00 00 00 00 00")},
		{"double -0", Float64(math.Copysign(0, -1)), h("68 80 00 00 00 00 00 00 00")},
		{"double 1.5", Float64(1.5), h("68 3F F8 00 00 00 00 00 00")},
		{"double -2", Float64(-2), h("68 C0 00 00 00 00 00 00 00")},
		{"double +Inf", Float64(math.Inf(1)), h("68 7F F0 00 00 00 00 00 00")},
		{"float 0", Float32(0), h("04 08 00 00 00 00")},
		{"float 1", Float32(1), h("04 08 3F 80 00 00")},
		{"float -2.5", Float32(-2.5), h("04 08 C0 20 00 00")},
		// boolean (extended 14: size is the value).
		{"bool false", Bool(false), h("00 07")},
		{"bool true", Bool(true), h("01 07")},
		// map (type 7, 111sssss, size = pairs), keys sorted by bytes.
		{"map empty", Map{}, h("E0")},
		{"map nil", Map(nil), h("E0")},
		{"map sorted keys", Map{"b": Uint16(1), "a": String("x"), "B": Bool(true), "": Uint32(0), "é": Slice{}},
			h("E5 40 C0 41 42 01 07 41 61 41 78 41 62 A1 01 42 C3 A9 00 04")},
		{"map nested", Map{"names": Map{"en": String("Germany"), "de": String("Deutschland")}, "id": Uint32(2921044)},
			h("E2 42 69 64 C3 2C 92 54 45 6E 61 6D 65 73 E2 42 64 65 4B 44 65 75 74 73 63 68 6C 61 6E 64 42 65 6E 47 47 65 72 6D 61 6E 79")},
		// array (extended 11: 000sssss 00000100), order kept.
		{"array empty", Slice{}, h("00 04")},
		{"array", Slice{Uint16(2), String("a"), Slice{Bool(false)}}, h("03 04 A1 02 41 61 01 04 00 07")},
		{"array 29", Slice(make29Bools()), cat(h("1D 04 00"), bytes.Repeat(h("00 07"), 29))},
		{"array 300", Slice(makeBools(300)), cat(h("1E 04 00 0F"), bytes.Repeat(h("00 07"), 300))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte{0xAA}
			got, err := AppendValue(prefix, tt.v)
			if err != nil {
				t.Fatalf("AppendValue: %v", err)
			}
			if got[0] != 0xAA {
				t.Fatalf("AppendValue overwrote dst")
			}
			got = got[1:]
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("AppendValue = % X\nwant          % X", clip(got), clip(tt.want))
			}
			// The spec-worked bytes decode back to the value.
			back, end, err := NewDecoder(tt.want).Value(0)
			if err != nil {
				t.Fatalf("Decoder.Value: %v", err)
			}
			if end != uint(len(tt.want)) {
				t.Fatalf("Decoder.Value ended at %d of %d", end, len(tt.want))
			}
			if want := normalizeNil(tt.v); !Equal(back, want) {
				t.Fatalf("decoded %#v, want %#v", back, want)
			}
		})
	}
}

// normalizeNil maps nil containers to the empty ones a decoder returns.
func normalizeNil(v Value) Value {
	switch v := v.(type) {
	case Map:
		if v == nil {
			return Map{}
		}
	case Bytes:
		if v == nil {
			return Bytes{}
		}
	}
	return v
}

func make29Bools() []Value { return makeBools(29) }

func makeBools(n int) []Value {
	s := make([]Value, n)
	for i := range s {
		s[i] = Bool(false)
	}
	return s
}

// clip shortens long byte slices in failure messages.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

func TestAppendValueErrors(t *testing.T) {
	deep := func(n int) Value {
		var v Value = Bool(true)
		for range n {
			v = Slice{v}
		}
		return v
	}
	tests := []struct {
		name string
		v    Value
	}{
		{"nil", nil},
		{"invalid UTF-8 string", String("a\xffb")},
		{"invalid UTF-8 map key", Map{"\xc3": Bool(true)}},
		{"nil map value", Map{"a": nil}},
		{"nil in array", Slice{Bool(true), nil}},
		{"invalid UTF-8 deep", Map{"a": Slice{Map{"b": String("\xed\xa0\x80")}}}},
		{"nested deeper than MaxDepth", deep(MaxDepth + 1)},
		{"bytes larger than the format allows", Bytes(make([]byte, 65821+1<<24))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := AppendValue(nil, tt.v); err == nil {
				t.Fatalf("AppendValue succeeded with % X", clip(b))
			}
			if _, err := NewEncoder().Encode(tt.v); err == nil {
				t.Fatalf("Encoder.Encode succeeded")
			}
		})
	}
	// The limits themselves are fine.
	for _, v := range []Value{deep(MaxDepth), Bytes(make([]byte, 65821+1<<24-1))} {
		b, err := AppendValue(nil, v)
		if err != nil {
			t.Fatalf("AppendValue at the limit: %v", err)
		}
		back, _, err := NewDecoder(b).Value(0)
		if err != nil || !Equal(back, v) {
			t.Fatalf("value at the limit does not decode back: %v", err)
		}
	}
}

func TestAppendPointerHandWorked(t *testing.T) {
	tests := []struct {
		off  uint
		want string
	}{
		{0, "20 00"},
		{1, "20 01"},
		{255, "20 FF"},
		{256, "21 00"},
		{2047, "27 FF"},
		{2048, "28 00 00"},
		{2049, "28 00 01"},
		{2048 + 0x10000, "29 00 00"},
		{526335, "2F FF FF"},
		{526336, "30 00 00 00"},
		{526337, "30 00 00 01"},
		{526336 + 1<<27 - 1, "37 FF FF FF"},
		{526336 + 1<<27, "38 08 08 08 00"},
		{math.MaxUint32, "38 FF FF FF FF"},
	}
	for _, tt := range tests {
		want := hexBytes(t, tt.want)
		got := appendPointer([]byte{0xAA}, tt.off)
		if !bytes.Equal(got[1:], want) || got[0] != 0xAA {
			t.Errorf("appendPointer(%d) = % X, want AA % X", tt.off, got, want)
		}
		if n := pointerLen(tt.off); n != len(want) {
			t.Errorf("pointerLen(%d) = %d, want %d", tt.off, n, len(want))
		}
		kind, target, next, err := NewDecoder(want).Control(0)
		if err != nil || kind != KindPointer || target != tt.off || next != uint(len(want)) {
			t.Errorf("spec bytes % X decode to %v %d %d %v, want pointer to %d", want, kind, target, next, err, tt.off)
		}
	}
}

func TestEncoderSharesSubValues(t *testing.T) {
	h := func(s string) []byte { return hexBytes(t, s) }
	names := Map{"en": String("Germany"), "de": String("Deutschland")}
	rec1 := Map{"names": names}
	rec2 := Map{"names": names, "code": String("DE")}
	e := NewEncoder()
	// rec1 is the first value: written whole, canonical. Offsets:
	// 0 map, 1 "names", 7 names map, 8 "de", 11 "Deutschland", 23 "en",
	// 26 "Germany"; 34 bytes.
	want1 := h("E1 45 6E 61 6D 65 73 E2 42 64 65 4B 44 65 75 74 73 63 68 6C 61 6E 64 42 65 6E 47 47 65 72 6D 61 6E 79")
	off, err := e.Encode(rec1)
	if err != nil || off != 0 {
		t.Fatalf("Encode(rec1) = %d, %v", off, err)
	}
	if !bytes.Equal(e.Bytes(), want1) {
		t.Fatalf("data after rec1 = % X\nwant             % X", e.Bytes(), want1)
	}
	// rec2: map of 2, "code", "DE", then a pointer to the key "names" at
	// 1 and to the names map at 7.
	want2 := cat(want1, h("E2 44 63 6F 64 65 42 44 45 20 01 20 07"))
	if off, err := e.Encode(rec2); err != nil || off != 34 {
		t.Fatalf("Encode(rec2) = %d, %v, want 34", off, err)
	}
	if !bytes.Equal(e.Bytes(), want2) {
		t.Fatalf("data after rec2 = % X\nwant             % X", e.Bytes(), want2)
	}
	// The same values again: same offsets, nothing written.
	for _, c := range []struct {
		v   Value
		off uint32
	}{{rec1, 0}, {Map{"names": Map{"de": String("Deutschland"), "en": String("Germany")}}, 0}, {rec2, 34}} {
		if off, err := e.Encode(c.v); err != nil || off != c.off {
			t.Fatalf("Encode again = %d, %v, want %d", off, err, c.off)
		}
	}
	if e.Len() != len(want2) {
		t.Fatalf("re-encoding grew the data section to %d bytes", e.Len())
	}
	// A record that holds a whole earlier record points at it; "DE" (3
	// bytes at 40) and "Germany" (at 26) are longer than a 2-byte pointer.
	// "a" (2 bytes) is never worth a pointer and stays inline.
	rec3 := Slice{rec1, String("DE"), String("Germany"), String("a"), String("a")}
	want3 := cat(want2, h("05 04 20 00 20 28 20 1A 41 61 41 61"))
	if off, err := e.Encode(rec3); err != nil || off != 47 {
		t.Fatalf("Encode(rec3) = %d, %v, want 47", off, err)
	}
	if !bytes.Equal(e.Bytes(), want3) {
		t.Fatalf("data after rec3 = % X\nwant             % X", e.Bytes(), want3)
	}
	for _, c := range []struct {
		off uint
		v   Value
	}{{0, rec1}, {34, rec2}, {47, rec3}} {
		got, _, err := NewDecoder(e.Bytes()).Value(c.off)
		if err != nil || !Equal(got, c.v) {
			t.Fatalf("value at %d = %v, %v; want %v", c.off, got, err, c.v)
		}
	}
}

// TestEncoderPointerSizes places a shared value at offsets around the
// pointer-size boundaries and checks the reference the next record holds:
// a pointer of the size the spec gives, or the value inline when a
// pointer would not be shorter.
func TestEncoderPointerSizes(t *testing.T) {
	h := func(s string) []byte { return hexBytes(t, s) }
	tests := []struct {
		at   uint // offset of the shared value
		v    String
		want []byte // how the second record refers to it
	}{
		{2047, "abc", h("27 FF")},
		{2047, "a", h("41 61")},             // 2 bytes: never shared
		{2047, "ab", h("27 FF")},            // 3 bytes: a 2-byte pointer is shorter
		{2048, "ab", h("42 61 62")},         // a 3-byte pointer is not shorter
		{2048, "abc", h("28 00 00")},        // 4 bytes: a 3-byte pointer is shorter
		{2049, "abc", h("28 00 01")},        //
		{526335, "abc", h("2F FF FF")},      //
		{526336, "abc", h("43 61 62 63")},   // a 4-byte pointer is not shorter
		{526336, "abcd", h("30 00 00 00")},  //
		{526337, "abcde", h("30 00 00 01")}, //
	}
	for _, tt := range tests {
		e := NewEncoder()
		// A filler of n bytes is encoded as 3 (285 <= n < 65821) or 4
		// header bytes and n payload bytes.
		n := tt.at - 3
		if n >= 65821 {
			n = tt.at - 4
		}
		if _, err := e.Encode(Bytes(make([]byte, n))); err != nil {
			t.Fatal(err)
		}
		if uint(e.Len()) != tt.at {
			t.Fatalf("filler: data is %d bytes, want %d", e.Len(), tt.at)
		}
		if off, err := e.Encode(tt.v); err != nil || uint(off) != tt.at {
			t.Fatalf("Encode = %d, %v", off, err)
		}
		start := uint(e.Len())
		off, err := e.Encode(Slice{tt.v})
		if err != nil || uint(off) != start {
			t.Fatalf("Encode = %d, %v", off, err)
		}
		got := e.Bytes()[start:]
		if want := cat(h("01 04"), tt.want); !bytes.Equal(got, want) {
			t.Errorf("value at %d %q: second record = % X, want % X", tt.at, tt.v, got, want)
		}
		back, _, err := NewDecoder(e.Bytes()).Value(start)
		if err != nil || !Equal(back, Slice{tt.v}) {
			t.Errorf("second record decodes to %v, %v", back, err)
		}
	}
}

// randValue returns a random value tree of every kind, at most depth deep;
// strings and keys come from pool with probability 1/2 so that sub-values
// repeat.
func randValue(r *rand.Rand, depth int, pool []Value) Value {
	if len(pool) > 0 && r.IntN(3) == 0 {
		return pool[r.IntN(len(pool))]
	}
	k := r.IntN(14)
	if depth <= 0 && k >= 12 {
		k = r.IntN(12)
	}
	switch k {
	case 0:
		return String(randString(r))
	case 1:
		return Float64(randFloat64(r))
	case 2:
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return Bytes(b)
	case 3:
		return Uint16(randBits(r, 16))
	case 4:
		return Uint32(randBits(r, 32))
	case 5:
		return Int32(int32(uint32(randBits(r, 32))))
	case 6:
		return Uint64(randBits(r, 64))
	case 7:
		return Uint128{randBits(r, 64), randBits(r, 64)}
	case 8:
		return Bool(r.IntN(2) == 0)
	case 9:
		return Float32(math.Float32frombits(uint32(randBits(r, 32))))
	case 10, 11:
		return String(randString(r))
	case 12:
		m := Map{}
		for range r.IntN(6) {
			m[randString(r)] = randValue(r, depth-1, pool)
		}
		return m
	default:
		s := make(Slice, r.IntN(6))
		for i := range s {
			s[i] = randValue(r, depth-1, pool)
		}
		return s
	}
}

// randBits returns a random integer of a random bit length up to n, so
// every byte length occurs.
func randBits(r *rand.Rand, n int) uint64 {
	b := r.IntN(n + 1)
	if b == 0 {
		return 0
	}
	return r.Uint64()>>(64-b) | 1<<(b-1)
}

func randFloat64(r *rand.Rand) float64 {
	switch r.IntN(4) {
	case 0:
		return math.Float64frombits(r.Uint64())
	case 1:
		return float64(r.IntN(2000) - 1000)
	default:
		return r.NormFloat64() * 1e3
	}
}

// scripts are strings in several writing systems for random text.
var scripts = []string{"Berlin", "Москва", "北京市", "القاهرة", "दिल्ली", "São Paulo", "🌍🏳️‍🌈", "Zürich", "Ελλάδα", "東京", "ກ", ""}

func randString(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return scripts[r.IntN(len(scripts))]
	}
	var b strings.Builder
	for range r.IntN(12) {
		switch r.IntN(4) {
		case 0:
			b.WriteByte(byte(' ' + r.IntN(95)))
		case 1:
			b.WriteRune(rune(0x80 + r.IntN(0x780)))
		case 2:
			b.WriteRune(rune(0x800 + r.IntN(0xD000)))
		default:
			b.WriteRune(rune(0x10000 + r.IntN(0x10000)))
		}
	}
	if r.IntN(20) == 0 {
		b.WriteString(strings.Repeat("long", 20+r.IntN(100)))
	}
	return b.String()
}

func TestAppendValueRandomRoundTrip(t *testing.T) {
	seed := testutil.Seed(t)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range 2000 {
		v := randValue(r, 4, nil)
		b, err := AppendValue(nil, v)
		if err != nil {
			t.Fatalf("value %d: AppendValue: %v", i, err)
		}
		back, end, err := NewDecoder(b).Value(0)
		if err != nil {
			t.Fatalf("value %d: Decoder.Value: %v", i, err)
		}
		if end != uint(len(b)) {
			t.Fatalf("value %d: decoded %d of %d bytes", i, end, len(b))
		}
		if !Equal(back, normalizeNil(v)) {
			t.Fatalf("value %d: decoded %#v, want %#v", i, back, v)
		}
		if skip, err := NewDecoder(b).Skip(0); err != nil || skip != end {
			t.Fatalf("value %d: Skip = %d, %v; want %d", i, skip, err, end)
		}
		// Canonical: pointer-free, so re-encoding the decoded value gives
		// the same bytes.
		again, err := AppendValue(nil, back)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("value %d: re-encoding differs", i)
		}
	}
}

// TestEncoderRandomRecords encodes random records that share sub-values
// and checks that every offset decodes to its record, that equal records
// share an offset, and that the data section is smaller than the records
// written out in full.
func TestEncoderRandomRecords(t *testing.T) {
	seed := testutil.Seed(t)
	r := rand.New(rand.NewPCG(seed, 2))
	var pool []Value
	for range 30 {
		pool = append(pool, randValue(r, 2, nil))
	}
	pool = append(pool, Map{"names": Map{"en": String("Germany"), "de": String("Deutschland"), "zh-CN": String("德国"), "ru": String("Германия")}})
	e := NewEncoder()
	type rec struct {
		v   Value
		off uint32
	}
	var recs []rec
	full := 0
	for i := range 3000 {
		var v Value
		if i > 0 && r.IntN(5) == 0 {
			v = recs[r.IntN(len(recs))].v // again
		} else {
			v = randValue(r, 3, pool)
		}
		b, err := AppendValue(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		off, err := e.Encode(v)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		for _, p := range recs {
			if Equal(p.v, v) && p.off != off {
				t.Fatalf("record %d: equal records at offsets %d and %d", i, p.off, off)
			}
			if p.off == off && !Equal(p.v, v) {
				t.Fatalf("record %d: different records share offset %d", i, off)
			}
		}
		recs = append(recs, rec{v, off})
		full += len(b)
	}
	d := NewDecoder(e.Bytes())
	for i, p := range recs {
		got, _, err := d.Value(uint(p.off))
		if err != nil {
			t.Fatalf("record %d at %d: %v", i, p.off, err)
		}
		if !Equal(got, normalizeNil(p.v)) {
			t.Fatalf("record %d at %d decodes to %#v, want %#v", i, p.off, got, p.v)
		}
	}
	if e.Len() >= full {
		t.Fatalf("data section of %d bytes, records in full take %d: nothing shared", e.Len(), full)
	}
	t.Logf("%d records, %d bytes in full, %d bytes shared", len(recs), full, e.Len())
}
