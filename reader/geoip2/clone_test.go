package geoip2

import (
	"fmt"
	"net/netip"
	"reflect"
	"sync"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// scribble writes junk into every value reachable from v, following
// pointers, slices and maps, and returns how many writes went through
// one of them (memory the private copy would share with the cache if it
// were shallow). A kind it does not know fails the test, so that a model
// field of a new kind cannot slip past it.
func scribble(t *testing.T, v reflect.Value, indirect bool) int {
	t.Helper()
	n := 0
	wrote := func() {
		if indirect {
			n++
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			n += scribble(t, v.Elem(), true)
		}
	case reflect.Struct:
		// netip values are immutable (their one pointer is to an
		// interned zone name): replace them whole.
		switch v.Type() {
		case reflect.TypeFor[netip.Addr]():
			v.Set(reflect.ValueOf(netip.MustParseAddr("192.0.2.1")))
			wrote()
			return n
		case reflect.TypeFor[netip.Prefix]():
			v.Set(reflect.ValueOf(netip.MustParsePrefix("192.0.2.0/24")))
			wrote()
			return n
		}
		for i := range v.NumField() {
			n += scribble(t, v.Field(i), indirect)
		}
	case reflect.Slice:
		for i := range v.Len() {
			n += scribble(t, v.Index(i), true)
		}
	case reflect.Array:
		for i := range v.Len() {
			n += scribble(t, v.Index(i), indirect)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			scribble(t, e, false)
			v.SetMapIndex(k, e)
			n++
		}
	case reflect.String:
		v.SetString("scribbled")
		wrote()
	case reflect.Bool:
		v.SetBool(!v.Bool())
		wrote()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 7)
		wrote()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 7)
		wrote()
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float() + 7)
		wrote()
	default:
		t.Fatalf("scribble: a model holds a %s (%s): teach clone.go and this test about it", v.Kind(), v.Type())
	}
	return n
}

// privateLookups are the lookups that promise a private copy, each with
// the test database it applies to and the shared lookup of the same
// record.
var privateLookups = []struct {
	name, file string
	private    func(*Reader, netip.Addr) (any, error)
	shared     func(*Reader, netip.Addr) (any, error)
}{
	{"City", "GeoIP2-City-Test.mmdb",
		func(r *Reader, a netip.Addr) (any, error) { return r.City(a) },
		func(r *Reader, a netip.Addr) (any, error) { c, _, err := r.CityShared(a); return c, err }},
	{"Country", "GeoIP2-City-Test.mmdb",
		func(r *Reader, a netip.Addr) (any, error) { return r.Country(a) },
		func(r *Reader, a netip.Addr) (any, error) { c, _, err := r.CountryShared(a); return c, err }},
	{"Enterprise", "GeoIP2-Enterprise-Test.mmdb",
		func(r *Reader, a netip.Addr) (any, error) { return r.Enterprise(a) },
		func(r *Reader, a netip.Addr) (any, error) { c, _, err := r.EnterpriseShared(a); return c, err }},
	{"ASN", "GeoLite2-ASN-Test.mmdb",
		func(r *Reader, a netip.Addr) (any, error) { return r.ASN(a) },
		func(r *Reader, a netip.Addr) (any, error) { c, _, err := r.ASNShared(a); return c, err }},
}

// TestPrivateCopyIsDeep writes through every pointer, slice and map of
// each private copy of every network's record, then checks that the
// shared record and a new private copy still answer what they answered
// before.
func TestPrivateCopyIsDeep(t *testing.T) {
	for _, m := range privateLookups {
		t.Run(m.name, func(t *testing.T) {
			r, path := openTestData(t, m.file)
			indirect := 0
			for _, a := range networks(t, path) {
				before, err := m.private(r, a)
				if err != nil {
					t.Fatalf("%s(%s): %v", m.name, a, err)
				}
				wantPrivate := jsonOf(t, before)
				shared, _ := m.shared(r, a)
				wantShared := jsonOf(t, shared)
				indirect += scribble(t, reflect.ValueOf(before).Elem(), false)
				if got := jsonOf(t, before); got == wantPrivate {
					t.Fatalf("%s(%s): scribble changed nothing", m.name, a)
				}
				shared, _ = m.shared(r, a)
				if got := jsonOf(t, shared); got != wantShared {
					t.Fatalf("%s(%s): writing to a private copy changed the shared record:\n%s\nwas\n%s", m.name, a, got, wantShared)
				}
				after, _ := m.private(r, a)
				if got := jsonOf(t, after); got != wantPrivate {
					t.Fatalf("%s(%s): writing to a private copy changed the next answer:\n%s\nwas\n%s", m.name, a, got, wantPrivate)
				}
			}
			// City and Enterprise records hold coordinates (pointers) and
			// subdivisions (slices): the test must have written through
			// them, or it could not have caught a shallow copy.
			if (m.name == "City" || m.name == "Enterprise") && indirect == 0 {
				t.Fatalf("%s: no write went through a pointer or slice", m.name)
			}
			t.Logf("%s: %d writes through pointers and slices", m.name, indirect)
		})
	}
}

// TestPrivateCopyRace writes to private copies in some goroutines while
// others read the shared records and new copies of the same addresses.
// Under -race, any memory a copy shared with the cache is reported.
func TestPrivateCopyRace(t *testing.T) {
	for _, m := range privateLookups {
		t.Run(m.name, func(t *testing.T) {
			r, path := openTestData(t, m.file)
			addrs := networks(t, path)
			want := map[netip.Addr]string{}
			for _, a := range addrs {
				c, _ := m.shared(r, a)
				want[a] = jsonOf(t, c)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for g := range 4 {
				wg.Go(func() {
					for k := range 2 * len(addrs) {
						a := addrs[(k*5+g)%len(addrs)]
						c, err := m.private(r, a)
						if err != nil {
							errs <- err
							return
						}
						if g%2 == 0 {
							scribble(t, reflect.ValueOf(c).Elem(), false)
							continue
						}
						s, _ := m.shared(r, a)
						if got := jsonOf(t, s); got != want[a] {
							errs <- fmt.Errorf("%s: shared record %s, want %s", a, got, want[a])
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
}

// TestNoDatabaseErrors: a nil Option and the lookups of a nil *Reader
// (what a zero Handle holds) are errors, never panics.
func TestNoDatabaseErrors(t *testing.T) {
	path := testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb")
	a := netip.MustParseAddr("81.2.69.142")
	var h Handle
	cases := []struct {
		name string
		run  func() error
	}{
		{"Open with a nil Option", func() error { _, err := Open(path, nil); return err }},
		{"OpenBytes with a nil Option", func() error { _, err := OpenBytes([]byte("x"), WithCacheSize(64), nil); return err }},
		{"OpenHandle with a nil Option", func() error { _, err := OpenHandle(path, nil); return err }},
		{"zero Handle City", func() error { _, err := h.Reader().City(a); return err }},
		{"zero Handle CityShared", func() error { _, _, err := h.Reader().CityShared(a); return err }},
		{"zero Handle Country", func() error { _, err := h.Reader().Country(a); return err }},
		{"zero Handle Enterprise", func() error { _, err := h.Reader().Enterprise(a); return err }},
		{"zero Handle ASN", func() error { _, err := h.Reader().ASN(a); return err }},
		{"zero Handle AtlasShared", func() error { _, _, err := h.Reader().AtlasShared(a); return err }},
		{"zero Handle Close", func() error { return h.Reader().Close() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testutil.ErrorNotPanic(t, c.run)
		})
	}
}
