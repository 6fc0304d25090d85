package mmdbtool

import (
	"errors"
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// peerAnswer looks addr up with maxminddb-golang v2: whether the file
// answers, and the record decoded into any. An IPv6 address in an IPv4
// file answers nothing.
func peerAnswer(t *testing.T, r *maxminddb.Reader, addr netip.Addr) (bool, any) {
	t.Helper()
	if addr.Is6() && r.Metadata.IPVersion == 4 {
		return false, nil
	}
	res := r.Lookup(addr)
	if res.Err() != nil {
		t.Fatalf("maxminddb-golang: lookup %s: %v", addr, res.Err())
	}
	if !res.Found() {
		return false, nil
	}
	var v any
	if err := res.Decode(&v); err != nil {
		t.Fatalf("maxminddb-golang: decode %s: %v", addr, err)
	}
	return true, v
}

// openWithPeer opens path with Open and with maxminddb-golang v2, both
// closed when the test ends.
func openWithPeer(t *testing.T, path string) (*File, *maxminddb.Reader) {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r, err := maxminddb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return f, r
}

// TestDiffMatchesPeerLookups diffs pairs of conformance files and checks
// the differences with lookups by maxminddb-golang v2 of both files: at
// the first and last address of each difference, the answers are as its
// change says; at the first and last address of every network of either
// file that no difference covers, both files give the same answer.
func TestDiffMatchesPeerLookups(t *testing.T) {
	td := testutil.ConformanceGlob(t, "test-data/GeoIP2-City-Test.mmdb")[0]
	dir := filepath.Dir(td)
	pairs := [][2]string{
		{"GeoIP2-City-Test.mmdb", "GeoLite2-City-Test.mmdb"},
		{"GeoIP2-Country-Test.mmdb", "GeoLite2-Country-Test.mmdb"},
		{"MaxMind-DB-test-ipv4-24.mmdb", "MaxMind-DB-test-mixed-24.mmdb"},
		{"MaxMind-DB-test-ipv6-24.mmdb", "MaxMind-DB-test-mixed-32.mmdb"},
		{"GeoIP2-City-Test.mmdb", "GeoIP2-City-Test.mmdb"},
	}
	for _, pair := range pairs {
		t.Run(pair[0]+"~"+pair[1], func(t *testing.T) {
			a, ra := openWithPeer(t, filepath.Join(dir, pair[0]))
			b, rb := openWithPeer(t, filepath.Join(dir, pair[1]))
			d := NewDiffer(a, b, DiffOptions{})
			var diffs []Difference
			for x, err := range d.All() {
				if err != nil {
					t.Fatal(err)
				}
				diffs = append(diffs, x)
			}
			c := d.Counts()
			if c.Total() != len(diffs) {
				t.Errorf("counts %+v, %d differences", c, len(diffs))
			}
			if pair[0] == pair[1] && len(diffs) != 0 {
				t.Errorf("a file differs from itself: %v", head(diffs, 4))
			}
			for _, x := range diffs {
				for _, addr := range []netip.Addr{x.Prefix.Addr(), testutil.LastAddr(x.Prefix)} {
					fa, va := peerAnswer(t, ra, addr)
					fb, vb := peerAnswer(t, rb, addr)
					want := Changed
					switch {
					case fa && !fb:
						want = Removed
					case !fa && fb:
						want = Added
					case !fa && !fb:
						t.Fatalf("%s (%s at %s): neither file answers", x.Prefix, x.Change, addr)
					}
					if x.Change != want {
						t.Errorf("%s at %s: %s, lookups say %s", x.Prefix, addr, x.Change, want)
					}
					if want == Changed && reflect.DeepEqual(va, vb) && !typesDiffer(t, a, b, x) {
						t.Errorf("%s at %s: changed, but both answer %v", x.Prefix, addr, va)
					}
				}
			}
			covered := func(addr netip.Addr) bool {
				for _, x := range diffs {
					if x.Prefix.Contains(addr) {
						return true
					}
				}
				return false
			}
			checked := 0
			for _, r := range []*maxminddb.Reader{ra, rb} {
				for res := range r.Networks() {
					if res.Err() != nil {
						t.Fatal(res.Err())
					}
					for _, addr := range []netip.Addr{res.Prefix().Addr(), testutil.LastAddr(res.Prefix())} {
						if covered(addr) {
							continue
						}
						fa, va := peerAnswer(t, ra, addr)
						fb, vb := peerAnswer(t, rb, addr)
						if fa != fb || !reflect.DeepEqual(va, vb) {
							t.Errorf("%s: no difference reported, but A answers %v %v and B %v %v", addr, fa, va, fb, vb)
						}
						checked++
					}
				}
			}
			t.Logf("%d differences (%+v); %d addresses outside them answer the same", len(diffs), c, checked)
		})
	}
}

// typesDiffer reports whether x's records differ in their lossless JSON
// forms (MMDB types kept), which v2's decoding into any can hide.
func typesDiffer(t *testing.T, a, b *File, x Difference) bool {
	ja, err := a.AppendRecordJSON(nil, x.A)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := b.AppendRecordJSON(nil, x.B)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) != string(jb)
}

// TestInspectMatchesPeer checks Inspect's network counts against
// maxminddb-golang v2's Networks on the conformance files v2 walks.
func TestInspectMatchesPeer(t *testing.T) {
	for _, path := range testutil.ConformanceGlob(t, "test-data/*.mmdb") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			r, err := maxminddb.Open(path)
			if err != nil {
				t.Skipf("maxminddb-golang cannot open it: %v", err)
			}
			defer r.Close()
			var v4, v6 [129]uint64
			for res := range r.Networks() {
				if res.Err() != nil {
					t.Skipf("maxminddb-golang: %v", res.Err())
				}
				p := res.Prefix()
				if p.Addr().Is4() {
					v4[p.Bits()]++
				} else {
					v6[p.Bits()]++
				}
			}
			st, err := Inspect(path)
			if err != nil {
				var te *TreeError
				if !errors.As(err, &te) {
					t.Fatalf("not a *TreeError: %v", err)
				}
				t.Skipf("tree: %v", err)
			}
			if st.IPv4 != v4 || st.IPv6 != v6 {
				t.Errorf("by prefix length: IPv4 %v IPv6 %v; maxminddb-golang IPv4 %v IPv6 %v", st.IPv4, st.IPv6, v4, v6)
			}
			if st.Metadata.NodeCount != r.Metadata.NodeCount || st.NodesReached == 0 || st.NodesReached > uint64(st.Metadata.NodeCount) {
				t.Errorf("node_count %d (v2 %d), %d reached", st.Metadata.NodeCount, r.Metadata.NodeCount, st.NodesReached)
			}
		})
	}
}
