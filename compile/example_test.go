package compile_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/compile"
	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/sampledb"
	"github.com/ipatlas/ipatlas/reader"
)

// ExampleCompile ingests inference results into a store, compiles a
// snapshot of it into a .mmdb and reads the file back: the whole path of
// `ipatlas build`.
//
// testdata/sample/bertgeo.csv gives 975 networks (builder's example says
// why); every record is distinct but for the 13 ranges split in two
// (x.y.202.0-x.y.203.127: a /24 and a /25 with one record), so 962
// records. 88.20.202.9 and 88.20.203.100 fall in the last row,
// 88.20.202.0-88.20.203.127 (line 963), split into 88.20.202.0/24 and
// 88.20.203.0/25; 88.20.203.200 is past its end, in no row. The
// printed country and coordinates are that row's; TestExampleCompileMatchesSample
// checks them against the CSV read with encoding/csv.
func ExampleCompile() {
	dir, err := os.MkdirTemp("", "compile-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// The sample ingested into a store, as builder's ExampleIngestFile
	// does it.
	st, err := sampledb.Store(context.Background(), dir)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	snap, err := st.Snapshot()
	if err != nil {
		log.Fatal(err)
	}
	defer snap.Close()
	path := filepath.Join(dir, "city.mmdb")
	stats, err := compile.Compile(snap, path, compile.Options{WriterOptions: format.WriterOptions{Description: map[string]string{"en": "sample"}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d networks stored, %d distinct records\n", stats.Entries, stats.Records)

	db, err := reader.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Verify(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(db.Metadata.DatabaseType, db.Metadata.IPVersion, db.Metadata.Description["en"])
	for _, ip := range []string{"88.20.202.9", "88.20.203.100", "88.20.203.200"} {
		res := db.Lookup(netip.MustParseAddr(ip))
		var rec struct {
			Country struct {
				ISOCode string `maxminddb:"iso_code"`
			} `maxminddb:"country"`
			Location struct {
				Latitude  float64 `maxminddb:"latitude"`
				Longitude float64 `maxminddb:"longitude"`
			} `maxminddb:"location"`
		}
		if err := res.Decode(&rec); err != nil {
			log.Fatal(err)
		}
		if !res.Found() {
			fmt.Println(ip, "not found")
			continue
		}
		fmt.Println(ip, res.Prefix(), rec.Country.ISOCode, rec.Location.Latitude, rec.Location.Longitude)
	}
	// Output:
	// 975 networks stored, 962 distinct records
	// ipatlas-City 6 sample
	// 88.20.202.9 88.20.202.0/24 ES 39.9584 -4.1072
	// 88.20.203.100 88.20.203.0/25 ES 39.9584 -4.1072
	// 88.20.203.200 not found
}

// TestExampleCompileMatchesSample checks what ExampleCompile prints
// against testdata/sample/bertgeo.csv read with encoding/csv: networks
// are the rows plus one for each range that is not a single CIDR (all
// the sample's ranges split in at most two), distinct records the
// distinct rows without their network column; the country and
// coordinates are those of the row 88.20.202.0-88.20.203.127.
func TestExampleCompileMatchesSample(t *testing.T) {
	networks, records := 0, map[string]bool{}
	err := sampledb.Rows(func(line int, row map[string]string) error {
		networks++
		if first, last, ok := strings.Cut(row["network"], "-"); ok && !oneCIDR(netip.MustParseAddr(first), netip.MustParseAddr(last)) {
			networks++
		}
		var cells []string
		for k, v := range row {
			if k != "network" {
				cells = append(cells, k+"="+v)
			}
		}
		slices.Sort(cells)
		records[strings.Join(cells, "\x00")] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	row, line, err := sampledb.Row("88.20.202.0-88.20.203.127")
	if err != nil {
		t.Fatal(err)
	}
	facts := row["country_code"] + " " + row["latitude"] + " " + row["longitude"]
	want := []string{
		fmt.Sprintf("%d networks stored, %d distinct records", networks, len(records)),
		"88.20.202.9 88.20.202.0/24 " + facts,
		"88.20.203.100 88.20.203.0/25 " + facts,
		"88.20.203.200 not found",
	}
	out, err := sampledb.Stdout(ExampleCompile)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("ExampleCompile does not print %q (%s line %d); it prints\n%s", w, sampledb.CSV, line, out)
		}
	}
}

// oneCIDR reports whether first-last is exactly one CIDR.
func oneCIDR(first, last netip.Addr) bool {
	for bits := 0; bits <= first.BitLen(); bits++ {
		p := netip.PrefixFrom(first, bits)
		if p.Masked().Addr() != first {
			continue
		}
		// The last address of p: first with the host bits set.
		b := first.AsSlice()
		for i := bits; i < len(b)*8; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		if end, _ := netip.AddrFromSlice(b); end == last {
			return true
		}
	}
	return false
}
