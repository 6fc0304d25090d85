package mmdbtool_test

import (
	"errors"
	"fmt"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/mmdbtool"
	"github.com/ipatlas/ipatlas/reader"
)

// writeExampleDB writes an IPv4 database of the given networks, in
// address order, to a file in dir and returns its path.
func writeExampleDB(dir, name string, nets []netip.Prefix, cities []string) string {
	path := filepath.Join(dir, name)
	w, err := format.Create(path, format.WriterOptions{IPVersion: 4, DatabaseType: "Example-City",
		BuildTime: format.Metadata{BuildEpoch: 1_700_000_000}.BuildTime()})
	if err != nil {
		log.Fatal(err)
	}
	for i, p := range nets {
		rec := format.Map{"city": format.Map{"names": format.Map{"en": format.String(cities[i])}}, "country": format.Map{"iso_code": format.String("DE")}}
		if err := w.InsertValue(p, rec); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	return path
}

// mustOpen opens the database at path.
func mustOpen(path string) *mmdbtool.File {
	f, err := mmdbtool.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	return f
}

// exampleDir holds the examples' databases; examplePath is the one they
// read: three networks, two of them in Berlin. TestMain writes it.
var exampleDir, examplePath string

// TestMain writes the examples' database, runs the tests and removes the
// examples' folder.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mmdbtool")
	if err != nil {
		log.Fatal(err)
	}
	exampleDir = dir
	examplePath = writeExampleDB(dir, "a.mmdb",
		[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("10.0.2.0/23"), netip.MustParsePrefix("192.0.2.0/24")},
		[]string{"Berlin", "Berlin", "Hamburg"})
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func ExampleFile_Networks() {
	f := mustOpen(examplePath)
	defer f.Close()
	for n, err := range f.Networks(mmdbtool.AliasesNone) {
		if err != nil {
			log.Fatal(err)
		}
		rec, err := f.AppendRecordJSON(nil, n.Offset)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(n.Prefix, string(rec))
	}
	// Output:
	// 10.0.0.0/24 {"city":{"names":{"en":"Berlin"}},"country":{"iso_code":"DE"}}
	// 10.0.2.0/23 {"city":{"names":{"en":"Berlin"}},"country":{"iso_code":"DE"}}
	// 192.0.2.0/24 {"city":{"names":{"en":"Hamburg"}},"country":{"iso_code":"DE"}}
}

func ExampleWriteJSONL() {
	f := mustOpen(examplePath)
	defer f.Close()
	s, err := mmdbtool.WriteJSONL(os.Stdout, f, mmdbtool.ExportOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d networks, %d distinct records\n", s.Networks, s.Records)
	// Output:
	// {"network":"10.0.0.0/24","record":{"city":{"names":{"en":"Berlin"}},"country":{"iso_code":"DE"}}}
	// {"network":"10.0.2.0/23","record":{"city":{"names":{"en":"Berlin"}},"country":{"iso_code":"DE"}}}
	// {"network":"192.0.2.0/24","record":{"city":{"names":{"en":"Hamburg"}},"country":{"iso_code":"DE"}}}
	// 3 networks, 2 distinct records
}

func ExampleWriteCSV() {
	f := mustOpen(examplePath)
	defer f.Close()
	if _, err := mmdbtool.WriteCSV(os.Stdout, f, mmdbtool.ExportOptions{}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// network,city.names.en,country.iso_code
	// 10.0.0.0/24,Berlin,DE
	// 10.0.2.0/23,Berlin,DE
	// 192.0.2.0/24,Hamburg,DE
}

func ExampleDiffer_All() {
	a := mustOpen(examplePath)
	defer a.Close()
	// B moves 10.0.3.0/24 to Munich, drops 192.0.2.0/24 and adds
	// 198.51.100.0/24; it stores 10.0.2.0/24 on its own.
	b := mustOpen(writeExampleDB(exampleDir, "b-moved.mmdb",
		[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("10.0.2.0/24"), netip.MustParsePrefix("10.0.3.0/24"), netip.MustParsePrefix("198.51.100.0/24")},
		[]string{"Berlin", "Berlin", "Munich", "Hamburg"}))
	defer b.Close()
	d := mmdbtool.NewDiffer(a, b, mmdbtool.DiffOptions{})
	for x, err := range d.All() {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(x.Prefix, x.Change)
	}
	fmt.Printf("%+v\n", d.Counts())
	// Output:
	// 10.0.3.0/24 changed
	// 192.0.2.0/24 removed
	// 198.51.100.0/24 added
	// {Added:1 Removed:1 Changed:1}
}

func ExampleDiffer_AppendJSON() {
	a := mustOpen(examplePath)
	defer a.Close()
	b := mustOpen(writeExampleDB(exampleDir, "b-potsdam.mmdb",
		[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("10.0.2.0/23")},
		[]string{"Berlin", "Potsdam"}))
	defer b.Close()
	d := mmdbtool.NewDiffer(a, b, mmdbtool.DiffOptions{})
	var line []byte
	for x, err := range d.All() {
		if err != nil {
			log.Fatal(err)
		}
		if line, err = d.AppendJSON(line[:0], x); err != nil {
			log.Fatal(err)
		}
		os.Stdout.Write(line)
	}
	// Output:
	// {"network":"10.0.2.0/23","change":"changed","a":{"city":{"names":{"en":"Berlin"}},"country":{"iso_code":"DE"}},"b":{"city":{"names":{"en":"Potsdam"}},"country":{"iso_code":"DE"}}}
	// {"network":"192.0.2.0/24","change":"removed","a":{"city":{"names":{"en":"Hamburg"}},"country":{"iso_code":"DE"}}}
}

func ExampleVerify() {
	rep, err := mmdbtool.Verify(examplePath)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("problems:", rep.Err())
	fmt.Println("warnings:", rep.Warnings)
	fmt.Println(rep.Metadata.DatabaseType, rep.Metadata.NodeCount, "nodes")
	// Output:
	// problems: <nil>
	// warnings: []
	// Example-City 47 nodes
}

func ExampleInspect() {
	st, err := mmdbtool.Inspect(examplePath)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("distinct records:", st.DistinctRecords)
	for l, n := range st.IPv4 {
		if n > 0 {
			fmt.Printf("/%d: %d networks\n", l, n)
		}
	}
	// Output:
	// distinct records: 2
	// /23: 1 networks
	// /24: 2 networks
}

func ExampleParseAliases() {
	a, err := mmdbtool.ParseAliases("teredo")
	fmt.Println(a, err)
	_, err = mmdbtool.ParseAliases("some")
	fmt.Println(err)
	// Output:
	// teredo <nil>
	// aliases "some": want none, teredo or all
}

func ExampleFromBytes() {
	b, err := os.ReadFile(examplePath) // a small file; Open maps large ones
	if err != nil {
		log.Fatal(err)
	}
	f, err := mmdbtool.FromBytes("in memory", b)
	if err != nil {
		log.Fatal(err)
	}
	for n, err := range f.Networks(mmdbtool.AliasesNone) {
		if err != nil {
			log.Fatal(err)
		}
		v, err := f.Record(n.Offset)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(n.Prefix, v.(format.Map)["city"])
		break
	}
	_, err = mmdbtool.FromBytes("junk", []byte("not a database"))
	fmt.Println(err != nil)
	// Output:
	// 10.0.0.0/24 map[names:map[en:Berlin]]
	// true
}

func ExampleFlatten() {
	rec := format.Map{
		"city":         format.Map{"names": format.Map{"en": format.String("Berlin")}},
		"subdivisions": format.Slice{format.Map{"iso_code": format.String("BE")}},
		"a.b":          format.Uint32(7),
		"location":     format.Map{"latitude": format.Float64(52.52)},
	}
	cells := map[string]string{}
	var cols []string
	mmdbtool.Flatten(rec, func(path string, leaf format.Value) {
		cols = append(cols, path)
		cells[path] = mmdbtool.LeafText(leaf)
	})
	slices.SortFunc(cols, mmdbtool.CompareColumns)
	for _, c := range cols {
		fmt.Printf("%s %q = %s\n", c, mmdbtool.SplitColumn(c), cells[c])
	}
	// Output:
	// a\.b ["a.b"] = 7
	// city.names.en ["city" "names" "en"] = Berlin
	// location.latitude ["location" "latitude"] = 52.52
	// subdivisions.0.iso_code ["subdivisions" "0" "iso_code"] = BE
}

func ExampleOpen() {
	f, err := mmdbtool.Open(examplePath) // mapped, not read
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	md := f.Metadata()
	fmt.Println(md.DatabaseType, md.IPVersion, f.Nodes(), "nodes")
	_, err = mmdbtool.Open(exampleDir)
	fmt.Println(errors.Is(err, reader.ErrNotRegular))
	// Output:
	// Example-City 4 47 nodes
	// true
}
