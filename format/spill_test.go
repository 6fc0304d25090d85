package format

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// TestWriterBoundedCaches writes many records, each repeated far apart,
// with caches and sort runs far smaller than the records: every equal
// record must still be stored once (the external sort finds them), every
// lookup must answer as the oracle does, and maxminddb-golang's Verify
// must pass (no orphan, no duplicate left in the data section).
func TestWriterBoundedCaches(t *testing.T) {
	seed := testSeed(t)
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
