package reader_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/ipatlas/ipatlas/bench/model"
	"github.com/ipatlas/ipatlas/bench/workload"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
	"github.com/ipatlas/ipatlas/reader/geoip2"
	geoip2golang "github.com/oschwald/geoip2-golang/v2"
)

// The benchmarks run each case on ipatlas's reader and on the peers in the
// same run (sub-benchmarks impl=...), on the real GeoLite2-City database
// and random public addresses from a fixed seed. Compare with
//
//	go test -run '^$' -bench . -benchmem -count 6 ./reader | tee /tmp/reader-bench.txt
//
// Each case first looks every address up once, so that it is measured in
// steady state (pages mapped, caches filled) as a server runs.
//	benchstat -col /impl /tmp/reader-bench.txt

// publicAddrs returns n random addresses a client could have: public
// IPv4, or IPv6 from 2000::/3 (the bench suite's uniform workloads).
func publicAddrs(n int, v6 bool) []netip.Addr {
	if v6 {
		return workload.Uniform6(42, n)
	}
	return workload.Uniform4(42, n)
}

const nAddrs = 1 << 16

var sink any

// cityMaps is the City model bench/suite decodes into too.
type cityMaps = model.CityMaps

// countryOnly is the smallest useful model: the country's ISO code.
type countryOnly struct {
	Country struct {
		IsoCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
}

// lookuper is what both untyped readers offer, for the benchmark bodies.
type impl struct {
	name   string
	lookup func(netip.Addr) (found bool, off uintptr, p netip.Prefix)
	decode func(netip.Addr, any) error
}

func impls(b *testing.B) []impl {
	path := testutil.GeoLiteCity(b)
	ours, err := reader.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	plain, err := reader.Open(path, reader.WithoutIndex())
	if err != nil {
		b.Fatal(err)
	}
	theirs := testutil.OpenV2(b, path)
	b.Cleanup(func() { ours.Close(); plain.Close(); theirs.Close() })
	return []impl{
		{"ipatlas",
			func(a netip.Addr) (bool, uintptr, netip.Prefix) {
				r := ours.Lookup(a)
				return r.Found(), r.Offset(), r.Prefix()
			},
			func(a netip.Addr, v any) error { return ours.Lookup(a).Decode(v) }},
		{"ipatlas-noindex",
			func(a netip.Addr) (bool, uintptr, netip.Prefix) {
				r := plain.Lookup(a)
				return r.Found(), r.Offset(), r.Prefix()
			},
			func(a netip.Addr, v any) error { return plain.Lookup(a).Decode(v) }},
		{"maxminddb",
			func(a netip.Addr) (bool, uintptr, netip.Prefix) {
				r := theirs.Lookup(a)
				return r.Found(), r.Offset(), r.Prefix()
			},
			func(a netip.Addr, v any) error { return theirs.Lookup(a).Decode(v) }},
	}
}

// BenchmarkLookup is a lookup without decoding: Found, Offset and Prefix.
func BenchmarkLookup(b *testing.B) {
	for _, fam := range []string{"v4", "v6"} {
		addrs := publicAddrs(nAddrs, fam == "v6")
		for _, im := range impls(b) {
			b.Run(fam+"/impl="+im.name, func(b *testing.B) {
				for _, a := range addrs { // steady state: the pages the workload reads are mapped
					im.lookup(a)
				}
				b.ReportAllocs()
				i, n := 0, 0
				for b.Loop() {
					found, off, p := im.lookup(addrs[i&(nAddrs-1)])
					if found {
						n += int(off) + p.Bits()
					}
					i++
				}
				sink = n
			})
		}
	}
}

// BenchmarkDecode is a lookup plus decoding into a struct: a full
// City model with names as maps, and the country's ISO code alone.
func BenchmarkDecode(b *testing.B) {
	addrs := publicAddrs(nAddrs, false)
	for _, model := range []string{"cityMaps", "countryOnly"} {
		for _, im := range impls(b) {
			if im.name == "ipatlas-noindex" {
				continue
			}
			b.Run(model+"/impl="+im.name, func(b *testing.B) {
				// Steady state, as in BenchmarkLookup, and with the model
				// measured: the heap grows to its working size here, not
				// in the timed loop (page faults on fresh heap pages cost
				// several microseconds each on this VM; see BENCHMARKS.md).
				for _, a := range addrs {
					var err error
					if model == "cityMaps" {
						var c cityMaps
						err = im.decode(a, &c)
					} else {
						var c countryOnly
						err = im.decode(a, &c)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					var err error
					if model == "cityMaps" {
						var c cityMaps
						err = im.decode(addrs[i&(nAddrs-1)], &c)
					} else {
						var c countryOnly
						err = im.decode(addrs[i&(nAddrs-1)], &c)
					}
					if err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

// BenchmarkCity is a typed City lookup: ipatlas's shared record,
// ipatlas's geoip2-golang-style private copy, and geoip2-golang v2.
func BenchmarkCity(b *testing.B) {
	path := testutil.GeoLiteCity(b)
	ours, err := geoip2.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	theirs, err := geoip2golang.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ours.Close(); theirs.Close() })
	for _, fam := range []string{"v4", "v6"} {
		addrs := publicAddrs(nAddrs, fam == "v6")
		for _, a := range addrs { // warm the cache: steady state
			_, _, _ = ours.CityShared(a)
		}
		cases := []struct {
			name string
			fn   func(netip.Addr) (string, error)
		}{
			{"ipatlas-shared", func(a netip.Addr) (string, error) {
				c, _, err := ours.CityShared(a)
				return c.Country.ISOCode, err
			}},
			{"ipatlas-copy", func(a netip.Addr) (string, error) {
				c, err := ours.City(a)
				return c.Country.ISOCode, err
			}},
			{"geoip2", func(a netip.Addr) (string, error) {
				c, err := theirs.City(a)
				return c.Country.ISOCode, err
			}},
		}
		for _, c := range cases {
			b.Run(fam+"/impl="+c.name, func(b *testing.B) {
				for _, a := range addrs { // steady state, as in BenchmarkLookup
					_, _ = c.fn(a)
				}
				b.ReportAllocs()
				i, n := 0, 0
				for b.Loop() {
					s, err := c.fn(addrs[i&(nAddrs-1)])
					if err != nil {
						b.Fatal(err)
					}
					n += len(s)
					i++
				}
				sink = n
			})
		}
	}
}

// BenchmarkOpen opens GeoLite2-City (mmap, metadata, and for ipatlas the
// reservation of the acceleration index, which lookups fill) and reports
// the index size.
func BenchmarkOpen(b *testing.B) {
	path := testutil.GeoLiteCity(b)
	b.Run("impl=ipatlas", func(b *testing.B) {
		b.ReportAllocs()
		var idx int
		for b.Loop() {
			r, err := reader.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			idx = r.IndexBytes()
			r.Close()
		}
		b.ReportMetric(float64(idx)/(1<<20), "index-MiB")
	})
	b.Run("impl=ipatlas-noindex", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := reader.Open(path, reader.WithoutIndex())
			if err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
	})
	b.Run("impl=maxminddb", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := testutil.OpenV2(b, path)
			r.Close()
		}
	})
}

// BenchmarkIndexWidth shows what the IPv4 index width buys: IPv4 lookups
// (Found, Offset, Prefix) with indexes of 16 to 24 bits.
func BenchmarkIndexWidth(b *testing.B) {
	path := testutil.GeoLiteCity(b)
	addrs := publicAddrs(nAddrs, false)
	for _, w := range []int{16, 20, 22, 23, 24} {
		r, err := reader.Open(path, reader.IPv4IndexBits(w))
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range addrs { // fill the index slots these addresses read
			r.Lookup(a)
		}
		b.Run(fmt.Sprintf("bits=%d", w), func(b *testing.B) {
			b.ReportAllocs()
			i, n := 0, 0
			for b.Loop() {
				res := r.Lookup(addrs[i&(nAddrs-1)])
				n += int(res.Offset()) + res.Prefix().Bits()
				i++
			}
			sink = n
			b.ReportMetric(float64(r.IndexBytes())/(1<<20), "index-MiB")
		})
		r.Close()
	}
}
