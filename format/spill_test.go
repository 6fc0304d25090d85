package format

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// TestWriterBoundedCaches writes many records, each repeated far apart,
// with caches and sort runs far smaller than the records: every equal
// record must still be stored once (the external sort finds them), every
// lookup must answer as the oracle does, and maxminddb-golang's Verify
// must pass (no orphan, no duplicate left in the data section).
func TestWriterBoundedCaches(t *testing.T) {
	seed := testutil.Seed(t)
	r := rand.New(rand.NewPCG(seed, 11))
	var pool []Value
	for i := range 400 {
		pool = append(pool, Map{
			"i":        Uint32(i),
			"name":     String([]string{"北京市", "Москва", "Cairo"}[i%3]),
			"location": Map{"latitude": Float64(float64(i) / 7), "longitude": Float64(-float64(i) / 3)},
		})
	}
	var nets []rtNet
	for i := range 3000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0})
		p := netip.PrefixFrom(a, 32)
		if i%5 == 0 {
			p = netip.PrefixFrom(a, 24) // some wider networks too
		}
		nets = append(nets, rtNet{p: rtToTree(p, 6), in: p, rec: r.IntN(len(pool))})
	}
	for i := range 1000 { // and IPv6
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)})
		p := netip.PrefixFrom(a, 64)
		nets = append(nets, rtNet{p: p, in: p, rec: r.IntN(len(pool))})
	}
	used := map[int]bool{}
	for _, n := range nets {
		used[n.rec] = true
	}
	for _, opts := range []WriterOptions{
		{DisableIPv4Aliases: true, Memory: MemoryOptions{CacheRecords: 4, SortRunEntries: 16, SharedValues: 8}},
		{DisableIPv4Aliases: true, Memory: MemoryOptions{CacheRecords: 1, SortRunEntries: 1, SharedValues: 1}},
		{DisableIPv4Aliases: true}, // the defaults: everything in memory
	} {
		t.Run(fmt.Sprintf("cache%d-run%d", opts.Memory.CacheRecords, opts.Memory.SortRunEntries), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.mmdb")
			w, err := Create(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range nets {
				if i%2 == 0 {
					err = w.InsertValue(n.in, pool[n.rec])
				} else {
					var b []byte
					if b, err = AppendValue(nil, pool[n.rec]); err == nil {
						var id RecordID
						if id, err = w.InternBytes(b); err == nil {
							err = w.Insert(n.in, id)
						}
					}
				}
				if err != nil {
					t.Fatalf("network %s: %v", n.in, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if w.Records() != len(used) {
				t.Errorf("Records() = %d, want the %d distinct records used", w.Records(), len(used))
			}
			entries, err := os.ReadDir(filepath.Dir(path))
			if err != nil || len(entries) != 1 {
				t.Errorf("the output's directory holds %v (%v), want the output alone", entries, err)
			}
			o := &rtOracle{version: 6, nets: nets}
			var queries []netip.Addr
			for _, n := range nets {
				queries = append(queries, n.in.Addr(), rtLast(n.p).Next())
			}
			want := make([]int, len(queries))
			for i, q := range queries {
				want[i] = o.lookup(q)
			}
			rtCheckV2(t, path, o, queries, want, o.minimal(), pool)
			// Stored once: as many distinct offsets as distinct records.
			rd := testutil.OpenV2(t, path)
			var offs []uintptr
			for res := range rd.Networks() {
				offs = append(offs, res.Offset())
			}
			slices.Sort(offs)
			if n := len(slices.Compact(offs)); n != len(used) {
				t.Errorf("%d distinct data offsets in the tree, want %d (one per distinct record)", n, len(used))
			}
		})
	}
}

// TestWriterFilterErrs makes the Writer's filter of used records err
// for almost every record (16 bits): the records it sets aside are
// written at Close, each once, and every lookup answers.
func TestWriterFilterErrs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mmdb")
	w, err := Create(path, WriterOptions{IPVersion: 4, Memory: MemoryOptions{CacheRecords: 1}})
	if err != nil {
		t.Fatal(err)
	}
	w.seen.log = 4
	const nets, recs = 2000, 700
	for n := range nets {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}), 32)
		if err := w.InsertValue(p, Map{"i": Uint32(n % recs), "s": String("Москва")}); err != nil {
			t.Fatalf("network %d: %v", n, err)
		}
	}
	if w.spilled < recs {
		t.Fatalf("%d records set aside, want most of the %d uses", w.spilled, nets)
	}
	rd := closeVerified(t, w, path, recs)
	offs := map[uintptr]bool{}
	for n := range nets {
		var got struct {
			I uint32 `maxminddb:"i"`
		}
		a := netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
		res := rd.Lookup(a)
		if err := res.Decode(&got); err != nil || got.I != uint32(n%recs) {
			t.Fatalf("%s: i = %d (%v), want %d", a, got.I, err, n%recs)
		}
		offs[res.Offset()] = true
	}
	if len(offs) != recs {
		t.Errorf("%d distinct data offsets, want %d (one per distinct record)", len(offs), recs)
	}
}

