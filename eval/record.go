package eval

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ipatlas/ipatlas/internal/recordpath"
	"github.com/ipatlas/ipatlas/reader"
)

// Layout says where a database's records keep the location and the
// country. The zero Layout reads GeoIP2 records (location.latitude,
// country.iso_code, subdivisions, city, ipatlas.regions) and, where a
// record has no location map, flat records as DB-IP's and
// ip-location-db's (top-level latitude, longitude, country_code, city,
// state1). A non-nil path (elements as 'ipatlas lookup --path' takes
// them, see recordpath) reads that value instead.
type Layout struct {
	LatPath, LonPath, CountryPath []string
}

// geoName is a GeoIP2 country, subdivision or city.
type geoName struct {
	ISOCode    string            `maxminddb:"iso_code"`
	GeoNameID  uint64            `maxminddb:"geoname_id"`
	Names      map[string]string `maxminddb:"names"`
	Confidence any               `maxminddb:"confidence"`
}

// rawRecord is the part of a record eval reads, GeoIP2 and flat alike.
type rawRecord struct {
	Country      geoName   `maxminddb:"country"`
	Subdivisions []geoName `maxminddb:"subdivisions"`
	// City is a GeoIP2 map or, in flat layouts, a name.
	City     any `maxminddb:"city"`
	Location struct {
		Latitude       any `maxminddb:"latitude"`
		Longitude      any `maxminddb:"longitude"`
		AccuracyRadius any `maxminddb:"accuracy_radius"`
	} `maxminddb:"location"`
	Ipatlas struct {
		Regions []struct {
			Level      string `maxminddb:"level"`
			Code       string `maxminddb:"code"`
			Name       string `maxminddb:"name"`
			Confidence any    `maxminddb:"confidence"`
		} `maxminddb:"regions"`
	} `maxminddb:"ipatlas"`
	Latitude    any    `maxminddb:"latitude"`
	Longitude   any    `maxminddb:"longitude"`
	CountryCode string `maxminddb:"country_code"`
	State1      string `maxminddb:"state1"`
}

// answer is what a record says, in the terms eval compares.
type answer struct {
	hasLoc   bool
	lat, lon float64
	radius   float64 // accuracy_radius in km; < 0 when absent
	levels   []levelAnswer
}

// levelAnswer is a record's answer at one level of the hierarchy.
type levelAnswer struct {
	has       bool
	code      string
	names     []string
	geonameID uint64
	conf      float64 // in [0,1]; < 0 when absent
}

// number returns v as a float64 when it is a number.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

// geoConf turns a GeoIP2 confidence (0-100) into [0,1], -1 when absent.
func geoConf(v any) float64 {
	if f, ok := number(v); ok && f >= 0 && f <= 100 {
		return f / 100
	}
	return -1
}

// regionConf reads an ipatlas.regions confidence ([0,1]), -1 when absent.
func regionConf(v any) float64 {
	if f, ok := number(v); ok && f >= 0 && f <= 1 {
		return f
	}
	return -1
}

func namesOf(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	s := make([]string, 0, len(m))
	for _, n := range m {
		s = append(s, n)
	}
	return s
}

