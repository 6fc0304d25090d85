package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/ipatlas/ipatlas/internal/geo"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/builder"
	"github.com/ipatlas/ipatlas/compile"
)

// place is one network of a test database, and what it says.
type place struct {
	net                               netip.Prefix // the network, when valid; else addr
	addr                              netip.Addr
	lat, lon                          float64
	hasLoc                            bool
	radius                            int // accuracy_radius_km; 0 for none
	country, province, city, district string
	conf                              [4]float64 // country, province, city, district
}

// buildDB writes the places as inference results and builds a database
// from them with builder and compile, as 'ipatlas build' does.
func buildDB(t *testing.T, dir, name string, places []place) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("network,country_code,country_confidence,province_code,province_confidence,city,city_confidence,district,district_confidence,latitude,longitude,accuracy_radius_km\n")
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, p := range places {
		lat, lon, rad := "", "", ""
		if p.hasLoc {
			lat, lon = f(p.lat), f(p.lon)
			if p.radius > 0 {
				rad = strconv.Itoa(p.radius)
			}
		}
		network := p.addr.String()
		if p.net.IsValid() {
			network = p.net.String()
		}
		conf := func(name string, c float64) string {
			if name == "" {
				return ""
			}
			return f(c)
		}
		if p.city == "" {
			p.district = "" // a level needs its parent
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", network, p.country, conf(p.country, p.conf[0]), p.province, conf(p.province, p.conf[1]),
			p.city, conf(p.city, p.conf[2]), p.district, conf(p.district, p.conf[3]), lat, lon, rad)
	}
	in := filepath.Join(dir, name+".csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var nets []compile.Network
	_, err := builder.ReadFile(in, builder.Options{}, func(p netip.Prefix, rec []byte, _ int) error {
		nets = append(nets, compile.Network{Prefix: p, Value: bytes.Clone(rec)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(nets, func(a, b compile.Network) int { return a.Prefix.Addr().Compare(b.Prefix.Addr()) })
	out := filepath.Join(dir, name+".mmdb")
	seq := func(yield func(compile.Network, error) bool) {
		for _, n := range nets {
			if !yield(n, nil) {
				return
			}
		}
	}
	if _, err := compile.CompileNetworks(seq, out, compile.Options{}); err != nil {
		t.Fatal(err)
	}
	return out
}

// truthRow is one row of a test truth file.
type truthRow struct {
	addr                              netip.Addr
	lat, lon                          float64
	country, province, city, district string
}

func writeTruth(t *testing.T, path string, rows []truthRow) {
	t.Helper()
	var b strings.Builder
	b.WriteString("ip,latitude,longitude,country_code,province_code,city,district\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s\n", r.addr, strconv.FormatFloat(r.lat, 'g', -1, 64), strconv.FormatFloat(r.lon, 'g', -1, 64),
			r.country, r.province, r.city, r.district)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// refDistance is the great-circle distance by Vincenty's formula for a
// sphere (atan2 of the cross and dot products), written apart from
// DistanceKm's haversine.
func refDistance(lat1, lon1, lat2, lon2 float64) float64 {
	r := math.Pi / 180
	p1, p2, dl := lat1*r, lat2*r, (lon2-lon1)*r
	y := math.Hypot(math.Cos(p2)*math.Sin(dl), math.Cos(p1)*math.Sin(p2)-math.Sin(p1)*math.Cos(p2)*math.Cos(dl))
	x := math.Sin(p1)*math.Sin(p2) + math.Cos(p1)*math.Cos(p2)*math.Cos(dl)
	return 6371.0088 * math.Atan2(y, x)
}

// destination moves (lat, lon) by d km on bearing b (radians).
func destination(lat, lon, d, b float64) (float64, float64) {
	r := math.Pi / 180
	p1, l1, a := lat*r, lon*r, d/6371.0088
	p2 := math.Asin(math.Sin(p1)*math.Cos(a) + math.Cos(p1)*math.Sin(a)*math.Cos(b))
	l2 := l1 + math.Atan2(math.Sin(b)*math.Sin(a)*math.Cos(p1), math.Cos(a)-math.Sin(p1)*math.Sin(p2))
	lon2 := math.Mod(l2/r+540, 360) - 180
	return p2 / r, lon2
}

var testCountries = []string{"US", "CN", "DE", "BR", "JP", "IN"}

// randomPlaces returns n places at distinct addresses, IPv4 and IPv6,
// with random points, names and confidences (multiples of 1/64, exact in
// every float width).
func randomPlaces(rng *rand.Rand, n int) []place {
	seen := map[netip.Addr]bool{}
	var ps []place
	for len(ps) < n {
		var a netip.Addr
		if rng.IntN(8) == 0 {
			var b [16]byte
			b[0], b[1] = 0x20, 0x01
			for i := 2; i < 16; i++ {
				b[i] = byte(rng.IntN(256))
			}
			a = netip.AddrFrom16(b)
		} else {
			a = netip.AddrFrom4([4]byte{byte(1 + rng.IntN(200)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		}
		if seen[a] {
			continue
		}
		seen[a] = true
		c := testCountries[rng.IntN(len(testCountries))]
		p := place{addr: a, lat: rng.Float64()*120 - 60, lon: rng.Float64()*360 - 180, hasLoc: true,
			country: c, province: fmt.Sprintf("%s-P%d", c, rng.IntN(5)), city: fmt.Sprintf("City %d", rng.IntN(50)),
			district: fmt.Sprintf("D%d", rng.IntN(9))}
		if rng.IntN(3) > 0 {
			p.radius = 1 + rng.IntN(3000)
		}
		for i := range p.conf {
			p.conf[i] = float64(rng.IntN(65)) / 64
		}
		ps = append(ps, p)
	}
	return ps
}

// TestEvaluateMatchesBruteForce checks every figure of Evaluate against
// a brute-force reference on a truth with known errors: every truth
// point moved a random distance from its database point, some labels
// wrong, some levels missing, some addresses the database does not
// answer, some records without a location.
func TestEvaluateMatchesBruteForce(t *testing.T) {
	seed := uint64(20261204)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	places := randomPlaces(rng, 3000)
	for i := range places {
		if rng.IntN(20) == 0 {
			places[i].hasLoc = false // a record with regions only
		}
	}
	// The last 150 places are not in the database.
	inDB := places[:len(places)-150]
	db := buildDB(t, dir, "db", inDB)
	var rows []truthRow
	for i, p := range places {
		r := truthRow{addr: p.addr, country: p.country, province: p.province, city: p.city, district: p.district}
		r.lat, r.lon = destination(p.lat, p.lon, rng.Float64()*3000*rng.Float64(), rng.Float64()*2*math.Pi)
		if i%7 == 0 {
			r.lat, r.lon = p.lat, p.lon // exactly right
		}
		switch rng.IntN(10) {
		case 0:
			r.country = testCountries[(slices.Index(testCountries, p.country)+1)%len(testCountries)]
		case 1:
			r.country = strings.ToLower(r.country)
		}
		switch rng.IntN(6) {
		case 0:
			r.province = ""
		case 1:
			r.province = stripCountry(r.province) // "P3": the prefix is ignored
		case 2:
			r.province = p.country + "-P9"
		}
		switch rng.IntN(5) {
		case 0:
			r.city = "Elsewhere"
		case 1:
			r.city = strings.ToUpper(r.city)
		case 2:
			r.city = ""
		}
		if rng.IntN(3) == 0 {
			r.district = fmt.Sprintf("D%d", rng.IntN(9))
		}
		rows = append(rows, r)
	}
	truth := filepath.Join(dir, "truth.csv")
	writeTruth(t, truth, rows)
	got, err := Evaluate(truth, []string{db}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := got[0]

	// The reference.
	byAddr := map[netip.Addr]place{}
	for _, p := range inDB {
		byAddr[p.addr] = p
	}
	type lvl struct {
		rows, correct int
		b             [10][3]float64 // rows, correct, sum of confidence
	}
	levels := map[string]*lvl{}
	var errs []float64
	found, radRows, radOK := 0, 0, 0
	for _, tr := range rows {
		p, ok := byAddr[tr.addr]
		if ok {
			found++
			if p.hasLoc {
				e := refDistance(tr.lat, tr.lon, p.lat, p.lon)
				errs = append(errs, e)
				if p.radius > 0 {
					radRows++
					if e <= float64(p.radius) {
						radOK++
					}
				}
			}
		}
		check := func(name, truth, have string, conf float64, eq func(a, b string) bool) {
			if truth == "" {
				return
			}
			l := levels[name]
			if l == nil {
				l = &lvl{}
				levels[name] = l
			}
			l.rows++
			if !ok {
				return
			}
			right := eq(truth, have)
			k := int(math.Floor(conf * 10))
			if k == 10 {
				k = 9
			}
			l.b[k][0]++
			l.b[k][2] += conf
			if right {
				l.correct++
				l.b[k][1]++
			}
		}
		same := strings.EqualFold
		sameProvince := func(a, b string) bool {
			_, a2, _ := strings.Cut(a, "-")
			if !strings.Contains(a, "-") {
				a2 = a
			}
			_, b2, _ := strings.Cut(b, "-")
			return strings.EqualFold(a2, b2)
		}
		check("country", tr.country, p.country, p.conf[0], same)
		check("province", tr.province, p.province, p.conf[1], sameProvince)
		check("city", tr.city, p.city, p.conf[2], same)
		check("district", tr.district, p.district, p.conf[3], same)
	}
	near := func(name string, got Num, want float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > 1e-9 || math.IsNaN(float64(got)) != math.IsNaN(want) {
			t.Errorf("%s = %.12g, want %.12g", name, float64(got), want)
		}
	}
	if r.Rows != len(rows) || r.Found != found || r.WithLocation != len(errs) {
		t.Errorf("rows/found/with_location = %d/%d/%d, want %d/%d/%d", r.Rows, r.Found, r.WithLocation, len(rows), found, len(errs))
	}
	sum, mx := 0.0, 0.0
	for _, e := range errs {
		sum += e
		mx = max(mx, e)
	}
	sorted := slices.Clone(errs)
	sort.Float64s(sorted)
	n := len(sorted)
	median := sorted[n/2]
	if n%2 == 0 {
		median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	// p90: the smallest error with at least 90% of the errors at or below.
	p90 := math.Inf(1)
	for _, e := range sorted {
		c := 0
		for _, f := range sorted {
			if f <= e {
				c++
			}
		}
		if float64(c) >= 0.9*float64(n)-1e-9 && e < p90 {
			p90 = e
		}
	}
	near("mean", r.ErrorKm.Mean, sum/float64(n))
	near("median", r.ErrorKm.Median, median)
	near("p90", r.ErrorKm.P90, p90)
	near("max", r.ErrorKm.Max, mx)
	within := []Num{r.WithinKm.Km1, r.WithinKm.Km10, r.WithinKm.Km20, r.WithinKm.Km40, r.WithinKm.Km100}
	for i, k := range []float64{1, 10, 20, 40, 100} {
		c := 0
		for _, e := range errs {
			if e <= k {
				c++
			}
		}
		near(fmt.Sprintf("within %g km", k), within[i], float64(c)/float64(n))
	}
	near("radius_honesty", r.RadiusHonesty, float64(radOK)/float64(radRows))
	if len(r.Levels) != len(levels) {
		t.Errorf("levels %v, want %d", r.LevelOrder, len(levels))
	}
	for name, l := range levels {
		g, ok := r.Levels[name]
		if !ok {
			t.Errorf("level %s missing", name)
			continue
		}
		if g.Rows != l.rows || g.Correct != l.correct {
			t.Errorf("level %s: %d/%d correct, want %d/%d", name, g.Correct, g.Rows, l.correct, l.rows)
		}
		near(name+" accuracy", g.Accuracy, float64(l.correct)/float64(l.rows))
		total, ece := 0.0, 0.0
		for _, b := range l.b {
			total += b[0]
		}
		for i, b := range l.b {
			if b[0] == 0 {
				continue
			}
			ece += b[0] / total * math.Abs(b[1]/b[0]-b[2]/b[0])
			if gb := g.Buckets[i]; gb.Rows != int(b[0]) || gb.Correct != int(b[1]) {
				t.Errorf("level %s bucket %d: %d/%d, want %g/%g", name, i, gb.Correct, gb.Rows, b[1], b[0])
			}
		}
		near(name+" ece", g.ECE, ece)
	}
	if l := levels["country"]; l.correct == l.rows || l.correct == 0 {
		t.Fatalf("the generated truth should have some wrong and some right countries: %d/%d", l.correct, l.rows)
	}
}

// TestEvaluateExactAndShifted checks that a database built from the
// truth's own points evaluates to no error and full accuracy, and one
// with every point moved north by a known distance to that distance.
func TestEvaluateExactAndShifted(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	dir := t.TempDir()
	places := randomPlaces(rng, 2000)
	exact := buildDB(t, dir, "exact", places)
	const shift = 123.456 // km
	moved := slices.Clone(places)
	for i := range moved {
		moved[i].lat += shift / 6371.0088 * 180 / math.Pi
	}
	shifted := buildDB(t, dir, "shifted", moved)
	var rows []truthRow
	for _, p := range places {
		rows = append(rows, truthRow{addr: p.addr, lat: p.lat, lon: p.lon, country: p.country, province: p.province, city: p.city, district: p.district})
	}
	truth := filepath.Join(dir, "truth.jsonl")
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, `{"ip":%q,"latitude":%s,"longitude":%s,"country_code":%q,"province_code":%q,"city":%q,"district":%q}`+"\n",
			r.addr, strconv.FormatFloat(r.lat, 'g', -1, 64), strconv.FormatFloat(r.lon, 'g', -1, 64), r.country, r.province, r.city, r.district)
	}
	if err := os.WriteFile(truth, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Evaluate(truth, []string{exact, shifted}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, s := got[0], got[1]
	if e.Rows != len(rows) || e.Found != len(rows) || e.WithLocation != len(rows) {
		t.Errorf("exact: rows/found/with_location %d/%d/%d, want %d each", e.Rows, e.Found, e.WithLocation, len(rows))
	}
	if e.ErrorKm.Median != 0 || e.ErrorKm.Max != 0 || e.WithinKm.Km1 != 1 {
		t.Errorf("exact: error %+v within %+v, want 0 and 1", e.ErrorKm, e.WithinKm)
	}
	for _, r := range got {
		if want := []string{"country", "city", "province", "district"}; len(r.Levels) != len(want) {
			t.Errorf("%s: levels %v, want %v", r.Database, r.LevelOrder, want)
		}
		for name, l := range r.Levels {
			if l.Accuracy != 1 || l.Rows != len(rows) {
				t.Errorf("%s: level %s accuracy %v over %d rows, want 1 over %d", r.Database, name, l.Accuracy, l.Rows, len(rows))
			}
		}
	}
	for name, v := range map[string]Num{"mean": s.ErrorKm.Mean, "median": s.ErrorKm.Median, "p90": s.ErrorKm.P90, "max": s.ErrorKm.Max} {
		if math.Abs(float64(v)-shift) > 1e-9 {
			t.Errorf("shifted: %s error %.12g km, want %g", name, float64(v), shift)
		}
	}
	if s.WithinKm.Km100 != 0 || s.Errors[0] < shift-1e-9 {
		t.Errorf("shifted: within 100 km %v, least error %g", s.WithinKm.Km100, s.Errors[0])
	}
}

// TestResultJSONKeys holds --json to the keys the issue lists.
func TestResultJSONKeys(t *testing.T) {
	r := &Result{Database: "x", Levels: map[string]Level{"city": {ECE: Num(math.NaN())}}, ErrorKm: ErrorKm{Num(math.NaN()), 0, 0, 0}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		return slices.Sorted(func(y func(string) bool) {
			for k := range m {
				if !y(k) {
					return
				}
			}
		})
	}
	if got, want := keys(m), []string{"database", "error_km", "found", "levels", "radius_honesty", "rows", "with_location", "within_km"}; !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	if got, want := keys(m["error_km"].(map[string]any)), []string{"max", "mean", "median", "p90"}; !slices.Equal(got, want) {
		t.Errorf("error_km keys %v, want %v", got, want)
	}
	if got, want := keys(m["within_km"].(map[string]any)), []string{"1", "10", "100", "20", "40"}; !slices.Equal(got, want) {
		t.Errorf("within_km keys %v, want %v", got, want)
	}
	lv := m["levels"].(map[string]any)["city"].(map[string]any)
	if got, want := keys(lv), []string{"accuracy", "correct", "ece", "rows"}; !slices.Equal(got, want) {
		t.Errorf("level keys %v, want %v", got, want)
	}
	if m["error_km"].(map[string]any)["mean"] != nil || lv["ece"] != nil {
		t.Errorf("undefined figures should be null: %s", b)
	}
}

func TestDistanceKm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for range 100000 {
		lat1, lon1 := rng.Float64()*180-90, rng.Float64()*360-180
		lat2, lon2 := rng.Float64()*180-90, rng.Float64()*360-180
		if rng.IntN(4) == 0 {
			lat2, lon2 = lat1+rng.NormFloat64()*1e-4, lon1+rng.NormFloat64()*1e-4
		}
		if got, want := geo.Distance(lat1, lon1, lat2, lon2), refDistance(lat1, lon1, lat2, lon2); math.Abs(got-want) > 1e-9 {
			t.Fatalf("geo.Distance(%g,%g,%g,%g) = %.15g, Vincenty %.15g", lat1, lon1, lat2, lon2, got, want)
		}
	}
	// A quarter of the equator, and antipodes.
	if got, want := geo.Distance(0, 0, 0, 90), math.Pi/2*geo.EarthRadiusKm; math.Abs(got-want) > 1e-9 {
		t.Errorf("quarter equator %.12g, want %.12g", got, want)
	}
	if got, want := geo.Distance(10, 20, -10, -160), math.Pi*geo.EarthRadiusKm; math.Abs(got-want) > 1e-9 {
		t.Errorf("antipodes %.12g, want %.12g", got, want)
	}
}

// TestMedianQuantile checks the order statistics on hand-worked cases.
func TestMedianQuantile(t *testing.T) {
	ten := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		s         []float64
		q         float64
		median, x float64
	}{
		{[]float64{5}, 0.9, 5, 5},
		{[]float64{1, 2, 3, 4}, 0.9, 2.5, 4},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5, 2},
		{ten, 0.9, 5.5, 9},
		{ten, 0.91, 5.5, 10},
		{ten, 0.1, 5.5, 1},
		{ten, 0, 5.5, 1},
		{ten, 1, 5.5, 10},
	} {
		if m := Median(c.s); m != c.median {
			t.Errorf("Median(%v) = %g, want %g", c.s, m, c.median)
		}
		if x := Quantile(c.s, c.q); x != c.x {
			t.Errorf("Quantile(%v, %g) = %g, want %g", c.s, c.q, x, c.x)
		}
	}
	if !math.IsNaN(Median(nil)) || !math.IsNaN(Quantile(nil, 0.9)) {
		t.Error("empty: want NaN")
	}
}
