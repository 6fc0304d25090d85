package keycache

import (
	"math"
	"math/rand/v2"
	"testing"
)

// model is a brute-force reference: per set, the keys in order of last
// use, at most Ways of them.
type model struct {
	sets map[uint64][][2]uint64
	vals map[[2]uint64]uint32
	mask uint64
}

func (m *model) touch(k [2]uint64) {
	s := m.sets[k[0]&m.mask]
	for i, x := range s {
		if x == k {
			s = append(s[:i], s[i+1:]...)
			break
		}
	}
	s = append(s, k)
	if len(s) > Ways {
		delete(m.vals, s[0])
		s = s[1:]
	}
	m.sets[k[0]&m.mask] = s
}

func (m *model) get(k [2]uint64) (uint32, bool) {
	v, ok := m.vals[k]
	if ok {
		m.touch(k)
	}
	return v, ok
}

func (m *model) put(k [2]uint64, v uint32) {
	m.touch(k)
	m.vals[k] = v
}

// TestAgainstModel runs random Gets and Puts on a small cache and on the
// brute-force model, with few distinct keys so that sets fill and evict.
func TestAgainstModel(t *testing.T) {
	for _, n := range []int{1, 4, 5, 64} {
		c := New(n)
		sets := uint64(c.Len() / Ways)
		m := &model{sets: map[uint64][][2]uint64{}, vals: map[[2]uint64]uint32{}, mask: sets - 1}
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		for op := range 20000 {
			k := [2]uint64{rng.Uint64N(3 * uint64(c.Len())), rng.Uint64N(2)}
			if rng.IntN(2) == 0 {
				v := rng.Uint32()
				c.Put(k, v)
				m.put(k, v)
				continue
			}
			got, gotOK := c.Get(k)
			want, wantOK := m.get(k)
			if got != want || gotOK != wantOK {
				t.Fatalf("n=%d op %d: Get(%v) = %d, %v; model %d, %v", n, op, k, got, gotOK, want, wantOK)
			}
		}
	}
}

// TestSize checks New's rounding: a power of two of sets, at least n keys.
func TestSize(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{0, 4}, {1, 4}, {4, 4}, {5, 8}, {9, 16}, {1 << 20, 1 << 20}} {
		if got := New(tc.n).Len(); got != tc.want {
			t.Errorf("New(%d).Len() = %d, want %d", tc.n, got, tc.want)
		}
	}
}

// TestSizeCapped: a size near math.MaxInt (a caller's "as large as it
// takes", through kv.Options.RecordCache or format's CacheRecords) is
// capped at MaxLen keys; the doubling overflowed and spun forever.
func TestSizeCapped(t *testing.T) {
	for _, n := range []int{MaxLen, MaxLen + 1, math.MaxInt/Ways + 1, math.MaxInt} {
		if got := setsFor(n) * Ways; got != MaxLen {
			t.Errorf("setsFor(%d) holds %d keys, want MaxLen (%d)", n, got, MaxLen)
		}
	}
}

// TestGetDoesNotAllocate: the cache is on the writer's and the ingest's
// per-record path.
func TestGetDoesNotAllocate(t *testing.T) {
	c := New(64)
	c.Put([2]uint64{1, 2}, 3)
	if n := testing.AllocsPerRun(100, func() { c.Get([2]uint64{1, 2}); c.Put([2]uint64{5, 6}, 7) }); n != 0 {
		t.Errorf("Get+Put: %v allocs", n)
	}
}
