package builder

import (
	"hash/maphash"
	"math/bits"
	"net/netip"
)

// bloom is a scalable Bloom filter of networks: a chain of filters, each
// twice the size of the one before, a new one started when the newest is
// full, until maxBloomBytes; past that the newest filter takes every new
// network and its false-positive rate rises (each false positive costs an
// exact check, never a wrong answer).
//
// INVARIANT: mayContain(p) is true for every p passed to add.
type bloom struct {
	seed    [2]maphash.Seed
	filters []bloomFilter
	bytes   int
}

type bloomFilter struct {
	bits  []uint64
	mask  uint64 // len(bits)*64 - 1; the size is a power of two
	n     int
	limit int // networks it takes before the next filter starts
}

const (
	bloomHashes      = 7       // hash functions per filter
	bloomBitsPerItem = 10      // ~1% false positives at bloomHashes = 7
	firstBloomItems  = 1 << 16 // networks the first filter takes
	maxBloomBytes    = 64 << 20
)

func newBloom() *bloom {
	b := &bloom{seed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	b.grow(firstBloomItems)
	return b
}

func (b *bloom) grow(items int) {
	words := 1 << bits.Len(uint(items*bloomBitsPerItem/64-1))
	b.filters = append(b.filters, bloomFilter{bits: make([]uint64, words), mask: uint64(words*64 - 1), limit: items})
	b.bytes += words * 8
}

// hash returns two independent 64-bit hashes of p.
func (b *bloom) hash(p netip.Prefix) (uint64, uint64) {
	var k [17]byte
	a := p.Addr().As16()
	copy(k[:], a[:])
	k[16] = byte(p.Bits())
	if p.Addr().Is4() {
		k[16] |= 0x80 // /n of IPv4 differs from /n of IPv6
	}
	return maphash.Bytes(b.seed[0], k[:]), maphash.Bytes(b.seed[1], k[:]) | 1
}

func (f *bloomFilter) has(h1, h2 uint64) bool {
	for i := range uint64(bloomHashes) {
		x := (h1 + i*h2) & f.mask
		if f.bits[x>>6]&(1<<(x&63)) == 0 {
			return false
		}
	}
	return true
}

func (f *bloomFilter) set(h1, h2 uint64) {
	for i := range uint64(bloomHashes) {
		x := (h1 + i*h2) & f.mask
		f.bits[x>>6] |= 1 << (x & 63)
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
