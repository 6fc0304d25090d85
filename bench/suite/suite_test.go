package suite

import (
	"math"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestParseScale(t *testing.T) {
	cases := []struct {
		in         string
		ipv4, ipv6 int
		bad        bool
	}{
		{in: "1", ipv4: FullIPv4, ipv6: FullIPv6},
		{in: "1/64", ipv4: FullIPv4 / 64, ipv6: 62500},
		{in: "0.25", ipv4: FullIPv4 / 4, ipv6: FullIPv6 / 4},
		{in: " 1/4 ", ipv4: FullIPv4 / 4, ipv6: FullIPv6 / 4},
		{in: "4096", ipv4: 4096, ipv6: 977}, // 4096/2^24 of 4M
		{in: "0", bad: true},
		{in: "1.5", bad: true},
		{in: "2/1", bad: true},
		{in: "1/0", bad: true},
		{in: "x", bad: true},
		{in: "-1/4", bad: true},
		{in: "99999999", bad: true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			s, err := ParseScale(c.in)
			if c.bad {
				if err == nil {
					t.Fatalf("ParseScale(%q) = %+v, want an error", c.in, s)
				}
				return
			}
			if err != nil || s.IPv4 != c.ipv4 || s.IPv6 != c.ipv6 {
				t.Fatalf("ParseScale(%q) = %+v, %v; want %d IPv4 and %d IPv6 rows", c.in, s, err, c.ipv4, c.ipv6)
			}
		})
	}
}

func TestStatAndQuantile(t *testing.T) {
	if s := statOf([]float64{5, 1, 3}); s != (Stat{Median: 3, Min: 1, Max: 5}) {
		t.Errorf("statOf = %+v", s)
	}
	if s := statOf([]float64{4, 1, 3, 2}); s.Median != 2.5 {
		t.Errorf("median of 1..4 = %v, want 2.5", s.Median)
	}
	// Quantiles of 0..100 are the percentages themselves.
	xs := make([]float64, 101)
	for i := range xs {
		xs[i] = float64(i)
	}
	for _, q := range []float64{0, 0.01, 0.5, 0.99, 1} {
		if got := quantile(xs, q); math.Abs(got-100*q) > 1e-9 {
			t.Errorf("quantile %v = %v, want %v", q, got, 100*q)
		}
	}
}

var escape []*[64]byte

// TestMeasureCounts checks the measurement against workers whose cost
// is known: one that allocates exactly one 64-byte object per lookup, one
// that allocates nothing; and that every goroutine's lookups are counted.
func TestMeasureCounts(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("1.2.3.4"), netip.MustParseAddr("2001:db8::1")}
	alloc := opened{newWorker: func(a []netip.Addr, _ []net.IP) worker {
		return func(i int) int {
			p := new([64]byte)
			p[0] = byte(i)
			escape = append(escape[:0], p)
			return int(p[0])
		}
	}}
	none := opened{newWorker: func(a []netip.Addr, _ []net.IP) worker {
		return func(i int) int { return i }
	}}
	m := measure(alloc, addrs, nil, len(addrs), 1, 64, 5*time.Millisecond)
	if per := float64(m.allocs) / float64(m.ops); per < 0.99 || per > 1.05 {
		t.Errorf("allocating worker: %.3f allocs/op, want 1", per)
	}
	if per := float64(m.bytes) / float64(m.ops); per < 63 || per > 70 {
		t.Errorf("allocating worker: %.1f B/op, want 64", per)
	}
	if m.ops%64 != 0 || m.ops < 64 || len(m.batchNs) != m.ops/64 {
		t.Errorf("%d ops, %d batches of 64", m.ops, len(m.batchNs))
	}
	m = measure(none, addrs, nil, len(addrs), 2, 64, 5*time.Millisecond)
	if per := float64(m.allocs) / float64(m.ops); per > 0.01 {
		t.Errorf("non-allocating worker: %.3f allocs/op, want 0", per)
	}
	if m.elapsed < 5*time.Millisecond || m.perSecond() <= 0 {
		t.Errorf("elapsed %v, %v lookups/s", m.elapsed, m.perSecond())
	}
	// Goroutine 0's batches are the ones kept; the other's lookups count too.
	if m.ops <= len(m.batchNs)*64 {
		t.Errorf("%d ops with 2 goroutines, goroutine 0 alone did %d", m.ops, len(m.batchNs)*64)
	}
}
