package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/geo"
	"github.com/ipatlas/ipatlas/internal/testutil"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/peraddress/points.csv from its generator")

const perAddressFixture = "../../testdata/peraddress/points.csv"

// genPerAddress is the generator of testdata/peraddress/points.csv: a
// coordinates-only per-address file (what BertGeo-like models emit).
// 198.51.100.1-120 are around Paris, .121-.200 around Berlin, .201-.250
// around Strasbourg, each jittered up to 3 km from the centre; the
// documentation range 203.0.113.0/24 holds 40 addresses around Potsdam
// and one point in the open Pacific (203.0.113.99). Seeded: the output
// never changes.
func genPerAddress() string {
	r := rand.New(rand.NewPCG(2026, 11))
	var b strings.Builder
	b.WriteString("network,latitude,longitude,confidence\n")
	point := func(a netip.Addr, lat, lon, km float64) {
		d, bearing := r.Float64()*km/111.2, r.Float64()*2*math.Pi
		fmt.Fprintf(&b, "%s,%.5f,%.5f,%.2f\n", a, lat+d*math.Cos(bearing), lon+d*math.Sin(bearing)/math.Cos(lat*math.Pi/180), 0.5+r.Float64()/2)
	}
	for i := 1; i <= 250; i++ {
		a := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		switch {
		case i <= 120:
			point(a, 48.8534, 2.3488, 3)
		case i <= 200:
			point(a, 52.5244, 13.4105, 3)
		default:
			point(a, 48.5839, 7.7455, 3)
		}
	}
	for i := 1; i <= 40; i++ {
		point(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), 52.3989, 13.0657, 3)
	}
	fmt.Fprintf(&b, "203.0.113.99,%.5f,%.5f,0.50\n", 0.0, -140.0)
	return b.String()
}

// TestPerAddressFixture checks the committed fixture is its generator's
// output (go test -run TestPerAddressFixture -rewrite rewrites it).
func TestPerAddressFixture(t *testing.T) {
	want := genPerAddress()
	if *rewrite {
		if err := os.WriteFile(perAddressFixture, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(perAddressFixture)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s differs from genPerAddress's output; rerun with -rewrite", perAddressFixture)
	}
}

// TestGazetteerExample runs the README's worked example: a gazetteer
// from the GeoNames fixture, the per-address file labeled and aggregated
// by region:city, looked up with mmdblookup.
func TestGazetteerExample(t *testing.T) {
	dir := t.TempDir()
	gz := filepath.Join(dir, "places.gaz")
	geonames := "../../gazetteer/testdata/geonames/"
	out, stderr, code := runCLI(t, "gazetteer", "build", "--out", gz, "--geonames", geonames+"cities.txt",
		"--admin1", geonames+"admin1CodesASCII.txt", "--country-info", geonames+"countryInfo.txt")
	if code != 0 || !strings.Contains(out, "6 places, 6 subdivisions, 3 countries") {
		t.Fatalf("gazetteer build: %d %s %s", code, out, stderr)
	}
	db := filepath.Join(dir, "points.mmdb")
	out, stderr, code = runCLI(t, "build", "--out", db, "--gazetteer", gz, "--aggregate", "region:city", perAddressFixture)
	if code != 0 {
		t.Fatalf("build: %d %s %s", code, out, stderr)
	}
	for _, want := range []string{"291 rows, 291 networks", "labeled 290 rows; 1 without a city", "1 in the open sea", "291 networks -> "} {
		if !strings.Contains(out+stderr, want) {
			t.Errorf("build output lacks %q:\n%s%s", want, out, stderr)
		}
	}
	testutil.Mmdblookup(t)
	for addr, city := range map[string]string{"198.51.100.7": "Paris", "198.51.100.150": "Berlin", "198.51.100.222": "Strasbourg", "203.0.113.5": "Potsdam"} {
		v, _, ok := mmdblookupAt(t, db, netip.MustParseAddr(addr), "city", "names", "en")
		if !ok || v.Text != city {
			t.Errorf("mmdblookup %s city: %q, want %s", addr, v.Text, city)
		}
	}
	if v, ok, _ := mmdblookupAt(t, db, netip.MustParseAddr("203.0.113.99")); !ok || v.Map["city"].Kind != "" || v.Map["country"].Kind != "" {
		t.Errorf("the open-sea point: found %v, %v; want a record without country or city", ok, v.Tagged())
	}
	// Every row's point within the accuracy_radius of its answer.
	rows, _ := os.ReadFile(perAddressFixture)
	for _, line := range strings.Split(strings.TrimSpace(string(rows)), "\n")[1:] {
		var lat, lon, conf float64
		f := strings.Split(line, ",")
		fmt.Sscan(f[1], &lat)
		fmt.Sscan(f[2], &lon)
		fmt.Sscan(f[3], &conf)
		a := netip.MustParseAddr(f[0])
		loc, _, _ := mmdblookupAt(t, db, a, "location")
		var alat, alon, r float64
		fmt.Sscan(loc.Map["latitude"].Text, &alat)
		fmt.Sscan(loc.Map["longitude"].Text, &alon)
		fmt.Sscan(loc.Map["accuracy_radius"].Text, &r)
		if d := geo.Distance(lat, lon, alat, alon); d > r+1e-6 {
			t.Errorf("%s: %.3f km from its answer, accuracy_radius %v", a, d, r)
		}
	}
}

// TestGazetteerErrors: bad gazetteer input and bad aggregation flags give
// clear errors with the right exit status, and nothing is written.
func TestGazetteerErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "cities.txt")
	os.WriteFile(bad, []byte("1\tA\tA\t\t10\t20\tP\tPPL\tFR\t\t11\t\t\t\t100\t\t1\tEurope/Paris\t2020-01-01\n2\tB\tB\t\t95\t20\tP\tPPL\tFR\t\t11\t\t\t\t100\t\t1\tEurope/Paris\t2020-01-01\n"), 0o644)
	gz := filepath.Join(dir, "g.gaz")
	_, stderr, code := runCLI(t, "gazetteer", "build", "--out", gz, "--geonames", bad)
	if code != 1 || !strings.Contains(stderr, bad+`:2: latitude: "95" is not a number in [-90, 90]`) {
		t.Errorf("bad dump: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(gz); err == nil {
		t.Error("a gazetteer was written from a bad dump")
	}
	corrupt := filepath.Join(dir, "corrupt.gaz")
	os.WriteFile(corrupt, []byte("ipatlas-gazetteer\n\x02\x00"+strings.Repeat("\x00", 40)), 0o644)
	out := filepath.Join(dir, "o.mmdb")
	_, stderr, code = runCLI(t, "build", "--out", out, "--gazetteer", corrupt, perAddressFixture)
	if code != 1 || !strings.Contains(stderr, corrupt+": offset 18: version: 2, this build reads version 1") {
		t.Errorf("corrupt gazetteer: exit %d, %s", code, stderr)
	}
	for _, args := range [][]string{
		{"build", "--out", out, "--aggregate", "regions", perAddressFixture},
		{"build", "--out", out, "--max-merge-km", "5", perAddressFixture},
		{"gazetteer", "build", "--out", gz},
		{"gazetteer", "rebuild"},
	} {
		if _, stderr, code := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, code, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an .mmdb was written despite the errors")
	}
}
