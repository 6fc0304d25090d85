package kv

import (
	"errors"
	"net/netip"
	"testing"
)

// TestIngestGet checks that Get sees the ingest's own puts, pending or
// flushed, the last write winning, and nothing else: not other ingests'
// rows, not deletes.
func TestIngestGet(t *testing.T) {
	s := openIn(t, t.TempDir(), Options{BatchSize: 64})
	if _, err := s.EnsureLayer("a", 0); err != nil {
		t.Fatal(err)
	}
	p1 := netip.MustParsePrefix("1.2.3.0/24")
	p2 := netip.MustParsePrefix("2001:db8::/32")
	p3 := netip.MustParsePrefix("10.0.0.0/8")
	other, err := s.BeginIngest("a", Upsert, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Put(p3, []byte("other")); err != nil {
		t.Fatal(err)
	}
	in, err := s.BeginIngest("a", Upsert, "")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		op    string // "put", "del" or "get"
		p     netip.Prefix
		value string
		found bool
	}{
		{"get", p1, "", false},
		{"put", p1, "one", false},
		{"get", p1, "one", true},
		{"put", p2, "two", false},
		{"put", p1, "uno", false},
		{"get", p1, "uno", true},
		{"get", p2, "two", true},
		{"get", p3, "", false}, // another ingest's row
		{"del", p2, "", false},
		{"get", p2, "", false},
		{"get", netip.MustParsePrefix("1.2.3.0/25"), "", false},
	}
	for i, st := range steps {
		switch st.op {
		case "put":
			err = in.Put(st.p, []byte(st.value))
		case "del":
			err = in.Delete(st.p)
		case "get":
			var v []byte
			var ok bool
			v, ok, err = in.Get(st.p)
			if err == nil && (ok != st.found || string(v) != st.value) {
				t.Fatalf("step %d: Get(%v) = %q, %v; want %q, %v", i, st.p, v, ok, st.value, st.found)
			}
		}
		if err != nil {
			t.Fatalf("step %d: %s %v: %v", i, st.op, st.p, err)
		}
	}
	if _, _, err := in.Get(netip.MustParsePrefix("1.2.3.4/24")); err == nil {
		t.Fatalf("Get of an unmasked prefix succeeded")
	}
	if err := in.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := in.Get(p1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Commit: %v, want ErrClosed", err)
	}
	if err := other.Abort(); err != nil {
		t.Fatal(err)
	}
}
