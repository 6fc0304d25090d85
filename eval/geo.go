package eval

import "math"

// EarthRadiusKm is the mean radius of the WGS84 ellipsoid, (2a+b)/3, in
// kilometres: the radius of the sphere on which distances are measured.
const EarthRadiusKm = 6371.0088

// DistanceKm returns the great-circle distance in kilometres between two
// points given in degrees, on the sphere of radius EarthRadiusKm, by the
// haversine formula in its atan2 form (well conditioned for near and
// antipodal points alike).
//
// TODO(lead): the gazetteer work adds a distance helper (internal/geo);
// dedupe when both have landed.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	p1, p2 := lat1*rad, lat2*rad
	sdp := math.Sin((p2 - p1) / 2)
	sdl := math.Sin((lon2 - lon1) * rad / 2)
	a := sdp*sdp + math.Cos(p1)*math.Cos(p2)*sdl*sdl
	a = min(max(a, 0), 1)
	return 2 * EarthRadiusKm * math.Atan2(math.Sqrt(a), math.Sqrt(1-a))
}
