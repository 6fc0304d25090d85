package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
)

// matches reports whether ours (lookup's JSON, decoded with UseNumber)
// is the value mmdblookup printed, and if not, why.
func mmdbMatches(v testutil.MmdbValue, ours any) string {
	switch v.Kind {
	case "map":
		m, ok := ours.(map[string]any)
		if !ok || len(m) != len(v.Map) {
			return fmt.Sprintf("map of %d keys vs %#v", len(v.Map), ours)
		}
		for k, e := range v.Map {
			if why := mmdbMatches(e, m[k]); why != "" {
				return k + ": " + why
			}
		}
	case "array":
		a, ok := ours.([]any)
		if !ok || len(a) != len(v.Elems) {
			return fmt.Sprintf("array of %d vs %#v", len(v.Elems), ours)
		}
		for i, e := range v.Elems {
			if why := mmdbMatches(e, a[i]); why != "" {
				return strconv.Itoa(i) + ": " + why
			}
		}
	case "utf8_string":
		if ours != v.Text {
			return fmt.Sprintf("%q vs %#v", v.Text, ours)
		}
	case "bytes":
		s, _ := ours.(string)
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || !strings.EqualFold(hex.EncodeToString(b), v.Text) {
			return fmt.Sprintf("bytes %s vs %#v", v.Text, ours)
		}
	case "boolean":
		if fmt.Sprint(ours) != v.Text {
			return fmt.Sprintf("%s vs %#v", v.Text, ours)
		}
	case "uint16", "uint32", "uint64", "int32":
		if n, ok := ours.(json.Number); !ok || n.String() != v.Text {
			return fmt.Sprintf("%s %s vs %#v", v.Kind, v.Text, ours)
		}
	case "uint128":
		want, ok := new(big.Int).SetString(strings.TrimPrefix(v.Text, "0x"), 16)
		n, isNum := ours.(json.Number)
		if !ok || !isNum || n.String() != want.String() {
			return fmt.Sprintf("uint128 %s vs %#v", v.Text, ours)
		}
	case "double", "float":
		// mmdblookup prints %f: six decimals.
		n, ok := ours.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil || fmt.Sprintf("%f", f) != v.Text {
			return fmt.Sprintf("%s %s vs %#v", v.Kind, v.Text, ours)
		}
	default:
		return "unknown mmdblookup type " + v.Kind
	}
	return ""
}

// mmdblookupAt looks a up in db with libmaxminddb's mmdblookup along
// path (map keys and array indexes): the value, or found=false (no
// record), or pathOK=false (the record has nothing there).
func mmdblookupAt(t *testing.T, db string, a netip.Addr, path ...string) (v testutil.MmdbValue, found, pathOK bool) {
	t.Helper()
	res := testutil.RunMmdblookup(t, testutil.MmdblookupBin, db, a, path...)
	if !res.PathOK {
		return v, res.Found, false
	}
	v, err := testutil.ParseMmdblookup(res.Out)
	if err != nil {
		t.Fatalf("mmdblookup %s %q printed %q: %v", a, path, res.Out, err)
	}
	return v, true, true
}

// lookupOut is one line of lookup's output, numbers kept as text.
type lookupOut struct {
	IP      string          `json:"ip"`
	Network string          `json:"network"`
	Found   bool            `json:"found"`
	Value   json.RawMessage `json:"value"`
	Record  json.RawMessage `json:"record"`
}

func decodeNumbers(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	if raw == nil {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return v
}

func parseLookupOutput(t *testing.T, out string) []lookupOut {
	t.Helper()
	var lines []lookupOut
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var lo lookupOut
		if err := json.Unmarshal([]byte(l), &lo); err != nil {
			t.Fatalf("lookup printed %q: %v", l, err)
		}
		if !strings.Contains(l, `"value":`) {
			lo.Value = nil
		}
		lines = append(lines, lo)
	}
	return lines
}

