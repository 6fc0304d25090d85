package serve

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// BenchmarkHandlerLookup measures one GET /v1/lookup/{ip} through
// ServeHTTP on GeoLite2-City (mapped, sample check), with a ResponseWriter
// that keeps one header map and drops the body: the Server's own cost,
// no network. "one" asks for one address over and over; "spread" cycles
// through 1,035 addresses (records from the cache, after one warm-up
// round). The same benchmark ran on the handler of cmd/ipatlas before
// the move (serve/BENCHMARKS.md).
func BenchmarkHandlerLookup(b *testing.B) {
	s := newServer(b, Options{Path: testutil.GeoLiteCity(b)})
	addrs := probeAddrs(1024, 0)
	for _, c := range []struct {
		name string
		n    int
	}{{"one", 1}, {"spread", len(addrs)}} {
		b.Run(c.name, func(b *testing.B) {
			reqs := make([]*http.Request, c.n)
			for i := range reqs {
				a := netip.MustParseAddr("81.2.69.160")
				if c.n > 1 {
					a = addrs[i]
				}
				reqs[i], _ = http.NewRequest("GET", "/v1/lookup/"+a.String(), nil)
			}
			w := &discardWriter{h: http.Header{}}
			for _, r := range reqs { // warm the record cache
				s.ServeHTTP(w, r)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				clear(w.h)
				s.ServeHTTP(w, reqs[i])
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
				if i++; i == len(reqs) {
					i = 0
				}
			}
		})
	}
}
