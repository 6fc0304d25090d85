package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// readConformance returns the bytes of a file of MaxMind's conformance
// suite (spec, test-data, bad-data, source-data; testutil finds it).
func readConformance(t testing.TB, rel string) []byte {
	t.Helper()
	return testutil.ReadFile(t, testutil.Conformance(t, rel))
}

// mustParse parses an MMDB file, failing the test when it cannot.
func mustParse(t testing.TB, file []byte) *Database {
	t.Helper()
	db, err := Parse(file)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return db
}

// conformanceFiles lists the conformance files matching pattern, as paths
// relative to the suite's root; it fails the test when there are none.
func conformanceFiles(t testing.TB, pattern string) []string {
	t.Helper()
	dir := testutil.ConformanceDir(t)
	paths := testutil.ConformanceGlob(t, pattern)
	rels := make([]string, len(paths))
	for i, p := range paths {
		rels[i], _ = filepath.Rel(dir, p)
	}
	return rels
}

// stage names the step of reading a file at which it failed.
type stage string

const (
	stageNone   stage = ""       // every step succeeded
	stageParse  stage = "parse"  // Parse
	stageWalk   stage = "walk"   // Database.Walk
	stageLookup stage = "lookup" // Database.Lookup
	stageDecode stage = "decode" // Decoder.Value of a record
)

// walked is one network Walk gave.
type walked struct {
	prefix netip.Prefix
	offset uint
}

// readAll reads file the way a careful user would: Parse, Walk every
// network, Lookup the first and last address of every network and a few
// fixed addresses, and decode every distinct record with Decoder.Value
// (checking that Skip ends where Value ends). It returns the first stage
// that failed, with its error; the work is bounded for any input, so
// FuzzParse uses it too.
func readAll(file []byte) (stage, error) {
	db, err := Parse(file)
	if err != nil {
		return stageParse, err
	}
	var nets []walked
	if err := db.Walk(func(p netip.Prefix, off uint) error {
		nets = append(nets, walked{p, off})
		return nil
	}); err != nil {
		return stageWalk, err
	}
	probes := []netip.Addr{
		netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("1.1.1.1"),
		netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("::"),
		netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	}
	for _, n := range nets {
		probes = append(probes, n.prefix.Masked().Addr(), testutil.LastAddr(n.prefix))
	}
	offsets := map[uint]bool{}
	for _, n := range nets {
		offsets[n.offset] = true
	}
	for _, a := range probes {
		off, _, found, err := db.Lookup(a)
		if err != nil {
			return stageLookup, fmt.Errorf("lookup %s: %w", a, err)
		}
		if found {
			offsets[off] = true
		}
	}
	// Lookup and Walk read the tree separately: the first and the last
	// address of every network must find it.
	for _, n := range nets {
		for _, a := range []netip.Addr{n.prefix.Masked().Addr(), testutil.LastAddr(n.prefix)} {
			off, bits, found, _ := db.Lookup(a)
			if !found || off != n.offset || bits != n.prefix.Bits() {
				return stageLookup, fmt.Errorf("Lookup(%s) = offset %d /%d found %v, but Walk gave %s at %d", a, off, bits, found, n.prefix, n.offset)
			}
		}
	}
	dec := db.Decoder()
	for _, off := range slices.Sorted(maps.Keys(offsets)) {
		_, end, err := dec.Value(off)
		if err != nil {
			return stageDecode, fmt.Errorf("record at %d: %w", off, err)
		}
		skipEnd, err := dec.Skip(off)
		if err != nil {
			return stageDecode, fmt.Errorf("skip record at %d after Value succeeded: %w", off, err)
		}
		if skipEnd != end {
			return stageDecode, fmt.Errorf("record at %d: Value ends at %d, Skip at %d", off, end, skipEnd)
		}
	}
	return stageNone, nil
}

// brokenTestData are the test-data files MaxMind broke on purpose, with
// the first stage of readAll that must reject them and a word of the
// error.
var brokenTestData = map[string]struct {
	stage stage
	msg   string
}{
	// A double in the data section has a 5-byte payload.
	"GeoIP2-City-Test-Broken-Double-Format.mmdb": {stageDecode, "double of 5 bytes"},
	// node_count is 100000: the tree would need 700000 bytes of a 22 KiB file.
	"GeoIP2-City-Test-Invalid-Node-Count.mmdb": {stageParse, "does not fit"},
	// Records point past the end of the data section.
	"MaxMind-DB-test-broken-pointers-24.mmdb": {stageWalk, "points outside the data section"},
	// A path of the tree goes on past bit 32 of an IPv4 tree.
	"MaxMind-DB-test-broken-search-tree-24.mmdb": {stageWalk, "below the last bit"},
}

