package gazetteer

import (
	"fmt"
	"slices"
	"sync"

	"github.com/ipatlas/ipatlas/internal/geo"
)

// Name is a name in one language.
type Name struct {
	// Lang is a locale as GeoIP2 writes it: "en", "de", "pt-BR", "zh-CN".
	Lang string
	// Name is the name, any UTF-8.
	Name string
}

// Country is a country: an ISO 3166-1 alpha-2 code and its names.
type Country struct {
	// Code is the ISO 3166-1 alpha-2 code, upper case ("FR").
	Code string
	// GeonameID is the GeoNames id, 0 if unknown.
	GeonameID uint32
	// Name is the default name (English where the source has it).
	Name string
	// Names are the names by language, sorted by Lang, each Lang once.
	Names []Name
}

// Subdivision is a first-level subdivision of a country.
type Subdivision struct {
	// Country is the index of the country in Gazetteer.Countries.
	Country int32
	// Code is the ISO 3166-2 code with its country prefix ("US-CA"), ""
	// where the source gives none.
	Code string
	// GeonameID is the GeoNames id, 0 if unknown.
	GeonameID uint32
	// Name is the default name.
	Name string
	// Names are the names by language, sorted by Lang, each Lang once.
	Names []Name
}

// Place is a populated place.
type Place struct {
	// GeonameID is the GeoNames id, 0 if unknown.
	GeonameID uint32
	// Lat and Lon are WGS84 degrees.
	Lat, Lon float64
	// Population is the number of inhabitants, 0 if unknown.
	Population uint32
	// Country is the index of the country in Gazetteer.Countries.
	Country int32
	// Subdivision is the index in Gazetteer.Subdivisions, -1 for none.
	Subdivision int32
	// Name is the default name.
	Name string
	// Names are the names by language, sorted by Lang, each Lang once.
	Names []Name
}

// NameIn returns the name of names in lang, or def when there is none.
func NameIn(names []Name, lang, def string) string {
	i, ok := slices.BinarySearchFunc(names, lang, func(n Name, l string) int { return compareStrings(n.Lang, l) })
	if ok {
		return names[i].Name
	}
	return def
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Gazetteer holds countries, subdivisions and places with a spatial index
// of the places. It is immutable after New or Read, and safe for
// concurrent use.
type Gazetteer struct {
	// Countries are sorted by Code, each code once.
	Countries []Country
	// Subdivisions refer to Countries.
	Subdivisions []Subdivision
	// Places refer to Countries and Subdivisions.
	Places []Place

	all       tree   // every place
	byCountry []tree // the places of each country, by country index

	idOnce sync.Once
	id     string // see ID
}

// New checks the references between the tables, sorts names, and builds
// the index. It takes ownership of the slices. Countries must be sorted by
// code, each once; every place's country and subdivision must exist, and
// a place's subdivision must belong to its country.
func New(countries []Country, subdivisions []Subdivision, places []Place) (*Gazetteer, error) {
	for i, c := range countries {
		if !isCountryCode(c.Code) {
			return nil, fmt.Errorf("gazetteer: country %d: code %q is not two upper-case ASCII letters", i, c.Code)
		}
		if i > 0 && countries[i-1].Code >= c.Code {
			return nil, fmt.Errorf("gazetteer: countries not sorted by code, or %q twice", c.Code)
		}
		sortNames(countries[i].Names)
	}
	for i, s := range subdivisions {
		if s.Country < 0 || int(s.Country) >= len(countries) {
			return nil, fmt.Errorf("gazetteer: subdivision %d (%q): country index %d out of range", i, s.Name, s.Country)
		}
		sortNames(subdivisions[i].Names)
	}
	for i, p := range places {
		if p.Country < 0 || int(p.Country) >= len(countries) {
			return nil, fmt.Errorf("gazetteer: place %d (%q): country index %d out of range", i, p.Name, p.Country)
		}
		if p.Subdivision < -1 || int(p.Subdivision) >= len(subdivisions) {
			return nil, fmt.Errorf("gazetteer: place %d (%q): subdivision index %d out of range", i, p.Name, p.Subdivision)
		}
		if p.Subdivision >= 0 && subdivisions[p.Subdivision].Country != p.Country {
			return nil, fmt.Errorf("gazetteer: place %d (%q): subdivision %q is not in country %s", i, p.Name, subdivisions[p.Subdivision].Name, countries[p.Country].Code)
		}
		if !(p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180) {
			return nil, fmt.Errorf("gazetteer: place %d (%q): coordinates %v, %v out of range", i, p.Name, p.Lat, p.Lon)
		}
		sortNames(places[i].Names)
	}
	if len(places) > 1<<31-1 {
		return nil, fmt.Errorf("gazetteer: %d places, more than an index holds", len(places))
	}
	g := &Gazetteer{Countries: countries, Subdivisions: subdivisions, Places: places}
	g.buildIndex()
	return g, nil
}

func isCountryCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

// sortNames sorts names by language and keeps the first of each language.
func sortNames(names []Name) {
	slices.SortStableFunc(names, func(a, b Name) int { return compareStrings(a.Lang, b.Lang) })
}

func (g *Gazetteer) buildIndex() {
	ids := make([]int32, len(g.Places))
	count := make([]int, len(g.Countries)+1)
	for i, p := range g.Places {
		ids[i] = int32(i)
		count[p.Country+1]++
	}
	g.all = newTree(g.Places, ids)
	// Places grouped by country: a counting sort of the ids.
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	grouped := make([]int32, len(g.Places))
	next := slices.Clone(count)
	for i, p := range g.Places {
		grouped[next[p.Country]] = int32(i)
		next[p.Country]++
	}
	g.byCountry = make([]tree, len(g.Countries))
	for c := range g.Countries {
		g.byCountry[c] = newTree(g.Places, grouped[count[c]:count[c+1]])
	}
}

// CountryIndex returns the index in Countries of the ISO 3166-1 alpha-2
// code (upper case), or -1.
func (g *Gazetteer) CountryIndex(code string) int {
	i, ok := slices.BinarySearchFunc(g.Countries, code, func(c Country, code string) int { return compareStrings(c.Code, code) })
	if !ok {
		return -1
	}
	return i
}

// Nearest returns the index of the place nearest to (lat, lon) within
// maxKm km (great-circle) and its distance, or -1 when there is none.
// It does not allocate.
func (g *Gazetteer) Nearest(lat, lon, maxKm float64) (int, float64) {
	return g.all.nearest(geo.ToVec(lat, lon), maxKm)
}

// NearestIn is Nearest among the places of the country at index country
// (see CountryIndex).
func (g *Gazetteer) NearestIn(country int, lat, lon, maxKm float64) (int, float64) {
	if country < 0 || country >= len(g.byCountry) {
		return -1, 0
	}
	return g.byCountry[country].nearest(geo.ToVec(lat, lon), maxKm)
}
