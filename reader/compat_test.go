package reader

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// testDataFiles lists the conformance test databases.
func testDataFiles(t testing.TB) []string {
	t.Helper()
	return testutil.ConformanceGlob(t, "test-data/*.mmdb")
}

// errClass names the kind of an error so that ours and maxminddb-golang's
// can be compared: the two packages have distinct but parallel types.
func errClass(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.As(err, new(InvalidDatabaseError)), errors.As(err, new(maxminddb.InvalidDatabaseError)):
		return "InvalidDatabaseError"
	case errors.As(err, new(UnmarshalTypeError)), errors.As(err, new(maxminddb.UnmarshalTypeError)):
		return "UnmarshalTypeError"
	default:
		return "other"
	}
}

// pair is one database opened by both readers.
type pair struct {
	ours   *Reader
	theirs *maxminddb.Reader
}

func openPair(t testing.TB, path string, opts ...ReaderOption) (pair, error, error) {
	t.Helper()
	ours, err1 := Open(path, opts...)
	theirs, err2 := maxminddb.Open(path)
	if err1 == nil {
		t.Cleanup(func() { ours.Close() })
	}
	if err2 == nil {
		t.Cleanup(func() { theirs.Close() })
	}
	return pair{ours, theirs}, err1, err2
}

// compareResult checks that two lookup results agree on everything a
// caller can observe, including the record decoded into interface{}.
func compareResult(t testing.TB, what string, a Result, b maxminddb.Result) {
	t.Helper()
	if errClass(a.Err()) != errClass(b.Err()) {
		t.Fatalf("%s: error %v, maxminddb %v", what, a.Err(), b.Err())
	}
	if a.Found() != b.Found() || a.Prefix() != b.Prefix() {
		t.Fatalf("%s: found %v prefix %v, maxminddb found %v prefix %v", what, a.Found(), a.Prefix(), b.Found(), b.Prefix())
	}
	if a.Found() && a.Offset() != b.Offset() {
		t.Fatalf("%s: offset %d, maxminddb %d", what, a.Offset(), b.Offset())
	}
	var va, vb any
	ea, eb := a.Decode(&va), b.Decode(&vb)
	if errClass(ea) != errClass(eb) {
		t.Fatalf("%s: decode error %v, maxminddb %v", what, ea, eb)
	}
	if eb == nil && !reflect.DeepEqual(va, vb) {
		t.Fatalf("%s: decoded\n%#v\nmaxminddb\n%#v", what, va, vb)
	}
}

// TestCompatTestData compares every lookup and network of every
// conformance database with maxminddb-golang v2: the metadata, every
// network's first and last address, addresses around them, random
// addresses, the iteration itself with each option, and Verify.
func TestCompatTestData(t *testing.T) {
	for _, path := range testDataFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, opts := range [][]ReaderOption{nil, {WithoutIndex()}, {IPv4IndexBits(4)}} {
				p, e1, e2 := openPair(t, path, opts...)
				if errClass(e1) != errClass(e2) {
					t.Fatalf("open: %v, maxminddb %v", e1, e2)
				}
				if e1 != nil {
					return
				}
				comparePair(t, p)
			}
		})
	}
}