// TestConformanceTestData reads every test-data file: the valid ones must
// read without error at every stage, the broken ones must fail at theirs.
func TestConformanceTestData(t *testing.T) {
	files := conformanceFiles(t, "test-data/*.mmdb")
	seen := 0
	for _, rel := range files {
		name := filepath.Base(rel)
		t.Run(name, func(t *testing.T) {
			got, err := readAll(readConformance(t, rel))
			want, broken := brokenTestData[name]
			if !broken {
				if got != stageNone {
					t.Fatalf("valid file failed at %s: %v", got, err)
				}
				return
			}
			seen++
			if got != want.stage || err == nil || !strings.Contains(err.Error(), want.msg) {
				t.Fatalf("got stage %q error %v, want stage %q with %q", got, err, want.stage, want.msg)
			}
		})
	}
	if seen != len(brokenTestData) {
		t.Errorf("found %d of the %d broken files", seen, len(brokenTestData))
	}
}

// badData lists every file under bad-data with the stage of readAll that
// rejects it, or stageNone with the reason the file is in fact readable.
var badData = []struct {
	file   string
	stage  stage
	msg    string // part of the error, or the reason a file is valid
	verify func(t *testing.T, db *Database)
}{
	{file: "libmaxminddb/libmaxminddb-corrupt-search-tree.mmdb", stage: stageNone,
		msg: "node_count says 100 but only node 0 is written; nodes 1-99 are zero bytes that no path from the root reaches, so a reader that walks from the root (Parse, Walk, Lookup) never sees them; only a verifier that checks every node finds them",
		verify: func(t *testing.T, db *Database) {
			for n := uint(1); n < db.Metadata.NodeCount; n++ {
				if l, r := ReadNode(db.Tree, 24, n); l != 0 || r != 0 {
					t.Fatalf("node %d is (%d, %d), want the zero node this fixture is made of", n, l, r)
				}
			}
		}},
	{file: "libmaxminddb/libmaxminddb-deep-array-nesting.mmdb", stage: stageDecode, msg: "nested deeper than 512"},
	{file: "libmaxminddb/libmaxminddb-deep-nesting.mmdb", stage: stageDecode, msg: "nested deeper than 512"},
	{file: "libmaxminddb/libmaxminddb-empty-array-last-in-metadata.mmdb", stage: stageNone,
		msg: "valid: the empty languages array is the last byte of the file, which exposed an off-by-one in libmaxminddb",
		verify: func(t *testing.T, db *Database) {
			if len(db.Metadata.Languages) != 0 || db.Metadata.NodeCount != 1 {
				t.Fatalf("metadata %+v, want no languages and 1 node", db.Metadata)
			}
		}},
	{file: "libmaxminddb/libmaxminddb-empty-map-last-in-metadata.mmdb", stage: stageNone,
		msg: "valid: the empty description map is the last byte of the file, which exposed an off-by-one in libmaxminddb",
		verify: func(t *testing.T, db *Database) {
			if len(db.Metadata.Description) != 0 || db.Metadata.NodeCount != 1 {
				t.Fatalf("metadata %+v, want no description and 1 node", db.Metadata)
			}
		}},
	{file: "libmaxminddb/libmaxminddb-metadata-marker-only.mmdb", stage: stageParse, msg: "end of section"},
	{file: "libmaxminddb/libmaxminddb-offset-integer-overflow.mmdb", stage: stageParse, msg: "end of section"},
	{file: "libmaxminddb/libmaxminddb-oversized-array.mmdb", stage: stageDecode, msg: "array of 1000000 entries exceeds the section"},
	{file: "libmaxminddb/libmaxminddb-oversized-map.mmdb", stage: stageDecode, msg: "map of 1000000 entries exceeds the section"},
	{file: "libmaxminddb/libmaxminddb-separator-record-max-left.mmdb", stage: stageWalk, msg: "record 16 points outside the data section"},
	{file: "libmaxminddb/libmaxminddb-separator-record-min-left.mmdb", stage: stageWalk, msg: "record 2 points outside the data section"},
	{file: "libmaxminddb/libmaxminddb-separator-record-min-right.mmdb", stage: stageWalk, msg: "record 2 points outside the data section"},
	{file: "libmaxminddb/libmaxminddb-uint64-max-epoch.mmdb", stage: stageNone,
		msg: "valid, as bad-data/README.md says: build_epoch is UINT64_MAX, which must not wrap when turned into a time",
		verify: func(t *testing.T, db *Database) {
			if db.Metadata.BuildEpoch != math.MaxUint64 {
				t.Fatalf("build_epoch %d, want %d", db.Metadata.BuildEpoch, uint64(math.MaxUint64))
			}
			if bt := db.Metadata.BuildTime(); bt.Year() < 9999 {
				t.Fatalf("BuildTime() = %v: the largest epoch wrapped to the past", bt)
			}
		}},
	{file: "maxminddb-golang/cyclic-data-structure.mmdb", stage: stageParse, msg: "runs past the end"},
	{file: "maxminddb-golang/invalid-bytes-length.mmdb", stage: stageParse, msg: "exceeds the section"},
	{file: "maxminddb-golang/invalid-data-record-offset.mmdb", stage: stageParse, msg: "invalid UTF-8"},
	{file: "maxminddb-golang/invalid-map-key-length.mmdb", stage: stageParse, msg: "runs past the end"},
	{file: "maxminddb-golang/invalid-string-length.mmdb", stage: stageParse, msg: "runs past the end"},
	{file: "maxminddb-golang/metadata-is-an-uint128.mmdb", stage: stageParse, msg: "runs past the end"},
	{file: "maxminddb-golang/unexpected-bytes.mmdb", stage: stageParse, msg: "end of section"},
	// The bad map key sits where the 16 zero bytes between tree and data
	// belong, so the layout check rejects the file before any decoding.
	{file: "maxminddb-python/bad-unicode-in-map-key.mmdb", stage: stageParse, msg: "separator"},
}

