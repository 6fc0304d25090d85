package eval

import (
	"cmp"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// splitNetworks cuts p into random disjoint networks, some without data.
func splitNetworks(rng *rand.Rand, p netip.Prefix, maxBits int, out *[]netip.Prefix) {
	if p.Bits() >= maxBits || p.Bits() >= maxBits-12 && rng.IntN(4) == 0 {
		if rng.IntN(10) > 0 {
			*out = append(*out, p)
		}
		return
	}
	a := p.Addr().AsSlice()
	left := netip.PrefixFrom(p.Addr(), p.Bits()+1)
	i := p.Bits()
	a[i/8] |= 0x80 >> (i % 8)
	r, _ := netip.AddrFromSlice(a)
	splitNetworks(rng, left, maxBits, out)
	splitNetworks(rng, netip.PrefixFrom(r, p.Bits()+1), maxBits, out)
}

// peerRecord is what the brute-force reference reads with
// maxminddb-golang.
type peerRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// TestCompareMatchesBruteForce compares two databases cut differently
// over 10.0.0.0/16 and 2001:db8::/112 against address-by-address lookups
// of every address there with maxminddb-golang.
func TestCompareMatchesBruteForce(t *testing.T) {
	seed := uint64(99)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	pool := randomPlaces(rng, 12)
	for i := range pool {
		if i%5 == 0 {
			pool[i].hasLoc = false
		}
		if i%4 == 1 {
			pool[i].city = ""
		}
	}
	// Near neighbours of pool places: same city, a few km away.
	for i := range 4 {
		p := pool[i]
		p.lat, p.lon = destination(p.lat, p.lon, float64(1+i*30), 1)
		p.hasLoc = true
		pool = append(pool, p)
	}
	dir := t.TempDir()
	build := func(name string) string {
		var nets []netip.Prefix
		splitNetworks(rng, netip.MustParsePrefix("10.0.0.0/16"), 30, &nets)
		splitNetworks(rng, netip.MustParsePrefix("2001:db8::/112"), 126, &nets)
		var ps []place
		for _, n := range nets {
			p := pool[rng.IntN(len(pool))]
			p.net = n
			ps = append(ps, p)
		}
		return buildDB(t, dir, name, ps)
	}
	a, b := build("a"), build("b")
	got, err := Compare(a, b, CompareOptions{Top: 100})
	if err != nil {
		t.Fatal(err)
	}

	pa := testutil.OpenV2(t, a)
	pb := testutil.OpenV2(t, b)
	type space struct {
		a, b, both, country, city, loc float64
		moved                          [4]float64
	}
	type cm struct{ n, m10, m100, cd float64 }
	countries := map[string]*cm{}
	check := func(name string, s *Space, first netip.Addr, n int) {
		var want space
		ip := first
		for range n {
			var ra, rb peerRecord
			la, lb := pa.Lookup(ip), pb.Lookup(ip)
			if err := la.Decode(&ra); err != nil {
				t.Fatal(err)
			}
			if err := lb.Decode(&rb); err != nil {
				t.Fatal(err)
			}
			if la.Found() {
				want.a++
			}
			if lb.Found() {
				want.b++
			}
			if la.Found() && lb.Found() {
				want.both++
				cd := ra.Country.ISOCode != rb.Country.ISOCode
				if cd {
					want.country++
				}
				if ra.City.Names["en"] != rb.City.Names["en"] {
					want.city++
				}
				if ra.Location.Latitude != nil && rb.Location.Latitude != nil {
					want.loc++
					d := refDistance(*ra.Location.Latitude, *ra.Location.Longitude, *rb.Location.Latitude, *rb.Location.Longitude)
					for i, k := range []float64{1, 10, 100, 1000} {
						if d > k {
							want.moved[i]++
						}
					}
					c := countries[ra.Country.ISOCode]
					if c == nil {
						c = &cm{}
						countries[ra.Country.ISOCode] = c
					}
					c.n++
					if d > 10 {
						c.m10++
					}
					if d > 100 {
						c.m100++
					}
					if cd {
						c.cd++
					}
				}
			}
			ip = ip.Next()
		}
		gotS := space{s.AddressesA, s.AddressesB, s.AddressesBoth, float64(s.CountryDiffers) * s.AddressesBoth, float64(s.CityDiffers) * s.AddressesBoth,
			s.WithLocationBoth, [4]float64{float64(s.MovedKm.Km1) * s.WithLocationBoth, float64(s.MovedKm.Km10) * s.WithLocationBoth,
				float64(s.MovedKm.Km100) * s.WithLocationBoth, float64(s.MovedKm.Km1000) * s.WithLocationBoth}}
		for i := range gotS.moved {
			gotS.moved[i] = math.Round(gotS.moved[i])
		}
		gotS.country, gotS.city = math.Round(gotS.country), math.Round(gotS.city)
		if gotS != want {
			t.Errorf("%s:\n got %+v\nwant %+v", name, gotS, want)
		}
		if want.loc == 0 || want.moved[2] == 0 || want.moved[2] == want.loc || want.country == 0 {
			t.Errorf("%s: the generated databases should differ in some ways and agree in others: %+v", name, want)
		}
	}
	check("ipv4", &got.IPv4, netip.MustParseAddr("10.0.0.0"), 1<<16)
	check("ipv6", &got.IPv6, netip.MustParseAddr("2001:db8::"), 1<<16)
	if len(got.TopCountries) != len(countries) {
		t.Errorf("%d countries, want %d", len(got.TopCountries), len(countries))
	}
	if !slices.IsSortedFunc(got.TopCountries, func(x, y CountryMoves) int { return cmp.Compare(y.Moved100Km, x.Moved100Km) }) {
		t.Errorf("top countries not sorted by moved addresses: %+v", got.TopCountries)
	}
	for _, m := range got.TopCountries {
		key := m.Country
		if key == "-" {
			key = ""
		}
		w := countries[key]
		if w == nil || m.Addresses != w.n || m.Moved10Km != w.m10 || m.Moved100Km != w.m100 || m.CountryDiffers != w.cd {
			t.Errorf("country %s: %+v, want %+v", m.Country, m, w)
		}
	}
	// The same file against itself differs nowhere.
	same, err := Compare(a, a, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Space{same.IPv4, same.IPv6} {
		if s.CountryDiffers != 0 || s.CityDiffers != 0 || s.MovedKm.Km1 != 0 || s.AddressesA != s.AddressesBoth {
			t.Errorf("a file against itself: %+v", s)
		}
	}
	if same.IPv4.AddressesA != got.IPv4.AddressesA || same.IPv6.AddressesA != got.IPv6.AddressesA {
		t.Errorf("a file against itself: addresses %g, %g; against b: %g, %g", same.IPv4.AddressesA, same.IPv6.AddressesA, got.IPv4.AddressesA, got.IPv6.AddressesA)
	}
}
