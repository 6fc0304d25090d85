package reader

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// FuzzReader opens mutated databases and runs every stage on them: open,
// lookups, decoding into interface{} and into a typed struct, DecodePath,
// iteration with decoding, and Verify. Nothing may panic or hang, and the
// indexed lookup must agree with the plain tree walk.
//
// Run it with a short minimization time:
//
//	go test -run '^$' -fuzz '^FuzzReader$' -fuzztime 60s -fuzzminimizetime 2s ./reader
//
// The seeds are conformance files of up to 32 KiB, and nearly every early
// mutation of one finds new coverage, which go test minimizes for up to
// -fuzzminimizetime (60 s by default) per input without reporting the
// executions: the progress line then stays at the baseline count (~64
// execs, "0/sec") for the whole of a short run, though the worker runs
// some 20,000 inputs a second. With 2 s it passes 20,000 reported execs in
// 30 s on a loaded 2-core machine.
func FuzzReader(f *testing.F) {
	testutil.AddConformanceSeeds(f, 32<<10, "test-data/*.mmdb", "bad-data/*/*.mmdb")
	f.Add([]byte("\xAB\xCD\xEFMaxMind.com"))
	f.Add([]byte{})
	addrs := []netip.Addr{
		netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"),
		netip.MustParseAddr("81.2.69.160"), netip.MustParseAddr("::"), netip.MustParseAddr("2001:218::1"),
		netip.MustParseAddr("::ffff:1.2.3.4"), netip.MustParseAddr("ffff::1"),
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzOne(t, b, addrs) })
}

func fuzzOne(t *testing.T, b []byte, addrs []netip.Addr) {
	type rec struct {
		Country struct {
			IsoCode string            `maxminddb:"iso_code"`
			Names   map[string]string `maxminddb:"names"`
		} `maxminddb:"country"`
		Subdivisions []struct {
			Names map[string]string `maxminddb:"names"`
		} `maxminddb:"subdivisions"`
		Location *struct {
			Lat float64 `maxminddb:"latitude"`
		} `maxminddb:"location"`
		Any any `maxminddb:"traits"`
	}
	{
		r, err := OpenBytes(b, IPv4IndexBits(6))
		if err != nil {
			return
		}
		plain, err := OpenBytes(b, WithoutIndex())
		if err != nil {
			t.Fatalf("opens with the index but not without: %v", err)
		}
		plain.dec.skips, plain.dec.maps = nil, nil // the reference: every value walked
		for _, a := range addrs {
			x, y := r.Lookup(a), plain.Lookup(a)
			if x.Found() != y.Found() || x.Offset() != y.Offset() || x.Prefix() != y.Prefix() || (x.Err() == nil) != (y.Err() == nil) {
				t.Fatalf("lookup %s: indexed %v %d %v %v, plain %v %d %v %v", a, x.Found(), x.Offset(), x.Prefix(), x.Err(), y.Found(), y.Offset(), y.Prefix(), y.Err())
			}
			var v any
			_ = x.Decode(&v)
			// Typed decoding skips the values the struct has no field for
			// and clones names maps it decoded before; with the caches
			// (warm on the second pass) it must give what walking gives.
			for range 2 {
				var s, ref rec
				err, refErr := x.Decode(&s), y.Decode(&ref)
				if (err == nil) != (refErr == nil) || err == nil && !reflect.DeepEqual(s, ref) {
					t.Fatalf("decode %s: with skip cache %+v, %v; walking %+v, %v", a, s, err, ref, refErr)
				}
			}
			var str string
			_ = x.DecodePath(&str, "country", "names", "en")
			_ = x.DecodePath(&v, "subdivisions", -1)
		}
		n := 0
		for res := range r.Networks(IncludeAliasedNetworks(), IncludeNetworksWithoutData()) {
			if n++; n > 300 {
				break
			}
			var v any
			if res.Decode(&v) == nil && res.Found() {
				var again any
				if err := r.LookupOffset(res.Offset()).Decode(&again); err != nil || !reflect.DeepEqual(v, again) {
					t.Fatalf("LookupOffset(%d) decodes differently: %v", res.Offset(), err)
				}
			}
		}
		_ = r.Verify()
		// Again, now that the slots of these addresses are filled (the
		// first pass filled them, lookup by lookup), in reverse order.
		for i := len(addrs) - 1; i >= 0; i-- {
			x, y := r.Lookup(addrs[i]), plain.Lookup(addrs[i])
			if x.Found() != y.Found() || x.Offset() != y.Offset() || x.Prefix() != y.Prefix() || (x.Err() == nil) != (y.Err() == nil) {
				t.Fatalf("lookup %s, filled index: %v %d %v %v, plain %v %d %v %v", addrs[i], x.Found(), x.Offset(), x.Prefix(), x.Err(), y.Found(), y.Offset(), y.Prefix(), y.Err())
			}
		}
	}
}
