package builder

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestParseNetwork checks networks against CIDR lists worked out by hand.
func TestParseNetwork(t *testing.T) {
	tests := []struct {
		in   string
		want string // space-separated CIDRs
	}{
		{"1.2.3.0/24", "1.2.3.0/24"},
		{" 10.0.0.0/8 ", "10.0.0.0/8"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"1.2.3.4", "1.2.3.4/32"},
		{"2001:db8::/48", "2001:db8::/48"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"1.2.3.0-1.2.4.255", "1.2.3.0/24 1.2.4.0/24"},
		{"1.2.3.4-1.2.3.4", "1.2.3.4/32"},
		{"0.0.0.0-255.255.255.255", "0.0.0.0/0"},
		// 1.2.3.1-1.2.3.10: .1/32, .2/31, .4/30, .8/31, .10/32.
		{"1.2.3.1-1.2.3.10", "1.2.3.1/32 1.2.3.2/31 1.2.3.4/30 1.2.3.8/31 1.2.3.10/32"},
		// 10.0.0.255-10.0.2.0: the /32 before the /24, the /32 after.
		{"10.0.0.255-10.0.2.0", "10.0.0.255/32 10.0.1.0/24 10.0.2.0/32"},
		{"1.2.3.0 - 1.2.3.127", "1.2.3.0/25"},
		{"2001:db8::-2001:db8::ffff", "2001:db8::/112"},
		{"2001:db8::1-2001:db8::3", "2001:db8::1/128 2001:db8::2/127"},
		{"::1:0:0-::1:ffff:ffff", "::1:0:0/96"},
		{"8000::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "8000::/1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseNetwork(tt.in)
			if err != nil {
				t.Fatalf("ParseNetwork: %v", err)
			}
			var want []netip.Prefix
			for _, s := range strings.Fields(tt.want) {
				want = append(want, netip.MustParsePrefix(s))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("ParseNetwork = %v, want %v", got, want)
			}
		})
	}
}

// TestParseNetworkErrors lists networks that are rejected, with a piece of
// the message.
func TestParseNetworkErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"", "empty network"},
		{"1.2.3", "bad address"},
		{"1.2.3.256", "bad address"},
		{"1.2.3.0/33", "bad CIDR"},
		{"2001:db8::/129", "bad CIDR"},
		{"1.2.3.0/-1", "bad address"}, // read as a range
		{"1.2.3.4/24", "host bits set (the network is 1.2.3.0/24)"},
		{"1.2.4.0-1.2.3.0", "is after last address"},
		{"1.2.3.0-2001:db8::", "different families"},
		{"1.2.3.0-", "last address"},
		{"fe80::1%eth0", "has a zone"},
		{"::ffff:1.2.3.4", "IPv4-mapped"},
		{"::ffff:1.2.3.0/120", "IPv4-mapped"},
		{"::1.2.3.4", "lies in ::/96"},
		{"::-::ff", "lies in ::/96"},
		{"hello", "bad address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseNetwork(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("ParseNetwork(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.msg)
			}
		})
	}
}

