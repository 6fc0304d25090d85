package kv

import "hash/maphash"

// recordCache remembers the records an ingest met lately, by a 128-bit
// key (two independent 64-bit hashes: a collision needs both to collide,
// about 2^-128 per pair): seenOnce for a record met once, else its
// number in the dictionary. A set-associative table of fixed size (4
// ways, least recently used out): memory does not grow with the
// records. A record it forgets is stored in its row again, or gets a
// second number; never a wrong one.
type recordCache struct {
	seeds [2]maphash.Seed
	slots []cacheSlot
	mask  uint64
	tick  uint32
}

type cacheSlot struct {
	k     [2]uint64
	v     uint32
	stamp uint32 // 0: empty; else the tick of the last use
}

// seenOnce marks a record met once, not in the dictionary.
const seenOnce = ^uint32(0)

const cacheWays = 4

// defaultRecordCache is the records an ingest's cache holds (24 MiB).
const defaultRecordCache = 1 << 20

func newRecordCache(n int) *recordCache {
	sets := 1
	for sets*cacheWays < n {
		sets *= 2
	}
	return &recordCache{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		slots: make([]cacheSlot, sets*cacheWays), mask: uint64(sets - 1)}
}

func (c *recordCache) key(v []byte) [2]uint64 {
	return [2]uint64{maphash.Bytes(c.seeds[0], v), maphash.Bytes(c.seeds[1], v)}
}

func (c *recordCache) set(k [2]uint64) []cacheSlot {
	i := (k[0] & c.mask) * cacheWays
	return c.slots[i : i+cacheWays : i+cacheWays]
}

func (c *recordCache) next() uint32 {
	c.tick++
	if c.tick == 0 {
		c.tick = 1
	}
	return c.tick
}

func (c *recordCache) get(k [2]uint64) (uint32, bool) {
	set := c.set(k)
	for i := range set {
		if set[i].stamp != 0 && set[i].k == k {
			set[i].stamp = c.next()
			return set[i].v, true
		}
	}
	return 0, false
}

func (c *recordCache) put(k [2]uint64, v uint32) {
	set := c.set(k)
	old := -1
	for i := range set {
		if set[i].stamp != 0 && set[i].k == k {
			old = i
			break
		}
	}
	if old < 0 {
		old = 0
		for i := range set {
			if set[i].stamp < set[old].stamp {
				old = i
			}
		}
	}
	set[old] = cacheSlot{k: k, v: v, stamp: c.next()}
}
