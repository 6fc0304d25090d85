package geo

import "math"

// EarthRadiusKm is the mean Earth radius of WGS84, (2a+b)/3, in km.
const EarthRadiusKm = 6371.0088

const degToRad = math.Pi / 180

// Distance returns the great-circle distance in km between two WGS84
// points given in degrees, on a sphere of radius EarthRadiusKm (error
// against the ellipsoid under 0.5%), by the haversine formula in its atan2
// form, which stays well conditioned for near and antipodal points alike
// (eval's TestDistanceKm holds it to Vincenty's formula within 1e-9 km).
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	p1, p2 := lat1*degToRad, lat2*degToRad
	s1 := math.Sin((p2 - p1) / 2)
	s2 := math.Sin((lon2 - lon1) * degToRad / 2)
	h := s1*s1 + math.Cos(p1)*math.Cos(p2)*s2*s2
	h = min(max(h, 0), 1)
	return 2 * EarthRadiusKm * math.Atan2(math.Sqrt(h), math.Sqrt(1-h))
}

// Vec is a point on the unit sphere: x toward (0°N, 0°E), y toward
// (0°N, 90°E), z toward the North Pole.
type Vec [3]float64

// ToVec returns the unit vector of a point given in degrees.
func ToVec(lat, lon float64) Vec {
	p, l := lat*degToRad, lon*degToRad
	cp := math.Cos(p)
	return Vec{cp * math.Cos(l), cp * math.Sin(l), math.Sin(p)}
}

// LatLon returns the degrees of v's direction; v need not be unit length
// but must not be zero (then it returns 0, 0).
func (v Vec) LatLon() (lat, lon float64) {
	h := math.Hypot(v[0], v[1])
	if h == 0 && v[2] == 0 {
		return 0, 0
	}
	return math.Atan2(v[2], h) / degToRad, math.Atan2(v[1], v[0]) / degToRad
}

// Chord2 returns the squared straight-line distance between unit vectors.
func Chord2(a, b Vec) float64 {
	dx, dy, dz := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return dx*dx + dy*dy + dz*dz
}

// ChordOfKm returns the chord (on the unit sphere) of a great-circle
// distance in km; distances beyond half the circumference give 2.
func ChordOfKm(km float64) float64 {
	a := km / EarthRadiusKm
	if a >= math.Pi {
		return 2
	}
	return 2 * math.Sin(a/2)
}

// KmOfChord2 returns the great-circle distance in km of a squared chord
// between unit vectors.
func KmOfChord2(c2 float64) float64 {
	c := math.Sqrt(c2) / 2
	if c > 1 {
		c = 1
	}
	return 2 * EarthRadiusKm * math.Asin(c)
}

// Centroid accumulates the weighted centroid of points: the direction of
// the weighted sum of their unit vectors. The zero value is empty.
type Centroid struct {
	sum Vec
	w   float64
}

// Add adds a point of weight w (> 0) given in degrees.
func (c *Centroid) Add(lat, lon, w float64) {
	v := ToVec(lat, lon)
	c.sum[0] += w * v[0]
	c.sum[1] += w * v[1]
	c.sum[2] += w * v[2]
	c.w += w
}

// Weight returns the total weight added.
func (c *Centroid) Weight() float64 { return c.w }

// LatLon returns the centroid in degrees. Points spread so evenly that
// their vectors cancel (antipodes) give (0, 0).
func (c *Centroid) LatLon() (lat, lon float64) { return c.sum.LatLon() }
