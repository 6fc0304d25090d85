package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/kv"
	"github.com/ipatlas/ipatlas/mmdbjson"
	"github.com/ipatlas/ipatlas/schema"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// compress returns data compressed as compression ("none", "gzip", "zstd").
func compress(t testing.TB, data []byte, compression string) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch compression {
	case "none":
		return data
	case "gzip":
		w := gzip.NewWriter(&buf)
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case "zstd":
		w, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readAll parses path with ReadFile and returns the decoded record of
// every network and the line it came from.
func readAll(t testing.TB, path string, opts Options) (map[netip.Prefix]format.Value, map[netip.Prefix]int, Stats, error) {
	t.Helper()
	recs := map[netip.Prefix]format.Value{}
	lines := map[netip.Prefix]int{}
	st, err := ReadFile(path, opts, func(p netip.Prefix, rec []byte, line int) error {
		v, n, err := format.NewDecoder(rec).Value(0)
		if err != nil || int(n) != len(rec) {
			t.Fatalf("%s:%d: record of %v does not decode: %v (%d of %d bytes)", path, line, p, err, n, len(rec))
		}
		if _, dup := recs[p]; dup {
			t.Fatalf("%s:%d: network %v given twice", path, line, p)
		}
		recs[p], lines[p] = v, line
		return nil
	})
	return recs, lines, st, err
}

// sampleInferences is what testdata/sample.* hold, written out by hand: the
// network, its line, the Inference and the extra columns.
func sampleWant(t *testing.T) (map[netip.Prefix]format.Value, map[netip.Prefix]int) {
	type want struct {
		nets  []string
		line  int
		in    schema.Inference
		extra format.Map
	}
	reg := func(level, code, name string, c float64) schema.Region {
		return schema.Region{Level: level, Code: code, Name: name, Confidence: c, HasConfidence: true}
	}
	rows := []want{
		{[]string{"1.2.3.0/24"}, 2, schema.Inference{
			Regions: []schema.Region{
				reg("country", "cn", "中国", 0.98), reg("province", "CN-SH", "上海市", 0.91),
				reg("city", "", "上海", 0.9), reg("district", "", "浦东新区", 0.62),
				reg("street", "", `Lane 1, "Old" Street`, 0.41), reg("community", "", "陆家嘴社区", 0.2),
			},
			Latitude: 31.22, Longitude: 121.54, HasLocation: true, AccuracyRadiusKm: 5, HasAccuracy: true,
			Source: "bertgeo", ModelVersion: "2026-11", NamesLang: "zh-CN",
		}, nil},
		{[]string{"1.2.4.0/24", "1.2.5.0/25"}, 3, schema.Inference{
			Regions: []schema.Region{
				reg("country", "RU", "Россия", 0.9), reg("province", "RU-MOW", "Москва", 0.8), reg("city", "", "Москва", 0.7),
			},
			Latitude: 55.75, Longitude: 37.62, HasLocation: true, AccuracyRadiusKm: 20, HasAccuracy: true,
			Confidence: 0.7, HasConfidence: true, Source: "hmcgeo", NamesLang: "ru",
		}, nil},
		{[]string{"2001:db8::/48"}, 5, schema.Inference{
			Regions: []schema.Region{reg("country", "EG", "مصر", 0.95)},
			Source:  "ip2vec", NamesLang: "ar",
		}, nil},
		{[]string{"10.0.0.1/32"}, 6, schema.Inference{
			Latitude: -33.87, Longitude: 151.21, HasLocation: true, AccuracyRadiusKm: 100, HasAccuracy: true,
			Confidence: 0.3, HasConfidence: true, Source: "test",
		}, nil},
	}
	recs := map[netip.Prefix]format.Value{}
	lines := map[netip.Prefix]int{}
	for _, w := range rows {
		rec, err := w.in.Record(nil)
		if err != nil {
			t.Fatalf("want %v: %v", w.nets, err)
		}
		for _, n := range w.nets {
			p := netip.MustParsePrefix(n)
			recs[p], lines[p] = rec, w.line
		}
	}
	// The last row's record, written out field by field.
	france := netip.MustParsePrefix("2001:db8:1::1/128")
	en := func(s string) format.Map { return format.Map{"en": format.String(s)} }
	recs[france] = format.Map{
		"continent":    format.Map{"code": format.String("EU"), "names": en("Europe")},
		"country":      format.Map{"iso_code": format.String("FR"), "names": en("France"), "confidence": format.Uint16(97)},
		"subdivisions": format.Slice{format.Map{"iso_code": format.String("IDF"), "names": en("Île-de-France"), "confidence": format.Uint16(90)}},
		"city":         format.Map{"names": en("Orléans"), "confidence": format.Uint16(80)},
		"location":     format.Map{"latitude": format.Float64(48.86), "longitude": format.Float64(2.35)},
		"ipatlas": format.Map{
			"regions": format.Slice{
				format.Map{"level": format.String("country"), "code": format.String("FR"), "name": format.String("France"), "confidence": format.Float64(0.97)},
				format.Map{"level": format.String("province"), "code": format.String("FR-IDF"), "name": format.String("Île-de-France"), "confidence": format.Float64(0.9)},
				format.Map{"level": format.String("city"), "name": format.String("Orléans"), "confidence": format.Float64(0.8)},
			},
			"confidence":    format.Float64(0.8),
			"source":        format.String("test"),
			"model_version": format.String("v1"),
			"extra":         format.Map{"asn": format.String("AS3215")},
		},
	}
	lines[france] = 7
	return recs, lines
}

// sampleOpts are the options the sample files are read with.
var sampleOpts = Options{ExtraColumns: []string{"asn"}, Source: "test"}

// TestSampleAllFormats reads the hand-written sample in every format and
// compression and compares the records with the ones worked out by hand.
func TestSampleAllFormats(t *testing.T) {
	want, wantLines := sampleWant(t)
	// The raw form of the same records, one per network, in line order.
	var raw bytes.Buffer
	rawLines := map[netip.Prefix]int{}
	nets := slices.SortedFunc(func(yield func(netip.Prefix) bool) {
		for p := range want {
			if !yield(p) {
				return
			}
		}
	}, func(a, b netip.Prefix) int { return wantLines[a]*1000 + a.Bits() - wantLines[b]*1000 - b.Bits() })
	for i, p := range nets {
		fmt.Fprintf(&raw, `{"network":%q,"record":%s}`+"\n", p, mmdbjson.AppendJSON(nil, want[p]))
		rawLines[p] = i + 1
	}
	dir := t.TempDir()
	for _, file := range []string{"sample.csv", "sample.tsv", "sample.jsonl", "sample.raw.jsonl"} {
		var data []byte
		lines := wantLines
		switch file {
		case "sample.raw.jsonl":
			data, lines = raw.Bytes(), rawLines
		case "sample.jsonl": // no header line
			lines = map[netip.Prefix]int{}
			for p, l := range wantLines {
				lines[p] = l - 1
			}
		}
		if data == nil {
			var err error
			if data, err = os.ReadFile(filepath.Join("testdata", file)); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct{ compression, ext string }{{"none", ""}, {"gzip", ".gz"}, {"zstd", ".zst"}} {
			t.Run(file+c.ext, func(t *testing.T) {
				path := writeFile(t, dir, file+c.ext, compress(t, data, c.compression))
				got, gotLines, st, err := readAll(t, path, sampleOpts)
				if err != nil {
					t.Fatalf("ReadFile: %v", err)
				}
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if st.Bytes != fi.Size() {
					t.Errorf("Stats.Bytes = %d, the file has %d bytes", st.Bytes, fi.Size())
				}
				if st.Rows != len(slices.Compact(slices.Sorted(func(yield func(int) bool) {
					for _, l := range lines {
						if !yield(l) {
							return
						}
					}
				}))) {
					t.Errorf("Stats.Rows = %d", st.Rows)
				}
				if len(got) != len(want) {
					t.Errorf("%d networks, want %d", len(got), len(want))
				}
				for p, w := range want {
					if !format.Equal(got[p], w) {
						t.Errorf("%v: got  %s\nwant %s", p, mmdbjson.AppendJSON(nil, got[p]), mmdbjson.AppendJSON(nil, w))
					}
					if gotLines[p] != lines[p] {
						t.Errorf("%v: line %d, want %d", p, gotLines[p], lines[p])
					}
				}
			})
		}
	}
}

// TestOptionsOverrideExtension reads a gzipped CSV under a name that says
// neither.
func TestOptionsOverrideExtension(t *testing.T) {
	data := testutil.ReadFile(t, "testdata/sample.csv")
	path := writeFile(t, t.TempDir(), "rows.dat", compress(t, data, "gzip"))
	if _, _, _, err := readAll(t, path, sampleOpts); err == nil || !strings.Contains(err.Error(), "cannot tell the format") {
		t.Fatalf("ReadFile without a format: %v", err)
	}
	o := sampleOpts
	o.Format, o.Compression = "csv", "gzip"
	got, _, _, err := readAll(t, path, o)
	if err != nil || len(got) != 6 {
		t.Fatalf("ReadFile = %d networks, %v; want 6", len(got), err)
	}
	o.Compression = "zstd"
	if _, _, _, err := readAll(t, path, o); err == nil || !strings.Contains(err.Error(), "zstd") {
		t.Fatalf("gzip read as zstd: %v, want a zstd error", err)
	}
}

// dump returns every live entry of the store as text, to compare stores.
func dump(t *testing.T, st *kv.Store) []string {
	t.Helper()
	snap, err := st.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var out []string
	for e, err := range snap.All() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %v %x", e.Layer.Name, e.Prefix, e.Value))
	}
	return out
}

// short lists the layers and networks of a dump, without the records.
func short(dump []string) string {
	var out []string
	for _, e := range dump {
		f := strings.Fields(e)
		out = append(out, f[0]+" "+f[1])
	}
	return strings.Join(out, ", ")
}

func openStore(t *testing.T) *kv.Store {
	t.Helper()
	st, err := kv.Open(t.TempDir(), kv.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

const csvHeader = "network,country,country_code,country_confidence,province,province_code,city,latitude,longitude,accuracy_radius_km,confidence,names_lang\n"
const goodCSVRow = "1.2.3.0/24,China,CN,0.98,Shanghai,CN-SH,Shanghai,31.22,121.54,5,0.9,\n"
const goodJSONRow = `{"network":"1.2.3.0/24","country_code":"CN","latitude":31.22,"longitude":121.54}` + "\n"
const goodRawRow = `{"network":"1.2.3.0/24","record":{"country":{"iso_code":"CN"}}}` + "\n"

// TestBadRows checks, for each kind of bad row, the error's file, line and
// field, and that the rejected file leaves the store as it was.
func TestBadRows(t *testing.T) {
	tests := []struct {
		name  string
		file  string // its extension picks the format
		data  string
		opts  Options
		line  int
		field string
		msg   string
	}{
		{"bad address", "a.csv", csvHeader + goodCSVRow + "1.2.3.999,China,CN,,,,,,,,,\n", Options{}, 3, "network", `bad address "1.2.3.999"`},
		{"prefix length", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/33,China,CN,,,,,,,,,\n", Options{}, 3, "network", "bad CIDR"},
		{"host bits", "a.csv", csvHeader + goodCSVRow + "1.2.4.1/24,China,CN,,,,,,,,,\n", Options{}, 3, "network", "host bits set"},
		{"range reversed", "a.csv", csvHeader + goodCSVRow + "1.2.5.0-1.2.4.0,China,CN,,,,,,,,,\n", Options{}, 3, "network", "is after last address"},
		{"range mixed families", "a.csv", csvHeader + goodCSVRow + "1.2.4.0-2001:db8::,China,CN,,,,,,,,,\n", Options{}, 3, "network", "different families"},
		{"confidence above 1", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CN,,,,,,,,1.5,\n", Options{}, 3, "confidence", "outside [0, 1] (got 1.5)"},
		{"level confidence negative", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CN,-0.1,,,,,,,,\n", Options{}, 3, "country_confidence", "outside [0, 1]"},
		{"confidence not a number", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CN,high,,,,,,,,\n", Options{}, 3, "country_confidence", `"high" is not a number`},
		{"latitude", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CN,,,,,95,0,,,\n", Options{}, 3, "latitude", "outside [-90, 90] (got 95)"},
		{"longitude", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CN,,,,,0,-180.5,,,\n", Options{}, 3, "longitude", "outside [-180, 180]"},
		{"latitude alone", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CN,,,,,10,,,,\n", Options{}, 3, "longitude", "missing"},
		{"child without parent", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CN,,,,Shanghai,,,,,\n", Options{}, 3, "city", "without its parent level province"},
		{"region without name or code", "a.csv", "network,country,province_confidence\n1.2.4.0/24,China,0.5\n", Options{}, 2, "province", "neither a name nor a code"},
		{"country code", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CHN,,,,,,,,,\n", Options{}, 3, "country_code", "not an ISO 3166-1 alpha-2"},
		{"negative accuracy", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CN,,,,,,,-5,,\n", Options{}, 3, "accuracy_radius_km", "negative"},
		{"accuracy too big", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CN,,,,,,,70000,,\n", Options{}, 3, "accuracy_radius_km", "more than 65535"},
		{"accuracy fraction", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CN,,,,,,,2.5,,\n", Options{}, 3, "accuracy_radius_km", "not a non-negative integer"},
		{"names_lang", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CN,,,,,,,,,zh_CN\n", Options{}, 3, "names_lang", "not a language tag"},
		{"bad UTF-8", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,Chin\xffa,CN,,,,,,,,,\n", Options{}, 3, "country", "invalid UTF-8"},
		{"no region, no location", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,,,,,,,,,,0.5,\n", Options{}, 3, "regions", "neither a region nor a location"},
		{"duplicate network", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China,CN,,,,,,,,,\n" + "1.2.3.0/24,Japan,JP,,,,,,,,,\n", Options{}, 4, "network", "duplicate network 1.2.3.0/24 with different data"},
		{"duplicate inside a range", "a.csv", csvHeader + goodCSVRow + "1.2.2.128-1.2.3.255,Japan,JP,,,,,,,,,\n", Options{}, 3, "network", "duplicate network 1.2.3.0/24"},
		{"unknown column", "a.csv", "network,country,colour\n1.2.3.0/24,China,red\n", Options{}, 1, "colour", "unknown column"},
		{"extra column of another file", "a.csv", "network,country,colour\n1.2.3.0/24,China,red\n", Options{ExtraColumns: []string{"asn"}}, 1, "colour", "unknown column"},
		{"missing network column", "a.csv", "country,country_code\nChina,CN\n", Options{}, 1, "network", "missing column"},
		{"header column twice", "a.csv", "network,country,country\n1.2.3.0/24,a,b\n", Options{}, 1, "country", "twice"},
		{"empty file", "a.csv", "", Options{}, 1, "", "header row is required"},
		{"field count", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,China\n", Options{}, 3, "", "2 fields, the header has 12"},
		{"bare quote", "a.csv", csvHeader + goodCSVRow + "1.2.4.0/24,Chi\"na,CN,,,,,,,,,\n", Options{}, 3, "", "bad CSV"},
		{"custom level unknown", "a.csv", "network,country,city\n1.2.3.0/24,China,Shanghai\n", Options{Levels: []string{"country", "region"}}, 1, "city", "unknown column"},
		{"tsv field count", "a.tsv", "network\tcountry_code\n1.2.3.0/24\tCN\n1.2.4.0/24\n", Options{}, 3, "", "1 fields, the header has 2"},
		{"latitude with a digit separator", "a.tsv", "network\tcountry_code\tlatitude\tlongitude\n1.2.4.0/24\tCN\t1_0\t1\n", Options{}, 2, "latitude", `"1_0" is not a number`},
		{"long bad latitude", "a.tsv", "network\tcountry_code\tlatitude\tlongitude\n1.2.4.0/24\tCN\t" + strings.Repeat("x", 100000) + "\t1\n", Options{}, 2, "latitude", `"` + strings.Repeat("x", 64) + `"... (100000 bytes) is not a number`},
		{"hexadecimal longitude", "a.tsv", "network\tcountry_code\tlatitude\tlongitude\n1.2.4.0/24\tCN\t1\t0x1p4\n", Options{}, 2, "longitude", `"0x1p4" is not a number`},
		{"tsv bad latitude", "a.tsv", "network\tcountry_code\tlatitude\tlongitude\n\n1.2.4.0/24\tCN\tnorth\t1\n", Options{}, 3, "latitude", `"north" is not a number`},
		{"bad JSON", "a.jsonl", goodJSONRow + `{"network":"1.2.4.0/24",}` + "\n", Options{}, 2, "", "bad JSON at column 25"},
		{"JSON not an object", "a.jsonl", goodJSONRow + "\n[1]\n", Options{}, 3, "", "want a JSON object, got an array"},
		{"JSON invalid UTF-8", "a.jsonl", goodJSONRow + "{\"network\":\"1.2.4.0/24\",\"country\":\"\xff\"}\n", Options{}, 2, "", "invalid UTF-8"},
		{"JSON duplicate key", "a.jsonl", goodJSONRow + `{"network":"1.2.4.0/24","country_code":"CN","country_code":"JP"}` + "\n", Options{}, 2, "", `duplicate key "country_code"`},
		{"JSON unknown key", "a.jsonl", goodJSONRow + `{"network":"1.2.4.0/24","country_code":"CN","colour":"red"}` + "\n", Options{}, 2, "colour", "unknown key"},
		{"JSON latitude string", "a.jsonl", goodJSONRow + `{"network":"1.2.4.0/24","latitude":"31","longitude":1}` + "\n", Options{}, 2, "latitude", "want a number, got a string"},
		{"JSON name number", "a.jsonl", goodJSONRow + `{"network":"1.2.4.0/24","country":5}` + "\n", Options{}, 2, "country", "want a string"},
		{"JSON unknown level", "a.jsonl", goodJSONRow + `{"network":"1.2.4.0/24","regions":[{"level":"planet","name":"Earth"}]}` + "\n", Options{}, 2, "regions[0].level", `"planet" is not a level`},
		{"JSON level twice", "a.jsonl", goodJSONRow + `{"network":"1.2.4.0/24","regions":[{"level":"country","code":"CN"},{"level":"country","code":"JP"}]}` + "\n", Options{}, 2, "regions[1].level", "given twice"},
		{"JSON region key", "a.jsonl", goodJSONRow + `{"network":"1.2.4.0/24","regions":[{"level":"country","iso":"CN"}]}` + "\n", Options{}, 2, "regions[0].iso", "unknown key"},
		{"JSON both forms", "a.jsonl", goodJSONRow + `{"network":"1.2.4.0/24","country":"China","regions":[{"level":"country","code":"CN"}]}` + "\n", Options{}, 2, "country", "level keys and a regions array"},
		{"JSON child without parent", "a.jsonl", goodJSONRow + `{"network":"1.2.4.0/24","regions":[{"level":"country","code":"CN"},{"level":"city","name":"Shanghai"}]}` + "\n", Options{}, 2, "city", "without its parent level province"},
		{"JSON network number", "a.jsonl", goodJSONRow + `{"network":16909056,"country_code":"CN"}` + "\n", Options{}, 2, "network", "want a string"},
		{"raw bad $type", "a.raw.jsonl", goodRawRow + `{"network":"1.2.4.0/24","record":{"a":{"$type":"int64","value":1}}}` + "\n", Options{}, 2, "", `unknown $type "int64"`},
		{"raw out of range", "a.raw.jsonl", goodRawRow + `{"network":"1.2.4.0/24","record":{"a":{"$type":"uint16","value":65536}}}` + "\n", Options{}, 2, "", "out of range"},
		{"raw record not a map", "a.raw.jsonl", goodRawRow + `{"network":"1.2.4.0/24","record":[1]}` + "\n", Options{}, 2, "record", "want an object"},
		{"raw unknown key", "a.raw.jsonl", goodRawRow + `{"network":"1.2.4.0/24","record":{},"x":1}` + "\n", Options{}, 2, "x", "unknown key"},
		{"raw trailing data", "a.raw.jsonl", goodRawRow + `{"network":"1.2.4.0/24","record":{}} x` + "\n", Options{}, 2, "", "data after the value"},
		{"raw bad network", "a.raw.jsonl", goodRawRow + `{"network":"1.2.4.0/24/8","record":{}}` + "\n", Options{}, 2, "network", "bad CIDR"},
	}
	st := openStore(t)
	base := writeFile(t, t.TempDir(), "base.csv", []byte(csvHeader+goodCSVRow))
	if _, err := IngestFile(context.Background(), st, "base", 1, kv.Replace, base, Options{}); err != nil {
		t.Fatal(err)
	}
	before := dump(t, st)
	if len(before) != 1 {
		t.Fatalf("store after the base file: %v", before)
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, fmt.Sprint(i, tt.file), []byte(tt.data))
			_, err := IngestFile(context.Background(), st, "x", 2, kv.Upsert, path, tt.opts)
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("IngestFile error %v (%T), want a *RowError", err, err)
			}
			if re.File != path || re.Line != tt.line || re.Field != tt.field || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q (line %d, field %q); want line %d, field %q, message with %q", err, re.Line, re.Field, tt.line, tt.field, tt.msg)
			}
			prefix := fmt.Sprintf("%s:%d: ", path, tt.line)
			if tt.field != "" {
				prefix += tt.field + ": "
			}
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("error %q does not start with %q", err, prefix)
			}
			if after := dump(t, st); !slices.Equal(after, before) {
				t.Fatalf("store changed by a rejected file:\nbefore %s\nafter  %s", short(before), short(after))
			}
			// The same file without a store gives the same error, except
			// for duplicates, which only IngestFile looks for.
			if !strings.HasPrefix(tt.name, "duplicate") {
				_, err2 := ReadFile(path, tt.opts, func(netip.Prefix, []byte, int) error { return nil })
				if err2 == nil || err2.Error() != err.Error() {
					t.Fatalf("ReadFile error %v, IngestFile error %v", err2, err)
				}
			}
		})
	}
}

// TestSkipBadRows checks that SkipBadRows lands the good rows, whole, and
// reports the bad ones.
func TestSkipBadRows(t *testing.T) {
	data := csvHeader +
		"1.2.3.0/24,China,CN,,,,,,,,,\n" + // 2
		"1.2.4.0/24,China,CNX,,,,,,,,,\n" + // 3: bad code
		"1.2.5.0-1.2.6.255,Japan,JP,,,,,,,,,\n" + // 4: two networks
		"1.2.3.0/24,China,CN,,,,,,,,,\n" + // 5: same data again: fine
		"1.2.2.0-1.2.3.127,Korea,KR,,,,,,,,,\n" + // 6: 1.2.3.0/25 is new, 1.2.2.0/24 too: fine
		"1.2.3.0/25,Japan,JP,,,,,,,,,\n" + // 7: duplicate of row 6's /25
		"2001:db8::/32,France,FR,,,,,,,,,\n" // 8
	st := openStore(t)
	path := writeFile(t, t.TempDir(), "skip.csv", []byte(data))
	stats, err := IngestFile(context.Background(), st, "s", 0, kv.Replace, path, Options{SkipBadRows: true})
	if err != nil {
		t.Fatalf("IngestFile: %v", err)
	}
	if stats.Rows != 7 || stats.Skipped != 2 || stats.Networks != 6 || len(stats.Errors) != 2 {
		t.Fatalf("Stats = %+v, want 7 rows, 2 skipped, 6 networks, 2 errors", stats)
	}
	for i, want := range []struct {
		line  int
		field string
	}{{3, "country_code"}, {7, "network"}} {
		var re *RowError
		if !errors.As(stats.Errors[i], &re) || re.Line != want.line || re.Field != want.field {
			t.Errorf("Errors[%d] = %v, want line %d field %s", i, stats.Errors[i], want.line, want.field)
		}
	}
	var got []string
	for _, e := range dump(t, st) {
		got = append(got, strings.Fields(e)[1])
	}
	want := []string{"1.2.2.0/24", "1.2.3.0/24", "1.2.3.0/25", "1.2.5.0/24", "1.2.6.0/24", "2001:db8::/32"}
	if !slices.Equal(got, want) {
		t.Fatalf("store holds %v, want %v", got, want)
	}
}

// TestSkipBadRowsCap checks that Errors stops at MaxReportedErrors while
// Skipped counts every bad row.
func TestSkipBadRowsCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("network,country_code\n")
	for i := range 150 {
		fmt.Fprintf(&b, "10.0.%d.0/24,XXX\n", i)
	}
	b.WriteString("10.1.0.0/16,NZ\n")
	path := writeFile(t, t.TempDir(), "cap.csv", []byte(b.String()))
	got, _, stats, err := readAll(t, path, Options{SkipBadRows: true})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Skipped != 150 || len(stats.Errors) != MaxReportedErrors || stats.Rows != 151 || len(got) != 1 {
		t.Fatalf("Stats = %d rows, %d skipped, %d errors, %d networks", stats.Rows, stats.Skipped, len(stats.Errors), len(got))
	}
	if re := stats.Errors[99].(*RowError); re.Line != 101 {
		t.Fatalf("Errors[99] is line %d, want 101", re.Line)
	}
}

// TestDuplicatesPastBloomGrowth writes more networks than the first Bloom
// filter takes, then repeats early ones: the same data is accepted and
// counted once, different data is rejected at its line.
func TestDuplicatesPastBloomGrowth(t *testing.T) {
	const n = firstBloomItems + 5000
	var b strings.Builder
	b.WriteString("network,country_code\n")
	for i := range n {
		fmt.Fprintf(&b, "10.%d.%d.%d,CN\n", i>>16, i>>8&0xFF, i&0xFF)
	}
	b.WriteString("10.0.0.7,CN\n10.0.200.1,CN\n")
	good := b.String()
	st := openStore(t)
	dir := t.TempDir()
	stats, err := IngestFile(context.Background(), st, "d", 0, kv.Replace, writeFile(t, dir, "good.csv", []byte(good)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Rows != n+2 || stats.Networks != n {
		t.Fatalf("Stats = %+v, want %d rows, %d networks", stats, n+2, n)
	}
	before := dump(t, st)
	bad := good + "10.0.3.4,JP\n"
	_, err = IngestFile(context.Background(), st, "d", 0, kv.Replace, writeFile(t, dir, "bad.csv", []byte(bad)), Options{})
	var re *RowError
	if !errors.As(err, &re) || re.Line != n+4 || re.Field != "network" {
		t.Fatalf("IngestFile error %v, want line %d, field network", err, n+4)
	}
	if after := dump(t, st); !slices.Equal(before, after) {
		t.Fatalf("the rejected file changed the store")
	}
}

// TestIngestIdempotent checks that the same file and options are ingested
// once, and that other options make another input.
func TestIngestIdempotent(t *testing.T) {
	st := openStore(t)
	path := writeFile(t, t.TempDir(), "a.csv", []byte(csvHeader+goodCSVRow))
	ctx := context.Background()
	if _, err := IngestFile(ctx, st, "l", 0, kv.Upsert, path, Options{}); err != nil {
		t.Fatal(err)
	}
	before := dump(t, st)
	_, err := IngestFile(ctx, st, "l", 0, kv.Upsert, path, Options{})
	if !errors.Is(err, kv.ErrAlreadyIngested) {
		t.Fatalf("second IngestFile: %v, want kv.ErrAlreadyIngested", err)
	}
	if after := dump(t, st); !slices.Equal(before, after) {
		t.Fatalf("store changed")
	}
	if _, err := IngestFile(ctx, st, "l", 0, kv.Upsert, path, Options{Source: "other"}); err != nil {
		t.Fatalf("IngestFile with another source: %v", err)
	}
	if after := dump(t, st); slices.Equal(before, after) {
		t.Fatalf("another source name did not change the record")
	}
}

// TestIngestCancelled checks that a cancelled context aborts the ingest.
func TestIngestCancelled(t *testing.T) {
	st := openStore(t)
	path := writeFile(t, t.TempDir(), "a.csv", []byte(csvHeader+goodCSVRow))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := IngestFile(ctx, st, "l", 0, kv.Upsert, path, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("IngestFile: %v, want context.Canceled", err)
	}
	if d := dump(t, st); len(d) != 0 {
		t.Fatalf("store holds %v", d)
	}
}

// TestReadFileCallbackError checks that the callback's error stops the
// reading and comes back as is.
func TestReadFileCallbackError(t *testing.T) {
	path := writeFile(t, t.TempDir(), "a.csv", []byte(csvHeader+goodCSVRow+"1.2.4.0/24,Japan,JP,,,,,,,,,\n"))
	stop := errors.New("stop")
	calls := 0
	_, err := ReadFile(path, Options{}, func(netip.Prefix, []byte, int) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Fatalf("ReadFile = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

// TestCustomLevels reads a file with its own hierarchy.
func TestCustomLevels(t *testing.T) {
	data := "network,country,country_code,state,state_code,state_confidence,county,city,city_confidence\n" +
		"1.2.3.0/24,United States,US,California,US-CA,0.9,Santa Clara,San José,0.7\n"
	path := writeFile(t, t.TempDir(), "us.csv", []byte(data))
	levels := []string{"country", "state", "county", "city", "zip"}
	got, _, _, err := readAll(t, path, Options{Levels: levels})
	if err != nil {
		t.Fatal(err)
	}
	in := schema.Inference{Regions: []schema.Region{
		{Level: "country", Code: "US", Name: "United States"},
		{Level: "state", Code: "US-CA", Name: "California", Confidence: 0.9, HasConfidence: true},
		{Level: "county", Name: "Santa Clara"},
		{Level: "city", Name: "San José", Confidence: 0.7, HasConfidence: true},
	}}
	want, err := in.Record(levels)
	if err != nil {
		t.Fatal(err)
	}
	if p := netip.MustParsePrefix("1.2.3.0/24"); !format.Equal(got[p], want) {
		t.Fatalf("got  %s\nwant %s", mmdbjson.AppendJSON(nil, got[p]), mmdbjson.AppendJSON(nil, want))
	}
	if _, err := ReadFile(path, Options{Levels: []string{"country", "latitude"}}, nil); err == nil || !strings.Contains(err.Error(), "levels") {
		t.Fatalf("levels with a reserved name: %v", err)
	}
}

// TestProgressLine checks the progress text for a fixed moment.
func TestProgressLine(t *testing.T) {
	cr := &countingReader{}
	cr.n.Store(1_000_000)
	p := newProgress(&bytes.Buffer{}, "/data/bertgeo.csv.gz", 4_000_000, cr)
	got := p.line(1000, p.start.Add(2*time.Second))
	want := "bertgeo.csv.gz: 1000 rows, 500 rows/s, 1.0/4.0 MB, ETA 6s"
	if got != want {
		t.Fatalf("line = %q, want %q", got, want)
	}
	// A clock the test moves: a line only once a second has passed, each
	// rewriting the last, and a final line ending the output.
	var buf bytes.Buffer
	q := newProgress(&buf, "x.csv", 4_000_000, cr)
	now := q.start
	q.now = func() time.Time { return now }
	steps := []struct {
		after time.Duration
		rows  int
		want  string
	}{
		{500 * time.Millisecond, 10, ""},
		{1500 * time.Millisecond, 3000, // ETA 4.5s, rounded to the second
			"\rx.csv: 3000 rows, 2000 rows/s, 1.0/4.0 MB, ETA 5s\x1b[K"},
		{2 * time.Second, 4000, ""},
		{3 * time.Second, 6000, "\rx.csv: 6000 rows, 2000 rows/s, 1.0/4.0 MB, ETA 9s\x1b[K"},
	}
	for _, st := range steps {
		buf.Reset()
		now = q.start.Add(st.after)
		q.update(st.rows)
		if buf.String() != st.want {
			t.Fatalf("after %v: wrote %q, want %q", st.after, buf.String(), st.want)
		}
	}
	buf.Reset()
	q.finish(&Stats{Rows: 6000})
	if want := "\rx.csv: 6000 rows, 2000 rows/s, 1.0/4.0 MB, ETA 9s, done\x1b[K\n"; buf.String() != want {
		t.Fatalf("finish wrote %q, want %q", buf.String(), want)
	}
	// Nothing at all when no line was written.
	buf.Reset()
	r := newProgress(&buf, "x.csv", 10, cr)
	r.update(5)
	r.finish(&Stats{Rows: 5})
	if buf.Len() != 0 {
		t.Fatalf("progress wrote %q before a second passed", buf.String())
	}
}

// TestRowErrorText checks the "file:line: field: message" form.
func TestRowErrorText(t *testing.T) {
	tests := []struct {
		e    RowError
		want string
	}{
		{RowError{"a.csv", 3, "latitude", &schema.FieldError{Field: "latitude", Value: "95", Msg: "outside [-90, 90]"}}, "a.csv:3: latitude: outside [-90, 90] (got 95)"},
		{RowError{"a.csv", 3, "network", errors.New("bad")}, "a.csv:3: network: bad"},
		{RowError{"a.csv", 0, "", errors.New("bad")}, "a.csv: bad"},
		{RowError{"a.csv", 2, "city", &schema.FieldError{Field: "country", Msg: "m"}}, "a.csv:2: city: country: m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestCorruptCompressedFile checks that a truncated or corrupt compressed
// file is rejected whole, naming the file and the compression.
func TestCorruptCompressedFile(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t)
	tests := []struct{ name, sample, compression string }{
		{"trunc.jsonl.gz", "sample.jsonl", "gzip"},
		{"trunc.csv.zst", "sample.csv", "zstd"},
		{"trunc.tsv.gz", "sample.tsv", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := testutil.ReadFile(t, filepath.Join("testdata", tt.sample))
			z := compress(t, data, tt.compression)
			path := writeFile(t, dir, tt.name, z[:len(z)*2/3])
			_, err := IngestFile(context.Background(), st, "c", 0, kv.Upsert, path, sampleOpts)
			if err == nil || !strings.HasPrefix(err.Error(), path) || !strings.Contains(err.Error(), tt.compression) {
				t.Fatalf("IngestFile = %v, want an error naming %s and %s", err, path, tt.compression)
			}
			if d := dump(t, st); len(d) != 0 {
				t.Fatalf("store holds %s", short(d))
			}
		})
	}
}

// TestLongRecord checks that an unterminated quote or an endless line
// stops the file at maxLine bytes instead of reading it all into memory.
func TestLongRecord(t *testing.T) {
	defer func(n int) { maxLine = n }(maxLine)
	maxLine = 1 << 12
	long := strings.Repeat("x", 3*maxLine)
	dir := t.TempDir()
	tests := []struct{ name, data, msg string }{
		{"quote.csv", csvHeader + goodCSVRow + "1.2.4.0/24,\"China\n" + long + "\n" + goodCSVRow, "longer than 4096 bytes"},
		{"line.jsonl", goodJSONRow + long + "\n", ":2: line longer than 4096 bytes"},
		{"line.tsv", "network\tcountry\n" + long + "\n", ":2: line longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, dir, tt.name, []byte(tt.data))
			_, err := ReadFile(path, Options{SkipBadRows: true}, func(netip.Prefix, []byte, int) error { return nil })
			if err == nil || !strings.HasPrefix(err.Error(), path) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("ReadFile = %v, want an error with %q", err, tt.msg)
			}
		})
	}
	// Blank lines, more bytes of them than maxLine, are skipped: they made
	// "CSV record longer than" the next record.
	path := writeFile(t, dir, "blank.csv", []byte(csvHeader+strings.Repeat("\n", 3*maxLine)+goodCSVRow+strings.Repeat("\r\n", 3*maxLine)))
	rows := 0
	if _, err := ReadFile(path, Options{}, func(netip.Prefix, []byte, int) error { rows++; return nil }); err != nil || rows != 1 {
		t.Errorf("%d blank lines around a row: %d rows, %v; want 1 row", 3*maxLine, rows, err)
	}
}

// TestExtraColumns checks that declared extra columns land under
// ipatlas.extra as strings, empty and null ones left out.
func TestExtraColumns(t *testing.T) {
	tests := []struct {
		file, data string
		want       format.Value // ipatlas.extra, nil for none
	}{
		{"a.csv", "network,country_code,asn,isp\n1.2.3.0/24,CN,AS4812,China Telecom\n",
			format.Map{"asn": format.String("AS4812"), "isp": format.String("China Telecom")}},
		{"b.csv", "network,country_code,asn,isp\n1.2.3.0/24,CN,,\n", nil},
		{"c.tsv", "network\tcountry_code\tisp\n1.2.3.0/24\tCN\tChina Telecom\n", format.Map{"isp": format.String("China Telecom")}},
		{"d.jsonl", `{"network":"1.2.3.0/24","country_code":"CN","asn":4812,"isp":true}` + "\n",
			format.Map{"asn": format.String("4812"), "isp": format.String("true")}},
		{"e.jsonl", `{"network":"1.2.3.0/24","country_code":"CN","asn":null,"isp":""}` + "\n", nil},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := writeFile(t, dir, tt.file, []byte(tt.data))
			got, _, _, err := readAll(t, path, Options{ExtraColumns: []string{"asn", "isp"}})
			if err != nil {
				t.Fatal(err)
			}
			rec := got[netip.MustParsePrefix("1.2.3.0/24")].(format.Map)
			extra := rec["ipatlas"].(format.Map)["extra"]
			if tt.want == nil && extra != nil || tt.want != nil && !format.Equal(extra, tt.want) {
				t.Fatalf("ipatlas.extra = %s, want %s", mmdbjson.AppendJSON(nil, extra), mmdbjson.AppendJSON(nil, tt.want))
			}
		})
	}
	for _, bad := range [][]string{{"country"}, {"a", "a"}, {""}, {"regions"}} {
		if _, err := ReadFile(filepath.Join(dir, "a.csv"), Options{ExtraColumns: bad}, nil); err == nil || !strings.Contains(err.Error(), "extra column") {
			t.Errorf("ExtraColumns %q: %v, want an error", bad, err)
		}
	}
}
