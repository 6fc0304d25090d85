package reader_test

import (
	"errors"
	"iter"
	"net/netip"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// benchSum keeps the benchmarks' reads of each Result.
var benchSum int

// networkResult is what both readers' network iterations yield.
type networkResult interface {
	Err() error
	Offset() uintptr
	Prefix() netip.Prefix
}

// countNetworks runs one iteration, reading each Result's offset and
// prefix, and returns how many networks it gave.
func countNetworks[R networkResult](seq iter.Seq[R]) (int, error) {
	n := 0
	for r := range seq {
		if err := r.Err(); err != nil {
			return n, err
		}
		benchSum += int(r.Offset()) + r.Prefix().Bits()
		n++
	}
	return n, nil
}

// BenchmarkNetworks iterates the networks of GeoLite2-City within a
// prefix (an IPv4 /12, an IPv6 /20 around random public addresses that
// have data, in turn), reading each Result's prefix and offset: the tree
// walk without decoding. One op is one NetworksWithin loop; networks/op
// says how many networks that was, so that ns/network can be compared.
func BenchmarkNetworks(b *testing.B) {
	path := testutil.GeoLiteCity(b)
	ours, errOurs := reader.Open(path)
	theirs, errTheirs := maxminddb.Open(path)
	if err := errors.Join(errOurs, errTheirs); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ours.Close(); theirs.Close() })
	for _, fam := range []string{"v4", "v6"} {
		bits := map[string]int{"v4": 12, "v6": 20}[fam]
		var prefixes []netip.Prefix
		for _, a := range publicAddrs(1<<12, fam == "v6") {
			if len(prefixes) < 64 && ours.Lookup(a).Found() {
				prefixes = append(prefixes, netip.PrefixFrom(a, bits).Masked())
			}
		}
		impls := []struct {
			name string
			run  func(netip.Prefix) (int, error)
		}{
			{"ipatlas", func(p netip.Prefix) (int, error) { return countNetworks(ours.NetworksWithin(p)) }},
			{"maxminddb", func(p netip.Prefix) (int, error) { return countNetworks(theirs.NetworksWithin(p)) }},
		}
		for _, im := range impls {
			b.Run(fam+"/impl="+im.name, func(b *testing.B) {
				total := 0
				for _, p := range prefixes { // steady state
					n, err := im.run(p)
					if err != nil {
						b.Fatal(err)
					}
					total += n
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := im.run(prefixes[i%len(prefixes)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(total)/float64(len(prefixes)), "networks/op")
			})
		}
	}
}
