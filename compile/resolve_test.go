package compile

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// storeLess orders networks as the store yields them.
func storeLess(a, b netip.Prefix) int {
	ta, tb := toTree(a), toTree(b)
	if c := ta.Addr().Compare(tb.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(ta.Bits(), tb.Bits())
}

// randomNested returns n distinct networks, many nested in others, in
// store order, clustered in a few small regions so that they overlap.
func randomNested(rng *rand.Rand, n int) []netip.Prefix {
	bases := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/16"),
		netip.MustParsePrefix("0.0.0.0/30"),
		netip.MustParsePrefix("255.255.255.0/24"),
		netip.MustParsePrefix("2001:db8::/112"),
		netip.MustParsePrefix("::/120"),
		netip.MustParsePrefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120"),
	}
	seen := map[netip.Prefix]bool{}
	var out []netip.Prefix
	for len(out) < n {
		b := bases[rng.IntN(len(bases))]
		max := b.Addr().BitLen()
		bits := b.Bits() + rng.IntN(max-b.Bits()+1)
		a := b.Addr().As16()
		off := 0
		if b.Addr().Is4() {
			off = 96
		}
		for i := b.Bits(); i < bits; i++ {
			if rng.IntN(2) == 1 {
				a[(i+off)/8] |= 0x80 >> ((i + off) % 8)
			}
		}
		addr := netip.AddrFrom16(a)
		if b.Addr().Is4() {
			addr = netip.AddrFrom4([4]byte(a[12:]))
		}
		p := netip.PrefixFrom(addr, bits).Masked()
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if rng.IntN(3) == 0 {
		out = append(out, netip.MustParsePrefix("::/0"))
	}
	slices.SortFunc(out, storeLess)
	return out
}

// oracle returns the index of the most specific network holding a, or -1.
func oracle(nets []netip.Prefix, a netip.Addr) int {
	best := -1
	for i, p := range nets {
		if containsTree(p, a) && (best < 0 || toTree(p).Bits() > toTree(nets[best]).Bits()) {
			best = i
		}
	}
	return best
}

// containsTree reports whether p holds a, with IPv4 inside ::/96.
func containsTree(p netip.Prefix, a netip.Addr) bool {
	if a.Is4() {
		a4 := a.As4()
		var b [16]byte
		copy(b[12:], a4[:])
		a = netip.AddrFrom16(b)
	}
	return toTree(p).Contains(a)
}

func TestResolverAgainstOracle(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		nets := randomNested(rng, 1+rng.IntN(60))
		type out struct {
			p netip.Prefix
			v int
		}
		var got []out
		r := NewResolver(func(p netip.Prefix, value []byte) error {
			got = append(got, out{p, int(value[0])<<8 | int(value[1])})
			return nil
		})
		for i, p := range nets {
			if err := r.Add(p, []byte{byte(i >> 8), byte(i)}); err != nil {
				t.Fatalf("seed %d: Add(%s): %v", seed, p, err)
			}
		}
		if err := r.Flush(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		// Sorted and disjoint.
		for i := 1; i < len(got); i++ {
			a, b := toTree(got[i-1].p), toTree(got[i].p)
			if !lastAddr(a).Less(b.Addr()) {
				t.Fatalf("seed %d: output %s then %s: not sorted and disjoint", seed, got[i-1].p, got[i].p)
			}
		}
		// Every address answers as the oracle says: probe the edges of
		// every input network and of every output network.
		var probes []netip.Addr
		for _, p := range append(slices.Clone(nets), func() (ps []netip.Prefix) {
			for _, o := range got {
				ps = append(ps, o.p)
			}
			return
		}()...) {
			tp := toTree(p)
			probes = append(probes, tp.Addr(), lastAddr(tp))
			if a := tp.Addr().Prev(); a.IsValid() {
				probes = append(probes, a)
			}
			if a := lastAddr(tp).Next(); a.IsValid() {
				probes = append(probes, a)
			}
		}
		for _, a := range probes {
			want := oracle(nets, a)
			have := -1
			for _, o := range got {
				if containsTree(o.p, a) {
					have = o.v
					break
				}
			}
			if have != want {
				t.Fatalf("seed %d: address %s: resolved to network #%d, oracle says #%d (inputs %v)", seed, a, have, want, nets)
			}
		}
	}
}

func TestResolverRejectsDisorder(t *testing.T) {
	r := NewResolver(func(netip.Prefix, []byte) error { return nil })
	if err := r.Add(netip.MustParsePrefix("10.0.1.0/24"), nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"10.0.0.0/24", "10.0.0.0/16"} {
		if err := r.Add(netip.MustParsePrefix(p), nil); err == nil {
			t.Errorf("Add(%s) after 10.0.1.0/24: no error", p)
		}
	}
}

// TestEmitRangeFewestCIDRs checks hand-worked splits of a network around
// the one inside it.
func TestEmitRangeFewestCIDRs(t *testing.T) {
	cases := []struct {
		outer, inner string
		want         []string
	}{
		{"10.0.0.0/24", "10.0.0.128/25", []string{"10.0.0.0/25", "10.0.0.128/25"}},
		{"10.0.0.0/24", "10.0.0.64/26", []string{"10.0.0.0/26", "10.0.0.64/26", "10.0.0.128/25"}},
		{"10.0.0.0/30", "10.0.0.1/32", []string{"10.0.0.0/32", "10.0.0.1/32", "10.0.0.2/31"}},
		{"::/0", "0.0.0.0/1", []string{"0.0.0.0/1", "128.0.0.0/1", "::1:0:0/96", "::2:0:0/95", "::4:0:0/94"}},
	}
	for _, c := range cases {
		var got []string
		r := NewResolver(func(p netip.Prefix, _ []byte) error {
			got = append(got, p.String())
			return nil
		})
		_ = r.Add(netip.MustParsePrefix(c.outer), nil)
		_ = r.Add(netip.MustParsePrefix(c.inner), nil)
		_ = r.Flush()
		if len(got) < len(c.want) || !slices.Equal(got[:len(c.want)], c.want) {
			t.Errorf("%s around %s: got %v, want it to start %v", c.outer, c.inner, got, c.want)
		}
	}
}
