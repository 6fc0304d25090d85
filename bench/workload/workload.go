package workload

import (
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/netip"
)

// Kind names a workload.
type Kind string

// The workloads.
const (
	UniformIPv4 Kind = "uniform-ipv4" // uniform over public IPv4 unicast
	UniformIPv6 Kind = "uniform-ipv6" // uniform over 2000::/3
	DBNetworks  Kind = "db-networks"  // a uniform choice of the database's networks, a uniform address in each
	HotSet      Kind = "hot-set"      // Zipf over a hot set of the database's networks
)

// Kinds lists the workloads in report order.
func Kinds() []Kind { return []Kind{UniformIPv4, UniformIPv6, DBNetworks, HotSet} }

// Describe says in a few words how a workload is drawn.
func (k Kind) Describe() string {
	switch k {
	case UniformIPv4:
		return "uniform random public IPv4 (unicast, not private, not reserved)"
	case UniformIPv6:
		return "uniform random IPv6 in 2000::/3"
	case DBNetworks:
		return "a network of the database drawn uniformly, then a uniform address inside it"
	case HotSet:
		return fmt.Sprintf("Zipf (s=%.1f) over a hot set of %d of the database's networks, a uniform address inside each", HotSetExponent, HotSetSize)
	}
	return string(k)
}

// Hot set shape.
const (
	HotSetSize     = 1000 // networks in the hot set
	HotSetExponent = 1.1  // Zipf exponent: rank r is drawn with weight 1/(r+1)^s
)

// stream tags keep the workloads of one seed independent.
const (
	streamV4 = iota + 1
	streamV6
	streamNetworks
	streamHot
)

func newRand(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// IsPublic4 reports whether a is an IPv4 address a client could have:
// global unicast, not private (RFC 1918), not shared (100.64/10), not
// multicast or reserved (224/3), not loopback or 0/8.
func IsPublic4(a netip.Addr) bool {
	if !a.Is4() || !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	b := a.As4()
	return b[0] != 0 && b[0] < 224 && !(b[0] == 100 && b[1]&0xc0 == 64)
}

// Uniform4 returns n uniform random public IPv4 addresses (IsPublic4).
func Uniform4(seed uint64, n int) []netip.Addr {
	rng := newRand(seed, streamV4)
	out := make([]netip.Addr, 0, n)
	for range n {
		out = append(out, Public4(rng))
	}
	return out
}

// Public4 draws uniform random IPv4 addresses from rng until one is
// public (IsPublic4) and returns it.
func Public4(rng *rand.Rand) netip.Addr {
	for {
		u := rng.Uint32()
		if a := netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}); IsPublic4(a) {
			return a
		}
	}
}

// Uniform6 returns n uniform random IPv6 addresses in 2000::/3.
func Uniform6(seed uint64, n int) []netip.Addr {
	rng := newRand(seed, streamV6)
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = Global6(rng)
	}
	return out
}

// Global6 draws a uniform random IPv6 address in 2000::/3 from rng.
func Global6(rng *rand.Rand) netip.Addr {
	var b [16]byte
	hi, lo := rng.Uint64(), rng.Uint64()
	for j := range 8 {
		b[j], b[8+j] = byte(hi>>(56-8*j)), byte(lo>>(56-8*j))
	}
	b[0] = 0x20 | b[0]&0x1f
	return netip.AddrFrom16(b)
}

// SampleNetworks returns n networks chosen uniformly from networks
// (reservoir sampling, one pass, memory for n), in a random order. With
// fewer than n networks it returns all of them, shuffled. Networks that
// are not valid prefixes are an error.
func SampleNetworks(seed uint64, n int, networks iter.Seq[netip.Prefix]) ([]netip.Prefix, error) {
	if n < 1 {
		return nil, fmt.Errorf("sample of %d networks: want at least 1", n)
	}
	rng := newRand(seed, streamNetworks)
	res := make([]netip.Prefix, 0, n)
	seen := 0
	for p := range networks {
		if !p.IsValid() {
			return nil, fmt.Errorf("network %d: invalid prefix", seen+1)
		}
		seen++
		if len(res) < n {
			res = append(res, p.Masked())
			continue
		}
		if j := rng.IntN(seen); j < n {
			res[j] = p.Masked()
		}
	}
	if len(res) == 0 {
		return nil, errors.New("no networks to sample")
	}
	rng.Shuffle(len(res), func(i, j int) { res[i], res[j] = res[j], res[i] })
	return res, nil
}

// RandomIn returns a uniform random address of p.
func RandomIn(rng *rand.Rand, p netip.Prefix) netip.Addr {
	if p.Addr().Is4() {
		b := p.Addr().As4()
		u := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if host := 32 - p.Bits(); host > 0 {
			u |= rng.Uint32() & (1<<host - 1)
		}
		return netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
	}
	b := p.Addr().As16()
	hi, lo := rng.Uint64(), rng.Uint64()
	for i := p.Bits(); i < 128; i++ {
		var bit uint64
		if i < 64 {
			bit = hi >> (63 - i) & 1
		} else {
			bit = lo >> (127 - i) & 1
		}
		b[i/8] |= byte(bit) << (7 - i%8)
	}
	return netip.AddrFrom16(b)
}

// FromNetworks returns n addresses: for each, a network of sample drawn
// uniformly, then a uniform address inside it. sample comes from
// SampleNetworks.
func FromNetworks(seed uint64, n int, sample []netip.Prefix) []netip.Addr {
	rng := newRand(seed, streamNetworks<<8|1)
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = RandomIn(rng, sample[rng.IntN(len(sample))])
	}
	return out
}

// Hot returns n addresses drawn from the first min(HotSetSize,
// len(sample)) networks of sample (the hot set; rank r = sample[r]) with
// Zipf weights 1/(r+1)^HotSetExponent, each a uniform address inside its
// network; and the rank of each address.
func Hot(seed uint64, n int, sample []netip.Prefix) (addrs []netip.Addr, ranks []int) {
	hot := sample[:min(HotSetSize, len(sample))]
	rng := newRand(seed, streamHot)
	z := rand.NewZipf(rng, HotSetExponent, 1, uint64(len(hot)-1))
	addrs, ranks = make([]netip.Addr, n), make([]int, n)
	for i := range addrs {
		r := int(z.Uint64())
		ranks[i] = r
		addrs[i] = RandomIn(rng, hot[r])
	}
	return addrs, ranks
}

// Make returns the addresses of workload k: n of them, from seed; sample
// (from SampleNetworks over the database's networks) is needed by
// DBNetworks and HotSet.
func Make(k Kind, seed uint64, n int, sample []netip.Prefix) ([]netip.Addr, error) {
	if n < 1 {
		return nil, fmt.Errorf("workload %s: %d addresses: want at least 1", k, n)
	}
	switch k {
	case UniformIPv4:
		return Uniform4(seed, n), nil
	case UniformIPv6:
		return Uniform6(seed, n), nil
	case DBNetworks, HotSet:
		if len(sample) == 0 {
			return nil, fmt.Errorf("workload %s: no networks to draw from", k)
		}
		if k == DBNetworks {
			return FromNetworks(seed, n, sample), nil
		}
		a, _ := Hot(seed, n, sample)
		return a, nil
	}
	return nil, fmt.Errorf("unknown workload %q", k)
}