// minBlocks is the brute-force oracle: the fewest aligned power-of-two
// blocks that tile [lo, hi] exactly, by dynamic programming over every
// split point.
func minBlocks(lo, hi uint32) int {
	n := int(hi-lo) + 1
	f := make([]int, n+1) // f[i]: fewest blocks tiling [lo+i, hi]
	for i := n - 1; i >= 0; i-- {
		f[i] = 1 << 30
		a := lo + uint32(i)
		for k := 0; k <= 32; k++ {
			size := uint64(1) << k
			if uint64(a)%size != 0 || uint64(i)+size > uint64(n) {
				break
			}
			f[i] = min(f[i], 1+f[i+int(size)])
		}
	}
	return f[0]
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr32(u uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
}

// TestSplitRangeBruteForce checks on seeded random IPv4 ranges that the
// CIDRs cover exactly the addresses of the range, in order, each once, and
// that there are as few as the brute-force oracle finds.
func TestSplitRangeBruteForce(t *testing.T) {
	const seed = 42
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range 3000 {
		base := r.Uint32() &^ 0xFFF
		if i%5 == 0 {
			base = ^uint32(0) &^ 0xFFF // the top of the space
		}
		lo := base + r.Uint32N(4096)
		hi := lo + r.Uint32N(4096-(lo-base))
		got, err := SplitRange(addr32(lo), addr32(hi))
		if err != nil {
			t.Fatalf("seed %d: SplitRange(%v, %v): %v", seed, addr32(lo), addr32(hi), err)
		}
		next := uint64(lo)
		for _, p := range got {
			if !p.IsValid() || p.Masked() != p {
				t.Fatalf("SplitRange(%v, %v): bad prefix %v", addr32(lo), addr32(hi), p)
			}
			first := uint64(u32(p.Addr()))
			size := uint64(1) << (32 - p.Bits())
			if first != next {
				t.Fatalf("SplitRange(%v, %v) = %v: %v does not start at %v", addr32(lo), addr32(hi), got, p, addr32(uint32(next)))
			}
			next = first + size
		}
		if next != uint64(hi)+1 {
			t.Fatalf("SplitRange(%v, %v) = %v: ends before %v", addr32(lo), addr32(hi), got, addr32(hi))
		}
		if want := minBlocks(lo, hi); len(got) != want {
			t.Fatalf("SplitRange(%v, %v) = %d CIDRs %v, the oracle finds %d", addr32(lo), addr32(hi), len(got), got, want)
		}
	}
}

// TestSplitRangeIPv6 checks IPv6 ranges by walking the addresses of each
// CIDR (small ranges) and by the count of the worst case.
func TestSplitRangeIPv6(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	base := netip.MustParseAddr("2001:db8::")
	for range 500 {
		off1 := r.IntN(2000)
		off2 := off1 + r.IntN(2000)
		lo, hi := base, base
		for range off1 {
			lo = lo.Next()
		}
		for range off2 {
			hi = hi.Next()
		}
		got, err := SplitRange(lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		next := lo
		for _, p := range got {
			if p.Addr() != next {
				t.Fatalf("SplitRange(%v, %v) = %v: %v does not start at %v", lo, hi, got, p, next)
			}
			for a := p.Addr(); p.Contains(a); a = a.Next() {
				next = a.Next()
			}
		}
		if next != hi.Next() {
			t.Fatalf("SplitRange(%v, %v) = %v ends before %v", lo, hi, got, hi)
		}
	}
	// ::1 to ffff:...:fffe, the worst case: one CIDR of each length /128
	// to /2 on the way up, then one of each /2 to /128 on the way down.
	got, err := SplitRange(netip.MustParseAddr("::1"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"))
	if err != nil || len(got) != 254 {
		t.Fatalf("worst case: %d CIDRs, %v; want 254", len(got), err)
	}
}

// TestBloom checks the Bloom filter against a set: every added network
// may be contained, across filter growth, and few others are.
func TestBloom(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{{"one filter", firstBloomItems / 2}, {"grown", 3 * firstBloomItems}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBloom()
			rng := rand.New(rand.NewPCG(1, uint64(tt.n)))
			added := map[netip.Prefix]bool{}
			for len(added) < tt.n {
				p := randomPrefix(rng)
				added[p] = true
				b.add(p)
			}
			for p := range added {
				if !b.mayContain(p) {
					t.Fatalf("mayContain(%s) = false after add", p)
				}
			}
			fp, tries := 0, 0
			for tries < 100_000 {
				p := randomPrefix(rng)
				if added[p] {
					continue
				}
				tries++
				if b.mayContain(p) {
					fp++
				}
			}
			if rate := float64(fp) / float64(tries); rate > 0.03*float64(len(b.filters)) {
				t.Fatalf("false-positive rate %.4f with %d filters", rate, len(b.filters))
			}
		})
	}
}

func randomPrefix(rng *rand.Rand) netip.Prefix {
	if rng.IntN(2) == 0 {
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], rng.Uint32())
		return netip.PrefixFrom(netip.AddrFrom4(a), 8+rng.IntN(25)).Masked()
	}
	var a [16]byte
	binary.BigEndian.PutUint64(a[:], rng.Uint64())
	return netip.PrefixFrom(netip.AddrFrom16(a), 16+rng.IntN(49)).Masked()
}
