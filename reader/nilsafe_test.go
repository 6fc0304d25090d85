package reader

import (
	"net/netip"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// TestCloseInsideNetworks closes the Reader from the body of its own
// Networks loop. maxminddb-golang v2 ends the iteration with an error
// there; so must this reader, with no panic, on mapped and in-memory
// readers of IPv4 and IPv6 trees.
func TestCloseInsideNetworks(t *testing.T) {
	for _, name := range []string{"GeoIP2-City-Test.mmdb", "MaxMind-DB-test-ipv4-24.mmdb", "MaxMind-DB-test-mixed-28.mmdb"} {
		path := testutil.Conformance(t, "test-data", name)
		// The reference: maxminddb-golang v2 on the same file.
		ref := testutil.OpenV2(t, path)
		refErr := closeAfter(t, 2, ref.Networks(maxminddb.IncludeNetworksWithoutData()), ref.Close)
		if refErr == nil {
			t.Fatalf("%s: maxminddb-golang v2 no longer ends with an error: revisit this test", name)
		}
		for _, mode := range []string{"Open", "OpenBytes"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				var r *Reader
				var err error
				if mode == "Open" {
					r, err = Open(path)
				} else {
					r, err = OpenBytes(testutil.ReadFile(t, path))
				}
				if err != nil {
					t.Fatal(err)
				}
				err = closeAfter(t, 2, r.Networks(IncludeNetworksWithoutData()), r.Close)
				if err == nil {
					t.Fatalf("no error after Close inside the loop (maxminddb-golang v2: %v)", refErr)
				}
				t.Logf("ipatlas: %v; maxminddb-golang v2: %v", err, refErr)
				// A Reader closed is still safe to call.
				if res := r.Lookup(netip.MustParseAddr("1.1.1.1")); res.Err() == nil {
					t.Fatal("Lookup after Close: no error")
				}
			})
		}
	}
}

// closeAfter ranges over seq, calls closeFn after n results, and returns
// the first error a later result carries (nil if none). A Result decoded
// after the close must fail too.
func closeAfter[R interface {
	Err() error
	Decode(any) error
	Found() bool
}](t *testing.T, n int, seq func(func(R) bool), closeFn func() error) error {
	t.Helper()
	i := 0
	var last R
	var gotErr error
	for res := range seq {
		if i == n {
			if err := closeFn(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if last.Found() {
				var v any
				if last.Decode(&v) == nil {
					t.Fatal("Decode of a Result after Close: no error")
				}
			}
		}
		if i > n && res.Err() != nil {
			gotErr = res.Err()
			break
		}
		last = res
		i++
	}
	if i <= n {
		t.Fatalf("only %d networks: the loop never closed the reader", i)
	}
	return gotErr
}

// TestNoDatabaseErrors holds the ways of reaching a Reader that is not
// there (and of passing nil options) to an error, never a panic.
func TestNoDatabaseErrors(t *testing.T) {
	path := testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb")
	buf := testutil.ReadFile(t, path)
	a := netip.MustParseAddr("81.2.69.142")
	networksErr := func(r *Reader, opts ...NetworksOption) error {
		for res := range r.Networks(opts...) {
			if res.Err() != nil {
				return res.Err()
			}
		}
		return nil
	}
	cases := []struct {
		name string
		run  func() error
	}{
		{"NewHandle(nil).Lookup", func() error { return NewHandle(nil).Lookup(a).Err() }},
		{"zero Handle Lookup", func() error { var h Handle; return h.Lookup(a).Err() }},
		{"nil *Handle Lookup", func() error { var h *Handle; return h.Lookup(a).Err() }},
		{"Swap(nil) then Lookup", func() error {
			r, err := OpenBytes(buf)
			if err != nil {
				t.Fatal(err)
			}
			h := NewHandle(r)
			if err := h.Lookup(a).Err(); err != nil {
				t.Fatalf("before Swap(nil): %v", err)
			}
			if old := h.Swap(nil); old != r {
				t.Fatal("Swap returned another Reader")
			}
			return h.Lookup(a).Err()
		}},
		{"zero Handle Reader().LookupOffset", func() error { var h Handle; return h.Reader().LookupOffset(0).Err() }},
		{"zero Handle Reader().Networks", func() error { var h Handle; return networksErr(h.Reader()) }},
		{"zero Handle Reader().NetworksWithin", func() error {
			var h Handle
			for res := range h.Reader().NetworksWithin(netip.MustParsePrefix("1.0.0.0/8")) {
				return res.Err()
			}
			return nil
		}},
		{"zero Handle Reader().Verify", func() error { var h Handle; return h.Reader().Verify() }},
		{"zero Handle Reader().Close", func() error { var h Handle; return h.Reader().Close() }},
		{"nil Result Decode", func() error { var v any; return NewHandle(nil).Lookup(a).Decode(&v) }},
		{"OpenBytes with a nil ReaderOption", func() error { _, err := OpenBytes(buf, nil); return err }},
		{"OpenBytes with a nil ReaderOption after a good one", func() error { _, err := OpenBytes(buf, WithoutIndex(), nil); return err }},
		{"Open with a nil ReaderOption", func() error { _, err := Open(path, nil); return err }},
		{"OpenHandle with a nil ReaderOption", func() error { _, err := OpenHandle(path, nil); return err }},
		{"Reload with a nil ReaderOption", func() error { return NewHandle(nil).Reload(path, nil) }},
		{"Networks with a nil NetworksOption", func() error {
			r, err := OpenBytes(buf)
			if err != nil {
				t.Fatal(err)
			}
			return networksErr(r, IncludeAliasedNetworks(), nil)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testutil.ErrorNotPanic(t, c.run)
		})
	}
	// Reload fills an empty Handle.
	var h Handle
	if err := h.Reload(path); err != nil {
		t.Fatal(err)
	}
	if res := h.Lookup(a); res.Err() != nil || !res.Found() {
		t.Fatalf("after Reload into a zero Handle: %v, found %v", res.Err(), res.Found())
	}
}
