package geoip2_test

import (
	"fmt"
	"log"
	"net/netip"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/sampledb"
	"github.com/ipatlas/ipatlas/reader/geoip2"
)

// ExampleReader_City opens a City-style database and looks an address up
// into the City model, with the field names geoip2-golang v2 has.
//
// The database is testdata/sample/bertgeo.csv compiled (what `ipatlas
// build` makes of it). 36.96.2.7 falls in the row 36.96.2.0/24 (line 4
// of the CSV): country CN 中国, province CN-SH 上海市 (GeoIP2 stores the
// part after the country, SH), city 上海, 31.2303 121.4522, accuracy 2 km;
// names in zh-CN, the row's names_lang; the continent AS is derived from
// the country. TestExampleReaderCityMatchesSample checks these against the
// CSV read with encoding/csv.
func ExampleReader_City() {
	path, cleanup, err := sampledb.TempCity() // testdata/sample/bertgeo.csv compiled
	if err != nil {
		log.Fatal(err)
	}
	defer cleanup()

	db, err := geoip2.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	rec, err := db.City(netip.MustParseAddr("36.96.2.7"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Traits.Network, rec.Continent.Code, rec.Country.ISOCode, rec.Country.Names.SimplifiedChinese)
	fmt.Println(rec.Subdivisions[0].ISOCode, rec.Subdivisions[0].Names.SimplifiedChinese, rec.City.Names.SimplifiedChinese)
	if rec.Location.HasCoordinates() {
		fmt.Println(*rec.Location.Latitude, *rec.Location.Longitude, rec.Location.AccuracyRadius)
	}

	// An address in no network: no error, a record without data.
	rec, err = db.City(netip.MustParseAddr("192.0.2.1"))
	fmt.Println("192.0.2.1:", rec.HasData(), err)
	// Output:
	// 36.96.2.0/24 AS CN 中国
	// SH 上海市 上海
	// 31.2303 121.4522 2
	// 192.0.2.1: false <nil>
}

// TestExampleReaderCityMatchesSample checks what ExampleReader_City
// prints against the row 36.96.2.0/24 of testdata/sample/bertgeo.csv,
// read with encoding/csv (not with ipatlas's builder).
func TestExampleReaderCityMatchesSample(t *testing.T) {
	row, line, err := sampledb.Row("36.96.2.0/24")
	if err != nil {
		t.Fatal(err)
	}
	if row["names_lang"] != "zh-CN" || row["country_code"] != "CN" {
		t.Fatalf("%s line %d: names_lang %q, country_code %q: the example's SimplifiedChinese names and continent AS assume zh-CN and CN",
			sampledb.CSV, line, row["names_lang"], row["country_code"])
	}
	want := strings.Join([]string{
		row["network"] + " AS " + row["country_code"] + " " + row["country"],
		strings.TrimPrefix(row["province_code"], row["country_code"]+"-") + " " + row["province"] + " " + row["city"],
		row["latitude"] + " " + row["longitude"] + " " + row["accuracy_radius_km"],
		"192.0.2.1: false <nil>",
	}, "\n") + "\n"
	out, err := sampledb.Stdout(ExampleReader_City)
	if err != nil {
		t.Fatal(err)
	}
	if out != want {
		t.Errorf("ExampleReader_City prints\n%s\nbut %s line %d says\n%s", out, sampledb.CSV, line, want)
	}
}
