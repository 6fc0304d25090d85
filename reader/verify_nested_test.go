package reader

import (
	"bytes"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
)

// verifyOneNode builds an IPv4 database of one node whose left and right
// records point at data offsets left and right, and returns what Verify
// says of it: ours, then maxminddb-golang v2's.
func verifyOneNode(t *testing.T, left, right uint, data []byte) (ours, theirs error) {
	t.Helper()
	meta, err := format.AppendValue(nil, format.Metadata{
		NodeCount: 1, RecordSize: 24, IPVersion: 4, BinaryFormatMajorVersion: 2,
		DatabaseType: "verify-targets", Description: map[string]string{"en": "test"},
		Languages: []string{"en"}, BuildEpoch: 1,
	}.Value())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.Write(format.AppendNode(nil, 24, 17+left, 17+right)) // one node: 17+off is data offset off
	b.Write(make([]byte, 16))
	b.Write(data)
	b.Write(format.MetadataMarker)
	b.Write(meta)
	r, err := OpenBytes(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	peer := testutil.OpenV2Bytes(t, b.Bytes())
	return r.Verify(), peer.Verify()
}

// TestVerifyNestedTreeTargets checks that Verify accepts a search-tree
// record pointing at a value nested inside a top-level value (MaxMind's
// Perl writer writes such records) and rejects one pointing into the
// middle of a value, as maxminddb-golang v2 does.
func TestVerifyNestedTreeTargets(t *testing.T) {
	// {"a": {"b": "c"}}: the outer map at 0, key "a" at 1 (payload at 2),
	// the inner map at 3, key "b" at 4 (payload at 5), "c" at 6.
	data := []byte{0xE1, 0x41, 'a', 0xE1, 0x41, 'b', 0x41, 'c'}
	for _, tc := range []struct {
		right uint // data offset of the right record
		valid bool
	}{
		{3, true},  // the inner map
		{4, true},  // the key "b"
		{6, true},  // the string "c"
		{2, false}, // the payload of the key "a"
		{5, false}, // the payload of the key "b"
	} {
		e1, e2 := verifyOneNode(t, 0, tc.right, data)
		if (e1 == nil) != tc.valid || (e2 == nil) != tc.valid {
			t.Errorf("right record at data offset %d: Verify %v, maxminddb-golang v2 %v; want valid %v", tc.right, e1, e2, tc.valid)
		}
	}
}

// TestVerifyPointerTargets checks that Verify rejects a data-section
// pointer into the middle of a value and accepts one to any value start,
// as maxminddb-golang v2 does.
func TestVerifyPointerTargets(t *testing.T) {
	for _, tc := range []struct {
		target byte // of the pointer in the second record
		valid  bool
	}{
		{0, true},  // the first record
		{1, true},  // the key "a"
		{3, true},  // the string "\x41z"
		{2, false}, // the payload of the key "a"
		{4, false}, // the payload of "\x41z", which reads as the string "z"
	} {
		// {"a": "\x41z"} at 0 (key at 1, the string at 3), {"b": <pointer>}
		// at 6. Only the start check tells a pointer to 4 from a good one:
		// the bytes there decode as a valid string.
		data := []byte{0xE1, 0x41, 'a', 0x42, 0x41, 'z', 0xE1, 0x41, 'b', 0x20, tc.target}
		e1, e2 := verifyOneNode(t, 0, 6, data)
		if (e1 == nil) != tc.valid || (e2 == nil) != tc.valid {
			t.Errorf("pointer to data offset %d: Verify %v, maxminddb-golang v2 %v; want valid %v", tc.target, e1, e2, tc.valid)
		}
	}
}
