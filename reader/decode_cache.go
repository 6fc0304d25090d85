package reader

import "sync/atomic"

// The decoder's caches, keyed by data offset: strings, where skipped
// containers end, and names maps.

// offsetSlot is the slot of data offset off in a direct-mapped table of
// 1<<bits slots: the top bits of Knuth's multiplicative hash, which
// spreads the offsets of neighbouring values over the table.
func offsetSlot(off uint, bits uint) uint32 {
	return uint32(off) * 2654435761 >> (32 - bits)
}

// Sizes of the caches, as powers of two.
const (
	stringCacheBits = 14
	skipCacheBits   = 12
	mapCacheBits    = 10
)

// maxCachedString is the longest string the cache keeps.
const maxCachedString = 256

// stringCache maps data offsets to decoded strings, so the names that
// records share through pointers are allocated once. It is direct-mapped
// and lock-free: a slot holds an immutable entry, replaced whole.
type stringCache struct {
	slots [1 << stringCacheBits]atomic.Pointer[stringEntry]
}

type stringEntry struct {
	off uint
	s   string
}

func (c *stringCache) get(off uint, b []byte) string {
	slot := &c.slots[offsetSlot(off, stringCacheBits)]
	if e := slot.Load(); e != nil && e.off == off && len(e.s) == len(b) {
		return e.s
	}
	s := string(b)
	slot.Store(&stringEntry{off: off, s: s})
	return s
}

// minSkipCached is the fewest values (keys and values of a map, elements of
// an array) a container must hold for skip to remember where it ends.
const minSkipCached = 6

// skipCache remembers where containers end, so that skipping a map that
// many records share (a names map inside a country, say) costs one probe
// instead of a walk over its entries. It is direct-mapped and lock-free:
// a slot is one word, offset | length | depth, written whole.
//
// An entry is stored only after skip walked the container successfully
// from depth, and is used only at that depth or a shallower one, so that
// a hit returns exactly what the walk would have: the section is
// immutable, and a walk that stayed within the depth limit from a depth
// stays within it from any shallower one.
type skipCache struct {
	slots [1 << skipCacheBits]atomic.Uint64
}

const (
	skipLenBits   = 22
	skipDepthBits = 10 // maxDepth fits
)

func (c *skipCache) get(off uint, depth int) (uint, bool) {
	e := c.slots[offsetSlot(off, skipCacheBits)].Load()
	if e>>32 != uint64(off) || e == 0 {
		return 0, false
	}
	if int(e&(1<<skipDepthBits-1)) < depth {
		return 0, false
	}
	return off + uint(e>>skipDepthBits)&(1<<skipLenBits-1), true
}

func (c *skipCache) put(off, end uint, depth int) {
	n := end - off
	if off >= 1<<32 || n >= 1<<skipLenBits || depth >= 1<<skipDepthBits {
		return
	}
	c.slots[offsetSlot(off, skipCacheBits)].Store(uint64(off)<<32 | uint64(n)<<skipDepthBits | uint64(depth))
}

// mapCache holds decoded map[string]string values (names maps, mostly) by
// the data offset of their entries. Decoding such a map again clones the
// cached one, which copies its table instead of hashing every key, and
// the caller still gets a map of its own. Direct-mapped and lock-free: a
// slot holds an immutable entry, replaced whole.
type mapCache struct {
	slots [1 << mapCacheBits]atomic.Pointer[mapEntry]
}

type mapEntry struct {
	off, end uint              // the map's entries, and the offset after them
	m        map[string]string // never modified once stored
}

func (c *mapCache) get(off uint) *mapEntry {
	if e := c.slots[offsetSlot(off, mapCacheBits)].Load(); e != nil && e.off == off {
		return e
	}
	return nil
}

func (c *mapCache) put(e *mapEntry) {
	c.slots[offsetSlot(e.off, mapCacheBits)].Store(e)
}
