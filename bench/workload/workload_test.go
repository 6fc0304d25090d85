package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// testNetworks returns n disjoint networks: IPv4 /20 to /28 and IPv6
// /48s, so RandomIn sees both families.
func testNetworks(n int) []netip.Prefix {
	out := make([]netip.Prefix, n)
	for i := range out {
		if i%3 == 2 {
			out[i] = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)}), 48)
		} else {
			// Each in a /20 of its own.
			out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10 + byte(i>>12), byte(i >> 4), byte(i&15) << 4, 0}), 20+i%9)
		}
	}
	return out
}

func seq(ps []netip.Prefix) func(func(netip.Prefix) bool) {
	return func(yield func(netip.Prefix) bool) {
		for _, p := range ps {
			if !yield(p) {
				return
			}
		}
	}
}

// TestDeterministicBySeed: the same seed gives the same addresses, another
// seed other addresses, for every workload.
func TestDeterministicBySeed(t *testing.T) {
	nets := testNetworks(5000)
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			make := func(seed uint64) []netip.Addr {
				sample, err := SampleNetworks(seed, 2000, seq(nets))
				if err != nil {
					t.Fatal(err)
				}
				a, err := Make(k, seed, 4096, sample)
				if err != nil {
					t.Fatal(err)
				}
				if len(a) != 4096 {
					t.Fatalf("%d addresses, want 4096", len(a))
				}
				return a
			}
			a, b, c := make(1), make(1), make(2)
			if !slices.Equal(a, b) {
				t.Error("seed 1 gave different addresses twice")
			}
			same := 0
			for i := range a {
				if a[i] == c[i] {
					same++
				}
			}
			// The hot set repeats addresses by design; the others almost never.
			if limit := len(a) / 20; k != HotSet && same > limit || k == HotSet && same == len(a) {
				t.Errorf("seeds 1 and 2 agree on %d of %d addresses", same, len(a))
			}
		})
	}
}

