package eval

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/mmdbtree"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
)

// fastLevels are the levels of the fast-path tests: Evaluate's with the
// default hierarchy.
var fastLevels = []string{"country", "subdivision", "city", "province", "district", "street", "community"}

// checkFastAnswer compares the fast path's answer for the record at off
// with decodeAnswer's (the reference); it reports whether the fast path
// handled the record.
func checkFastAnswer(t *testing.T, name string, f *fastDecoder, db *reader.Reader, off uint) bool {
	t.Helper()
	got, ok := f.answer(off, fastLevels)
	flat := false
	want, err := decodeAnswer(db.LookupOffset(uintptr(off)), &Layout{}, fastLevels, &flat)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("%s: record at %d: the fast path answers %+v, decodeAnswer fails: %v", name, off, got, err)
	}
	if flat {
		t.Fatalf("%s: record at %d: the fast path answers a record decodeAnswer reads as flat", name, off)
	}
	// The fast path ends the levels after the last that says something.
	full := *got
	full.levels = make([]levelAnswer, len(fastLevels))
	for i := range full.levels {
		full.levels[i] = got.level(i)
	}
	if !reflect.DeepEqual(&full, want) {
		t.Fatalf("%s: record at %d:\nfast %+v\nwant %+v", name, off, full, *want)
	}
	return true
}

// openFast opens the database at path with reader (for decodeAnswer and
// the networks) and with mmdbtree (for the fast path's decoder); both
// close when tb ends.
func openFast(tb testing.TB, path string) (*reader.Reader, *fastDecoder) {
	tb.Helper()
	db, err := reader.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	tree, err := mmdbtree.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tree.Close() })
	return db, newFastDecoder(tree.Dec)
}

// checkFastFile compares the fast path with decodeAnswer on every
// stride-th record of an MMDB file (in network order) and returns how
// many records it compared and how many the fast path handled.
func checkFastFile(t *testing.T, path string, stride int) (records, handled int) {
	t.Helper()
	db, f := openFast(t, path)
	seen := map[uintptr]bool{}
	for res := range db.Networks() {
		if res.Err() != nil || !res.Found() || seen[res.Offset()] {
			continue
		}
		seen[res.Offset()] = true
		if len(seen)%stride != 0 {
			continue
		}
		records++
		// Twice: the second time from the places kept.
		for range 2 {
			if checkFastAnswer(t, filepath.Base(path), f, db, uint(res.Offset())) {
				handled++
			}
		}
	}
	return records, handled / 2
}

// TestFastAnswerMatchesDecodeAnswer: on every record of the conformance
// databases, of databases built by ipatlas (with ipatlas.regions and
// confidences) and of GeoLite2-City, the fast path's answer, where it
// gives one, is decodeAnswer's. It handles every record of the built
// databases and those of GeoLite2-City but the few with neither a
// location nor a country (anonymous networks: decodeAnswer tries them as
// flat records).
func TestFastAnswerMatchesDecodeAnswer(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "mmdb-conformance", "test-data")
	files, _ := filepath.Glob(filepath.Join(dir, "*.mmdb"))
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no conformance databases in %s", dir)
		}
		t.Logf("no conformance databases in %s", dir)
	}
	for _, path := range files {
		if _, err := reader.Open(path); err != nil {
			continue // a broken file: eval fails at open, before any record
		}
		if _, err := mmdbtree.Open(path); err != nil {
			continue // Evaluate reads it without the fast path
		}
		n, h := checkFastFile(t, path, 1)
		t.Logf("%s: %d records, %d handled", filepath.Base(path), n, h)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	built := buildDB(t, t.TempDir(), "built", randomPlaces(rng, 300))
	if n, h := checkFastFile(t, built, 1); n == 0 || h != n {
		t.Errorf("built database: %d records, the fast path handled %d", n, h)
	}
	geolite := testutil.GeoLiteCity(t)
	// One record in 16 (the whole file takes half a minute).
	if n, h := checkFastFile(t, geolite, 16); n == 0 || float64(h) < 0.999*float64(n) {
		t.Errorf("GeoLite2-City: %d records, the fast path handled %d", n, h)
	} else {
		t.Logf("GeoLite2-City: %d records, %d handled", n, h)
	}
}

