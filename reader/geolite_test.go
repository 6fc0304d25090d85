package reader

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// randomAddrs returns n random IPv4 (v6 false) or IPv6 addresses from a
// fixed seed; IPv6 addresses are drawn from 2000::/3 (where the data is)
// and, one in eight, from anywhere.
func randomAddrs(n int, v6 bool, seed uint64) []netip.Addr {
	rng := rand.New(rand.NewPCG(seed, 0x1p62))
	out := make([]netip.Addr, n)
	for i := range out {
		if !v6 {
			var b [4]byte
			u := rng.Uint32()
			b[0], b[1], b[2], b[3] = byte(u>>24), byte(u>>16), byte(u>>8), byte(u)
			out[i] = netip.AddrFrom4(b)
			continue
		}
		var b [16]byte
		hi, lo := rng.Uint64(), rng.Uint64()
		for j := range 8 {
			b[j] = byte(hi >> (56 - 8*j))
			b[8+j] = byte(lo >> (56 - 8*j))
		}
		if i%8 != 0 {
			b[0] = 0x20 | b[0]&0x1f
		}
		out[i] = netip.AddrFrom16(b)
	}
	return out
}

// TestGeoLiteMatchesPeer checks 1,000,000 random IPv4 and 200,000 random
// IPv6 addresses on the real GeoLite2-City database against
// maxminddb-golang v2: found, offset and prefix for every address, and the
// record decoded into interface{} once per distinct offset. It runs with
// the default acceleration index; a second pass checks a tenth of the
// addresses without it.
// sparseRecord has a few fields of a City record, so that decoding skips
// the rest: names maps, subdivisions, and whatever else the record holds.
type sparseRecord struct {
	Country struct {
		IsoCode string            `maxminddb:"iso_code"`
		Names   map[string]string `maxminddb:"names"`
	} `maxminddb:"country"`
	Location struct {
		TimeZone string `maxminddb:"time_zone"`
	} `maxminddb:"location"`
	Postal struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"postal"`
}

func TestGeoLiteMatchesPeer(t *testing.T) {
	path := testutil.GeoLiteCity(t)
	theirs := testutil.OpenV2(t, path)
	for _, tc := range []struct {
		name   string
		opts   []ReaderOption
		n4, n6 int
	}{
		{"indexed", nil, 1_000_000, 200_000},
		{"plain", []ReaderOption{WithoutIndex()}, 100_000, 20_000},
		{"index24", []ReaderOption{IPv4IndexBits(24)}, 100_000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours, err := Open(path, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer ours.Close()
			n4, n6 := tc.n4, tc.n6
			if raceEnabled {
				n4, n6 = n4/10, n6/10
			}
			addrs := append(randomAddrs(n4, false, 1), randomAddrs(n6, true, 2)...)
			decoded := map[uintptr]bool{}
			found := 0
			for _, a := range addrs {
				x, y := ours.Lookup(a), theirs.Lookup(a)
				if x.Found() != y.Found() || x.Prefix() != y.Prefix() || (x.Err() == nil) != (y.Err() == nil) {
					t.Fatalf("%s: found %v prefix %v err %v; maxminddb found %v prefix %v err %v",
						a, x.Found(), x.Prefix(), x.Err(), y.Found(), y.Prefix(), y.Err())
				}
				if !x.Found() {
					continue
				}
				found++
				if x.Offset() != y.Offset() {
					t.Fatalf("%s: offset %d, maxminddb %d", a, x.Offset(), y.Offset())
				}
				if decoded[x.Offset()] {
					continue
				}
				decoded[x.Offset()] = true
				decodeBoth[any](t, a.String(), x, y)
				// A small struct skips most of the record; twice, so that
				// the second decode meets the skips and the names map the
				// first remembered. The map is changed after each decode: the
				// next decode must not see the change.
				for range 2 {
					sa := decodeBoth[sparseRecord](t, a.String()+": sparse", x, y)
					if sa.Country.Names != nil {
						sa.Country.Names["en"] = "changed by the caller"
					}
				}
			}
			if found < len(addrs)/4 {
				t.Fatalf("only %d of %d addresses found: the sample does not exercise the data", found, len(addrs))
			}
			t.Logf("%d addresses, %d found, %d distinct records compared", len(addrs), found, len(decoded))
		})
	}
}

// decodeBoth decodes x (ours) and y (maxminddb-golang's result for the
// same address) into a new T each, and fails the test unless both decode
// to equal values; it returns ours.
func decodeBoth[T any](t *testing.T, what string, x, y interface{ Decode(any) error }) T {
	t.Helper()
	var a, b T
	if err := x.Decode(&a); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := y.Decode(&b); err != nil {
		t.Fatalf("%s: maxminddb: %v", what, err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("%s: record\n%+v\nmaxminddb\n%+v", what, a, b)
	}
	return a
}
