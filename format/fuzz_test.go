package format

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// addConformanceSeeds adds every test-data and bad-data file to f's
// corpus, through fn (the whole file for FuzzParse, pieces for
// FuzzDecode).
func addConformanceSeeds(f *testing.F, fn func(file []byte)) {
	f.Helper()
	n := 0
	for _, pattern := range []string{"test-data/*.mmdb", "bad-data/*/*.mmdb"} {
		for _, rel := range conformanceFiles(f, pattern) {
			fn(readConformance(f, rel))
			n++
		}
	}
	if n == 0 {
		f.Fatal("no seed files")
	}
}

// FuzzDecode decodes arbitrary bytes as a data section from offset 0:
// Resolve, StringAt, Value and Skip never panic; when Value succeeds, Skip succeeds too (it
// checks less) and ends where Value ends, and the value encodes and
// decodes back to itself.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"", "\x43abc", "\x20\x03\x00\x42hi", "\xe1\x41k\x20\x00", "\x02\x04\xa1\x01\x40",
		"\x1f\x04\xff\xff\xff", "\x01\x03\x05", "\x10\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
		"\x68\x3f\xf0\x00\x00\x00\x00\x00\x00", "\x04\x08\x3f\x80\x00\x00", "\x01\x07", "\x00\x05", "\x00\x30",
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
		// Resolve and StringAt never panic either (Resolve indexed past
		// the section wording an invalid extended type: TestResolveBadExtended).
		_, _, _, _, _, _ = d.Resolve(0)
		_, _, _ = d.StringAt(0)
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

// FuzzTree reads arbitrary search trees under valid metadata and a valid
// data section, so that the fuzzer spends its time on Walk and Lookup:
// readAll must not panic and its Lookups must agree with Walk; Walk must
// give disjoint networks in address order, and stay within node_count
// node visits, so that a small tree of shared subtrees cannot make it run
// for an exponential time.
func FuzzTree(f *testing.F) {
	for _, rel := range []string{"test-data/MaxMind-DB-test-ipv4-24.mmdb", "test-data/MaxMind-DB-test-mixed-28.mmdb", "test-data/MaxMind-DB-test-decoder.mmdb"} {
		db := mustParse(f, readConformance(f, rel))
		sel := map[uint]uint8{24: 0, 28: 1, 32: 2}[db.Metadata.RecordSize]
		f.Add(bytes.Clone(db.Tree), uint32(db.Metadata.NodeCount), sel, db.Metadata.IPVersion == 6)
	}
	// Node 0's records both lead to node 1, node 1's to node 2, ...: a
	// chain whose every path is distinct would make 2^n networks.
	var chain []byte
	for i := range uint(40) {
		chain = AppendNode(chain, 24, i+1, i+1)
	}
	f.Add(chain, uint32(40), uint8(0), true)
	f.Fuzz(func(t *testing.T, tree []byte, nodeCount uint32, sizeSel uint8, v6 bool) {
		size := []uint{24, 28, 32}[sizeSel%3]
		nb := NodeBytes(size)
		tree = tree[:uint(len(tree))/nb*nb]
		if uint(nodeCount) > uint(len(tree))/nb+1 {
			nodeCount %= uint32(len(tree))/uint32(nb) + 2
		}
		ipv := uint16(4)
		if v6 {
			ipv = 6
		}
		file := handMadeFile(t, tree, uint64(nodeCount), uint16(size), ipv)
		if st, err := readAll(file); st == stageLookup && strings.Contains(err.Error(), "but Walk gave") {
			t.Fatal(err)
		}
		db, err := Parse(file)
		if err != nil {
			return
		}
		var last [16]byte
		first, calls := true, 0
		_ = db.Walk(func(p netip.Prefix, _ uint) error {
			calls++
			lo, hi := p.Masked().Addr(), testutil.LastAddr(p)
			if lo.Is4() {
				lo, hi = ipv4InIPv6(lo), ipv4InIPv6(hi)
			}
			if !first && bytes.Compare(lo.AsSlice(), last[:]) <= 0 {
				t.Fatalf("network %s starts at or before the end of the previous one", p)
			}
			first, last = false, hi.As16()
			return nil
		})
		if calls > 2*int(nodeCount)+2 {
			t.Fatalf("Walk gave %d networks from %d nodes", calls, nodeCount)
		}
	})
}