func comparePair(t *testing.T, p pair) {
	if !reflect.DeepEqual(p.ours.Metadata, Metadata(p.theirs.Metadata)) {
		t.Fatalf("metadata %+v, maxminddb %+v", p.ours.Metadata, p.theirs.Metadata)
	}
	if !p.ours.Metadata.BuildTime().Equal(p.theirs.Metadata.BuildTime()) {
		t.Fatalf("build time differs")
	}
	if e1, e2 := p.ours.Verify(), p.theirs.Verify(); errClass(e1) != errClass(e2) {
		t.Fatalf("verify: %v, maxminddb %v", e1, e2)
	}

	optionSets := []struct {
		name   string
		ours   []NetworksOption
		theirs []maxminddb.NetworksOption
	}{
		{"default", nil, nil},
		{"aliased", []NetworksOption{IncludeAliasedNetworks()}, []maxminddb.NetworksOption{maxminddb.IncludeAliasedNetworks()}},
		{"empty", []NetworksOption{IncludeNetworksWithoutData()}, []maxminddb.NetworksOption{maxminddb.IncludeNetworksWithoutData()}},
		{"skipempty", []NetworksOption{SkipEmptyValues()}, []maxminddb.NetworksOption{maxminddb.SkipEmptyValues()}},
	}
	var addrs []netip.Addr
	for _, o := range optionSets {
		var a []Result
		var b []maxminddb.Result
		for r := range p.ours.Networks(o.ours...) {
			a = append(a, r)
		}
		for r := range p.theirs.Networks(o.theirs...) {
			b = append(b, r)
		}
		if len(a) != len(b) {
			t.Fatalf("networks %s: %d, maxminddb %d", o.name, len(a), len(b))
		}
		for i := range a {
			compareResult(t, "network "+o.name+" "+b[i].Prefix().String(), a[i], b[i])
			if o.name == "empty" {
				pf := b[i].Prefix()
				addrs = append(addrs, pf.Addr(), testutil.LastAddr(pf), pf.Addr().Prev(), testutil.LastAddr(pf).Next())
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var b16 [16]byte
		for i := range b16 {
			b16[i] = byte(rng.Uint32())
		}
		addrs = append(addrs, netip.AddrFrom4([4]byte(b16[:4])), netip.AddrFrom16(b16),
			netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: b16[0], 13: b16[1], 14: b16[2], 15: b16[3]}))
	}
	addrs = append(addrs, netip.Addr{}, netip.MustParseAddr("::"), netip.MustParseAddr("0.0.0.0"),
		netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("2002:101:101::"), netip.MustParseAddr("::1.1.1.1"))
	for _, a := range addrs {
		if !a.IsValid() && a != (netip.Addr{}) {
			continue
		}
		compareResult(t, "lookup "+a.String(), p.ours.Lookup(a), p.theirs.Lookup(a))
	}

	within := []string{"1.1.1.0/24", "::/64", "2001::/16", "0.0.0.0/0", "::/0", "1.1.1.1/32", "81.2.69.0/24", "::ffff:0:0/96", "2002::/16", "1.1.1.3/32"}
	for _, s := range within {
		pf := netip.MustParsePrefix(s)
		var a []Result
		var b []maxminddb.Result
		for r := range p.ours.NetworksWithin(pf) {
			a = append(a, r)
		}
		for r := range p.theirs.NetworksWithin(pf) {
			b = append(b, r)
		}
		if len(a) != len(b) {
			t.Fatalf("within %s: %d, maxminddb %d", s, len(a), len(b))
		}
		for i := range a {
			compareResult(t, "within "+s, a[i], b[i])
		}
	}
}

