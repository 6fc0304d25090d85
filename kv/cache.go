package kv

import (
	"hash/maphash"

	"github.com/ipatlas/ipatlas/internal/keycache"
)

// recordCache remembers the records an ingest met lately, by a 128-bit
// key (two independent 64-bit hashes: a collision needs both to collide,
// about 2^-128 per pair): seenOnce for a record met once, else its
// number in the dictionary. A set-associative table of fixed size (4
// ways, least recently used out): memory does not grow with the
// records. A record it forgets is stored in its row again, or gets a
// second number; never a wrong one.
type recordCache struct {
	seeds [2]maphash.Seed
	*keycache.Cache
}

// seenOnce marks a record met once, not in the dictionary.
const seenOnce = ^uint32(0)

// defaultRecordCache is the records an ingest's cache holds (24 MiB).
const defaultRecordCache = 1 << 20

func newRecordCache(n int) *recordCache {
	return &recordCache{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, Cache: keycache.New(n)}
}

func (c *recordCache) key(v []byte) [2]uint64 {
	return [2]uint64{maphash.Bytes(c.seeds[0], v), maphash.Bytes(c.seeds[1], v)}
}
