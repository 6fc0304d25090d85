package keycache

// Ways is the associativity: a key can sit in any of the Ways slots of
// the set its first word picks.
const Ways = 4

// Cache is a set-associative table of fixed size, least recently used
// out within a set.
type Cache struct {
	slots []slot
	mask  uint64 // sets - 1
	tick  uint32
}

type slot struct {
	k     [2]uint64
	v     uint32
	stamp uint32 // 0: empty; else the tick of the last use
}

// MaxLen is the most keys a Cache holds (8 GiB of slots): New asked for
// more makes one of MaxLen.
const MaxLen = 1 << 28

// New returns a cache of about n keys: the smallest power of two of sets
// of Ways slots that holds n (at least one set, at most MaxLen keys).
func New(n int) *Cache {
	sets := setsFor(n)
	return &Cache{slots: make([]slot, sets*Ways), mask: uint64(sets - 1)}
}

// setsFor is the number of sets of a cache of about n keys. n is capped
// first: doubling past MaxInt/Ways would overflow and never end.
func setsFor(n int) int {
	n = min(n, MaxLen)
	sets := 1
	for sets*Ways < n {
		sets *= 2
	}
	return sets
}

// Len is the number of keys the cache can hold.
func (c *Cache) Len() int { return len(c.slots) }

func (c *Cache) set(k [2]uint64) []slot {
	i := (k[0] & c.mask) * Ways
	return c.slots[i : i+Ways : i+Ways]
}

// next returns the next use stamp; 0 is skipped, as it marks an empty
// slot. After 2^32 uses stamps wrap, which can only make a recent slot
// look old: a replacement choice, never a wrong value.
func (c *Cache) next() uint32 {
	c.tick++
	if c.tick == 0 {
		c.tick = 1
	}
	return c.tick
}

// Get returns the value of k and marks it used, or false when k is not
// in the cache.
func (c *Cache) Get(k [2]uint64) (uint32, bool) {
	set := c.set(k)
	for i := range set {
		if set[i].stamp != 0 && set[i].k == k {
			set[i].stamp = c.next()
			return set[i].v, true
		}
	}
	return 0, false
}

// Put sets the value of k, replacing k's slot when k is there, else the
// set's empty or least recently used slot.
func (c *Cache) Put(k [2]uint64, v uint32) {
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
	set[old] = slot{k: k, v: v, stamp: c.next()}
}
