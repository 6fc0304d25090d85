package reader_test

import (
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
)

// BenchmarkDecodeMisses is BenchmarkDecode's cityMaps case on uniform
// IPv6 addresses in 2000::/3, almost none of which has a record: what a
// decode costs when there is nothing to decode (the bench suite's
// uniform-ipv6 Decode workload). The calls are direct, as in the suite's
// workers: through a func value (impls) the target would escape for both
// readers whatever Decode does.
func BenchmarkDecodeMisses(b *testing.B) {
	path := testutil.GeoLiteCity(b)
	ours, err := reader.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	theirs := testutil.OpenV2(b, path)
	b.Cleanup(func() { ours.Close(); theirs.Close() })
	addrs := publicAddrs(nAddrs, true)
	for _, a := range addrs { // steady state, as in BenchmarkLookup
		ours.Lookup(a)
		theirs.Lookup(a)
	}
	b.Run("v6/impl=ipatlas", func(b *testing.B) {
		b.ReportAllocs()
		i, n := 0, 0
		for b.Loop() {
			var c cityMaps
			if err := ours.Lookup(addrs[i&(nAddrs-1)]).Decode(&c); err != nil {
				b.Fatal(err)
			}
			n += len(c.Country.IsoCode)
			i++
		}
		sink = n
	})
	b.Run("v6/impl=maxminddb", func(b *testing.B) {
		b.ReportAllocs()
		i, n := 0, 0
		for b.Loop() {
			var c cityMaps
			if err := theirs.Lookup(addrs[i&(nAddrs-1)]).Decode(&c); err != nil {
				b.Fatal(err)
			}
			n += len(c.Country.IsoCode)
			i++
		}
		sink = n
	})
}
