package eval

import (
	"encoding/json"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipatlas/ipatlas/format"
)

// writeHostileDB writes a GeoIP2-shaped database whose records hold
// locations no builder writes: NaN, infinities, latitudes past the poles,
// and the largest accuracy_radius; 1.0.0.0/24 alone has a sane location.
func writeHostileDB(t *testing.T, path string) {
	t.Helper()
	w, err := format.Create(path, format.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	loc := func(lat, lon float64, radius uint16) format.Value {
		return format.Map{
			"country":  format.Map{"iso_code": format.String("FR")},
			"location": format.Map{"latitude": format.Float64(lat), "longitude": format.Float64(lon), "accuracy_radius": format.Uint16(radius)},
		}
	}
	for _, n := range []struct {
		p string
		v format.Value
	}{
		{"1.0.0.0/24", loc(48, 2, 65535)},
		{"1.0.1.0/24", loc(math.NaN(), 2, 10)},
		{"1.0.2.0/24", loc(48, math.Inf(1), 10)},
		{"1.0.3.0/24", loc(math.Inf(-1), math.NaN(), 10)},
		{"1.0.4.0/24", loc(91, 2, 10)},
		{"1.0.5.0/24", loc(48, -180.5, 10)},
	} {
		if err := w.InsertValue(netip.MustParsePrefix(n.p), n.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestHostileLocations: a database with NaN, infinite and out-of-range
// coordinates and accuracy_radius 65535. Evaluate counts those rows as
// found without a location (no NaN reaches the error statistics) and
// Compare counts only the sane /24 as located in both; both reports
// encode as JSON (NaN is not JSON).
func TestHostileLocations(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "hostile.mmdb")
	writeHostileDB(t, db)
	truth := filepath.Join(dir, "truth.csv")
	csv := "ip,latitude,longitude\n"
	for i := range 6 {
		csv += netip.AddrFrom4([4]byte{1, 0, byte(i), 1}).String() + ",48,2\n"
	}
	if err := os.WriteFile(truth, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(truth, []string{db}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Rows != 6 || r.Found != 6 || r.WithLocation != 1 {
		t.Errorf("rows %d found %d with location %d, want 6, 6, 1", r.Rows, r.Found, r.WithLocation)
	}
	if float64(r.ErrorKm.Max) != 0 || float64(r.RadiusHonesty) != 1 {
		t.Errorf("max error %v km, radius honesty %v; want 0 and 1 (the one sane row is exact)", r.ErrorKm.Max, r.RadiusHonesty)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Errorf("eval JSON: %v", err)
	}
	c, err := Compare(db, db, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.IPv4.AddressesBoth != 6*256 || c.IPv4.WithLocationBoth != 256 {
		t.Errorf("compare: %v addresses both, %v with location both; want 1536 and 256", c.IPv4.AddressesBoth, c.IPv4.WithLocationBoth)
	}
	if m := float64(c.IPv4.MovedKm.Km1); m != 0 {
		t.Errorf("compare of a file with itself: %v moved > 1 km, want 0", m)
	}
	if _, err := json.Marshal(c); err != nil {
		t.Errorf("compare JSON: %v", err)
	}
}