// writePathDB writes a database whose records have what the GeoIP files
// lack: a numeric map key, a key with a dot and a backslash, a NaN.
func writePathDB(t *testing.T, path string) {
	t.Helper()
	w, err := format.Create(path, format.WriterOptions{IPVersion: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	rec := format.Map{
		"0":    format.String("zero as a key"),
		"a.b":  format.String("dotted"),
		`c\d`:  format.String("backslashed"),
		"list": format.Slice{format.String("first"), format.Uint16(2), format.Map{"x": format.Bool(false)}},
		"nums": format.Map{"i": format.Int32(-7), "f": format.Float32(0.25), "u": format.Uint64(1 << 40)},
	}
	for _, n := range []struct {
		p string
		v format.Value
	}{
		{"1.2.3.0/24", rec},
		{"1.2.5.0/24", format.Map{"nan": format.Float64(math.NaN()), "inf": format.Float32(float32(math.Inf(-1)))}},
		{"2001:db8::/32", format.Map{"list": format.Slice{format.String("v6")}}},
	} {
		if err := w.InsertValue(netip.MustParsePrefix(n.p), n.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLookupPathAgainstMmdblookup looks paths up with lookup --path and
// with libmaxminddb's mmdblookup, which takes the same path as separate
// arguments, and compares every answer: the value, a record without the
// path (found, value null), an address without a record (found false).
// The whole record (lookup without --path) is compared too.
func TestLookupPathAgainstMmdblookup(t *testing.T) {
	testutil.Mmdblookup(t)
	td := testutil.Conformance(t, "test-data")
	custom := filepath.Join(t.TempDir(), "paths.mmdb")
	writePathDB(t, custom)
	type query struct {
		db    string
		ips   []string
		paths []string // --path arguments; "" is the whole record
	}
	queries := []query{
		{filepath.Join(td, "GeoIP2-City-Test.mmdb"),
			[]string{"2.125.160.216", "81.2.69.160", "89.160.20.112", "2001:218::1", "216.160.83.56", "10.0.0.1", "::ffff:2.125.160.216"},
			[]string{"", "country.iso_code", "subdivisions.0.names.en", "subdivisions.-1.iso_code", "subdivisions.1",
				"subdivisions.-2.names", "subdivisions.-3", "subdivisions.2", "subdivisions.x", "city", "location.latitude",
				"country.names.zh-CN", "country.iso_code.x", "nope", "location.time_zone.0", "subdivisions.+1.geoname_id"}},
		{filepath.Join(td, "MaxMind-DB-test-decoder.mmdb"),
			[]string{"1.1.1.1", "::1.1.1.1", "::2:0:0", "9.9.9.9"},
			[]string{"", "array.-1", "array.+1", "array.01", "array.3", "array.-4", "map", "map.mapX.arrayX.-3",
				"map.mapX.utf8_stringX", "uint128", "bytes", "double", "float", "boolean", "int32", "uint64",
				"uint16", "utf8_string", "array.1.x"}},
		{custom,
			[]string{"1.2.3.4", "2001:db8::1", "9.9.9.9"},
			[]string{"", "0", `a\.b`, `c\\d`, "list.0", "list.-1.x", "list.-3", "list.1", "nums", "nums.u", "a"}},
	}
	// The conformance files and the custom file alone give 89 values; the
	// real data adds more when it is there (it is optional outside CI).
	minCompared := 85
	if geoLite := optionalGeoLite(t); geoLite != "" {
		minCompared = 105
		queries = append(queries, query{geoLite,
			[]string{"81.2.69.160", "175.16.199.1", "2a02:ff80::1", "8.8.8.8", "2001:4860:4860::8888", "192.168.1.1"},
			[]string{"", "city.names.ja", "subdivisions.-1.names.ru", "location", "postal.code", "registered_country.geoname_id", "subdivisions.0"}})
	}
	compared := 0
	for _, q := range queries {
		for _, p := range q.paths {
			t.Run(filepath.Base(q.db)+"/"+p, func(t *testing.T) {
				args := []string{"lookup", q.db}
				var elems []string
				if p != "" {
					args = append(args, "--path", p)
					var err error
					if elems, err = parseLookupPath(p); err != nil {
						t.Fatal(err)
					}
				}
				out, errOut, code := runCLI(t, append(args, q.ips...)...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errOut)
				}
				lines := parseLookupOutput(t, out)
				if len(lines) != len(q.ips) {
					t.Fatalf("%d lines for %d addresses:\n%s", len(lines), len(q.ips), out)
				}
				for i, ip := range q.ips {
					l := lines[i]
					want, found, pathOK := mmdblookupAt(t, q.db, netip.MustParseAddr(ip), elems...)
					ours := l.Value
					if p == "" {
						ours = l.Record
					} else if l.Value == nil {
						t.Errorf("%s: no \"value\" member in path mode", ip)
					}
					switch {
					case l.Found != found:
						t.Errorf("%s: found %v, mmdblookup %v", ip, l.Found, found)
					case found && !pathOK:
						if string(ours) != "null" {
							t.Errorf("%s: value %s, mmdblookup finds nothing at the path", ip, ours)
						}
					case found:
						if why := mmdbMatches(want, decodeNumbers(t, ours)); why != "" {
							t.Errorf("%s %q: %s", ip, p, why)
						}
						compared++
					}
				}
			})
		}
	}
	if compared < minCompared {
		t.Errorf("only %d values compared, want at least %d", compared, minCompared)
	}
}

// optionalGeoLite returns the path of GeoLite2-City.mmdb when it is there
// for the parts of a test that use it, else ""; in CI its absence fails
// the test.
func optionalGeoLite(t *testing.T) string {
	t.Helper()
	path := testutil.DataPath(t, "GeoLite2-City.mmdb")
	if _, err := os.Stat(path); err != nil {
		if testutil.InCI() {
			t.Fatalf("%s missing in CI: %s", path, testutil.FetchHint)
		}
		t.Logf("%s missing (%s): the test compares on it when it is there", path, testutil.FetchHint)
		return ""
	}
	return path
}

// TestLookupPathSemantics checks what mmdblookup cannot: NaN and infinities,
// CIDR queries and standard input, with --path.
func TestLookupPathSemantics(t *testing.T) {
	db := filepath.Join(t.TempDir(), "paths.mmdb")
	writePathDB(t, db)
	cases := []struct {
		name  string
		path  string
		stdin string
		args  []string
		want  []string // output lines
	}{
		{"nan", "nan", "", []string{"1.2.5.1"}, []string{`{"ip":"1.2.5.1","network":"1.2.5.0/24","found":true,"value":"NaN"}`}},
		{"-inf float", "inf", "", []string{"1.2.5.1"}, []string{`{"ip":"1.2.5.1","network":"1.2.5.0/24","found":true,"value":"-Inf"}`}},
		{"cidr", "list.0", "", []string{"1.2.0.0/16"}, []string{
			`{"network":"1.2.3.0/24","found":true,"value":"first"}`,
			`{"network":"1.2.5.0/24","found":true,"value":null}`}},
		{"stdin", "list.-1", "1.2.3.4\n\n  2001:db8::5  \n9.9.9.9\n", nil, []string{
			`{"ip":"1.2.3.4","network":"1.2.3.0/24","found":true,"value":{"x":false}}`,
			`{"ip":"2001:db8::5","network":"2001:db8::/32","found":true,"value":"v6"}`,
			`{"ip":"9.9.9.9","network":"8.0.0.0/5","found":false,"value":null}`}},
		{"stdin dash", "0", "1.2.3.4\n", []string{"-"}, []string{
			`{"ip":"1.2.3.4","network":"1.2.3.0/24","found":true,"value":"zero as a key"}`}},
		{"whole record with nan", "", "", []string{"1.2.5.9"}, []string{
			`{"ip":"1.2.5.9","network":"1.2.5.0/24","found":true,"record":{"inf":"-Inf","nan":"NaN"}}`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"lookup", db}
			if tc.path != "" {
				args = append(args, "--path", tc.path)
			}
			out, errOut, code := runCLIInput(t, tc.stdin, append(args, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if got := strings.Split(strings.TrimSpace(out), "\n"); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("output\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParseLookupPath(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  string
	}{
		{"a", []string{"a"}, ""},
		{"country.names.zh-CN", []string{"country", "names", "zh-CN"}, ""},
		{"subdivisions.-1.iso_code", []string{"subdivisions", "-1", "iso_code"}, ""},
		{`a\.b.c`, []string{"a.b", "c"}, ""},
		{`a\\.b`, []string{`a\`, "b"}, ""},
		{`a\\\.b`, []string{`a\.b`}, ""},
		{"", nil, "empty path"},
		{"a..b", nil, "empty element 2"},
		{".a", nil, "empty element 1"},
		{"a.", nil, "empty element 2"},
		{`a\b`, nil, "byte 2: a backslash escapes only"},
		{`a\`, nil, "byte 2: a backslash escapes only"},
	}
	for _, tc := range cases {
		got, err := parseLookupPath(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseLookupPath(%q) = %q, %v; want error %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || !reflect.DeepEqual(got, tc.want)):
			t.Errorf("parseLookupPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
