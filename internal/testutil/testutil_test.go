package testutil

import (
	"bufio"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of
// ending the test, to test Need's rule.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                          {}
func (r *recorder) Skipf(format string, args ...any) { r.skipped = format }
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
}
func (r *recorder) Fatal(args ...any) { r.failed = "Fatal" }

func TestNeedRule(t *testing.T) {
	missing := errors.New("no such file")
	for _, tc := range []struct {
		ci         string
		err        error
		skip, fail bool
	}{
		{"", nil, false, false},
		{"true", nil, false, false},
		{"", missing, true, false},
		{"false", missing, true, false},
		{"true", missing, false, true},
	} {
		t.Setenv("CI", tc.ci)
		r := &recorder{TB: t}
		Need(r, "thing", tc.err, "get it")
		if (r.skipped != "") != tc.skip || (r.failed != "") != tc.fail {
			t.Errorf("CI=%q err=%v: skipped %q, failed %q; want skip %v, fail %v", tc.ci, tc.err, r.skipped, r.failed, tc.skip, tc.fail)
		}
	}
}

func TestErrorNotPanic(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func() error
		fail bool
	}{
		{"error", func() error { return errors.New("bad") }, false},
		{"nil", func() error { return nil }, true},
		{"panic", func() error { panic("boom") }, true},
	} {
		r := &recorder{TB: t}
		ErrorNotPanic(r, tc.f)
		if (r.failed != "") != tc.fail {
			t.Errorf("%s: failed %q, want failure %v", tc.name, r.failed, tc.fail)
		}
	}
}

func TestWriteFileWith(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.txt")
	if got := WriteFileWith(t, path, func(w *bufio.Writer) { w.WriteString("a\nb\n") }); got != path {
		t.Errorf("WriteFileWith returned %s, want %s", got, path)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\nb\n" {
		t.Errorf("file holds %q, %v", b, err)
	}
	r := &recorder{TB: t}
	WriteFileWith(r, filepath.Join(t.TempDir(), "missing", "f.txt"), func(w *bufio.Writer) {})
	if r.failed == "" {
		t.Error("WriteFileWith into a missing folder did not fail")
	}
}

func TestDirNames(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b", "a", ".c"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := DirNames(t, dir); !reflect.DeepEqual(got, []string{".c", "a", "b"}) {
		t.Errorf("DirNames = %q", got)
	}
}

func TestRequire(t *testing.T) {
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	if got := Require(r, "testutil.go", "x"); got != "testutil.go" || r.failed != "" {
		t.Errorf("Require of a present file = %q, failed %q", got, r.failed)
	}
	Require(r, filepath.Join(t.TempDir(), "absent"), "x")
	if r.failed == "" {
		t.Error("Require of an absent file under CI=true did not fail")
	}
}

// TestRoot checks the module root against this file's place in it
// (internal/testutil), found by another path than Root's walk.
func TestRoot(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Dir(filepath.Dir(wd))
	if got := Root(t); got != want {
		t.Errorf("Root = %s, want %s", got, want)
	}
	if got := DataPath(t, "a", "b.mmdb"); got != filepath.Join(want, "data", "a", "b.mmdb") {
		t.Errorf("DataPath = %s", got)
	}
}

func TestParseMmdblookup(t *testing.T) {
	// What mmdblookup prints for GeoIP2-City-Test.mmdb's 81.2.69.142
	// "location", plus an array, empty bytes and a string with " <".
	out := `
  {
    "accuracy_radius": 
      10 <uint16>
    "latitude": 
      51.514200 <double>
    "list": 
      [
        "a <b>" <utf8_string>
         <bytes>
        [
        ]
      ]
    "time_zone": 
      "Europe/London" <utf8_string>
  }
`
	v, err := ParseMmdblookup(out)
	if err != nil {
		t.Fatal(err)
	}
	want := MmdbValue{Kind: "map", Map: map[string]MmdbValue{
		"accuracy_radius": {Kind: "uint16", Text: "10"},
		"latitude":        {Kind: "double", Text: "51.514200"},
		"list": {Kind: "array", Elems: []MmdbValue{
			{Kind: "utf8_string", Text: "a <b>"},
			{Kind: "bytes"},
			{Kind: "array", Elems: []MmdbValue{}},
		}},
		"time_zone": {Kind: "utf8_string", Text: "Europe/London"},
	}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("ParseMmdblookup =\n%+v\nwant\n%+v", v, want)
	}
	tagged := map[string]any{
		"accuracy_radius": "10 <uint16>",
		"latitude":        "51.514200 <double>",
		"list":            []any{`"a <b>" <utf8_string>`, " <bytes>", []any{}},
		"time_zone":       `"Europe/London" <utf8_string>`,
	}
	if got := v.Tagged(); !reflect.DeepEqual(got, tagged) {
		t.Errorf("Tagged = %#v, want %#v", got, tagged)
	}
	for _, bad := range []string{
		"", "{", "[\n1 <uint16>", "{\nkey\n}", "{\n\"k\":\n}", "12", "1 <uint16>\n2 <uint16>", "abc <utf8_string>",
	} {
		if _, err := ParseMmdblookup(bad); err == nil {
			t.Errorf("ParseMmdblookup(%q) parsed", bad)
		}
	}
}

// TestOracles looks one address of the conformance GeoIP2-City-Test.mmdb
// up with the three outside readers and checks each against the record
// written by hand from GeoIP2-City-Test.json (London, 2643743).
func TestOracles(t *testing.T) {
	db := Conformance(t, "test-data", "GeoIP2-City-Test.mmdb")
	addr := netip.MustParseAddr("81.2.69.142")
	t.Run("maxminddb-golang", func(t *testing.T) {
		r := OpenV2(t, db)
		rec, ok := LookupV2(t, r, addr).(map[string]any)
		if !ok {
			t.Fatalf("no record")
		}
		if city := rec["city"].(map[string]any); city["geoname_id"] != uint64(2643743) {
			t.Errorf("city %v", city)
		}
		if x := LookupV2(t, r, netip.MustParseAddr("10.0.0.1")); x != nil {
			t.Errorf("10.0.0.1 = %v, want no record", x)
		}
	})
	t.Run("mmdblookup", func(t *testing.T) {
		bin := Mmdblookup(t)
		res := RunMmdblookup(t, bin, db, addr, "city", "names", "en")
		if v, err := ParseMmdblookup(res.Out); err != nil || !res.Found || !res.PathOK || v.Tagged() != `"London" <utf8_string>` {
			t.Errorf("city names en: %+v, %v", res, err)
		}
		if res := RunMmdblookup(t, bin, db, addr, "city", "nothing"); !res.Found || res.PathOK {
			t.Errorf("a path the record lacks: %+v", res)
		}
		all := MmdblookupAll(t, bin, db, []netip.Addr{addr, netip.MustParseAddr("10.0.0.1")})
		if !all[0].Found || all[1].Found || !strings.Contains(all[0].Out, "2643743 <uint32>") {
			t.Errorf("MmdblookupAll: %+v", all)
		}
	})
	t.Run("python", func(t *testing.T) {
		out := RunPython(t, `
import sys, maxminddb
db = maxminddb.open_database(sys.argv[1])
for line in sys.stdin:
    r = db.get(line.strip())
    print(None if r is None else r["city"]["geoname_id"])
`, "81.2.69.142\n10.0.0.1\n", db)
		if got := string(out); got != "2643743\nNone\n" {
			t.Errorf("python printed %q", got)
		}
	})
}