// TestConformanceBadData reads every file under bad-data: each fails at
// the stage the table says (never a panic), or reads cleanly for the
// reason given.
func TestConformanceBadData(t *testing.T) {
	listed := map[string]bool{}
	for _, tc := range badData {
		listed[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			file := readConformance(t, filepath.Join("bad-data", tc.file))
			got, err := readAll(file)
			if got != tc.stage {
				t.Fatalf("failed at stage %q (%v), want %q (%s)", got, err, tc.stage, tc.msg)
			}
			if tc.stage == stageNone {
				db := mustParse(t, file)
				if tc.verify != nil {
					tc.verify(t, db)
				}
				return
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not mention %q", err, tc.msg)
			}
			var de *DataError
			if tc.stage != stageParse && !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DataError", err)
			}
		})
	}
	for _, rel := range conformanceFiles(t, "bad-data/*/*.mmdb") {
		name, _ := filepath.Rel("bad-data", rel)
		if !listed[filepath.ToSlash(name)] {
			t.Errorf("bad-data file %s is not in the table", name)
		}
	}
}

// validTestData returns the test-data files not broken on purpose.
func validTestData(t testing.TB) []string {
	var out []string
	for _, rel := range conformanceFiles(t, "test-data/*.mmdb") {
		if _, broken := brokenTestData[filepath.Base(rel)]; !broken {
			out = append(out, rel)
		}
	}
	return out
}

// toV2 converts v to the Go value maxminddb-golang v2 produces when it
// decodes the same MMDB value into an `any` (internal/decoder/reflection.go:
// decodeAny and the unmarshal* functions): every unsigned integer up to 64
// bits becomes uint64, int32 stays int32, uint128 becomes *big.Int, maps
// map[string]any, arrays []any.
func toV2(v Value) any {
	switch v := v.(type) {
	case String:
		return string(v)
	case Float64:
		return float64(v)
	case Float32:
		return float32(v)
	case Bytes:
		return []byte(v)
	case Uint16:
		return uint64(v)
	case Uint32:
		return uint64(v)
	case Uint64:
		return uint64(v)
	case Int32:
		return int32(v)
	case Uint128:
		return v.Big()
	case Bool:
		return bool(v)
	case Map:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = toV2(e)
		}
		return m
	case Slice:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = toV2(e)
		}
		return s
	}
	panic(fmt.Sprintf("toV2: unexpected %T", v))
}

// diffTree returns where a and b differ ("" when they are equal): maps
// (map[string]any) key by key, arrays ([]any) element by element, and the
// other values by leaf.
func diffTree(path string, a, b any, leaf func(path string, a, b any) string) string {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return fmt.Sprintf("%s: map of %d keys vs %#v", path, len(a), b)
		}
		for _, k := range slices.Sorted(maps.Keys(a)) {
			bv, ok := b[k]
			if !ok {
				return fmt.Sprintf("%s.%s: missing on the right", path, k)
			}
			if d := diffTree(path+"."+k, a[k], bv, leaf); d != "" {
				return d
			}
		}
		return ""
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return fmt.Sprintf("%s: %d-element array vs %#v", path, len(a), b)
		}
		for i := range a {
			if d := diffTree(fmt.Sprintf("%s[%d]", path, i), a[i], b[i], leaf); d != "" {
				return d
			}
		}
		return ""
	}
	return leaf(path, a, b)
}

