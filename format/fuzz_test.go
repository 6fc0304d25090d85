package format

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addConformanceSeeds adds every test-data and bad-data file to f's
// corpus, through fn (the whole file for FuzzParse, pieces for
// FuzzDecode).
func addConformanceSeeds(f *testing.F, fn func(file []byte)) {
	f.Helper()
	n := 0
	for _, pattern := range []string{"test-data/*.mmdb", "bad-data/*/*.mmdb"} {
		for _, rel := range conformanceFiles(f, pattern) {
			file, err := os.ReadFile(filepath.Join(conformanceDir, rel))
			if err != nil {
				f.Fatal(err)
			}
			fn(file)
			n++
		}
	}
	if n == 0 {
		f.Fatal("no seed files")
	}
}

// FuzzDecode decodes arbitrary bytes as a data section from offset 0:
// Value and Skip never panic; when Value succeeds, Skip succeeds too (it
// checks less) and ends where Value ends, and the value encodes and
// decodes back to itself.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"", "\x43abc", "\x20\x03\x00\x42hi", "\xe1\x41k\x20\x00", "\x02\x04\xa1\x01\x40",
		"\x1f\x04\xff\xff\xff", "\x01\x03\x05", "\x10\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
		"\x68\x3f\xf0\x00\x00\x00\x00\x00\x00", "\x04\x08\x3f\x80\x00\x00", "\x01\x07", "\x00\x05",
	} {
		f.Add([]byte(s))
	}
	// The data section and the metadata of every conformance file that
	// parses, from the start of each section.
	addConformanceSeeds(f, func(file []byte) {
		if md, err := FindMetadata(file); err == nil {
			f.Add(file[md:])
		}
		if db, err := Parse(file); err == nil && len(db.Data) > 0 {
			f.Add(db.Data[:min(len(db.Data), 4096)])
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(data)
		v, end, err := d.Value(0)
		skip, serr := d.Skip(0)
		if err != nil {
			return
		}
		if serr != nil {
			t.Fatalf("Value succeeded (end %d) but Skip failed: %v", end, serr)
		}
		if skip != end || end > uint(len(data)) {
			t.Fatalf("Value ends at %d, Skip at %d, section of %d bytes", end, skip, len(data))
		}
		enc, err := AppendValue(nil, v)
		if err != nil {
			t.Fatalf("a decoded %s does not encode: %v", v.Kind(), err)
		}
		back, n, err := NewDecoder(enc).Value(0)
		if err != nil || n != uint(len(enc)) || !Equal(back, v) {
			t.Fatalf("re-decoding the encoded value: %v, end %d of %d, equal %v", err, n, len(enc), Equal(back, v))
		}
	})
}

// FuzzParse reads arbitrary file bytes the way readAll does: Parse, Walk,
// Lookup of a few addresses and of every network's bounds (which must
// agree with Walk), decode of every record. None of it may panic or run
// unbounded.
func FuzzParse(f *testing.F) {
	addConformanceSeeds(f, func(file []byte) { f.Add(file) })
	f.Fuzz(func(t *testing.T, file []byte) {
		// Any stage may fail on arbitrary bytes, but Lookup disagreeing
		// with Walk is a bug whatever the input.
		if st, err := readAll(file); st == stageLookup && strings.Contains(err.Error(), "but Walk gave") {
			t.Fatal(err)
		}
	})
}
