package reader_test

import (
	"fmt"
	"log"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/sampledb"
	"github.com/ipatlas/ipatlas/reader"
)

// samplePath is testdata/sample/bertgeo.csv compiled (sampledb.City),
// made once by TestMain for the examples, which open it as a user opens
// a file of their own.
var samplePath string

// TestMain compiles the sample database for the examples, runs the
// tests and removes it.
func TestMain(m *testing.M) {
	path, cleanup, err := sampledb.TempCity()
	if err != nil {
		log.Fatal(err)
	}
	samplePath = path
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// Example opens a database, looks an address up and decodes its record
// into a struct: only the fields the struct names, by their maxminddb
// tags, the way maxminddb-golang v2 does it.
//
// The database at samplePath is testdata/sample/bertgeo.csv compiled
// (what `ipatlas build` makes of it). 36.96.2.7 falls in the row 36.96.2.0/24 (line 4
// of the CSV): the output is that row's country code, coordinates,
// accuracy and region hierarchy with confidences, which
// TestExampleMatchesSample checks against the CSV read with encoding/csv.
// 192.0.2.1 (TEST-NET-1) is in no row.
func Example() {
	db, err := reader.Open(samplePath)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	var rec struct {
		Country struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"country"`
		Location struct {
			Latitude       float64 `maxminddb:"latitude"`
			Longitude      float64 `maxminddb:"longitude"`
			AccuracyRadius uint16  `maxminddb:"accuracy_radius"`
		} `maxminddb:"location"`
		IPAtlas struct {
			Regions []struct {
				Level      string  `maxminddb:"level"`
				Name       string  `maxminddb:"name"`
				Confidence float64 `maxminddb:"confidence"`
			} `maxminddb:"regions"`
		} `maxminddb:"ipatlas"`
	}
	res := db.Lookup(netip.MustParseAddr("36.96.2.7"))
	if err := res.Decode(&rec); err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Prefix(), rec.Country.ISOCode, rec.Location.Latitude, rec.Location.Longitude, rec.Location.AccuracyRadius)
	for _, r := range rec.IPAtlas.Regions {
		fmt.Println(r.Level, r.Name, r.Confidence)
	}

	miss := db.Lookup(netip.MustParseAddr("192.0.2.1"))
	fmt.Println("192.0.2.1 found:", miss.Found(), miss.Err())
	// Output:
	// 36.96.2.0/24 CN 31.2303 121.4522 2
	// country 中国 0.901
	// province 上海市 0.856
	// city 上海 0.681
	// district 浦东新区 0.587
	// street 花木街道 0.423
	// community 东方社区 0.363
	// 192.0.2.1 found: false <nil>
}

// TestExampleMatchesSample checks what Example prints against the row
// 36.96.2.0/24 of testdata/sample/bertgeo.csv, read with encoding/csv
// (not with ipatlas's builder): the output's facts come from the input.
func TestExampleMatchesSample(t *testing.T) {
	row, line, err := sampledb.Row("36.96.2.0/24")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{row["network"] + " " + row["country_code"] + " " + row["latitude"] + " " + row["longitude"] + " " + row["accuracy_radius_km"]}
	for _, level := range []string{"country", "province", "city", "district", "street", "community"} {
		want = append(want, level+" "+row[level]+" "+row[level+"_confidence"])
	}
	want = append(want, "192.0.2.1 found: false <nil>")
	out, err := sampledb.Stdout(Example)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Example prints\n%s\nbut %s line %d says\n%s", out, sampledb.CSV, line, strings.Join(want, "\n"))
	}
}
