package reader

import (
	"iter"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// TestBadData opens every file of the conformance bad-data set and runs
// each stage (open, verify, lookup, decode, iterate and decode) with both
// readers. The table says at which stages an error is expected; every
// stage must also agree with maxminddb-golang v2 on the error's type.
func TestBadData(t *testing.T) {
	tests := []struct {
		name       string
		openErr    bool
		verifyErr  bool
		lookupIP   string
		lookupErr  bool
		decodeErr  bool
		iterateErr bool // an error from the iteration or from decoding what it yields
	}{
		{name: "libmaxminddb/libmaxminddb-corrupt-search-tree.mmdb", verifyErr: true},
		{name: "libmaxminddb/libmaxminddb-deep-array-nesting.mmdb", verifyErr: true, lookupIP: "1.1.1.1", decodeErr: true, iterateErr: true},
		{name: "libmaxminddb/libmaxminddb-deep-nesting.mmdb", verifyErr: true, lookupIP: "1.1.1.1", decodeErr: true, iterateErr: true},
		{name: "libmaxminddb/libmaxminddb-empty-array-last-in-metadata.mmdb", verifyErr: true},
		{name: "libmaxminddb/libmaxminddb-empty-map-last-in-metadata.mmdb", verifyErr: true},
		{name: "libmaxminddb/libmaxminddb-metadata-marker-only.mmdb", openErr: true},
		{name: "libmaxminddb/libmaxminddb-offset-integer-overflow.mmdb", openErr: true},
		{name: "libmaxminddb/libmaxminddb-oversized-array.mmdb", verifyErr: true, lookupIP: "1.1.1.1", decodeErr: true, iterateErr: true},
		{name: "libmaxminddb/libmaxminddb-oversized-map.mmdb", verifyErr: true, lookupIP: "1.1.1.1", decodeErr: true, iterateErr: true},
		{name: "libmaxminddb/libmaxminddb-separator-record-max-left.mmdb", verifyErr: true, lookupIP: "0.0.0.0", lookupErr: true, decodeErr: true, iterateErr: true},
		{name: "libmaxminddb/libmaxminddb-separator-record-min-left.mmdb", verifyErr: true, lookupIP: "0.0.0.0", lookupErr: true, decodeErr: true, iterateErr: true},
		{name: "libmaxminddb/libmaxminddb-separator-record-min-right.mmdb", verifyErr: true, lookupIP: "128.0.0.0", lookupErr: true, decodeErr: true, iterateErr: true},
		{name: "libmaxminddb/libmaxminddb-uint64-max-epoch.mmdb", verifyErr: true},
		{name: "maxminddb-golang/cyclic-data-structure.mmdb", openErr: true},
		{name: "maxminddb-golang/invalid-bytes-length.mmdb", openErr: true},
		{name: "maxminddb-golang/invalid-data-record-offset.mmdb", openErr: true},
		{name: "maxminddb-golang/invalid-map-key-length.mmdb", openErr: true},
		{name: "maxminddb-golang/invalid-string-length.mmdb", openErr: true},
		{name: "maxminddb-golang/metadata-is-an-uint128.mmdb", openErr: true},
		{name: "maxminddb-golang/unexpected-bytes.mmdb", openErr: true},
		{name: "maxminddb-python/bad-unicode-in-map-key.mmdb", verifyErr: true, lookupIP: "0.0.0.0", lookupErr: true, decodeErr: true, iterateErr: true},
	}
	files := testutil.ConformanceGlob(t, "bad-data/*/*.mmdb")
	listed := map[string]bool{}
	for _, tt := range tests {
		listed[tt.name] = true
	}
	for _, f := range files {
		rel, _ := filepath.Rel(testutil.Conformance(t, "bad-data"), f)
		if !listed[rel] {
			t.Errorf("bad-data file %s has no row in the table", rel)
		}
	}
	check := func(t *testing.T, stage string, want bool, ours, theirs error) {
		t.Helper()
		if (ours != nil) != want {
			t.Errorf("%s: error %v, want error %v", stage, ours, want)
		}
		if errClass(ours) != errClass(theirs) {
			t.Errorf("%s: error %v (%s), maxminddb %v (%s)", stage, ours, errClass(ours), theirs, errClass(theirs))
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := testutil.Conformance(t, "bad-data", tt.name)
			p, e1, e2 := openPair(t, path)
			check(t, "open", tt.openErr, e1, e2)
			if e1 != nil || e2 != nil {
				return
			}
			check(t, "verify", tt.verifyErr, p.ours.Verify(), p.theirs.Verify())
			if tt.lookupIP != "" {
				ip := netip.MustParseAddr(tt.lookupIP)
				a, b := p.ours.Lookup(ip), p.theirs.Lookup(ip)
				check(t, "lookup", tt.lookupErr, a.Err(), b.Err())
				var va, vb any
				check(t, "decode", tt.decodeErr, a.Decode(&va), b.Decode(&vb))
			}
			check(t, "iterate", tt.iterateErr, iterate(p.ours.Networks()), iterate(p.theirs.Networks()))
		})
	}
	var _ = maxminddb.Open
}

// iterate decodes the first 1000 networks of seq (ours or
// maxminddb-golang's) and returns the first error.
func iterate[R interface {
	Err() error
	Decode(any) error
}](seq iter.Seq[R]) error {
	n := 0
	for r := range seq {
		if n++; n > 1000 {
			break
		}
		if r.Err() != nil {
			return r.Err()
		}
		var v any
		if err := r.Decode(&v); err != nil {
			return err
		}
	}
	return nil
}
