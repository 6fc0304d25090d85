package reader

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// TestIndexMatchesPlainWalk checks invariant 2: for every index width, an
// indexed lookup returns exactly what the bit-by-bit walk returns, on
// every conformance database and on GeoLite2-City when present.
func TestIndexMatchesPlainWalk(t *testing.T) {
	files := testDataFiles(t)
	if _, err := os.Stat(testutil.DataPath(t, "GeoLite2-City.mmdb")); err == nil {
		files = append(files, testutil.DataPath(t, "GeoLite2-City.mmdb"))
	}
	addrs := append(randomAddrs(20000, false, 7), randomAddrs(5000, true, 8)...)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			plain, err := Open(f, WithoutIndex())
			if err != nil {
				return // bad files are covered elsewhere
			}
			defer plain.Close()
			if plain.IndexBytes() != 0 {
				t.Fatalf("WithoutIndex built %d bytes of index", plain.IndexBytes())
			}
			for _, w := range []int{1, 5, 8, 12, 16, 23, 24} {
				r, err := Open(f, IPv4IndexBits(w))
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range addrs {
					x, y := r.Lookup(a), plain.Lookup(a)
					if x.Found() != y.Found() || x.Offset() != y.Offset() || x.Prefix() != y.Prefix() || (x.Err() == nil) != (y.Err() == nil) {
						t.Fatalf("bits %d, %s: indexed %v %d %v %v, plain %v %d %v %v", w, a,
							x.Found(), x.Offset(), x.Prefix(), x.Err(), y.Found(), y.Offset(), y.Prefix(), y.Err())
					}
				}
				r.Close()
			}
		})
	}
}

// TestLookupDoesNotAllocate holds Lookup and the Result accessors to zero
// allocations.
func TestLookupDoesNotAllocate(t *testing.T) {
	r, err := Open(testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, s := range []string{"81.2.69.142", "2001:218::1", "1.2.3.4"} {
		a := netip.MustParseAddr(s)
		n := testing.AllocsPerRun(1000, func() {
			res := r.Lookup(a)
			_, _, _ = res.Found(), res.Offset(), res.Prefix()
		})
		if n != 0 {
			t.Errorf("Lookup(%s): %v allocs", s, n)
		}
	}
}

// TestIndexMemoryBounded checks the documented index sizes on the real
// database: 32 MiB of IPv4 index plus 512 KiB of IPv6 index by default.
func TestIndexMemoryBounded(t *testing.T) {
	r, err := Open(testutil.GeoLiteCity(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, want := r.IndexBytes(), 4<<DefaultIPv4IndexBits+8<<16; got != want {
		t.Fatalf("IndexBytes %d, want %d", got, want)
	}
	if r.IndexBytes() >= 64<<20 {
		t.Fatalf("index of %d bytes exceeds 64 MiB", r.IndexBytes())
	}
}
