package geo

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want, tol              float64
	}{
		{"same point", 48.8566, 2.3522, 48.8566, 2.3522, 0, 1e-9},
		// A quarter of a great circle: pi/2 * R.
		{"equator quarter", 0, 0, 0, 90, math.Pi / 2 * EarthRadiusKm, 1e-6},
		{"pole to equator", 90, 0, 0, 123, math.Pi / 2 * EarthRadiusKm, 1e-6},
		{"antipodes", 10, 20, -10, -160, math.Pi * EarthRadiusKm, 1e-6},
		// One degree of latitude: 2*pi*R/360 = 111.195 km.
		{"one degree", 10, 5, 11, 5, 2 * math.Pi * EarthRadiusKm / 360, 1e-6},
		// Paris-London, 343.5 km on the sphere (published haversine value
		// for these coordinates, R = 6371 km: 343.56).
		{"paris london", 48.8566, 2.3522, 51.5074, -0.1278, 343.56, 0.2},
		{"date line", 0, 179.5, 0, -179.5, 2 * math.Pi * EarthRadiusKm / 360, 1e-6},
	} {
		got := Distance(c.lat1, c.lon1, c.lat2, c.lon2)
		if math.Abs(got-c.want) > c.tol {
			t.Errorf("%s: Distance = %.6f, want %.6f", c.name, got, c.want)
		}
		if back := Distance(c.lat2, c.lon2, c.lat1, c.lon1); back != got {
			t.Errorf("%s: not symmetric: %v vs %v", c.name, got, back)
		}
	}
}

func TestChordRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		lat1, lon1 := r.Float64()*180-90, r.Float64()*360-180
		lat2, lon2 := r.Float64()*180-90, r.Float64()*360-180
		d := Distance(lat1, lon1, lat2, lon2)
		c2 := Chord2(ToVec(lat1, lon1), ToVec(lat2, lon2))
		if got := KmOfChord2(c2); math.Abs(got-d) > 1e-6 {
			t.Fatalf("KmOfChord2 = %v, Distance = %v for (%v,%v) (%v,%v)", got, d, lat1, lon1, lat2, lon2)
		}
		if c := ChordOfKm(d); math.Abs(c*c-c2) > 1e-9 {
			t.Fatalf("ChordOfKm(%v)^2 = %v, want %v", d, c*c, c2)
		}
		lat, lon := ToVec(lat1, lon1).LatLon()
		if Distance(lat, lon, lat1, lon1) > 1e-6 {
			t.Fatalf("LatLon(ToVec(%v,%v)) = %v,%v", lat1, lon1, lat, lon)
		}
	}
}

func TestCentroid(t *testing.T) {
	var c Centroid
	c.Add(0, 10, 1)
	c.Add(0, 20, 1)
	if lat, lon := c.LatLon(); math.Abs(lat) > 1e-9 || math.Abs(lon-15) > 1e-9 {
		t.Errorf("midpoint = %v,%v, want 0,15", lat, lon)
	}
	c = Centroid{}
	c.Add(0, 179, 3)
	c.Add(0, -179, 1)
	// Weighted toward 179, across the date line: at 179.5 for weights 3:1
	// within 0.01 degree (the chord mean is not the arc mean).
	if lat, lon := c.LatLon(); math.Abs(lat) > 1e-9 || math.Abs(lon-179.5) > 0.01 {
		t.Errorf("date-line centroid = %v,%v, want 0,179.5", lat, lon)
	}
	if c.Weight() != 4 {
		t.Errorf("Weight = %v", c.Weight())
	}
}
