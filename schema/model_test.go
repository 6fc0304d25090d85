package schema

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
)

// TestAtlasCoversRecord holds the writer and the typed model to each
// other: every value of a record that Inference.Record writes has a field
// of Atlas (reached by the maxminddb tags) that decodes to the same value,
// as maxminddb-golang v2 reads the record untyped, and this module's
// reader decodes the record into Atlas exactly as v2 does. A key the
// writer adds without a field in the model, or a tag that names the wrong
// key or type, fails it. Records of seeded random rows, over the default
// levels and a hierarchy of its own.
func TestAtlasCoversRecord(t *testing.T) {
	rng := rand.New(rand.NewPCG(testutil.Seed(t), 13))
	addr := netip.MustParseAddr("1.2.3.4")
	for i := range 300 {
		levels := DefaultLevels
		if i%3 == 2 {
			levels = []string{"country", "state", "county", "city", "zip"}
		}
		in := randomInference(rng, levels)
		rec, err := in.Record(levels)
		if err != nil {
			t.Fatalf("row %d: Record: %v", i, err)
		}
		file := schemaOneRecordDB(t, rec)

		v2, err := maxminddb.OpenBytes(file)
		if err != nil {
			t.Fatal(err)
		}
		var untyped map[string]any
		var want Atlas
		res := v2.Lookup(addr)
		if err := res.Decode(&untyped); err != nil {
			t.Fatalf("row %d: v2 Decode(map): %v", i, err)
		}
		if err := res.Decode(&want); err != nil {
			t.Fatalf("row %d: v2 Decode(Atlas): %v", i, err)
		}
		coverRecord(t, "record", reflect.ValueOf(want), untyped)

		db, err := reader.OpenBytes(file)
		if err != nil {
			t.Fatal(err)
		}
		var got Atlas
		if err := db.Lookup(addr).Decode(&got); err != nil {
			t.Fatalf("row %d: Decode(Atlas): %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("row %d: reader decodes %+v, maxminddb-golang v2 %+v", i, got, want)
		}
	}
}

// coverRecord checks that typed (a model value) holds untyped (the same
// record as v2 reads it into interfaces): map keys by maxminddb tag,
// arrays element by element, scalars by value.
func coverRecord(t *testing.T, path string, typed reflect.Value, untyped any) {
	t.Helper()
	for typed.Kind() == reflect.Pointer {
		if typed.IsNil() {
			t.Fatalf("%s: model field is nil, record holds %v", path, untyped)
		}
		typed = typed.Elem()
	}
	switch u := untyped.(type) {
	case map[string]any:
		if typed.Kind() != reflect.Struct {
			t.Fatalf("%s: record holds a map, model field is %s", path, typed.Type())
		}
		for k, v := range u {
			f, ok := fieldByTag(typed, k)
			if !ok {
				t.Fatalf("%s: record key %q has no field in %s", path, k, typed.Type())
			}
			coverRecord(t, path+"."+k, f, v)
		}
	case []any:
		if typed.Kind() != reflect.Slice || typed.Len() != len(u) {
			t.Fatalf("%s: record holds %d elements, model field is %s", path, len(u), typed.Type())
		}
		for i, v := range u {
			coverRecord(t, path+"["+strconv.Itoa(i)+"]", typed.Index(i), v)
		}
	case string:
		if typed.Kind() != reflect.String || typed.String() != u {
			t.Fatalf("%s: record holds %q, model %v", path, u, typed)
		}
	case float64:
		if typed.Kind() != reflect.Float64 || typed.Float() != u {
			t.Fatalf("%s: record holds %v, model %v", path, u, typed)
		}
	case uint64:
		if !typed.CanUint() || typed.Uint() != u {
			t.Fatalf("%s: record holds %d, model %v (%s)", path, u, typed, typed.Type())
		}
	default:
		t.Fatalf("%s: record holds %T, which the writer does not write", path, untyped)
	}
}

// fieldByTag returns the field of struct s whose maxminddb tag names key.
func fieldByTag(s reflect.Value, key string) (reflect.Value, bool) {
	for i := range s.NumField() {
		name, _, _ := strings.Cut(s.Type().Field(i).Tag.Get("maxminddb"), ",")
		if name == key {
			return s.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// TestRecordLongCodeAndName: a subdivision code longer than the 16 bytes
// and a name longer than the 1,024 bytes geoip2-golang's models accept
// are left out of the GeoIP2 view (maxminddb-golang v2 refuses to decode
// them into City: "exceeds maxsize") and kept in ipatlas.regions; at the
// limits they are in both.
func TestRecordLongCodeAndName(t *testing.T) {
	for _, tc := range []struct {
		code, name   string
		wantISO      string
		wantCityName string
	}{
		{"CN-ABCDEFGHIJKLMNOP", strings.Repeat("é", 512), "ABCDEFGHIJKLMNOP", strings.Repeat("é", 512)},
		{"CN-ABCDEFGHIJKLMNOPQ", strings.Repeat("é", 512) + "x", "", ""},
	} {
		in := Inference{Regions: []Region{
			{Level: "country", Code: "CN"},
			{Level: "province", Code: tc.code},
			{Level: "city", Name: tc.name},
		}}
		rec, err := in.Record(nil)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := in.AppendRecord(nil, nil); err != nil {
			t.Fatal(err)
		} else if want, _ := format.AppendValue(nil, rec); !bytes.Equal(b, want) {
			t.Fatalf("%s: AppendRecord differs from Record + AppendValue", tc.code)
		}
		v2, err := maxminddb.OpenBytes(schemaOneRecordDB(t, rec))
		if err != nil {
			t.Fatal(err)
		}
		var city City
		var atlas Atlas
		res := v2.Lookup(netip.MustParseAddr("1.2.3.4"))
		if err := res.Decode(&city); err != nil {
			t.Fatalf("%s: maxminddb-golang v2 Decode(City): %v", tc.code, err)
		}
		if err := res.Decode(&atlas); err != nil {
			t.Fatal(err)
		}
		gotISO := ""
		if len(city.Subdivisions) > 0 {
			gotISO = city.Subdivisions[0].ISOCode
		}
		if gotISO != tc.wantISO || city.City.Names.English != tc.wantCityName {
			t.Errorf("%s: GeoIP2 view iso_code %q, city name of %d bytes; want %q, %d bytes",
				tc.code, gotISO, len(city.City.Names.English), tc.wantISO, len(tc.wantCityName))
		}
		if r := atlas.IPAtlas.Regions; len(r) != 3 || r[1].Code != tc.code || r[2].Name != tc.name {
			t.Errorf("%s: ipatlas.regions %+v does not keep the code and the name", tc.code, r)
		}
	}
}
