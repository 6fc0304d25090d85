package geoip2

import "slices"

// Private copies. The geoip2-golang-style lookups (City, Country,
// Enterprise, ASN) hand the caller a record it owns: the caller may write
// to any part of it, through any pointer or slice, without changing what
// later lookups answer and without racing with other goroutines reading
// the shared cached record. So a private copy shares no memory that can
// be written with the cached record: every pointer and slice is copied
// (strings are immutable and may be shared). TestPrivateCopyIsDeep writes
// through every pointer, slice and map of each copy, found by reflection,
// so a field added to a model without a line here fails it.
//
// Each copy is one allocation for the record and its coordinates, plus
// one for the subdivisions when there are any.

// located is a record copy and the coordinates its Location points to,
// allocated together.
type located[T any] struct {
	rec      T
	lat, lon float64
}

// cloneCity returns a deep copy of c.
func cloneCity(c *City) *City {
	b := &located[City]{rec: *c}
	cloneLocation(&b.rec.Location, &b.lat, &b.lon)
	b.rec.Subdivisions = slices.Clone(c.Subdivisions)
	return &b.rec
}

// cloneEnterprise returns a deep copy of e.
func cloneEnterprise(e *Enterprise) *Enterprise {
	b := &located[Enterprise]{rec: *e}
	cloneLocation(&b.rec.Location, &b.lat, &b.lon)
	b.rec.Subdivisions = slices.Clone(e.Subdivisions)
	return &b.rec
}

// cloneFlat returns a copy of a record that holds no pointers or slices
// (Country, ASN).
func cloneFlat[T any](v *T) *T {
	x := *v
	return &x
}

// cloneLocation points l's coordinates at lat and lon, holding copies of
// the values l pointed to (a nil coordinate stays nil).
func cloneLocation(l *Location, lat, lon *float64) {
	if l.Latitude != nil {
		*lat = *l.Latitude
		l.Latitude = lat
	}
	if l.Longitude != nil {
		*lon = *l.Longitude
		l.Longitude = lon
	}
}
