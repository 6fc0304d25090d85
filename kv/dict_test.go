package kv

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// TestDictionary checks records stored once per ingest and referred to
// by number (written with Put, and with Record and PutRecord): a scan
// yields every network's own record, entries with the same Record have
// equal values, Get resolves them, and all of it holds with a record
// cache and a scan's dictionary cache far smaller than the records (so
// records are forgotten, stored again, and read back block by block),
// with dictionary tables rotated, across a reopen, after an upsert on
// top, a compaction, and on the unsorted (batch) path.
func TestDictionary(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		shuffle bool
	}{
		{"default caches", Options{minRun: 16}, false},
		{"small caches", Options{minRun: 16, RecordCache: 4, DictionaryCache: 100, dictBlock: 2, maxTable: 200}, false},
		{"unsorted", Options{minRun: 16}, true},
		{"unsorted, small caches", Options{minRun: 16, RecordCache: 4, DictionaryCache: 100, dictBlock: 3}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { s.Close() }()
			ensure(t, s, "a", 1)
			want := map[netip.Prefix]string{}
			rec := func(i int) string { return fmt.Sprintf("the record of group %d", i%37) }
			in, err := s.BeginIngest("a", Replace, "")
			if err != nil {
				t.Fatal(err)
			}
			const n = 300
			for j := range n {
				i := j
				if tt.shuffle {
					i = (j * 7919) % n
				}
				p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 32)
				v := rec(i)
				if i%50 == 0 {
					v = "short" // below minDictValue: in its row
				}
				if j%2 == 0 {
					err = in.Put(p, []byte(v))
				} else if id, ok, rerr := in.Record([]byte(v)); rerr != nil {
					err = rerr
				} else if ok {
					err = in.PutRecord(p, id)
				} else {
					err = in.Put(p, []byte(v))
				}
				if err != nil {
					t.Fatal(err)
				}
				want[p] = v
				if i%13 == 0 {
					got, ok, err := in.Get(p)
					if err != nil || !ok || string(got) != v {
						t.Fatalf("Get(%s) = %q, %v, %v; want %q", p, got, ok, err, v)
					}
				}
			}
			if err := in.PutRecord(netip.MustParsePrefix("10.9.0.0/16"), 1<<20); err == nil {
				t.Fatal("PutRecord of a number not in the dictionary: no error")
			}
			if err := in.Commit(); err != nil {
				t.Fatal(err)
			}
			// An upsert on top changes a few networks.
			in, err = s.BeginIngest("a", Upsert, "")
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i += 30 {
				p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 32)
				v := "an upserted record, longer than eight bytes"
				if err := in.Put(p, []byte(v)); err != nil {
					t.Fatal(err)
				}
				want[p] = v
			}
			if err := in.Commit(); err != nil {
				t.Fatal(err)
			}
			check := func(when string) {
				t.Helper()
				sn, err := s.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				defer sn.Close()
				byRecord := map[uint64]string{}
				got := 0
				for e, err := range sn.All() {
					if err != nil {
						t.Fatalf("%s: %v", when, err)
					}
					got++
					if w := want[e.Prefix]; string(e.Value) != w {
						t.Fatalf("%s: %s = %q, want %q", when, e.Prefix, e.Value, w)
					}
					if e.Record != 0 {
						if k, ok := byRecord[e.Record]; ok && k != string(e.Value) {
							t.Fatalf("%s: record %x is %q and %q", when, e.Record, k, e.Value)
						}
						byRecord[e.Record] = string(e.Value)
					}
				}
				if got != len(want) {
					t.Fatalf("%s: %d networks, want %d", when, got, len(want))
				}
				if len(byRecord) == 0 {
					t.Fatalf("%s: no entry came from a dictionary", when)
				}
			}
			check("after commit")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = Open(dir, tt.opts); err != nil {
				t.Fatal(err)
			}
			check("after reopen")
			if err := s.CompactLayer("a"); err != nil {
				t.Fatal(err)
			}
			check("after compaction")
		})
	}
}

// TestIngestNetworks checks that Networks lists what the ingest wrote so
// far, puts and deletes, in key order, on the table and the batch paths,
// and that writing goes on after it.
func TestIngestNetworks(t *testing.T) {
	for _, shuffle := range []bool{false, true} {
		t.Run(fmt.Sprint("shuffle ", shuffle), func(t *testing.T) {
			s := openIn(t, t.TempDir(), Options{minRun: 16})
			ensure(t, s, "a", 0)
			in, err := s.BeginIngest("a", Replace, "")
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for j := range 100 {
				i := j
				if shuffle {
					i = (j * 37) % 100
				}
				p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 32)
				if i%10 == 3 {
					err = in.Delete(p)
				} else {
					err = in.Put(p, []byte("a record longer than eight bytes"))
				}
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, p.String())
			}
			slices.SortFunc(want, func(a, b string) int {
				return netip.MustParsePrefix(a).Addr().Compare(netip.MustParsePrefix(b).Addr())
			})
			var got []string
			if err := in.Networks(func(p netip.Prefix) error { got = append(got, p.String()); return nil }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Networks = %v\nwant %v", got, want)
			}
			if err := in.Put(netip.MustParsePrefix("10.0.1.0/24"), []byte("after Networks, also long")); err != nil {
				t.Fatal(err)
			}
			if err := in.Commit(); err != nil {
				t.Fatal(err)
			}
			if n := len(dump(t, s)); n != 100-10+1 {
				t.Fatalf("%d networks after commit, want 91", n)
			}
		})
	}
}
