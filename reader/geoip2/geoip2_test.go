package geoip2

import (
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
	theirs "github.com/oschwald/geoip2-golang/v2"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// networks lists every network of a database with maxminddb-golang, plus
// addresses with no data.
func networks(t *testing.T, path string) []netip.Addr {
	t.Helper()
	db := testutil.OpenV2(t, path)
	var out []netip.Addr
	for r := range db.Networks(maxminddb.IncludeNetworksWithoutData()) {
		out = append(out, r.Prefix().Addr())
	}
	return append(out, netip.MustParseAddr("1.2.3.4"), netip.MustParseAddr("2a02:ff00::1"))
}

// openTestData opens the conformance database name (test-data) and
// closes it when the test ends; it returns the reader and the path.
func openTestData(t *testing.T, name string) (*Reader, string) {
	t.Helper()
	path := testutil.Conformance(t, "test-data", name)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, path
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestModelsMatchGeoIP2 compares every typed lookup of every network of
// the GeoIP2/GeoLite2 test databases with geoip2-golang v2. The models
// share JSON tags, so equal JSON means equal field values.
func TestModelsMatchGeoIP2(t *testing.T) {
	files := testutil.ConformanceGlob(t, "test-data/Geo*.mmdb")
	type method struct {
		name   string
		ours   func(*Reader, netip.Addr) (any, error)
		theirs func(*theirs.Reader, netip.Addr) (any, error)
	}
	methods := []method{
		{"City", func(r *Reader, a netip.Addr) (any, error) { return r.City(a) }, func(r *theirs.Reader, a netip.Addr) (any, error) { return r.City(a) }},
		{"Country", func(r *Reader, a netip.Addr) (any, error) { return r.Country(a) }, func(r *theirs.Reader, a netip.Addr) (any, error) { return r.Country(a) }},
		{"Enterprise", func(r *Reader, a netip.Addr) (any, error) { return r.Enterprise(a) }, func(r *theirs.Reader, a netip.Addr) (any, error) { return r.Enterprise(a) }},
		{"ASN", func(r *Reader, a netip.Addr) (any, error) { return r.ASN(a) }, func(r *theirs.Reader, a netip.Addr) (any, error) { return r.ASN(a) }},
	}
	compared := 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ours, err1 := Open(f)
			ref, err2 := theirs.Open(f)
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("open: %v, geoip2 %v", err1, err2)
			}
			if err1 != nil {
				return
			}
			defer ours.Close()
			defer ref.Close()
			for _, a := range networks(t, f) {
				for _, m := range methods {
					x, e1 := m.ours(ours, a)
					y, e2 := m.theirs(ref, a)
					if e1 != nil && e2 == nil && filepath.Base(f) == "GeoIP2-City-Test-Broken-Double-Format.mmdb" {
						// geoip2-golang's generated decoders skip fields a
						// model lacks without checking them; ours, like
						// maxminddb-golang's reflection decoder, checks the
						// corrupt double inside the skipped map.
						var ide reader.InvalidDatabaseError
						if !errors.As(e1, &ide) {
							t.Fatalf("%s(%s): %v, want an InvalidDatabaseError", m.name, a, e1)
						}
						continue
					}
					var ime InvalidMethodError
					var tme theirs.InvalidMethodError
					if errors.As(e1, &ime) != errors.As(e2, &tme) {
						t.Fatalf("%s(%s): %v, geoip2 %v", m.name, a, e1, e2)
					}
					if (e1 == nil) != (e2 == nil) {
						t.Fatalf("%s(%s): %v, geoip2 %v", m.name, a, e1, e2)
					}
					if e1 != nil {
						continue
					}
					if jx, jy := jsonOf(t, x), jsonOf(t, y); jx != jy {
						t.Fatalf("%s(%s):\n%s\ngeoip2:\n%s", m.name, a, jx, jy)
					}
					compared++
				}
			}
		})
	}
	if compared < 1000 {
		t.Fatalf("only %d lookups compared", compared)
	}
}

// TestSharedCityDoesNotAllocate holds CityShared to its promise: no
// allocation once the record is cached.
func TestSharedCityDoesNotAllocate(t *testing.T) {
	r, _ := openTestData(t, "GeoIP2-City-Test.mmdb")
	for _, ip := range []string{"81.2.69.160", "2a02:cf40::1", "1.2.3.4"} {
		a := netip.MustParseAddr(ip)
		first, _, err := r.CityShared(a)
		if err != nil {
			t.Fatal(err)
		}
		var again *City
		n := testing.AllocsPerRun(1000, func() { again, _, _ = r.CityShared(a) })
		if n != 0 {
			t.Errorf("CityShared(%s): %v allocs per run", ip, n)
		}
		if again != first {
			t.Errorf("CityShared(%s) returned a different record the second time", ip)
		}
	}
}

// TestCityCopyAllocations holds City's private copy to its cost: one
// allocation for the record and its coordinates, one more for the
// subdivisions when there are any, and one zero record for an address
// without data.
func TestCityCopyAllocations(t *testing.T) {
	r, _ := openTestData(t, "GeoIP2-City-Test.mmdb")
	for _, ip := range []string{"81.2.69.160", "2a02:cf40::1", "1.2.3.4"} {
		a := netip.MustParseAddr(ip)
		shared, _, err := r.CityShared(a)
		if err != nil {
			t.Fatal(err)
		}
		want := 1.0
		if len(shared.Subdivisions) > 0 {
			want = 2
		}
		if n := testing.AllocsPerRun(1000, func() { _, _ = r.City(a) }); n != want {
			t.Errorf("City(%s): %v allocs per run, want %v (%d subdivisions)", ip, n, want, len(shared.Subdivisions))
		}
	}
}

// TestConcurrentShared runs typed lookups from many goroutines (with
// -race) and checks each answer against a serial run.
func TestConcurrentShared(t *testing.T) {
	path := testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb")
	r, err := Open(path, WithCacheSize(64))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	addrs := networks(t, path)
	want := make([]string, len(addrs))
	for i, a := range addrs {
		c, err := r.City(a)
		if err != nil {
			t.Fatal(err)
		}
		c.Traits.IPAddress, c.Traits.Network = netip.Addr{}, netip.Prefix{}
		want[i] = jsonOf(t, c)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for k := range 3 * len(addrs) {
				i := (k*7 + g) % len(addrs)
				c, _, err := r.CityShared(addrs[i])
				if err != nil {
					t.Error(err)
					return
				}
				if got := jsonOf(t, c); got != want[i] {
					t.Errorf("%s: %s, want %s", addrs[i], got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestHugeCacheSize: WithCacheSize(math.MaxInt), a caller's "as large as
// it takes", sizes the record cache by the records the database can hold
// (two per search-tree node) instead of overflowing the table size (the
// sizing loop spun forever on the first lookup), and lookups still answer.
func TestHugeCacheSize(t *testing.T) {
	path := testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb")
	for _, n := range []int{math.MaxInt, math.MaxInt / 3, 1 << 62} {
		r, err := Open(path, WithCacheSize(n))
		if err != nil {
			t.Fatal(err)
		}
		c, err := r.City(netip.MustParseAddr("81.2.69.160"))
		if err != nil || c.City.Names.English != "London" {
			t.Fatalf("WithCacheSize(%d): City = %+v, %v; want London", n, c, err)
		}
		sets, limit := len(r.cities.sets), 2*int(r.Metadata().NodeCount)
		if sets*cacheWays > 2*limit {
			t.Errorf("WithCacheSize(%d): %d slots for a database of at most %d records", n, sets*cacheWays, limit)
		}
		r.Close()
	}
}