// decodeAnswer reads the record of res as layout says, for the levels
// (levelCountry, levelSubdivision, levelCity, then hierarchy levels).
func decodeAnswer(res reader.Result, layout *Layout, levels []string) (*answer, error) {
	var rec rawRecord
	if err := res.Decode(&rec); err != nil {
		return nil, err
	}
	a := &answer{radius: -1, levels: make([]levelAnswer, len(levels))}
	// Location.
	if lat, ok := number(rec.Location.Latitude); ok {
		if lon, ok := number(rec.Location.Longitude); ok {
			a.hasLoc, a.lat, a.lon = true, lat, lon
		}
	} else if lat, ok := number(rec.Latitude); ok {
		if lon, ok := number(rec.Longitude); ok {
			a.hasLoc, a.lat, a.lon = true, lat, lon
		}
	}
	if r, ok := number(rec.Location.AccuracyRadius); ok && r >= 0 {
		a.radius = r
	}
	if layout.LatPath != nil || layout.LonPath != nil {
		a.hasLoc = false
		lat, err := pathNumber(res, layout.LatPath, []string{"location", "latitude"})
		if err != nil {
			return nil, err
		}
		lon, err := pathNumber(res, layout.LonPath, []string{"location", "longitude"})
		if err != nil {
			return nil, err
		}
		if !math.IsNaN(lat) && !math.IsNaN(lon) {
			a.hasLoc, a.lat, a.lon = true, lat, lon
		}
	}
	if a.hasLoc && (math.IsNaN(a.lat) || math.IsNaN(a.lon) || math.Abs(a.lat) > 90 || math.Abs(a.lon) > 180) {
		a.hasLoc = false
	}
	// Country.
	c := &a.levels[levelCountry]
	c.code, c.names, c.geonameID, c.conf = rec.Country.ISOCode, namesOf(rec.Country.Names), rec.Country.GeoNameID, geoConf(rec.Country.Confidence)
	if c.code == "" {
		c.code = rec.CountryCode
	}
	if layout.CountryPath != nil {
		v, err := recordpath.Value(res, layout.CountryPath)
		if err != nil {
			return nil, err
		}
		s, _ := v.(string)
		c.code = s
	}
	// Subdivision: the first (largest) one.
	s := &a.levels[levelSubdivision]
	if len(rec.Subdivisions) > 0 {
		d := rec.Subdivisions[0]
		s.code, s.names, s.geonameID, s.conf = d.ISOCode, namesOf(d.Names), d.GeoNameID, geoConf(d.Confidence)
	} else if rec.State1 != "" {
		s.names = []string{rec.State1}
	}
	// City.
	ct := &a.levels[levelCity]
	switch x := rec.City.(type) {
	case string:
		if x != "" {
			ct.names = []string{x}
		}
	case map[string]any:
		if id, ok := number(x["geoname_id"]); ok {
			ct.geonameID = uint64(id)
		}
		if m, ok := x["names"].(map[string]any); ok {
			for _, n := range m {
				if n, ok := n.(string); ok {
					ct.names = append(ct.names, n)
				}
			}
		}
		ct.conf = geoConf(x["confidence"])
	}
	// ipatlas.regions: the deeper levels, and better confidences.
	for _, r := range rec.Ipatlas.Regions {
		i := -1
		switch r.Level {
		case "country":
			i = levelCountry
		case "city":
			i = levelCity
		default:
			for j := levelFirstRegion; j < len(levels); j++ {
				if levels[j] == r.Level {
					i = j
				}
			}
		}
		if i < 0 {
			continue
		}
		l := &a.levels[i]
		if l.code == "" {
			l.code = r.Code
		}
		if r.Name != "" && !containsFold(l.names, r.Name) {
			l.names = append(l.names, r.Name)
		}
		if cf := regionConf(r.Confidence); cf >= 0 {
			l.conf = cf
		}
	}
	// The level after country (province by default) falls back to the
	// first subdivision.
	if len(levels) > levelFirstRegion && levels[levelFirstRegion] == provinceLevel {
		p := &a.levels[levelFirstRegion]
		if p.code == "" && len(p.names) == 0 {
			*p = *s
		}
	}
	for i := range a.levels {
		l := &a.levels[i]
		l.has = l.code != "" || len(l.names) > 0 || l.geonameID != 0
	}
	return a, nil
}

// provinceLevel is the hierarchy level that GeoIP2's first subdivision
// stands for when a record has no ipatlas.regions entry for it.
const provinceLevel = "province"

// pathNumber reads a number at path (def when path is nil); NaN when the
// record has none there.
func pathNumber(res reader.Result, path, def []string) (float64, error) {
	if path == nil {
		path = def
	}
	v, err := recordpath.Value(res, path)
	if err != nil {
		return 0, err
	}
	if f, ok := number(v); ok {
		return f, nil
	}
	if s, ok := v.(string); ok {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil
		}
	}
	return math.NaN(), nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// stripCountry drops an ISO 3166-2 country prefix ("US-CA" -> "CA").
func stripCountry(code string) string {
	if len(code) > 3 && code[2] == '-' {
		return code[3:]
	}
	return code
}

// matches reports whether a record's answer at a level agrees with the
// truth's code (compared first, ISO 3166-2 prefixes ignored) or name (a
// city's may be a GeoNames id).
func (l *levelAnswer) matches(level int, code, name string) bool {
	if !l.has {
		return false
	}
	if code != "" && l.code != "" {
		return strings.EqualFold(stripCountry(l.code), stripCountry(code))
	}
	if name == "" {
		return false
	}
	if level == levelCity {
		if id, err := strconv.ParseUint(name, 10, 64); err == nil {
			return l.geonameID == id
		}
	}
	return containsFold(l.names, name)
}

func (l levelAnswer) String() string {
	return fmt.Sprintf("{%s %v %d %g}", l.code, l.names, l.geonameID, l.conf)
}
