package reader_test

import (
	"net/netip"
	"testing"

	"github.com/ipatlas/ipatlas/reader"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// benchSum keeps the benchmarks' reads of each Result.
var benchSum int

// BenchmarkNetworks iterates the networks of GeoLite2-City within a
// prefix (an IPv4 /12, an IPv6 /32 around random public addresses
// that have data, in turn), reading each Result's prefix and offset: the tree
// walk without decoding. One op is one NetworksWithin loop; networks/op
// says how many networks that was, so that ns/network can be compared.
func BenchmarkNetworks(b *testing.B) {
	path := benchPath(b)
	ours, err := reader.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	theirs, err := maxminddb.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ours.Close(); theirs.Close() })
	for _, fam := range []string{"v4", "v6"} {
		bits := 12
		if fam == "v6" {
			bits = 32
		}
		var prefixes []netip.Prefix
		for _, a := range publicAddrs(1<<12, fam == "v6") {
			if len(prefixes) < 64 && ours.Lookup(a).Found() {
				prefixes = append(prefixes, netip.PrefixFrom(a, bits).Masked())
			}
		}
		run := map[string]func(netip.Prefix) (int, error){
			"ipatlas": func(p netip.Prefix) (int, error) {
				n := 0
				for r := range ours.NetworksWithin(p) {
					if err := r.Err(); err != nil {
						return n, err
					}
					benchSum += int(r.Offset()) + r.Prefix().Bits()
					n++
				}
				return n, nil
			},
			"maxminddb": func(p netip.Prefix) (int, error) {
				n := 0
				for r := range theirs.NetworksWithin(p) {
					if err := r.Err(); err != nil {
						return n, err
					}
					benchSum += int(r.Offset()) + r.Prefix().Bits()
					n++
				}
				return n, nil
			},
		}
		for _, name := range []string{"ipatlas", "maxminddb"} {
			f := run[name]
			b.Run(fam+"/impl="+name, func(b *testing.B) {
				total := 0
				for _, p := range prefixes { // steady state
					n, err := f(p)
					if err != nil {
						b.Fatal(err)
					}
					total += n
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := f(prefixes[i%len(prefixes)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(total)/float64(len(prefixes)), "networks/op")
			})
		}
	}
}