// TestWriterTooLargeFailsEarly gives a Writer (with a small bound in
// place of 2^32) distinct records, one per network: Insert must fail with
// ErrTooLarge as soon as the nodes and the data pass the bound, long
// before the input ends, and leave nothing behind. A few records
// repeated past a tiny cache, which would pass the bound if each use
// were written, do not count: the database is written, and answers.
func TestWriterTooLargeFailsEarly(t *testing.T) {
	const limit = 1 << 16
	rec := func(i int) Value {
		return Map{"i": Uint32(i), "location": Map{"latitude": Float64(float64(i) / 7)}, "name": String("Москва")}
	}
	t.Run("distinct", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "x.mmdb")
		w, err := Create(path, WriterOptions{IPVersion: 4})
		if err != nil {
			t.Fatal(err)
		}
		w.limit = limit
		n := 0
		for ; n < 100000 && err == nil; n++ {
			err = w.InsertValue(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}), 32), rec(n))
		}
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("after %d networks: %v, want ErrTooLarge", n, err)
		}
		// About 24 bytes of data (the name shared) and a node a network:
		// the bound is passed after about 2,600 networks.
		if n < 1000 || n > 3000 {
			t.Errorf("failed after %d networks, want soon after the bound (about 2,600)", n)
		}
		t.Logf("failed after %d networks: %v", n, err)
		if err := w.Close(); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Close = %v, want the Insert's error", err)
		}
		if names := testutil.DirNames(t, dir); len(names) != 0 {
			t.Errorf("left %v behind", names)
		}
	})
	t.Run("duplicates", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.mmdb")
		// The cache holds 4 records and the shared values 1: every use
		// repeats a record the Writer forgot, written again in full.
		w, err := Create(path, WriterOptions{IPVersion: 4, Memory: MemoryOptions{CacheRecords: 1, SharedValues: 1}})
		if err != nil {
			t.Fatal(err)
		}
		w.limit = limit
		const nets, recs = 3000, 16
		for n := range nets {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}), 32)
			if err := w.InsertValue(p, rec(n%recs)); err != nil {
				t.Fatalf("network %d: %v", n, err)
			}
		}
		if b, _ := AppendValue(nil, rec(0)); nets*len(b) < 2*limit {
			t.Fatalf("%d networks of %d-byte records: not past the bound if every use were written, the test tests nothing", nets, len(b))
		}
		rd := closeVerified(t, w, path, recs)
		for n := range nets {
			var got struct {
				I uint32 `maxminddb:"i"`
			}
			a := netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
			if err := rd.Lookup(a).Decode(&got); err != nil || got.I != uint32(n%recs) {
				t.Fatalf("%s: i = %d (%v), want %d", a, got.I, err, n%recs)
			}
		}
	})
}

// closeVerified closes w, checks that it wrote recs distinct records and
// that maxminddb-golang v2 verifies the file, and returns v2's reader of
// it.
func closeVerified(t *testing.T, w *Writer, path string, recs int) *maxminddb.Reader {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Records() != recs {
		t.Errorf("Records() = %d, want %d", w.Records(), recs)
	}
	rd := testutil.OpenV2(t, path)
	if err := rd.Verify(); err != nil {
		t.Fatal(err)
	}
	return rd
}
