package format

import (
	"bytes"
	"testing"
)

// canonicalSlow is CanonicalRecord without its fast path: decode, check,
// encode again.
func canonicalSlow(b []byte) ([]byte, bool) {
	d := Decoder{buf: b, section: "record"}
	v, end, err := d.Value(0)
	if err != nil || end != uint(len(b)) || hasPointer(d, 0) {
		return nil, false
	}
	c, err := AppendValue(nil, v)
	return c, err == nil
}

// TestCanonicalAt checks the fast path of CanonicalRecord on hand-made
// encodings: what AppendValue writes is taken as is; anything else is
// left to the slow path (which then decides).
func TestCanonicalAt(t *testing.T) {
	enc := func(v Value) []byte {
		b, err := AppendValue(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"record", enc(Map{"b": Uint16(1), "a": Slice{Bool(true), Bool(false), Uint128{Hi: 1}, Float32(1), Float64(2), Bytes{1}, Uint64(1 << 40), Int32(-1), Uint32(0)}, "c": Map{"x": String("ü")}}), true},
		{"empty map", enc(Map{}), true},
		{"long string", enc(String(string(bytes.Repeat([]byte("x"), 70000)))), true},
		{"keys unsorted", []byte{0xE2, 0x41, 0x62, 0xA1, 0x01, 0x41, 0x61, 0x41, 0x78}, false},
		{"pointer", []byte{0xE1, 0x41, 0x61, 0x20, 0x00}, false},
		{"uint16 with a leading zero", []byte{0xA2, 0x00, 0x01}, false},
		{"uint16 too wide", []byte{0xA3, 0x01, 0x01, 0x01}, false},
		{"size not shortest", []byte{0x5D, 0x00}, false}, // an empty string with a size byte
		{"invalid UTF-8", []byte{0x41, 0xFF}, false},
		{"bool size 2", []byte{0x02, 0x07}, false},
		{"double of 4 bytes", []byte{0x64, 0, 0, 0, 0}, false},
		{"truncated", []byte{0xE1, 0x41}, false},
		{"map key not a string", []byte{0xE1, 0xA1, 0x01, 0xA1, 0x01}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end, ok := canonicalAt(tt.b, 0, 0)
			got := ok && end == uint(len(tt.b))
			if got != tt.want {
				t.Fatalf("canonicalAt = %d, %v; want canonical %v", end, ok, tt.want)
			}
		})
	}
}

// FuzzCanonicalRecord holds the fast path to the slow one: whenever
// canonicalAt takes bytes as canonical, decoding and encoding them again
// gives the same bytes; and CanonicalRecord always agrees with the slow
// path.
func FuzzCanonicalRecord(f *testing.F) {
	for _, v := range append(append([]Value(nil), fzRecords...), Map{"b": Uint16(1), "a": Slice{Bool(true), Uint128{Hi: 1}}}, Map{}, String("")) {
		b, err := AppendValue(nil, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xE2, 0x41, 0x62, 0xA1, 0x01, 0x41, 0x61, 0x41, 0x78})
	f.Fuzz(func(t *testing.T, b []byte) {
		slow, slowOK := canonicalSlow(b)
		if end, ok := canonicalAt(b, 0, 0); ok && end == uint(len(b)) {
			if !slowOK || !bytes.Equal(slow, b) {
				t.Fatalf("fast path took % X as canonical; decode and encode give % X (ok %v)", b, slow, slowOK)
			}
		}
		c, err := CanonicalRecord(nil, b)
		if (err == nil) != slowOK || err == nil && !bytes.Equal(c, slow) {
			t.Fatalf("CanonicalRecord(% X) = % X, %v; slow path % X, %v", b, c, err, slow, slowOK)
		}
	})
}
