package kv

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// row is one write of a test file: a put, or a tombstone when del is set.
type row struct {
	prefix string
	value  string
	del    bool
}

// openTest opens a store in a fresh directory on the real file system, with
// small batches so that every ingest writes several of them before Commit.
func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	return openIn(t, dir, Options{BatchSize: 128}), dir
}

// openIn opens the store in dir with opts, closed with the test.
func openIn(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ingest writes rows into layer as one committed ingest.
func ingest(t *testing.T, s *Store, layer string, mode Mode, src string, rows []row) {
	t.Helper()
	in, err := s.BeginIngest(layer, mode, src)
	if err != nil {
		t.Fatalf("BeginIngest(%q, %v, %q): %v", layer, mode, src, err)
	}
	write(t, in, rows)
	if err := in.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func write(t *testing.T, in *Ingest, rows []row) {
	t.Helper()
	for _, r := range rows {
		p := netip.MustParsePrefix(r.prefix)
		var err error
		if r.del {
			err = in.Delete(p)
		} else {
			err = in.Put(p, []byte(r.value))
		}
		if err != nil {
			t.Fatalf("write %+v: %v", r, err)
		}
	}
}

func ensure(t *testing.T, s *Store, name string, prio int32) Layer {
	t.Helper()
	l, err := s.EnsureLayer(name, prio)
	if err != nil {
		t.Fatalf("EnsureLayer(%q, %d): %v", name, prio, err)
	}
	return l
}

// entries is shorthand for expected entries: "prefix layer=value".
type want struct {
	prefix string
	layer  string
	value  string
}

// dump reads a fresh snapshot as want values.
func dump(t *testing.T, s *Store) []want {
	t.Helper()
	sn, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	return dumpSnap(t, sn)
}

func dumpSnap(t *testing.T, sn *Snapshot) []want {
	t.Helper()
	var out []want
	for _, e := range collect(t, sn) {
		out = append(out, want{e.prefix.String(), e.layer.Name, e.value})
	}
	return out
}

func checkWant(t *testing.T, what string, got, w []want) {
	t.Helper()
	if !slices.Equal(got, w) {
		t.Fatalf("%s:\ngot  %v\nwant %v", what, got, w)
	}
}

// TestAllOrder checks the merged order and the merge rules on a hand-written
// store: IPv4 before IPv6, networks before the networks inside them, higher
// priority first, newer generations winning and tombstones hiding.
func TestAllOrder(t *testing.T) {
	s, _ := openTest(t)
	ensure(t, s, "low", 1)
	ensure(t, s, "high", 5)
	ensure(t, s, "tie", 1) // same priority as low, higher ID
	ingest(t, s, "low", Replace, "", []row{
		{prefix: "2001:db8::/32", value: "L6"},
		{prefix: "10.0.0.0/8", value: "L8"},
		{prefix: "10.0.0.0/24", value: "L24"},
		{prefix: "10.0.1.0/24", value: "old"},
		{prefix: "1.0.0.0/8", value: "gone"},
	})
	ingest(t, s, "low", Upsert, "", []row{
		{prefix: "10.0.1.0/24", value: "new"},
		{prefix: "1.0.0.0/8", del: true},
		{prefix: "::/0", value: "L0"},
	})
	ingest(t, s, "high", Upsert, "", []row{
		{prefix: "10.0.0.0/24", value: "H24"},
		{prefix: "10.0.0.0/16", value: "H16"},
		{prefix: "3.0.0.0/8", value: "dup1"},
		{prefix: "3.0.0.0/8", value: "dup2"}, // last write of an ingest wins
		{prefix: "4.0.0.0/8", value: "x"},
		{prefix: "4.0.0.0/8", del: true},
	})
	ingest(t, s, "tie", Upsert, "", []row{{prefix: "10.0.0.0/8", value: "T8"}})
	checkWant(t, "All", dump(t, s), []want{
		{"::/0", "low", "L0"},
		{"3.0.0.0/8", "high", "dup2"},
		{"10.0.0.0/8", "low", "L8"},
		{"10.0.0.0/8", "tie", "T8"},
		{"10.0.0.0/16", "high", "H16"},
		{"10.0.0.0/24", "high", "H24"},
		{"10.0.0.0/24", "low", "L24"},
		{"10.0.1.0/24", "low", "new"},
		{"2001:db8::/32", "low", "L6"},
	})
}

// TestSnapshotIsolation checks that a snapshot keeps showing the store as it
// was, whatever is done after it is taken.
func TestSnapshotIsolation(t *testing.T) {
	base := []row{{prefix: "10.0.0.0/8", value: "a1"}, {prefix: "2001:db8::/32", value: "a2"}}
	baseWant := []want{{"10.0.0.0/8", "a", "a1"}, {"2001:db8::/32", "a", "a2"}}
	tests := []struct {
		name  string
		after func(t *testing.T, s *Store) // runs after the snapshot
		now   []want                       // what a fresh snapshot sees then
	}{
		{"upsert", func(t *testing.T, s *Store) {
			ingest(t, s, "a", Upsert, "", []row{{prefix: "10.0.0.0/8", value: "b1"}, {prefix: "11.0.0.0/8", value: "b2"}})
		}, []want{{"10.0.0.0/8", "a", "b1"}, {"11.0.0.0/8", "a", "b2"}, {"2001:db8::/32", "a", "a2"}}},
		{"replace", func(t *testing.T, s *Store) {
			ingest(t, s, "a", Replace, "", []row{{prefix: "12.0.0.0/8", value: "r"}})
		}, []want{{"12.0.0.0/8", "a", "r"}}},
		{"tombstone", func(t *testing.T, s *Store) {
			ingest(t, s, "a", Upsert, "", []row{{prefix: "10.0.0.0/8", del: true}})
		}, []want{{"2001:db8::/32", "a", "a2"}}},
		{"drop", func(t *testing.T, s *Store) {
			if err := s.DropLayer("a"); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"new layer", func(t *testing.T, s *Store) {
			ensure(t, s, "b", 9)
			ingest(t, s, "b", Upsert, "", []row{{prefix: "10.0.0.0/8", value: "b"}})
		}, []want{{"10.0.0.0/8", "b", "b"}, {"10.0.0.0/8", "a", "a1"}, {"2001:db8::/32", "a", "a2"}}},
		{"uncommitted", func(t *testing.T, s *Store) {
			in, err := s.BeginIngest("a", Replace, "")
			if err != nil {
				t.Fatal(err)
			}
			// Enough rows for several flushed batches, never committed.
			for i := range 200 {
				if err := in.Put(netip.PrefixFrom(netip.AddrFrom4([4]byte{20, byte(i), 0, 0}), 16), []byte("u")); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() { in.Abort() })
		}, baseWant},
		{"aborted", func(t *testing.T, s *Store) {
			in, err := s.BeginIngest("a", Replace, "")
			if err != nil {
				t.Fatal(err)
			}
			write(t, in, []row{{prefix: "10.0.0.0/8", value: "x"}})
			if err := in.Abort(); err != nil {
				t.Fatal(err)
			}
		}, baseWant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t)
			ensure(t, s, "a", 1)
			ingest(t, s, "a", Replace, "", base)
			sn, err := s.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			defer sn.Close()
			tt.after(t, s)
			checkWant(t, "fresh snapshot", dump(t, s), tt.now)
			checkWant(t, "old snapshot", dumpSnap(t, sn), baseWant)
			if got := sn.Layers(); len(got) != 1 || got[0].Name != "a" {
				t.Fatalf("old snapshot's Layers = %v", got)
			}
		})
	}
}

// TestIdempotence checks when BeginIngest refuses a sourceID with
// ErrAlreadyIngested, and that a refused ingest changes nothing.
func TestIdempotence(t *testing.T) {
	type step struct {
		mode Mode
		src  string
	}
	fileRows := map[string][]row{
		"A": {{prefix: "10.0.0.0/8", value: "A"}},
		"B": {{prefix: "10.0.0.0/8", value: "B"}, {prefix: "11.0.0.0/8", value: "B"}},
		"":  {{prefix: "12.0.0.0/8", value: "anon"}},
	}
	tests := []struct {
		name    string
		before  []step
		reopen  bool // close and open the store before the last ingest
		dropped bool // drop and recreate the layer before the last ingest
		compact bool // CompactLayer before the last ingest
		last    step
		refused bool
	}{
		{"upsert twice", []step{{Upsert, "A"}}, false, false, false, step{Upsert, "A"}, true},
		{"replace twice", []step{{Replace, "A"}}, false, false, false, step{Replace, "A"}, true},
		{"replace then upsert", []step{{Replace, "A"}}, false, false, false, step{Upsert, "A"}, true},
		{"only upsert then replace", []step{{Upsert, "A"}}, false, false, false, step{Replace, "A"}, true},
		{"after reopen", []step{{Replace, "A"}}, true, false, false, step{Replace, "A"}, true},
		{"replace would drop B", []step{{Upsert, "B"}, {Upsert, "A"}}, false, false, false, step{Replace, "A"}, false},
		{"compacted, replace would drop B", []step{{Upsert, "B"}, {Upsert, "A"}}, false, false, true, step{Replace, "A"}, false},
		{"compacted, upsert newest", []step{{Upsert, "B"}, {Upsert, "A"}}, true, false, true, step{Upsert, "A"}, true},
		{"B on top", []step{{Upsert, "A"}, {Upsert, "B"}}, false, false, false, step{Upsert, "A"}, false},
		{"empty source", []step{{Upsert, ""}}, false, false, false, step{Upsert, ""}, false},
		{"layer recreated", []step{{Upsert, "A"}}, false, true, false, step{Upsert, "A"}, false},
		{"first", nil, false, false, false, step{Upsert, "A"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := openTest(t)
			ensure(t, s, "l", 0)
			for _, st := range tt.before {
				ingest(t, s, "l", st.mode, st.src, fileRows[st.src])
			}
			if tt.compact {
				before := dump(t, s)
				if err := s.CompactLayer("l"); err != nil {
					t.Fatal(err)
				}
				checkWant(t, "after CompactLayer", dump(t, s), before)
				if n := len(s.layers["l"].gens); n != 1 {
					t.Fatalf("CompactLayer left %d generations", n)
				}
			}
			if tt.reopen {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				var err error
				if s, err = Open(dir, Options{}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
			}
			if tt.dropped {
				if err := s.DropLayer("l"); err != nil {
					t.Fatal(err)
				}
				ensure(t, s, "l", 0)
			}
			before := dump(t, s)
			gensBefore := len(s.layers["l"].gens)
			in, err := s.BeginIngest("l", tt.last.mode, tt.last.src)
			if tt.refused {
				if !errors.Is(err, ErrAlreadyIngested) {
					t.Fatalf("BeginIngest = %v, want ErrAlreadyIngested", err)
				}
				checkWant(t, "after refused ingest", dump(t, s), before)
				if n := len(s.layers["l"].gens); n != gensBefore {
					t.Fatalf("refused ingest changed the generations from %d to %d", gensBefore, n)
				}
				return
			}
			if err != nil {
				t.Fatalf("BeginIngest: %v", err)
			}
			write(t, in, fileRows[tt.last.src])
			if err := in.Commit(); err != nil {
				t.Fatal(err)
			}
			// Now it is the newest: the same again is refused.
			if _, err := s.BeginIngest("l", Upsert, tt.last.src); tt.last.src != "" && !errors.Is(err, ErrAlreadyIngested) {
				t.Fatalf("BeginIngest right after committing %q = %v, want ErrAlreadyIngested", tt.last.src, err)
			}
		})
	}
}

// TestErrors checks the errors of misuse, table-driven.
func TestErrors(t *testing.T) {
	s, _ := openTest(t)
	ensure(t, s, "a", 0)
	tests := []struct {
		name string
		do   func() error
		is   error // nil: any error
	}{
		{"begin into missing layer", func() error { _, err := s.BeginIngest("nope", Upsert, ""); return err }, ErrNoLayer},
		{"drop missing layer", func() error { return s.DropLayer("nope") }, ErrNoLayer},
		{"empty layer name", func() error { _, err := s.EnsureLayer("", 0); return err }, nil},
		{"bad UTF-8 layer name", func() error { _, err := s.EnsureLayer("\xff", 0); return err }, nil},
		{"bad mode", func() error { _, err := s.BeginIngest("a", Mode(7), ""); return err }, nil},
		{"commit after drop", func() error {
			in, err := s.BeginIngest("a", Upsert, "")
			if err != nil {
				return fmt.Errorf("unexpected: %w", err)
			}
			write(t, in, []row{{prefix: "1.0.0.0/8", value: "x"}})
			if err := s.DropLayer("a"); err != nil {
				return fmt.Errorf("unexpected: %w", err)
			}
			ensure(t, s, "a", 0) // same name, new layer: still dropped for the ingest
			return in.Commit()
		}, ErrLayerDropped},
		{"put unmasked", func() error {
			in, err := s.BeginIngest("a", Upsert, "")
			if err != nil {
				return fmt.Errorf("unexpected: %w", err)
			}
			defer in.Abort()
			return in.Put(netip.MustParsePrefix("1.2.3.4/8"), nil)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("got %v, want %v", err, tt.is)
			}
		})
	}
	if got := dump(t, s); len(got) != 0 {
		t.Fatalf("store not empty after failed operations: %v", got)
	}
}