// diffAny is diffTree of two values of the same Go types: big.Ints by
// value, floats by bits, nil and empty byte slices alike.
func diffAny(path string, a, b any) string {
	return diffTree(path, a, b, func(path string, a, b any) string {
		equal := false
		switch a := a.(type) {
		case *big.Int:
			b, ok := b.(*big.Int)
			equal = ok && a.Cmp(b) == 0
		case []byte:
			b, ok := b.([]byte)
			equal = ok && bytes.Equal(a, b)
		case float64:
			b, ok := b.(float64)
			equal = ok && math.Float64bits(a) == math.Float64bits(b)
		case float32:
			b, ok := b.(float32)
			equal = ok && math.Float32bits(a) == math.Float32bits(b)
		default:
			equal = a == b
		}
		if !equal {
			return fmt.Sprintf("%s: %#v (%T) vs %#v (%T)", path, a, a, b, b)
		}
		return ""
	})
}

// TestConformanceWalkAgainstV2 checks that Walk gives the networks
// maxminddb-golang v2's Networks() gives, in the same order, with the same
// data offsets and, decoded, the same values.
func TestConformanceWalkAgainstV2(t *testing.T) {
	for _, rel := range validTestData(t) {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			file := readConformance(t, rel)
			db := mustParse(t, file)
			r := testutil.OpenV2Bytes(t, file)
			type rec struct {
				prefix netip.Prefix
				offset uint
				value  any
			}
			var ours []rec
			dec := db.Decoder()
			if err := db.Walk(func(p netip.Prefix, off uint) error {
				v, _, err := dec.Value(off)
				if err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				ours = append(ours, rec{p, off, toV2(v)})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			var theirs []rec
			for res := range r.Networks() {
				if err := res.Err(); err != nil {
					t.Fatalf("v2 Networks: %v", err)
				}
				var v any
				if err := res.Decode(&v); err != nil {
					t.Fatalf("v2 Decode %s: %v", res.Prefix(), err)
				}
				theirs = append(theirs, rec{res.Prefix(), uint(res.Offset()), v})
			}
			if len(ours) == 0 {
				t.Fatal("Walk found no networks")
			}
			if len(ours) != len(theirs) {
				t.Errorf("Walk gave %d networks, v2 %d", len(ours), len(theirs))
			}
			for i := range min(len(ours), len(theirs)) {
				o, v := ours[i], theirs[i]
				if o.prefix != v.prefix || o.offset != v.offset {
					t.Fatalf("network %d: ours %s at %d, v2 %s at %d", i, o.prefix, o.offset, v.prefix, v.offset)
				}
				if d := diffAny(o.prefix.String(), o.value, v.value); d != "" {
					t.Fatalf("network %d: ours vs v2: %s", i, d)
				}
			}
		})
	}
}

// lookupProbes returns the addresses TestConformanceLookupAgainstV2 looks
// up in a database: the first and last address of every network (and
// for an IPv4 network of an IPv6 tree, its first address as ::ffff:a.b.c.d
// and in 6to4 form, 2002:aabb:ccdd::), n fully
// random addresses of each family the database holds, and n addresses
// near random networks (a network's address with its low bits
// scrambled), from a generator seeded by the file name.
func lookupProbes(name string, ipVersion uint, nets []netip.Prefix, n int) []netip.Addr {
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := rand.New(rand.NewPCG(h.Sum64(), 1))
	var out []netip.Addr
	for _, p := range nets {
		out = append(out, p.Masked().Addr(), testutil.LastAddr(p))
		if a := p.Masked().Addr(); a.Is4() && ipVersion == 6 {
			// The same address through the IPv4-mapped and the 6to4
			// prefixes, which the tree may alias to IPv4 or not.
			b4 := a.As4()
			out = append(out, netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: b4[0], 13: b4[1], 14: b4[2], 15: b4[3]}),
				netip.AddrFrom16([16]byte{0: 0x20, 1: 0x02, 2: b4[0], 3: b4[1], 4: b4[2], 5: b4[3]}))
		}
	}
	for range n {
		var b4 [4]byte
		var b16 [16]byte
		for i := range b4 {
			b4[i] = byte(rng.Uint32())
		}
		for i := range b16 {
			b16[i] = byte(rng.Uint32())
		}
		out = append(out, netip.AddrFrom4(b4))
		if ipVersion == 6 {
			out = append(out, netip.AddrFrom16(b16))
		}
		if len(nets) > 0 {
			p := nets[rng.IntN(len(nets))]
			b := p.Addr().AsSlice()
			from := max(p.Bits()-4, 0)
			for i := from; i < len(b)*8; i++ {
				if rng.IntN(2) == 1 {
					b[i/8] ^= 0x80 >> (i % 8)
				}
			}
			a, _ := netip.AddrFromSlice(b)
			out = append(out, a)
		}
	}
	return out
}

