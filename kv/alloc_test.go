package kv

import (
	"net/netip"
	"testing"
)

// TestPutAllocs holds Put to not allocating per row on both paths (sorted
// rows into tables, unsorted rows into batches): what an ingest keeps does
// not grow with the file, apart from Pebble's own bounded buffers.
func TestPutAllocs(t *testing.T) {
	tests := []struct {
		name    string
		order   func(i int) int
		batches bool // whether the ingest is on the batch path
	}{
		{"sorted", func(i int) int { return i }, false},
		{"unsorted", func(i int) int { return i * 7919 % (1 << 20) }, true},
	}
	value := make([]byte, 64)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openIn(t, t.TempDir(), Options{BatchSize: 64 << 10})
			if _, err := s.EnsureLayer("l", 0); err != nil {
				t.Fatal(err)
			}
			in, err := s.BeginIngest("l", Replace, "")
			if err != nil {
				t.Fatal(err)
			}
			defer in.Abort()
			i := 0
			put := func() {
				j := tt.order(i)
				i++
				p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(j >> 16), byte(j >> 8), byte(j), 0}), 24)
				if err := in.Put(p, value); err != nil {
					t.Fatal(err)
				}
			}
			for range 10000 { // past the switch to batches, for unsorted rows
				put()
			}
			if got := in.batch != nil; got != tt.batches {
				t.Fatalf("on the batch path: %v, want %v", got, tt.batches)
			}
			if n := testing.AllocsPerRun(50000, put); n > 0.05 {
				t.Fatalf("Put allocates %.3f times per row", n)
			}
		})
	}
}
