package geoip2

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// FuzzModels opens arbitrary bytes as a database and decodes each model
// (City, Country, Enterprise, ASN, Atlas) at a few addresses, holding the
// shared lookups to maxminddb-golang v2 decoding the same record into the
// same struct (the models carry its tags): no panic, an error where v2
// errs, the same values where it does not, and a private copy equal to
// the shared record.
func FuzzModels(f *testing.F) {
	testutil.AddConformanceSeeds(f, 32<<10, "test-data/Geo*.mmdb")
	addrs := []netip.Addr{
		netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("81.2.69.160"), netip.MustParseAddr("2001:218::1"),
		netip.MustParseAddr("2a02:ff00::1"), netip.MustParseAddr("67.43.156.1"), netip.MustParseAddr("::ffff:1.2.3.4"),
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ours, err := OpenBytes(b)
		if err != nil {
			return
		}
		ref, err := maxminddb.OpenBytes(b)
		if err != nil {
			return // ours is more lenient in places; only compare what both open
		}
		for _, a := range addrs {
			checkModel(t, ours, ref, a, (*Reader).CityShared, (*Reader).City, func(c *City) { c.Traits.IPAddress, c.Traits.Network = netip.Addr{}, netip.Prefix{} })
			checkModel(t, ours, ref, a, (*Reader).CountryShared, (*Reader).Country, func(c *Country) { c.Traits.IPAddress, c.Traits.Network = netip.Addr{}, netip.Prefix{} })
			checkModel(t, ours, ref, a, (*Reader).EnterpriseShared, (*Reader).Enterprise, func(c *Enterprise) { c.Traits.IPAddress, c.Traits.Network = netip.Addr{}, netip.Prefix{} })
			checkModel(t, ours, ref, a, (*Reader).ASNShared, (*Reader).ASN, func(c *ASN) { c.IPAddress, c.Network = netip.Addr{}, netip.Prefix{} })
			checkModel(t, ours, ref, a, (*Reader).AtlasShared, nil, func(*Atlas) {})
		}
	})
}

func checkModel[T any](t *testing.T, ours *Reader, ref *maxminddb.Reader, a netip.Addr,
	shared func(*Reader, netip.Addr) (*T, netip.Prefix, error), private func(*Reader, netip.Addr) (*T, error), unplace func(*T)) {
	t.Helper()
	got, _, err := shared(ours, a)
	var ie InvalidMethodError
	if err != nil && reflect.TypeOf(err) == reflect.TypeOf(ie) {
		return
	}
	res := ref.Lookup(a)
	var want T
	werr := res.Err()
	if werr == nil {
		werr = res.Decode(&want)
	}
	if (err == nil) != (werr == nil) {
		t.Fatalf("%T at %s: ours %v, maxminddb %v", want, a, err, werr)
	}
	if err != nil {
		return
	}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("%T at %s:\n ours %+v\n maxminddb %+v", want, a, *got, want)
	}
	if private == nil {
		return
	}
	c, err := private(ours, a)
	if err != nil {
		t.Fatalf("%T at %s: shared ok, private: %v", want, a, err)
	}
	unplace(c)
	if !reflect.DeepEqual(*c, want) {
		t.Fatalf("%T at %s: private copy %+v != %+v", want, a, *c, want)
	}
}