// TestUniform4 checks that the addresses are public and spread over the
// space: each /8 that holds public addresses gets its share (± 25%).
func TestUniform4(t *testing.T) {
	addrs := Uniform4(7, 200_000)
	var perOctet [256]int
	for _, a := range addrs {
		if !IsPublic4(a) {
			t.Fatalf("%s is not public", a)
		}
		perOctet[a.As4()[0]]++
	}
	// Expected share of a /8: its public addresses over all public ones.
	var public [256]float64
	total := 0.0
	for o := range 256 {
		for sec := range 256 { // every /16 of the /8, at two places
			for _, third := range []byte{0, 128} {
				if IsPublic4(netip.AddrFrom4([4]byte{byte(o), byte(sec), third, 1})) {
					public[o]++
				}
			}
		}
		total += public[o]
	}
	for o := range 256 {
		want := public[o] / total * float64(len(addrs))
		if got := float64(perOctet[o]); want == 0 && got > 0 || want > 0 && math.Abs(got-want) > want/4 {
			t.Errorf("%d.0.0.0/8: %v addresses, want about %.0f", o, got, want)
		}
	}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true}, {"10.1.2.3", false}, {"192.168.1.1", false}, {"100.64.0.1", false},
		{"100.128.0.1", true}, {"127.0.0.1", false}, {"224.0.0.1", false}, {"240.0.0.1", false},
		{"0.1.2.3", false}, {"2001:db8::1", false},
	} {
		if got := IsPublic4(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("IsPublic4(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

// TestUniform6 checks that the addresses are in 2000::/3 and that each of
// its 8 /6s gets about an eighth.
func TestUniform6(t *testing.T) {
	addrs := Uniform6(7, 80_000)
	global := netip.MustParsePrefix("2000::/3")
	var per [8]int
	for _, a := range addrs {
		if !a.Is6() || !global.Contains(a) {
			t.Fatalf("%s is outside 2000::/3", a)
		}
		per[a.As16()[0]>>2&7]++
	}
	for i, n := range per {
		if n < 9000 || n > 11000 {
			t.Errorf("/6 number %d of 2000::/3: %d addresses, want about 10000", i, n)
		}
	}
}

// TestRandomIn checks containment and that every host bit varies.
func TestRandomIn(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range []string{"1.2.3.0/24", "1.2.3.4/32", "0.0.0.0/0", "2001:db8::/32", "2001:db8::1/128", "::/0", "10.0.0.0/9", "2001:db8:8000::/33"} {
		p := netip.MustParsePrefix(s)
		var or, and [16]byte
		for i := range and {
			and[i] = 0xff
		}
		for range 1000 {
			a := RandomIn(rng, p)
			if !p.Contains(a) {
				t.Fatalf("%s: %s is outside", s, a)
			}
			b := a.As16()
			for i := range b {
				or[i] |= b[i]
				and[i] &= b[i]
			}
		}
		// A host bit that never changed would be a bias.
		base := p.Addr().As16()
		off := 0
		if p.Addr().Is4() {
			off = 96
		}
		for i := off + p.Bits(); i < 128; i++ {
			bit := byte(0x80 >> (i % 8))
			if or[i/8]&bit == 0 || and[i/8]&bit != 0 {
				t.Errorf("%s: host bit %d never varies (network %s)", s, i-off, netip.AddrFrom16(base))
				break
			}
		}
	}
}

// TestSampleNetworksUniform checks that each network is in the sample
// with probability n/N (over many seeds), and that samples hold only the
// given networks, without repeats.
func TestSampleNetworksUniform(t *testing.T) {
	nets := testNetworks(1000)
	in := make(map[netip.Prefix]int)
	const trials, n = 400, 100
	for s := range uint64(trials) {
		sample, err := SampleNetworks(s, n, seq(nets))
		if err != nil {
			t.Fatal(err)
		}
		seen := make(map[netip.Prefix]bool)
		for _, p := range sample {
			if seen[p] {
				t.Fatalf("seed %d: %s twice", s, p)
			}
			seen[p] = true
			in[p]++
		}
		if len(sample) != n {
			t.Fatalf("seed %d: %d networks, want %d", s, len(sample), n)
		}
	}
	want := float64(trials) * n / float64(len(nets)) // 40
	for _, p := range nets {
		if got := float64(in[p]); math.Abs(got-want) > 5*math.Sqrt(want) {
			t.Errorf("%s sampled %v times in %d, want about %.0f", p, got, trials, want)
		}
	}
	all, err := SampleNetworks(1, 5000, seq(nets))
	if err != nil || len(all) != len(nets) {
		t.Fatalf("sample larger than the input: %d networks, err %v", len(all), err)
	}
	if _, err := SampleNetworks(1, 10, seq(nil)); err == nil {
		t.Error("no error for an empty input")
	}
}

// TestFromNetworks checks that every address is inside a sampled network
// and that the networks are drawn about equally.
func TestFromNetworks(t *testing.T) {
	sample := testNetworks(50)
	addrs := FromNetworks(3, 50_000, sample)
	count := make([]int, len(sample))
	for _, a := range addrs {
		i := slices.IndexFunc(sample, func(p netip.Prefix) bool { return p.Contains(a) })
		if i < 0 {
			t.Fatalf("%s is in no sampled network", a)
		}
		count[i]++
	}
	for i, c := range count {
		if c < 800 || c > 1200 {
			t.Errorf("%s drawn %d times, want about 1000", sample[i], c)
		}
	}
}

// TestHotSetZipf checks the skew: the frequency of each of the first
// ranks and the share of the top 1% and 10% of the hot set follow the
// Zipf law with exponent HotSetExponent over HotSetSize networks, computed
// here from the formula; addresses lie in their rank's network.
func TestHotSetZipf(t *testing.T) {
	sample := testNetworks(3000)
	const n = 400_000
	addrs, ranks := Hot(11, n, sample)
	freq := make([]float64, HotSetSize)
	for i, r := range ranks {
		if r < 0 || r >= HotSetSize {
			t.Fatalf("rank %d outside the hot set", r)
		}
		if !sample[r].Contains(addrs[i]) {
			t.Fatalf("%s is outside its network %s", addrs[i], sample[r])
		}
		freq[r]++
	}
	w := make([]float64, HotSetSize)
	sum := 0.0
	for r := range w {
		w[r] = math.Pow(float64(r+1), -HotSetExponent)
		sum += w[r]
	}
	for r := range 10 {
		want := w[r] / sum * n
		if got := freq[r]; math.Abs(got-want) > 0.05*want {
			t.Errorf("rank %d drawn %v times, want %.0f (±5%%)", r, got, want)
		}
	}
	share := func(xs []float64, k int) float64 {
		s := 0.0
		for _, x := range xs[:k] {
			s += x
		}
		return s
	}
	for _, k := range []int{HotSetSize / 100, HotSetSize / 10} {
		want := share(w, k) / sum
		got := share(freq, k) / n
		if math.Abs(got-want) > 0.02 {
			t.Errorf("top %d networks got %.3f of the lookups, want %.3f", k, got, want)
		}
	}
	// A smaller sample is a smaller hot set.
	_, small := Hot(11, 1000, sample[:10])
	if m := slices.Max(small); m >= 10 {
		t.Errorf("rank %d with a hot set of 10", m)
	}
}

func TestMakeErrors(t *testing.T) {
	for _, tc := range []struct {
		k      Kind
		n      int
		sample []netip.Prefix
	}{
		{UniformIPv4, 0, nil},
		{DBNetworks, 10, nil},
		{HotSet, 10, nil},
		{Kind("bogus"), 10, nil},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.k, tc.n), func(t *testing.T) {
			if _, err := Make(tc.k, 1, tc.n, tc.sample); err == nil {
				t.Error("no error")
			}
		})
	}
}