// fuzzDB wraps data as the data section of a one-node IPv4 database
// whose every address has the record at offset 0.
func fuzzDB(data []byte) ([]byte, error) {
	var b []byte
	b = format.AppendNode(b, 24, 1+16, 1+16)
	b = append(b, make([]byte, 16)...)
	b = append(b, data...)
	b = append(b, "\xab\xcd\xefMaxMind.com"...)
	e := format.NewEncoder()
	_, err := e.Encode(format.Map{
		"node_count": format.Uint32(1), "record_size": format.Uint16(24), "ip_version": format.Uint16(4),
		"database_type": format.String("fuzz"), "languages": format.Slice{}, "description": format.Map{},
		"binary_format_major_version": format.Uint16(2), "binary_format_minor_version": format.Uint16(0),
		"build_epoch": format.Uint64(0),
	})
	if err != nil {
		return nil, err
	}
	return append(b, e.Bytes()...), nil
}

// fuzzRecord encodes a GeoIP2-shaped record for the fuzz corpus.
func fuzzRecord(v format.Map) []byte {
	e := format.NewEncoder()
	if _, err := e.Encode(v); err != nil {
		panic(err)
	}
	return e.Bytes()
}

// FuzzFastAnswer: on any data section, the fast path answers the record
// at offset 0 as decodeAnswer does, or not at all; it never panics.
func FuzzFastAnswer(f *testing.F) {
	names := format.Map{"en": format.String("Paris"), "fr": format.String("Paris"), "xx": format.Slice{format.Bool(true)}}
	f.Add(fuzzRecord(format.Map{
		"country":      format.Map{"iso_code": format.String("FR"), "geoname_id": format.Uint32(3017382), "names": names, "confidence": format.Uint16(80)},
		"subdivisions": format.Slice{format.Map{"iso_code": format.String("IDF")}, format.Map{"names": names}},
		"city":         format.Map{"geoname_id": format.Uint64(2988507), "names": names},
		"location":     format.Map{"latitude": format.Float64(48.85), "longitude": format.Float64(2.35), "accuracy_radius": format.Uint16(20), "time_zone": format.String("Europe/Paris")},
		"ipatlas": format.Map{"regions": format.Slice{
			format.Map{"level": format.String("province"), "code": format.String("IDF"), "name": format.String("Île-de-France"), "confidence": format.Float64(0.5)},
			format.Map{"level": format.String("city"), "name": format.String("Lutèce"), "confidence": format.Float32(0.25)},
		}},
		"postal": format.Map{"code": format.String("75001")},
	}))
	f.Add(fuzzRecord(format.Map{"country": format.Map{"iso_code": format.String("US")}, "location": format.Map{"latitude": format.Float64(math.NaN())}}))
	f.Add(fuzzRecord(format.Map{"latitude": format.Float64(1), "longitude": format.Float64(2), "country_code": format.String("DE"), "city": format.String("Berlin")}))
	f.Add([]byte{0xe1, 0x43, 'a', 'b', 'c', 0x20, 0x05})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := fuzzDB(data)
		if err != nil {
			t.Fatal(err)
		}
		db, err := reader.OpenBytes(file)
		if err != nil {
			return
		}
		d := format.NewDecoder(data)
		fd := newFastDecoder(d)
		for i := range 2 {
			checkFastAnswer(t, fmt.Sprintf("fuzz (%d)", i), fd, db, 0)
		}
		// A record inside the data, where a pointer may lead back.
		if len(data) > 4 {
			off := uint(binary.BigEndian.Uint16(data[len(data)-2:])) % uint(len(data))
			checkFastAnswer(t, "fuzz (inner)", fd, db, off)
		}
	})
}