// TestConformanceLookupAgainstV2 checks Lookup against maxminddb-golang
// v2's Lookup: found or not, the data offset and the network, for the
// first and last address of every network and a few thousand seeded
// random addresses per file.
func TestConformanceLookupAgainstV2(t *testing.T) {
	for _, rel := range validTestData(t) {
		name := filepath.Base(rel)
		t.Run(name, func(t *testing.T) {
			file := readConformance(t, rel)
			db := mustParse(t, file)
			r := testutil.OpenV2Bytes(t, file)
			var nets []netip.Prefix
			if err := db.Walk(func(p netip.Prefix, _ uint) error {
				nets = append(nets, p)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			probes := lookupProbes(name, db.Metadata.IPVersion, nets, 1000)
			found := 0
			for _, a := range probes {
				off, bits, ok, err := db.Lookup(a)
				if err != nil {
					t.Fatalf("Lookup(%s): %v", a, err)
				}
				res := r.Lookup(a)
				if res.Err() != nil {
					t.Fatalf("v2 Lookup(%s): %v", a, res.Err())
				}
				if ok != res.Found() || ok && off != uint(res.Offset()) {
					t.Fatalf("Lookup(%s) = offset %d found %v, v2 offset %d found %v", a, off, ok, res.Offset(), res.Found())
				}
				if ok {
					found++
				}
				ours, theirs := netip.PrefixFrom(a, bits).Masked(), res.Prefix()
				if a.Is4() && theirs.Addr().Is6() {
					// No IPv4 subtree: the walk for ::a.b.c.d ended above
					// bit 96 on a network v2 reports in IPv6 form; as an
					// IPv4 network that is all of IPv4.
					if bits != 0 || theirs.Bits() > 96 || !theirs.Contains(netip.AddrFrom16(a.As16())) && !theirs.Contains(ipv4InIPv6(a)) {
						t.Fatalf("Lookup(%s) = /%d, v2 %s", a, bits, theirs)
					}
					continue
				}
				if ours != theirs {
					t.Fatalf("Lookup(%s) network %s, v2 %s", a, ours, theirs)
				}
			}
			if found == 0 {
				t.Fatal("no probe found data")
			}
		})
	}
}

// ipv4InIPv6 returns ::a.b.c.d, where an IPv6 tree keeps IPv4 address a.
func ipv4InIPv6(a netip.Addr) netip.Addr {
	b4 := a.As4()
	var b [16]byte
	copy(b[12:], b4[:])
	return netip.AddrFrom16(b)
}

// TestConformanceIPv6InIPv4Database: an IPv6 address in an IPv4 tree has
// no data, at prefix length 0 (v2 reports an error instead).
func TestConformanceIPv6InIPv4Database(t *testing.T) {
	db := mustParse(t, readConformance(t, "test-data/MaxMind-DB-test-ipv4-24.mmdb"))
	for _, a := range []string{"::1.1.1.1", "2001:db8::1", "::"} {
		off, bits, found, err := db.Lookup(netip.MustParseAddr(a))
		if err != nil || found || bits != 0 || off != 0 {
			t.Errorf("Lookup(%s) = %d, /%d, %v, %v; want not found at /0", a, off, bits, found, err)
		}
	}
	// An IPv4-mapped address is its IPv4 address.
	off4, bits4, found4, err4 := db.Lookup(netip.MustParseAddr("1.1.1.1"))
	offm, bitsm, foundm, errm := db.Lookup(netip.MustParseAddr("::ffff:1.1.1.1"))
	if !found4 || off4 != offm || bits4 != bitsm || found4 != foundm || err4 != nil || errm != nil {
		t.Errorf("1.1.1.1 gives (%d /%d %v %v), ::ffff:1.1.1.1 gives (%d /%d %v %v)", off4, bits4, found4, err4, offm, bitsm, foundm, errm)
	}
}

// diffJSON returns where v differs from j, a value that encoding/json
// decoded with UseNumber ("" when equal): diffTree of toV2(v) and j,
// numbers by value (a float32 against the float32 nearest the JSON
// number).
func diffJSON(path string, v Value, j any) string {
	return diffTree(path, toV2(v), j, func(path string, v, j any) string {
		equal := false
		n, isNumber := j.(json.Number)
		switch v := v.(type) {
		case string, bool:
			equal = v == j
		case float64:
			f, err := n.Float64()
			equal = isNumber && err == nil && f == v
		case float32:
			f, err := n.Float64()
			equal = isNumber && err == nil && float32(f) == v
		case uint64, int32, *big.Int:
			want, ok := new(big.Int).SetString(n.String(), 10)
			got, _ := new(big.Int).SetString(fmt.Sprint(v), 10)
			equal = isNumber && ok && got.Cmp(want) == 0
		}
		if !equal {
			return fmt.Sprintf("%s: %T %v vs %#v", path, v, v, j)
		}
		return ""
	})
}

// TestConformanceSourceData checks the records of the networks in
// source-data/*.json, the files MaxMind builds test-data from, against
// the database. The writer inserts the networks in order and a later
// insert replaces what it overlaps, so the record an address must find is
// that of the last source network holding it (found by brute force); the
// first and the last address of every source network are checked.
func TestConformanceSourceData(t *testing.T) {
	checked := 0
	for _, rel := range conformanceFiles(t, "source-data/*.json") {
		name := strings.TrimSuffix(filepath.Base(rel), ".json")
		mmdb := filepath.Join(testutil.ConformanceDir(t), "test-data", name+".mmdb")
		if _, err := os.Stat(mmdb); err != nil {
			continue // a source without a database in test-data
		}
		t.Run(name, func(t *testing.T) {
			db := mustParse(t, readConformance(t, filepath.Join("test-data", name+".mmdb")))
			jd := json.NewDecoder(bytes.NewReader(readConformance(t, rel)))
			jd.UseNumber()
			var entries []map[string]any
			if err := jd.Decode(&entries); err != nil {
				t.Fatal(err)
			}
			type source struct {
				prefix netip.Prefix
				record any
			}
			var sources []source
			for _, e := range entries {
				for network, record := range e {
					p, err := netip.ParsePrefix(network)
					if err != nil {
						t.Fatalf("source network %q: %v", network, err)
					}
					sources = append(sources, source{p, record})
				}
			}
			if len(sources) == 0 {
				t.Fatal("empty source")
			}
			dec := db.Decoder()
			replaced := 0
			for i, s := range sources {
				for _, a := range []netip.Addr{s.prefix.Masked().Addr(), testutil.LastAddr(s.prefix)} {
					want := -1
					for j := len(sources) - 1; j >= 0; j-- {
						if sources[j].prefix.Contains(a) {
							want = j
							break
						}
					}
					if want != i {
						replaced++
					}
					off, _, found, err := db.Lookup(a)
					if err != nil || !found {
						t.Fatalf("%s (of %s): found %v, %v", a, s.prefix, found, err)
					}
					got, _, err := dec.Value(off)
					if err != nil {
						t.Fatalf("%s: %v", a, err)
					}
					if d := diffJSON(sources[want].prefix.String(), got, sources[want].record); d != "" {
						t.Errorf("%s: %s", a, d)
					}
				}
				checked++
			}
			t.Logf("%d source networks, %d addresses whose record a later network replaced", len(sources), replaced)
		})
	}
	if checked == 0 {
		t.Fatal("no source network checked")
	}
}

// TestConformanceDecoderFile checks MaxMind-DB-test-decoder.mmdb record by
// record against values written out by hand from the program that builds
// it (MaxMind-DB's pkg/writer/decoder.go: insertAllTypes on six networks,
// insertAllTypesZero on ::0.0.0.0/128, insertNumericMax on
// ::255.255.255.255/128, in an IPv6 tree with IPv4 aliases), every type
// with its exact kind.
func TestConformanceDecoderFile(t *testing.T) {
	db := mustParse(t, readConformance(t, "test-data/MaxMind-DB-test-decoder.mmdb"))
	u128 := func(hi, lo uint64) Uint128 { return Uint128{Hi: hi, Lo: lo} }
	allTypes := Map{
		"array":   Slice{Uint32(1), Uint32(2), Uint32(3)},
		"bytes":   Bytes{0, 0, 0, 42}, // uint32(42), big-endian
		"boolean": Bool(true),
		"double":  Float64(42.123456),
		"float":   Float32(1.1),
		"int32":   Int32(-268435456), // -1 * 2^28
		"map": Map{"mapX": Map{
			"utf8_stringX": String("hello"),
			"arrayX":       Slice{Uint32(7), Uint32(8), Uint32(9)},
		}},
		"uint16":      Uint16(100),
		"uint32":      Uint32(268435456),           // 2^28
		"uint64":      Uint64(1152921504606846976), // 2^60
		"uint128":     u128(1<<56, 0),              // 2^120
		"utf8_string": String("unicode! ☯ - ♫"),
	}
	zero := Map{
		"array": Slice{}, "bytes": Bytes{}, "boolean": Bool(false),
		"double": Float64(0), "float": Float32(0), "int32": Int32(0),
		"map": Map{}, "uint16": Uint16(0), "uint32": Uint32(0),
		"uint64": Uint64(0), "uint128": u128(0, 0), "utf8_string": String(""),
	}
	numMax := Map{
		"double":  Float64(math.Inf(1)),
		"float":   Float32(math.Inf(1)),
		"int32":   Int32(math.MaxInt32),
		"uint16":  Uint16(math.MaxUint16),
		"uint32":  Uint32(math.MaxUint32),
		"uint64":  Uint64(math.MaxUint64),
		"uint128": u128(math.MaxUint64, math.MaxUint64),
	}
	// The networks, in address order, as Walk gives them: the IPv4 ones
	// (::a.b.c.d/n) as IPv4 prefixes.
	want := []struct {
		prefix string
		value  Map
	}{
		{"0.0.0.0/32", zero},
		{"1.1.1.0/24", allTypes},
		{"2.2.0.0/16", allTypes},
		{"3.0.0.0/8", allTypes},
		{"4.5.6.7/32", allTypes},
		{"255.255.255.255/32", numMax},
		{"1000::1234:0/112", allTypes},
		{"abcd::/64", allTypes},
	}
	var got []walked
	if err := db.Walk(func(p netip.Prefix, off uint) error {
		got = append(got, walked{p, off})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Walk gave %d networks %v, want %d", len(got), got, len(want))
	}
	dec := db.Decoder()
	for i, w := range want {
		if got[i].prefix.String() != w.prefix {
			t.Errorf("network %d is %s, want %s", i, got[i].prefix, w.prefix)
			continue
		}
		v, _, err := dec.Value(got[i].offset)
		if err != nil {
			t.Fatalf("%s: %v", w.prefix, err)
		}
		m, ok := v.(Map)
		if !ok {
			t.Fatalf("%s: %s, want map", w.prefix, v.Kind())
		}
		for _, k := range slices.Sorted(maps.Keys(w.value)) {
			if !Equal(m[k], w.value[k]) {
				t.Errorf("%s: %q = %#v, want %#v", w.prefix, k, m[k], w.value[k])
			}
		}
		if len(m) != len(w.value) {
			t.Errorf("%s: %d keys, want %d", w.prefix, len(m), len(w.value))
		}
	}
	// Equal records are stored once; the IPv4 aliases (::ffff:0:0/96 and
	// 6to4, 2002::/16) lead to the records of the IPv4 networks.
	lookups := []struct {
		addr   string
		prefix string // as netip.PrefixFrom(addr, length).Masked()
		of     int    // index in want whose record it finds
	}{
		{"1.1.1.77", "1.1.1.0/24", 1},
		{"2.2.200.1", "2.2.0.0/16", 2},
		{"::ffff:3.4.5.6", "::ffff:3.0.0.0/104", 3},
		{"2002:405:607::", "2002:405:607::/48", 4},
		{"255.255.255.255", "255.255.255.255/32", 5},
		{"abcd::ffff", "abcd::/64", 7},
	}
	for _, l := range lookups {
		a := netip.MustParseAddr(l.addr)
		off, bits, found, err := db.Lookup(a)
		if err != nil || !found {
			t.Fatalf("Lookup(%s): found %v, %v", a, found, err)
		}
		if p := netip.PrefixFrom(a, bits).Masked().String(); p != l.prefix {
			t.Errorf("Lookup(%s) in %s, want %s", a, p, l.prefix)
		}
		if off != got[l.of].offset {
			t.Errorf("Lookup(%s) at offset %d, want %d, the record of %s", a, off, got[l.of].offset, want[l.of].prefix)
		}
	}
	for _, a := range []string{"1.1.2.0", "4.5.6.6", "abcd:0:0:1::", "::1:0:0"} {
		if _, _, found, err := db.Lookup(netip.MustParseAddr(a)); found || err != nil {
			t.Errorf("Lookup(%s): found %v, %v; want no data", a, found, err)
		}
	}
}

// handMadeFile returns a file with the given tree, a data section holding
// the map {"a": "b"} and metadata with the given node_count (a uint64, so
// it may be larger than a uint32 holds), record size and IP version.
func handMadeFile(t *testing.T, tree []byte, nodeCount uint64, recordSize, ipVersion uint16) []byte {
	t.Helper()
	md := Map{
		"binary_format_major_version": Uint16(2),
		"binary_format_minor_version": Uint16(0),
		"build_epoch":                 Uint64(1),
		"database_type":               String("hand-made"),
		"ip_version":                  Uint16(ipVersion),
		"node_count":                  Uint64(nodeCount),
		"record_size":                 Uint16(recordSize),
	}
	file := append(bytes.Clone(tree), make([]byte, DataSectionSeparatorSize)...)
	file = append(file, b("\xe1\x41a\x41b")...)
	file = append(file, MetadataMarker...)
	file, err := AppendValue(file, md)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// TestParseHandMade checks Parse and the reads after it on small files
// made by hand, each with one flaw in its layout.
func TestParseHandMade(t *testing.T) {
	// One node whose records both point at the data section (record
	// 1 + 16 = offset 0).
	node24 := AppendNode(nil, 24, 17, 17)
	cases := []struct {
		name  string
		file  []byte
		stage stage
		msg   string
	}{
		{"valid", handMadeFile(t, node24, 1, 24, 4), stageNone, ""},
		{"tree larger than file", handMadeFile(t, node24, 2, 24, 4), stageParse, "does not fit"},
		// 2^61+1 nodes of 8 bytes: the tree size overflows 64 bits to 8 bytes.
		{"tree size overflows", handMadeFile(t, AppendNode(nil, 32, 1, 1), 1<<61+1, 32, 4), stageParse, "node_count"},
		// 2^62+1 nodes of 7 bytes: node_count*28/4 overflows to 7 bytes.
		{"tree size overflows 28", handMadeFile(t, AppendNode(nil, 28, 1, 1), 1<<62+1, 28, 4), stageParse, "node_count"},
		{"separator not zero", func() []byte {
			f := handMadeFile(t, node24, 1, 24, 4)
			f[6+15] = 1
			return f
		}(), stageParse, "separator"},
		{"record size 16", handMadeFile(t, node24, 1, 16, 4), stageParse, "record_size 16"},
		{"ip version 5", handMadeFile(t, node24, 1, 24, 5), stageParse, "ip_version 5"},
		// Node 0 points at itself.
		{"tree cycle", handMadeFile(t, AppendNode(nil, 24, 0, 0), 1, 24, 4), stageWalk, "cycle"},
		// Both records of node 0 lead to node 1, a shared subtree.
		{"shared subtree", handMadeFile(t, append(AppendNode(nil, 24, 1, 1), AppendNode(nil, 24, 18, 18)...), 2, 24, 4), stageWalk, "cycle or shared subtree"},
		// The same with a spare node: three visits for three nodes are
		// within the bound, and the shared node is walked once per path.
		{"shared subtree within the bound", handMadeFile(t, append(append(AppendNode(nil, 24, 1, 1), AppendNode(nil, 24, 19, 19)...), AppendNode(nil, 24, 3, 3)...), 3, 24, 4), stageNone, ""},
		// Record 2 falls in the separator.
		{"record in separator", handMadeFile(t, AppendNode(nil, 24, 2, 17), 1, 24, 4), stageWalk, "outside the data section"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(tc.file)
			if got != tc.stage || tc.stage != stageNone && !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("stage %q, %v; want stage %q with %q", got, err, tc.stage, tc.msg)
			}
		})
	}
}

// TestWalkSharedSubtree: node 0's records both lead to node 1, whose
// records hold data; node 2 is spare. Walk gives node 1's networks once
// per path to it, and Lookup agrees.
func TestWalkSharedSubtree(t *testing.T) {
	tree := append(append(AppendNode(nil, 24, 1, 1), AppendNode(nil, 24, 19, 19)...), AppendNode(nil, 24, 3, 3)...)
	db := mustParse(t, handMadeFile(t, tree, 3, 24, 4))
	var got []string
	if err := db.Walk(func(p netip.Prefix, off uint) error {
		got = append(got, fmt.Sprintf("%s@%d", p, off))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"0.0.0.0/2@0", "64.0.0.0/2@0", "128.0.0.0/2@0", "192.0.0.0/2@0"}
	if !slices.Equal(got, want) {
		t.Fatalf("Walk gave %v, want %v", got, want)
	}
}
