package reader

import (
	"net/netip"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// TestDecodeTargetDoesNotEscape holds Decode to leaving
// the caller's target where the caller put it: a target on the stack
// stays there, so decoding an address without a record, or a record into
// a struct of numbers, allocates nothing (maxminddb-golang v2 allocates
// the target on the heap every time). See noescape.
func TestDecodeTargetDoesNotEscape(t *testing.T) {
	r, err := Open(testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	type numbers struct {
		City struct {
			GeoNameID uint `maxminddb:"geoname_id"`
		} `maxminddb:"city"`
		Location struct {
			Latitude  float64 `maxminddb:"latitude"`
			Longitude float64 `maxminddb:"longitude"`
		} `maxminddb:"location"`
		Pad [32]uint64 // big enough that a heap copy would show
	}
	hit, miss := netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("2001:db8::1")
	for _, c := range []struct {
		name string
		fn   func() float64
	}{
		{"miss", func() float64 {
			var v numbers
			if err := r.Lookup(miss).Decode(&v); err != nil {
				t.Fatal(err)
			}
			return v.Location.Latitude
		}},
		{"hit", func() float64 {
			var v numbers
			if err := r.Lookup(hit).Decode(&v); err != nil {
				t.Fatal(err)
			}
			if v.City.GeoNameID == 0 || v.Location.Latitude == 0 {
				t.Fatalf("decoded nothing: %+v", v)
			}
			return v.Location.Latitude
		}},
	} {
		if n := testing.AllocsPerRun(200, func() { c.fn() }); n != 0 {
			t.Errorf("%s: %v allocations per Decode", c.name, n)
		}
	}
}
