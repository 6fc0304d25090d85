package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

func evalTestDB(t *testing.T) string {
	return testutil.ConformanceGlob(t, "test-data/GeoIP2-Enterprise-Test.mmdb")[0]
}

// TestEvalHandWorked checks eval --json on a hand-worked example: two
// truth rows on 81.2.69.160 (London in GeoIP2-Enterprise-Test: 51.5142,
// -0.0931, accuracy_radius 100, country GB confidence 99, city 2643743
// confidence 42), one at the record's point, one a degree north of it.
func TestEvalHandWorked(t *testing.T) {
	db := evalTestDB(t)
	dir := t.TempDir()
	truth := filepath.Join(dir, "truth.tsv")
	os.WriteFile(truth, []byte("ip\tlatitude\tlongitude\tcountry_code\tcity\n"+
		"81.2.69.160\t51.5142\t-0.0931\tgb\t2643743\n"+
		"81.2.69.160\t52.5142\t-0.0931\tGB\tParis\n"+
		"203.0.113.1\t0\t0\tUS\t\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"eval", "--json", "--truth", truth, db, "--out", filepath.Join(dir, "report")}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var r struct {
		Rows         int
		Found        int
		WithLocation int                 `json:"with_location"`
		ErrorKm      map[string]*float64 `json:"error_km"`
		WithinKm     map[string]*float64 `json:"within_km"`
		Levels       map[string]struct {
			Rows, Correct int
			Accuracy, ECE *float64
		}
		RadiusHonesty *float64 `json:"radius_honesty"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	degree := 6371.0088 * math.Pi / 180 // km along a meridian
	near := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil || math.Abs(*got-want) > 1e-9 {
			t.Errorf("%s = %v, want %.12g", name, got, want)
		}
	}
	if r.Rows != 3 || r.Found != 2 || r.WithLocation != 2 {
		t.Errorf("rows %d found %d with_location %d, want 3 2 2: %s", r.Rows, r.Found, r.WithLocation, out.String())
	}
	near("mean", r.ErrorKm["mean"], degree/2)
	near("median", r.ErrorKm["median"], degree/2)
	near("p90", r.ErrorKm["p90"], degree)
	near("max", r.ErrorKm["max"], degree)
	near("within 100", r.WithinKm["100"], 0.5)
	near("radius honesty", r.RadiusHonesty, 0.5)
	c, city := r.Levels["country"], r.Levels["city"]
	if c.Rows != 3 || c.Correct != 2 || city.Rows != 2 || city.Correct != 1 {
		t.Errorf("levels %+v", r.Levels)
	}
	near("country ece", c.ECE, 0.01) // bucket [0.9,1]: 2 of 2 right at 0.99
	near("city ece", city.ECE, 0.08) // bucket [0.4,0.5): 1 of 2 right at 0.42
	for _, f := range []string{"report.md", "error-cdf.svg", "calibration.svg", "error-by-country.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, "report", f))
		if err != nil || len(b) == 0 {
			t.Errorf("report file %s: %v", f, err)
		}
	}
	// Another place for the country: registered_country is US.
	out.Reset()
	if code := run([]string{"eval", "--json", "--country-path", "registered_country.iso_code", "--truth", truth, db}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if c := r.Levels["country"]; c.Correct != 0 {
		t.Errorf("--country-path registered_country.iso_code: %d correct, want 0", c.Correct)
	}
}

// TestEvalBadTruth checks that a bad truth file is an error naming
// file:line:field, with exit status 1 and nothing printed or written.
func TestEvalBadTruth(t *testing.T) {
	db := evalTestDB(t)
	for _, c := range []struct {
		name, content, want string
	}{
		{"t.csv", "ip,latitude,longitude\nnot-an-ip,1,2\n", "t.csv:2: ip: not an IP address"},
		{"t.csv", "ip,latitude,longitude\n1.2.3.4,1,2\n1.2.3.5,91,2\n", "t.csv:3: latitude: outside [-90,90]"},
		{"t.csv", "ip,latitude,longitude\n1.2.3.4,1,\n", "t.csv:2: longitude: missing"},
		{"t.csv", "ip,latitude,longitude\n1.2.3.4,1,east\n", "t.csv:2: longitude: not a decimal number"},
		{"t.csv", "ip,latitude,longitude\n1.2.3.4,1_0,2\n", `t.csv:2: latitude: not a decimal number (got "1_0")`},
		{"t.csv", "ip,latitude,longitude\n1.2.3.4,1,0x1p4\n", `t.csv:2: longitude: not a decimal number (got "0x1p4")`},
		{"t.csv", "ip,latitude,longitude\n1.2.3.4,NaN,2\n", `t.csv:2: latitude: not a decimal number (got "NaN")`},
		{"t.csv", "ip,latitude,longitude\n1.2.3.4," + strings.Repeat("9", 1<<20) + ",2\n", `t.csv:2: latitude: outside [-90,90] (got "9999999999999999999999999999999999999999999999999999999999999999"... (1048576 bytes))`},
		{"t.csv", "ip,latitude,longitude,colour\n", "t.csv:1: colour: unknown column"},
		{"t.csv", "ip,latitude,longitude\n1.2.3.4,1,2\n1.2.3.5,1\n", "t.csv:3: 2 fields, the header has 3"},
		{"t.csv", "ip,latitude,longitude\n\"1.2.3.4,1,2\n", "t.csv:2: bad CSV"},
		{"t.csv", "", "t.csv:1: empty file"},
		{"t.tsv", "ip\tlatitude\tlongitude\n1.2.3.4\t1\n", "t.tsv:2: 2 fields, the header has 3"},
		{"t.jsonl", `{"ip":"1.2.3.4","latitude":1,"longitude":2}` + "\n{\"ip\":\n", "t.jsonl:2: bad JSON"},
		{"t.jsonl", `{"ip":"1.2.3.4","latitude":true,"longitude":2}` + "\n", "t.jsonl:1: latitude: want a string or a number"},
		{"t.jsonl", `{"ip":"1.2.3.4","latitude":1,"longitude":2,"planet":"earth"}` + "\n", "t.jsonl:1: planet: unknown key"},
		{"t.csv.gz", "not gzip", "gzip"},
		{"t.csv.zst", "not zstd", "zstd"},
		{"t.parquet", "x", "cannot tell the format"},
	} {
		t.Run(c.want, func(t *testing.T) {
			dir := t.TempDir()
			truth := filepath.Join(dir, c.name)
			os.WriteFile(truth, []byte(c.content), 0o644)
			out := filepath.Join(dir, "report")
			var stdout, stderr bytes.Buffer
			code := run([]string{"eval", "--truth", truth, "--out", out, db}, &stdout, &stderr)
			if code != exitData {
				t.Errorf("exit %d, want %d", code, exitData)
			}
			if !strings.Contains(stderr.String(), c.want) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), c.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("printed %q", stdout.String())
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("--out directory written: %v", err)
			}
		})
	}
}

// TestCompareSelf checks compare --json of a file against itself: the
// IPv4 space it answers, no disagreement.
func TestCompareSelf(t *testing.T) {
	db := evalTestDB(t)
	var out, errb bytes.Buffer
	if code := run([]string{"compare", "--json", db, db}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var c struct {
		IPv4 struct {
			AddressesA     float64  `json:"addresses_a"`
			AddressesBoth  float64  `json:"addresses_both"`
			CountryDiffers *float64 `json:"country_differs"`
			MovedKm        map[string]*float64
		} `json:"ipv4"`
	}
	if err := json.Unmarshal(out.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	if c.IPv4.AddressesA == 0 || c.IPv4.AddressesA != c.IPv4.AddressesBoth || c.IPv4.CountryDiffers == nil || *c.IPv4.CountryDiffers != 0 {
		t.Errorf("compare of a file with itself: %s", out.String())
	}
	if code := run([]string{"compare", db}, &out, &errb); code != exitUsage {
		t.Errorf("one file: exit %d, want %d", code, exitUsage)
	}
}
