package builder

import (
	"math/bits"
	"math/rand/v2"
	"net/netip"
)

// bloom is a scalable Bloom filter of networks: a chain of filters, each
// twice the size of the one before, a new one started when the newest is
// full, until maxBloomBytes; past that the newest filter takes every new
// network and its false-positive rate rises (each false positive costs an
// exact check, never a wrong answer). The filters are blocked: all the
// bits of a network lie in one 64-byte block, one cache miss per filter.
//
// INVARIANT: mayContain(p) is true for every p passed to add.
type bloom struct {
	seed    [4]uint64
	filters []bloomFilter
	bytes   int
}

type bloomFilter struct {
	bits  []uint64
	mask  uint64 // blocks - 1; the number of blocks is a power of two
	n     int
	limit int // networks it takes before the next filter starts
}

const (
	bloomHashes      = 7       // bits per network, 9 bits of the second hash each
	bloomBitsPerItem = 10      // ~1.5% false positives, blocked, at bloomHashes = 7
	bloomBlockWords  = 8       // 512 bits, a cache line
	firstBloomItems  = 1 << 16 // networks the first filter takes
	maxBloomBytes    = 64 << 20
)

func newBloom() *bloom {
	b := &bloom{}
	for i := range b.seed {
		b.seed[i] = rand.Uint64()
	}
	b.grow(firstBloomItems)
	return b
}

func (b *bloom) grow(items int) {
	blocks := 1 << bits.Len(uint(items*bloomBitsPerItem/(64*bloomBlockWords)-1))
	b.filters = append(b.filters, bloomFilter{bits: make([]uint64, blocks*bloomBlockWords), mask: uint64(blocks - 1), limit: items})
	b.bytes += blocks * bloomBlockWords * 8
}

// mix is a strong 64-bit mixing step (a folded 128-bit product).
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hash returns two independent 64-bit hashes of p.
func (b *bloom) hash(p netip.Prefix) (uint64, uint64) {
	u := toU128(p.Addr())
	l := uint64(p.Bits())
	if p.Addr().Is4() {
		l |= 0x100 // /n of IPv4 differs from /n of IPv6
	}
	h := mix(u.hi^b.seed[0], u.lo^b.seed[1])
	return mix(h^l, b.seed[2]), mix(h^b.seed[3], l^b.seed[1])
}

func (f *bloomFilter) has(h1, h2 uint64) bool {
	blk := f.bits[(h1&f.mask)*bloomBlockWords:][:bloomBlockWords]
	for i := range uint64(bloomHashes) {
		x := h2 >> (9 * i) & 511
		if blk[x>>6]&(1<<(x&63)) == 0 {
			return false
		}
	}
	return true
}

func (f *bloomFilter) set(h1, h2 uint64) {
	blk := f.bits[(h1&f.mask)*bloomBlockWords:][:bloomBlockWords]
	for i := range uint64(bloomHashes) {
		x := h2 >> (9 * i) & 511
		blk[x>>6] |= 1 << (x & 63)
	}
	f.n++
}

// mayContain reports whether p may have been added: false means it was not.
func (b *bloom) mayContain(p netip.Prefix) bool {
	h1, h2 := b.hash(p)
	for i := range b.filters {
		if b.filters[i].has(h1, h2) {
			return true
		}
	}
	return false
}

// add records p.
func (b *bloom) add(p netip.Prefix) {
	last := &b.filters[len(b.filters)-1]
	if last.n >= last.limit && b.bytes+2*len(last.bits)*8 <= maxBloomBytes {
		b.grow(2 * last.limit)
		last = &b.filters[len(b.filters)-1]
	}
	h1, h2 := b.hash(p)
	last.set(h1, h2)
}
