package gazetteer

import (
	"slices"
	"strings"

	"github.com/ipatlas/ipatlas/schema"
)

// Default distances of a Labeler.
const (
	// DefaultCityMaxKm is how far the nearest place may be for a point to
	// be labeled with it as its city.
	DefaultCityMaxKm = 50
	// DefaultRegionMaxKm is how far the nearest place may be for a point
	// to be labeled with its country and subdivision: a point in the open
	// sea farther than this from every place gets no label at all.
	DefaultRegionMaxKm = 200
)

// Outcome says what Label did to one inference, as a set of flags.
type Outcome uint8

const (
	// Labeled: at least one level was filled.
	Labeled Outcome = 1 << iota
	// CountryDisagrees: the row states a country other than the nearest
	// place's; the row's country was kept, lower levels come from the
	// nearest place in it.
	CountryDisagrees
	// SubdivisionDisagrees: the row states a subdivision other than the
	// nearest place's; the city was not filled.
	SubdivisionDisagrees
	// NoCity: the city level was missing and no place is within the city
	// distance (or the place has no subdivision to hang it on).
	NoCity
	// NoPlace: no place within the region distance (open sea): nothing
	// was filled.
	NoPlace
)

// Labeler fills the missing region levels of inferences that have
// coordinates, from the nearest place of a Gazetteer. The zero distances
// mean the defaults. A Labeler is safe for concurrent use.
type Labeler struct {
	G *Gazetteer
	// CityMaxKm bounds the distance to the place taken as the city
	// (DefaultCityMaxKm when 0).
	CityMaxKm float64
	// RegionMaxKm bounds the distance to the place whose country and
	// subdivision are taken (DefaultRegionMaxKm when 0).
	RegionMaxKm float64
}

// Label fills the levels of in missing below those it states, for the
// hierarchy levels (schema.DefaultLevels when nil): the level "country",
// the level right after it when it comes before "city" (the first-level
// subdivision), and "city", with codes, geoname_ids and names in
// in.NamesLang (the default name where the gazetteer has none in it).
// A level in states is never changed. Nothing is filled without a valid
// location, when the hierarchy has no "country" level, or when the row
// already reaches the city.
//
// The place is the nearest one within RegionMaxKm, in the row's country
// when the row states one the gazetteer knows; the city is that place
// when it is within CityMaxKm.
func (l *Labeler) Label(in *schema.Inference, levels []string) Outcome {
	o, _ := l.LabelPlace(in, levels)
	return o
}

// LabelPlace is Label that also returns the index in G.Places of the
// place the labels come from, -1 when none: the same place and language
// give the same labels.
func (l *Labeler) LabelPlace(in *schema.Inference, levels []string) (Outcome, int) {
	if levels == nil {
		levels = schema.DefaultLevels
	}
	if !in.HasLocation || !(in.Latitude >= -90 && in.Latitude <= 90 && in.Longitude >= -180 && in.Longitude <= 180) {
		return 0, -1
	}
	country := slices.Index(levels, "country")
	city := slices.Index(levels, "city")
	if country < 0 || city >= 0 && city < country {
		return 0, -1
	}
	sub := -1
	if city > country+1 {
		sub = country + 1
	}
	last := city // the deepest level Label fills
	if last < 0 {
		last = country
		if country+1 < len(levels) {
			sub, last = country+1, country+1
		}
	}
	depth := len(in.Regions)
	if depth < country || depth > last {
		return 0, -1
	}
	cityMax, regionMax := l.CityMaxKm, l.RegionMaxKm
	if cityMax == 0 {
		cityMax = DefaultCityMaxKm
	}
	if regionMax == 0 {
		regionMax = DefaultRegionMaxKm
	}
	g := l.G
	var out Outcome
	pi, km := g.Nearest(in.Latitude, in.Longitude, regionMax)
	if depth > country {
		rc := strings.ToUpper(in.Regions[country].Code)
		ci := g.CountryIndex(rc)
		if rc != "" && (pi >= 0 && g.Places[pi].Country != int32(ci)) {
			out |= CountryDisagrees
			pi, km = -1, 0
			if ci >= 0 {
				pi, km = g.NearestIn(ci, in.Latitude, in.Longitude, regionMax)
			}
		}
	}
	if pi < 0 {
		out |= NoPlace
		if city >= 0 {
			out |= NoCity
		}
		return out, -1
	}
	p := &g.Places[pi]
	if need := last + 1 - depth; cap(in.Regions)-len(in.Regions) < need {
		in.Regions = append(make([]schema.Region, 0, len(in.Regions)+need), in.Regions...)
	}
	lang := in.NamesLang
	if lang == "" {
		lang = schema.DefaultNamesLang
	}
	if depth == country {
		c := &g.Countries[p.Country]
		in.Regions = append(in.Regions, schema.Region{Level: levels[country], Code: c.Code,
			Name: NameIn(c.Names, lang, c.Name), GeonameID: c.GeonameID})
		out |= Labeled
		depth++
	}
	if sub >= 0 {
		var s *Subdivision
		if p.Subdivision >= 0 {
			s = &g.Subdivisions[p.Subdivision]
		}
		switch {
		case depth == sub && (s == nil || s.Code == "" && s.Name == ""):
			// No subdivision to give, and a city needs one above it.
			if city >= 0 {
				out |= NoCity
			}
			return out, pi
		case depth == sub:
			in.Regions = append(in.Regions, schema.Region{Level: levels[sub], Code: s.Code,
				Name: NameIn(s.Names, lang, s.Name), GeonameID: s.GeonameID})
			out |= Labeled
			depth++
		case depth > sub && depth == city && !sameSubdivision(in.Regions[sub], s):
			return out | SubdivisionDisagrees, pi
		}
	}
	if city >= 0 && depth == city {
		name := NameIn(p.Names, lang, p.Name)
		if km > cityMax || name == "" {
			return out | NoCity, pi
		}
		in.Regions = append(in.Regions, schema.Region{Level: levels[city], Name: name, GeonameID: p.GeonameID})
		out |= Labeled
	}
	return out, pi
}

// sameSubdivision reports whether a row's subdivision r is s: by code
// when both have one, else by folded name.
func sameSubdivision(r schema.Region, s *Subdivision) bool {
	if s == nil {
		return false
	}
	if r.Code != "" && s.Code != "" {
		return strings.EqualFold(r.Code, s.Code)
	}
	if r.Name == "" {
		return false
	}
	f := Fold(r.Name)
	if f == Fold(s.Name) {
		return true
	}
	for _, n := range s.Names {
		if Fold(n.Name) == f {
			return true
		}
	}
	return false
}
