package inference

import (
	"errors"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/compile"
	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/kv"
)

// tinyKV and tinyWriter are caches far smaller than the records of the
// inputs below: the store's dictionary outgrows the scan's cache, and
// the writer meets most records again after it forgot them.
var (
	tinyKV     = kv.Options{RecordCache: 512, DictionaryCache: 2 << 10}
	tinyWriter = format.MemoryOptions{CacheRecords: 8, SortRunEntries: 64, SharedValues: 16}
)

// buildWith ingests the CSV input of c and compiles it with the given
// memory bounds, and returns the path of the .mmdb, the compile's
// figures and the bytes of the store's dictionary.
func buildWith(t *testing.T, c Config, ko kv.Options, wo format.MemoryOptions) (string, compile.Stats, int) {
	t.Helper()
	dir := t.TempDir()
	snap := ingestSmall(t, c, dir, ko, kv.Replace)
	// The dictionary's bytes: the records entries name by number.
	dict := map[uint64]int{}
	for e, err := range snap.All() {
		if err != nil {
			t.Fatal(err)
		}
		if e.Record != 0 {
			dict[e.Record] = len(e.Value)
		}
	}
	dictBytes := 0
	for _, n := range dict {
		dictBytes += n
	}
	out := filepath.Join(dir, "out.mmdb")
	cs, err := compile.Compile(snap, out, compile.Options{WriterOptions: format.WriterOptions{Memory: wo}})
	if err != nil {
		t.Fatal(err)
	}
	return out, cs, dictBytes
}

// TestBoundedCachesGiveTheSameDatabase is the bound of the scale issue:
// a store whose dictionary is far larger than the in-memory caches
// (record cache of the ingest, dictionary cache of the scan, the
// writer's record cache, sort runs and shared values) ingests and
// compiles correctly. maxminddb-golang v2 (an independent reader) runs
// Verify and checks seeded addresses against their rows; the file
// stores each distinct record once (as many as with default caches),
// and its networks answer as the file built with default caches does.
func TestBoundedCachesGiveTheSameDatabase(t *testing.T) {
	for _, c := range []Config{
		{Seed: 5, IPv4Count: 4096, IPv6: 600, Combos: 700},       // shared records: a dictionary of hundreds
		{Seed: 5, IPv4Count: 5000, IPv6: 1200, PerAddress: true}, // per-address: every record distinct
	} {
		name := "shared"
		if c.PerAddress {
			name = "per-address"
		}
		t.Run(name, func(t *testing.T) {
			small, smallStats, dictBytes := buildWith(t, c, tinyKV, tinyWriter)
			if !c.PerAddress && dictBytes < 10*tinyKV.DictionaryCache {
				t.Fatalf("a dictionary of %d bytes: not much larger than the %d bytes of the scan's cache", dictBytes, tinyKV.DictionaryCache)
			}
			var b strings.Builder
			if err := RunCheck(c, small, 3000, &b); err != nil {
				t.Fatal(err)
			}
			t.Log(strings.TrimSpace(b.String()))
			ref, refStats, _ := buildWith(t, c, kv.Options{}, format.MemoryOptions{})
			if smallStats.Records != refStats.Records || smallStats.Networks != refStats.Networks {
				t.Fatalf("tiny caches: %+v; default caches: %+v", smallStats, refStats)
			}
			if c.PerAddress && refStats.Records < c.Rows()*99/100 {
				t.Fatalf("%d distinct records of %d rows: the per-address input is not distinct", refStats.Records, c.Rows())
			}
			a := testutil.OpenV2(t, small)
			r := testutil.OpenV2(t, ref)
			n := 0
			for i := range c.Rows() {
				var p netip.Prefix
				if c.PerAddress {
					p = c.addressPrefix(i)
				} else if i < c.IPv4Count {
					p = ipv4Prefix(i)
				} else {
					p = c.ipv6Prefix(i - c.IPv4Count)
				}
				var va, vr any
				ra, rr := a.Lookup(p.Addr()), r.Lookup(p.Addr())
				if err := errors.Join(ra.Decode(&va), rr.Decode(&vr)); err != nil || ra.Prefix() != rr.Prefix() || !reflect.DeepEqual(va, vr) {
					t.Fatalf("%s: %s %v with tiny caches, %s %v with the defaults (%v)", p.Addr(), ra.Prefix(), va, rr.Prefix(), vr, err)
				}
				n++
			}
			if n == 0 {
				t.Fatal("nothing compared")
			}
		})
	}
}
