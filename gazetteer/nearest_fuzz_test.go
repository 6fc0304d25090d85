package gazetteer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ipatlas/ipatlas/internal/geo"
)

// FuzzNearest holds Nearest and NearestIn to the brute-force scan, as
// TestNearestMatchesScan does, at points and limits the fuzzer picks: the
// poles, the date line, exact places, limits of 0 and beyond half the
// Earth. Coordinates out of range are not inputs of the index (builder
// and Label check them first).
func FuzzNearest(f *testing.F) {
	g := randomGazetteer(rand.New(rand.NewPCG(3, 4)), 2000)
	p := g.Places[17]
	for _, s := range []struct {
		lat, lon, maxKm float64
		country         int8
	}{
		{0, 0, 500, 0}, {90, 0, 30000, 1}, {-90, 180, 50, 3}, {0, -180, 1e-9, 0},
		{p.Lat, p.Lon, 0, 0}, {p.Lat, p.Lon, 0, int8(p.Country) + 1}, {45, 179.999, 20015, 2}, {10, 10, math.Inf(1), 0},
	} {
		f.Add(s.lat, s.lon, s.maxKm, s.country)
	}
	f.Fuzz(func(t *testing.T, lat, lon, maxKm float64, c int8) {
		if !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 && maxKm >= 0) {
			return
		}
		country := int(uint8(c))%4 - 1 // -1 (all places) or one of the three countries
		checkNearest(t, g, country, lat, lon, maxKm)
	})
}

// checkNearest fails t unless Nearest (country < 0) or NearestIn gives
// the place scanNearest gives, or one at the same distance, and a tie is
// broken toward the more populous place as the scan breaks it.
func checkNearest(t testing.TB, g *Gazetteer, country int, lat, lon, maxKm float64) {
	t.Helper()
	var got int
	var gotKm float64
	if country < 0 {
		got, gotKm = g.Nearest(lat, lon, maxKm)
	} else {
		got, gotKm = g.NearestIn(country, lat, lon, maxKm)
	}
	want, wantKm := scanNearest(g, country, lat, lon, maxKm)
	if (got < 0) != (want < 0) {
		t.Fatalf("(%v,%v) max %v country %d: got %d, scan %d (%.6f km)", lat, lon, maxKm, country, got, want, wantKm)
	}
	if got < 0 {
		return
	}
	if math.Abs(gotKm-wantKm) > 1e-6 || math.Abs(geo.Distance(lat, lon, g.Places[got].Lat, g.Places[got].Lon)-wantKm) > 1e-6 {
		t.Fatalf("(%v,%v): got %d at %.6f km, scan %d at %.6f km", lat, lon, got, gotKm, want, wantKm)
	}
	if g.Places[got].Population != g.Places[want].Population && gotKm == wantKm {
		t.Fatalf("tie broken against population: got %d, want %d", got, want)
	}
}
