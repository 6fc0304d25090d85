package geoip2

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

// cityBox holds a City copy and the coordinates its Location points to.
type cityBox struct {
	c        City
	lat, lon float64
}

// clone returns a deep copy of c.
func (c *City) clone() *City {
	b := &cityBox{c: *c}
	b.c.Location.cloneInto(&b.lat, &b.lon)
	if c.Subdivisions != nil {
		b.c.Subdivisions = append(make([]CitySubdivision, 0, len(c.Subdivisions)), c.Subdivisions...)
	}
	return &b.c
}

type enterpriseBox struct {
	c        Enterprise
	lat, lon float64
}

// clone returns a deep copy of e.
func (e *Enterprise) clone() *Enterprise {
	b := &enterpriseBox{c: *e}
	b.c.Location.cloneInto(&b.lat, &b.lon)
	if e.Subdivisions != nil {
		b.c.Subdivisions = append(make([]EnterpriseSubdivision, 0, len(e.Subdivisions)), e.Subdivisions...)
	}
	return &b.c
}

// clone returns a deep copy of c (a Country holds no pointers).
func (c *Country) clone() *Country {
	x := *c
	return &x
}

// clone returns a deep copy of a (an ASN holds no pointers).
func (a *ASN) clone() *ASN {
	x := *a
	return &x
}

// cloneInto points l's coordinates at lat and lon, holding copies of the
// values l pointed to (a nil coordinate stays nil).
func (l *Location) cloneInto(lat, lon *float64) {
	if l.Latitude != nil {
		*lat = *l.Latitude
		l.Latitude = lat
	}
	if l.Longitude != nil {
		*lon = *l.Longitude
		l.Longitude = lon
	}
}
