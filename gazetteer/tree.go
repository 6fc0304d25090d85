package gazetteer

import (
	"math"

	"github.com/ipatlas/ipatlas/internal/geo"
)

// tree is a k-d tree over unit-sphere vectors, laid out implicitly: the
// node of a range [lo, hi) of more than leafSize points is at mid =
// (lo+hi)/2, split on axis dim[mid]; points of [lo, mid) have a
// coordinate on that axis <= the node's, those of (mid, hi) >= it.
// Ranges of at most leafSize points are scanned.
//
// The straight-line (chord) distance between unit vectors is monotone in
// the great-circle distance, so the nearest by chord is the nearest on
// the sphere.
type tree struct {
	pts []geo.Vec
	ids []int32  // place index of pts[i]
	pop []uint32 // population of pts[i]: of points at equal distance, the more populous wins
	dim []uint8
}

const leafSize = 8

func newTree(places []Place, ids []int32) tree {
	t := tree{pts: make([]geo.Vec, len(ids)), ids: append([]int32(nil), ids...), dim: make([]uint8, len(ids))}
	for i, id := range t.ids {
		t.pts[i] = geo.ToVec(places[id].Lat, places[id].Lon)
	}
	t.build(0, len(t.ids))
	t.pop = make([]uint32, len(ids))
	for i, id := range t.ids {
		t.pop[i] = places[id].Population
	}
	return t
}

func (t *tree) build(lo, hi int) {
	if hi-lo <= leafSize {
		return
	}
	// Split on the axis of the widest spread.
	var min, max geo.Vec
	for k := range 3 {
		min[k], max[k] = math.Inf(1), math.Inf(-1)
	}
	for _, p := range t.pts[lo:hi] {
		for k := range 3 {
			// Plain comparisons: no NaN here (unit vectors), and
			// math.Min/Max cost twice as much.
			if p[k] < min[k] {
				min[k] = p[k]
			}
			if p[k] > max[k] {
				max[k] = p[k]
			}
		}
	}
	d := 0
	for k := 1; k < 3; k++ {
		if max[k]-min[k] > max[d]-min[d] {
			d = k
		}
	}
	mid := (lo + hi) / 2
	t.selectNth(lo, hi, mid, d)
	t.dim[mid] = uint8(d)
	t.build(lo, mid)
	t.build(mid+1, hi)
}

// selectNth reorders [lo, hi) so that the point at n has the n-th
// smallest coordinate d, smaller or equal ones before, greater or equal
// after (Hoare's quickselect with a median-of-three pivot).
func (t *tree) selectNth(lo, hi, n, d int) {
	for hi-lo > 1 {
		m := lo + (hi-lo)/2
		a, b, c := t.pts[lo][d], t.pts[m][d], t.pts[hi-1][d]
		pivot := math.Max(math.Min(a, b), math.Min(math.Max(a, b), c))
		i, j := lo, hi-1
		for i <= j {
			for t.pts[i][d] < pivot {
				i++
			}
			for t.pts[j][d] > pivot {
				j--
			}
			if i <= j {
				t.swap(i, j)
				i++
				j--
			}
		}
		switch {
		case n <= j:
			hi = j + 1
		case n >= i:
			lo = i
		default:
			return
		}
	}
}

func (t *tree) swap(i, j int) {
	t.pts[i], t.pts[j] = t.pts[j], t.pts[i]
	t.ids[i], t.ids[j] = t.ids[j], t.ids[i]
}

// best is the state of a search: the nearest point so far.
type best struct {
	q   geo.Vec
	d2  float64 // squared chord of the nearest so far, or of the limit
	id  int32
	pop uint32
}

// nearest returns the id of the nearest point within maxKm, and its
// distance in km, or -1.
func (t *tree) nearest(q geo.Vec, maxKm float64) (int, float64) {
	if len(t.ids) == 0 {
		return -1, 0
	}
	c := geo.ChordOfKm(maxKm)
	// A little above the limit, then checked exactly in km below.
	s := best{q: q, d2: c*c*(1+1e-12) + 1e-18, id: -1}
	t.search(0, len(t.ids), &s)
	if s.id < 0 {
		return -1, 0
	}
	km := geo.KmOfChord2(s.d2)
	if km > maxKm {
		return -1, 0
	}
	return int(s.id), km
}

func (t *tree) search(lo, hi int, s *best) {
	for hi-lo > leafSize {
		mid := (lo + hi) / 2
		p := &t.pts[mid]
		if d2 := geo.Chord2(*p, s.q); d2 <= s.d2 {
			s.take(t, mid, d2)
		}
		diff := s.q[t.dim[mid]] - p[t.dim[mid]]
		// The near side first, then the far side if the splitting plane
		// is nearer than the best so far.
		if diff < 0 {
			t.search(lo, mid, s)
			lo = mid + 1
		} else {
			t.search(mid+1, hi, s)
			hi = mid
		}
		if diff*diff > s.d2 { // equal: a tie may lie on the far side
			return
		}
	}
	for i := lo; i < hi; i++ {
		if d2 := geo.Chord2(t.pts[i], s.q); d2 <= s.d2 {
			s.take(t, i, d2)
		}
	}
}

// take makes point i, at squared chord d2 <= s.d2, the nearest unless it
// ties with the nearest and is less populous (or as populous with a
// greater place index: ties are decided the same whatever the tree's
// order).
func (s *best) take(t *tree, i int, d2 float64) {
	if d2 == s.d2 && s.id >= 0 && (t.pop[i] < s.pop || t.pop[i] == s.pop && t.ids[i] > s.id) {
		return
	}
	s.d2, s.id, s.pop = d2, t.ids[i], t.pop[i]
}