// TestDecodeTypedMatchesPeer decodes every record of the test databases
// into typed structs with both readers.
func TestDecodeTypedMatchesPeer(t *testing.T) {
	type names map[string]string
	type city struct {
		City struct {
			GeoNameID uint   `maxminddb:"geoname_id"`
			Names     names  `maxminddb:"names"`
			Conf      uint16 `maxminddb:"confidence"`
		} `maxminddb:"city"`
		Continent struct {
			Code  string `maxminddb:"code"`
			Names names  `maxminddb:"names"`
		} `maxminddb:"continent"`
		Country *struct {
			IsoCode string            `maxminddb:"iso_code"`
			Names   map[string]string `maxminddb:"names"`
			InEU    bool              `maxminddb:"is_in_european_union"`
		} `maxminddb:"country"`
		Location struct {
			Lat      float64 `maxminddb:"latitude"`
			Lon      float32 `maxminddb:"longitude"`
			Acc      int     `maxminddb:"accuracy_radius"`
			TimeZone string  `maxminddb:"time_zone"`
		} `maxminddb:"location"`
		Subdivisions []struct {
			IsoCode string `maxminddb:"iso_code"`
			Names   names  `maxminddb:"names"`
		} `maxminddb:"subdivisions"`
		Traits map[string]any `maxminddb:"traits"`
		Raw    uintptr        `maxminddb:"postal"`
		ASN    uint32         `maxminddb:"autonomous_system_number"`
		Org    string         `maxminddb:"autonomous_system_organization"`
	}
	type embedded struct {
		Location struct {
			TimeZone string `maxminddb:"time_zone"`
		} `maxminddb:"location"`
	}
	type withEmbedded struct {
		embedded
		*city
		Extra any `maxminddb:"-"`
	}
	type wrongTypes struct {
		City    string  `maxminddb:"city"`
		Country []int   `maxminddb:"country"`
		Lat     float32 `maxminddb:"location"`
	}
	type decoderTest struct {
		Array      []uint     `maxminddb:"array"`
		Boolean    bool       `maxminddb:"boolean"`
		Bytes      []byte     `maxminddb:"bytes"`
		Double     float64    `maxminddb:"double"`
		Float      float32    `maxminddb:"float"`
		Int32      int        `maxminddb:"int32"`
		Map        any        `maxminddb:"map"`
		Uint16     uint16     `maxminddb:"uint16"`
		Uint32     uint32     `maxminddb:"uint32"`
		Uint64     uint64     `maxminddb:"uint64"`
		Uint128    *big.Int   `maxminddb:"uint128"`
		Utf8String string     `maxminddb:"utf8_string"`
		Ptr        *string    `maxminddb:"utf8_string"`
		U8         uint8      `maxminddb:"uint16"`
		I64        int64      `maxminddb:"uint64"`
		Int32U     uint32     `maxminddb:"int32"`
		Missing    *struct{}  `maxminddb:"nope"`
		Big2       big.Int    `maxminddb:"uint128"`
		Raw        uintptr    `maxminddb:"map"`
		Arr        []any      `maxminddb:"array"`
		Nested     [][]uint64 `maxminddb:"array"`
	}
	targets := []struct {
		name string
		make func() any
	}{
		{"city", func() any { return new(city) }},
		{"embedded", func() any { return new(withEmbedded) }},
		{"wrong", func() any { return new(wrongTypes) }},
		{"decoder", func() any { return new(decoderTest) }},
		{"map", func() any { return new(map[string]any) }},
		{"string", func() any { return new(string) }},
		{"uint", func() any { return new(uint) }},
	}
	for _, path := range testDataFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			p, e1, e2 := openPair(t, path)
			if e1 != nil || e2 != nil {
				if errClass(e1) != errClass(e2) {
					t.Fatalf("open: %v, maxminddb %v", e1, e2)
				}
				return
			}
			seen := map[uintptr]bool{}
			for r := range p.theirs.Networks(maxminddb.IncludeAliasedNetworks()) {
				if !r.Found() || seen[r.Offset()] {
					continue
				}
				seen[r.Offset()] = true
				ours := p.ours.LookupOffset(r.Offset())
				for _, tg := range targets {
					a, b := tg.make(), tg.make()
					ea, eb := ours.Decode(a), r.Decode(b)
					if errClass(ea) != errClass(eb) {
						t.Fatalf("%s at %d: error %v, maxminddb %v", tg.name, r.Offset(), ea, eb)
					}
					if eb == nil && !reflect.DeepEqual(a, b) {
						t.Fatalf("%s at %d:\n%#v\nmaxminddb\n%#v", tg.name, r.Offset(), a, b)
					}
				}
				for _, path := range [][]any{{"country", "iso_code"}, {"subdivisions", 0, "names", "en"}, {"subdivisions", -1, "iso_code"}, {"array", 1}, {"array", -1}, {"map", "mapX", "arrayX", 2}, {"location"}, {"nope"}, {"subdivisions", 7}, {"country", 1}, {3}} {
					var a, b any
					ea, eb := ours.DecodePath(&a, path...), r.DecodePath(&b, path...)
					if errClass(ea) != errClass(eb) || (eb == nil && !reflect.DeepEqual(a, b)) {
						t.Fatalf("path %v at %d: %v %v, maxminddb %v %v", path, r.Offset(), a, ea, b, eb)
					}
					var sa, sb string
					ea, eb = ours.DecodePath(&sa, path...), r.DecodePath(&sb, path...)
					if errClass(ea) != errClass(eb) || (eb == nil && sa != sb) {
						t.Fatalf("string path %v at %d: %v %v, maxminddb %v %v", path, r.Offset(), sa, ea, sb, eb)
					}
				}
			}
		})
	}
}

var _ = os.Getenv
var _ = slices.Sort[[]int]
