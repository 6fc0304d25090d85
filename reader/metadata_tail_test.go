package reader

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
)

// TestMetadataInTail: the metadata marker is looked for in the last
// format.MaxMetadataSize bytes only (the spec's bound; libmaxminddb's
// mmdblookup refuses the padded file below and reads the other). A file
// without a marker there is refused without reading the rest: a sparse
// garbage file of gigabytes put in place of the database was scanned to
// its start (12 s per 2 GiB) before it was refused.
func TestMetadataInTail(t *testing.T) {
	good := testutil.ReadFile(t, testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb"))
	for _, c := range []struct {
		pad  int
		want bool
	}{{0, true}, {1000, true}, {format.MaxMetadataSize, false}, {140000, false}} {
		buf := append(bytes.Clone(good), make([]byte, c.pad)...)
		r, err := OpenBytes(buf)
		if (err == nil) != c.want {
			t.Errorf("%d zero bytes after the metadata: err %v, want ok %v", c.pad, err, c.want)
			continue
		}
		if err != nil {
			continue
		}
		res := r.Lookup(netip.MustParseAddr("81.2.69.160"))
		if !res.Found() || res.Err() != nil {
			t.Errorf("%d zero bytes after the metadata: 81.2.69.160 not found (%v)", c.pad, res.Err())
		}
		if err := r.Verify(); err != nil {
			t.Errorf("%d zero bytes after the metadata: Verify: %v", c.pad, err)
		}
	}
	// A marker far from the end, as in a data section, is not metadata.
	buf := make([]byte, 1<<20)
	copy(buf, metadataStartMarker)
	if _, err := OpenBytes(buf); err == nil {
		t.Error("a marker 1 MiB from the end was taken for the metadata")
	}
}
