package suite

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/ipatlas/ipatlas/bench/model"
	"github.com/ipatlas/ipatlas/reader"
	"github.com/ipatlas/ipatlas/reader/geoip2"
	geoip2golang "github.com/oschwald/geoip2-golang/v2"
	maxminddbv1 "github.com/oschwald/maxminddb-golang"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// Groups of like-for-like paths: each group's paths do the same work, so
// their times compare directly.
const (
	GroupNoDecode = "no-decode" // lookup, found and data offset; nothing decoded
	GroupDecode   = "decode"    // lookup and decode into a geoip2-style City struct (names as maps)
	GroupTyped    = "typed"     // a typed City lookup (the geoip2 models)
)

// Groups lists the groups in report order.
func Groups() []string { return []string{GroupNoDecode, GroupDecode, GroupTyped} }

// A Path is one way of looking addresses up, on one reader.
type Path struct {
	Name  string // e.g. "ipatlas typed (shared)"
	Impl  string // the library: "ipatlas", "maxminddb-golang v2", ...
	Group string // GroupNoDecode, GroupDecode or GroupTyped
	// Ours says whether the path is ipatlas's; Reference marks the
	// ipatlas path the peers of its group are compared with.
	Ours, Reference bool
	// Note says what the path does, for the report.
	Note string
}

// worker looks addresses up; it returns 1 when the address answered
// (found, or a record with a country), 0 otherwise. A worker is used by
// one goroutine; the reader behind it is shared.
type worker func(i int) int

// opened is a path with its reader open.
type opened struct {
	Path
	// newWorker returns a worker over addrs (and, for maxminddb-golang
	// v1, the same addresses as net.IP, converted once beforehand).
	newWorker func(addrs []netip.Addr, ips []net.IP) worker
}

// cityMaps is the City model every decode path decodes into.
type cityMaps = model.CityMaps

// found is 1 for a found address and 0 otherwise; it reads the offset
// too, as a caller of a no-decode lookup would (offsets are far below
// 2^62, so the result does not change).
func found(ok bool, off uintptr) int {
	if !ok {
		return 0
	}
	return 1 + int(uint64(off)>>62)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// readers holds every reader open on one database.
type readers struct {
	ours   *reader.Reader
	typed  *geoip2.Reader
	v2     *maxminddb.Reader
	v1     *maxminddbv1.Reader
	geoip2 *geoip2golang.Reader
}

func (r *readers) Close() {
	if r.ours != nil {
		r.ours.Close()
	}
	if r.typed != nil {
		r.typed.Close()
	}
	if r.v2 != nil {
		r.v2.Close()
	}
	if r.v1 != nil {
		r.v1.Close()
	}
	if r.geoip2 != nil {
		r.geoip2.Close()
	}
}

// openPaths opens every reader on path and returns the lookup paths.
func openPaths(path string) (*readers, []opened, error) {
	r := &readers{}
	var err error
	fail := func(what string, err error) (*readers, []opened, error) {
		r.Close()
		return nil, nil, fmt.Errorf("%s: opening with %s: %w", path, what, err)
	}
	if r.ours, err = reader.Open(path); err != nil {
		return fail("ipatlas reader", err)
	}
	if r.typed, err = geoip2.Open(path); err != nil {
		return fail("ipatlas reader/geoip2", err)
	}
	if r.v2, err = maxminddb.Open(path); err != nil {
		return fail("maxminddb-golang v2", err)
	}
	if r.v1, err = maxminddbv1.Open(path); err != nil {
		return fail("maxminddb-golang v1", err)
	}
	if r.geoip2, err = geoip2golang.Open(path); err != nil {
		return fail("geoip2-golang v2", err)
	}
	const (
		ours   = "ipatlas"
		v2     = "maxminddb-golang v2"
		v1     = "maxminddb-golang v1"
		geoip2 = "geoip2-golang v2"
	)
	paths := []opened{
		{Path{"ipatlas no-decode", ours, GroupNoDecode, true, true, "reader.Reader.Lookup + Found + Offset"},
			func(a []netip.Addr, _ []net.IP) worker {
				return func(i int) int {
					res := r.ours.Lookup(a[i])
					return found(res.Found(), res.Offset())
				}
			}},
		{Path{"maxminddb-golang v2 no-decode", v2, GroupNoDecode, false, false, "Reader.Lookup + Found + Offset"},
			func(a []netip.Addr, _ []net.IP) worker {
				return func(i int) int {
					res := r.v2.Lookup(a[i])
					return found(res.Found(), res.Offset())
				}
			}},
		{Path{"maxminddb-golang v1 no-decode", v1, GroupNoDecode, false, false, "Reader.LookupOffset(net.IP) (addresses converted to net.IP beforehand)"},
			func(_ []netip.Addr, ips []net.IP) worker {
				return func(i int) int {
					off, err := r.v1.LookupOffset(ips[i])
					return b2i(err == nil && off != maxminddbv1.NotFound)
				}
			}},
		{Path{"ipatlas Decode", ours, GroupDecode, true, true, "Lookup + Result.Decode into a City struct with names as maps"},
			func(a []netip.Addr, _ []net.IP) worker {
				return func(i int) int {
					var c cityMaps
					if err := r.ours.Lookup(a[i]).Decode(&c); err != nil {
						return 0
					}
					return b2i(c.Country.IsoCode != "")
				}
			}},
		{Path{"maxminddb-golang v2 Decode", v2, GroupDecode, false, false, "Lookup + Result.Decode into the same struct"},
			func(a []netip.Addr, _ []net.IP) worker {
				return func(i int) int {
					var c cityMaps
					if err := r.v2.Lookup(a[i]).Decode(&c); err != nil {
						return 0
					}
					return b2i(c.Country.IsoCode != "")
				}
			}},
		{Path{"maxminddb-golang v1 Decode", v1, GroupDecode, false, false, "Reader.Lookup(net.IP, &struct), the same struct"},
			func(_ []netip.Addr, ips []net.IP) worker {
				return func(i int) int {
					var c cityMaps
					if err := r.v1.Lookup(ips[i], &c); err != nil {
						return 0
					}
					return b2i(c.Country.IsoCode != "")
				}
			}},
		{Path{"ipatlas typed (copy)", ours, GroupTyped, true, true, "reader/geoip2 Reader.City: a private copy, as geoip2-golang's"},
			func(a []netip.Addr, _ []net.IP) worker {
				return func(i int) int {
					c, err := r.typed.City(a[i])
					return b2i(err == nil && c.Country.ISOCode != "")
				}
			}},
		{Path{"ipatlas typed (shared)", ours, GroupTyped, true, false, "reader/geoip2 Reader.CityShared: the cached record, shared; 0 allocs"},
			func(a []netip.Addr, _ []net.IP) worker {
				return func(i int) int {
					c, _, err := r.typed.CityShared(a[i])
					return b2i(err == nil && c.Country.ISOCode != "")
				}
			}},
		{Path{"geoip2-golang v2 City", geoip2, GroupTyped, false, false, "Reader.City"},
			func(a []netip.Addr, _ []net.IP) worker {
				return func(i int) int {
					c, err := r.geoip2.City(a[i])
					return b2i(err == nil && c.Country.ISOCode != "")
				}
			}},
	}
	return r, paths, nil
}
