package gazetteer

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/ipatlas/ipatlas/reader"
)

// mmdbPart is a GeoIP2 region map: country, a subdivision, city.
type mmdbPart struct {
	GeonameID uint32            `maxminddb:"geoname_id"`
	IsoCode   string            `maxminddb:"iso_code"`
	Names     map[string]string `maxminddb:"names"`
}

// mmdbRecord is the part of a GeoIP2 City record the gazetteer reads.
type mmdbRecord struct {
	City         mmdbPart   `maxminddb:"city"`
	Country      mmdbPart   `maxminddb:"country"`
	Subdivisions []mmdbPart `maxminddb:"subdivisions"`
	Location     struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// namesOf turns a GeoIP2 names map into sorted Names and a default name:
// English if present, else the first language in byte order.
func namesOf(m map[string]string) (string, []Name) {
	if len(m) == 0 {
		return "", nil
	}
	langs := slices.Sorted(maps.Keys(m))
	names := make([]Name, 0, len(m))
	for _, l := range langs {
		if m[l] != "" {
			names = append(names, Name{Lang: l, Name: m[l]})
		}
	}
	def := m["en"]
	if def == "" && len(names) > 0 {
		def = names[0].Name
	}
	return def, names
}

// FromMMDB builds a gazetteer from a GeoIP2-style City database (such as
// GeoLite2-City): one place for each distinct pair of city geoname_id and
// location among its records (a city whose networks carry several points
// gets a place at each), with the record's country and first subdivision;
// every country and subdivision met, with their names in all languages.
// Records without a city geoname_id, a country iso_code or a location
// give no place. An MMDB has no population: a place's Population is the
// number of the database's networks that carry its city and point, so
// that of cities sharing a point (GeoLite2 has many) the one with more
// networks wins the nearest-place tie.
func FromMMDB(r *reader.Reader) (*Gazetteer, error) {
	b := newMMDBTables()
	// placeOf maps a record's offset to its place, -1 for none.
	placeOf := map[uintptr]int{}
	type key struct {
		id       uint32
		lat, lon float64
	}
	placeAt := map[key]int{}
	for res := range r.Networks() {
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("gazetteer: reading the MMDB: %w", err)
		}
		if pi, ok := placeOf[res.Offset()]; ok {
			if pi >= 0 && b.places[pi].Population < math.MaxUint32 {
				b.places[pi].Population++
			}
			continue
		}
		placeOf[res.Offset()] = -1
		var rec mmdbRecord
		if err := res.Decode(&rec); err != nil {
			return nil, fmt.Errorf("gazetteer: MMDB record of %s: %w", res.Prefix(), err)
		}
		ci := b.country(rec.Country)
		if ci < 0 {
			continue
		}
		si := int32(-1)
		if len(rec.Subdivisions) > 0 {
			si = b.subdivision(ci, rec.Country.IsoCode, rec.Subdivisions[0])
		}
		if rec.City.GeonameID == 0 || rec.Location.Latitude == nil || rec.Location.Longitude == nil {
			continue
		}
		k := key{rec.City.GeonameID, *rec.Location.Latitude, *rec.Location.Longitude}
		pi, ok := placeAt[k]
		if !ok {
			pi = len(b.places)
			placeAt[k] = pi
			name, names := namesOf(rec.City.Names)
			b.places = append(b.places, Place{GeonameID: k.id, Lat: k.lat, Lon: k.lon, Country: ci, Subdivision: si, Name: name, Names: names})
		}
		placeOf[res.Offset()] = pi
		b.places[pi].Population++
	}
	return b.finish()
}

// CountriesFromMMDB returns the countries of a GeoIP2-style database's
// records (code, geoname_id, names), sorted by code: the country names of
// a gazetteer built from GeoNames files without countryInfo.txt.
func CountriesFromMMDB(r *reader.Reader) ([]Country, error) {
	b := newMMDBTables()
	seen := map[uintptr]bool{}
	for res := range r.Networks() {
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("gazetteer: reading the MMDB: %w", err)
		}
		if seen[res.Offset()] {
			continue
		}
		seen[res.Offset()] = true
		var rec struct {
			Country mmdbPart `maxminddb:"country"`
		}
		if err := res.Decode(&rec); err != nil {
			return nil, fmt.Errorf("gazetteer: MMDB record of %s: %w", res.Prefix(), err)
		}
		b.country(rec.Country)
	}
	g, err := b.finish()
	if err != nil {
		return nil, err
	}
	return g.Countries, nil
}

// mmdbTables gathers countries and subdivisions by identity.
type mmdbTables struct {
	countries []Country
	byCode    map[string]int32
	subs      []Subdivision
	subByKey  map[string]int32
	places    []Place
}

func newMMDBTables() *mmdbTables {
	return &mmdbTables{byCode: map[string]int32{}, subByKey: map[string]int32{}}
}

func (b *mmdbTables) country(p mmdbPart) int32 {
	if !isCountryCode(p.IsoCode) {
		return -1
	}
	if i, ok := b.byCode[p.IsoCode]; ok {
		return i
	}
	name, names := namesOf(p.Names)
	i := int32(len(b.countries))
	b.countries = append(b.countries, Country{Code: p.IsoCode, GeonameID: p.GeonameID, Name: name, Names: names})
	b.byCode[p.IsoCode] = i
	return i
}

func (b *mmdbTables) subdivision(ci int32, cc string, p mmdbPart) int32 {
	k := fmt.Sprintf("%s.%d.%s", cc, p.GeonameID, p.IsoCode)
	if i, ok := b.subByKey[k]; ok {
		return i
	}
	name, names := namesOf(p.Names)
	s := Subdivision{Country: ci, GeonameID: p.GeonameID, Name: name, Names: names}
	if p.IsoCode != "" {
		s.Code = cc + "-" + p.IsoCode
	}
	i := int32(len(b.subs))
	b.subs = append(b.subs, s)
	b.subByKey[k] = i
	return i
}

// finish sorts the countries by code, renumbers references, and builds.
func (b *mmdbTables) finish() (*Gazetteer, error) {
	order := make([]int32, len(b.countries))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return compareStrings(b.countries[x].Code, b.countries[y].Code) })
	newIndex := make([]int32, len(order))
	sorted := make([]Country, len(order))
	for n, old := range order {
		newIndex[old] = int32(n)
		sorted[n] = b.countries[old]
	}
	for i := range b.subs {
		b.subs[i].Country = newIndex[b.subs[i].Country]
	}
	for i := range b.places {
		b.places[i].Country = newIndex[b.places[i].Country]
	}
	return New(sorted, b.subs, b.places)
}
