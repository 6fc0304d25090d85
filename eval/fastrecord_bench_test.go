package eval

import (
	"testing"

	"github.com/ipatlas/ipatlas/internal/mmdbtree"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
)

// BenchmarkFastAnswer reads every distinct record of GeoLite2-City with
// the fast path, in network order, from a fresh fastDecoder (one op is
// all of them; ns/record is the figure to compare). A few records are
// not ones it handles (no country, no location): it refuses them.
func BenchmarkFastAnswer(b *testing.B) {
	path := testutil.Data(b, "GeoLite2-City.mmdb")
	db, err := reader.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var offs []uint
	seen := map[uintptr]bool{}
	for res := range db.Networks() {
		if res.Err() == nil && res.Found() && !seen[res.Offset()] {
			seen[res.Offset()] = true
			offs = append(offs, uint(res.Offset()))
		}
	}
	tree, err := mmdbtree.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer tree.Close()
	b.ReportAllocs()
	for b.Loop() {
		f := newFastDecoder(tree.Dec)
		for _, off := range offs {
			f.answer(off, fastLevels) // a record not handled is one decodeAnswer reads
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(offs)), "ns/record")
}
