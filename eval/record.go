package eval

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ipatlas/ipatlas/internal/recordpath"
	"github.com/ipatlas/ipatlas/reader"
	"github.com/ipatlas/ipatlas/reader/geoip2"
	"github.com/ipatlas/ipatlas/schema"
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

// defaultPaths reports whether l names no path: records are read as
// GeoIP2 or flat ones.
func (l *Layout) defaultPaths() bool {
	return l.LatPath == nil && l.LonPath == nil && l.CountryPath == nil
}

// geoName is a GeoIP2 country, subdivision or city. Names are read in
// the languages GeoIP2 databases carry (a struct, not a map: no map per
// record).
type geoName struct {
	ISOCode    string       `maxminddb:"iso_code"`
	GeoNameID  uint64       `maxminddb:"geoname_id"`
	Names      geoip2.Names `maxminddb:"names"`
	Confidence any          `maxminddb:"confidence"`
}

// geoRecord is the part of a GeoIP2 record eval reads.
type geoRecord struct {
	Country      geoName   `maxminddb:"country"`
	Subdivisions []geoName `maxminddb:"subdivisions"`
	City         geoName   `maxminddb:"city"`
	Location     struct {
		Latitude       *float64 `maxminddb:"latitude"`
		Longitude      *float64 `maxminddb:"longitude"`
		AccuracyRadius *uint16  `maxminddb:"accuracy_radius"`
	} `maxminddb:"location"`
	Ipatlas struct {
		Regions []struct {
			Level      string `maxminddb:"level"`
			Code       string `maxminddb:"code"`
			Name       string `maxminddb:"name"`
			Confidence any    `maxminddb:"confidence"`
		} `maxminddb:"regions"`
	} `maxminddb:"ipatlas"`
}

// flatRecord is a flat record (DB-IP, ip-location-db).
type flatRecord struct {
	Latitude    any    `maxminddb:"latitude"`
	Longitude   any    `maxminddb:"longitude"`
	CountryCode string `maxminddb:"country_code"`
	City        string `maxminddb:"city"`
	State1      string `maxminddb:"state1"`
}

// answer is what a record says, in the terms eval compares.
type answer struct {
	hasLoc   bool
	lat, lon float64
	radius   float64 // accuracy_radius in km; < 0 when absent
	// levels are the answers per level (levelCountry, ...); the fast
	// path ends them after the last level that says something.
	levels []levelAnswer
}

// level returns the answer at level i: the fast path leaves out the
// levels after the last that says something.
func (a *answer) level(i int) levelAnswer {
	if i < len(a.levels) {
		return a.levels[i]
	}
	return levelAnswer{conf: -1}
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

func namesOf(n *geoip2.Names) []string {
	var s []string
	for _, x := range [...]string{n.English, n.German, n.Spanish, n.French, n.Japanese, n.BrazilianPortuguese, n.Russian, n.SimplifiedChinese} {
		if x != "" {
			s = append(s, x)
		}
	}
	return s
}

// decodeAnswer reads the record of res as layout says, for the levels
// (levelCountry, levelSubdivision, levelCity, then hierarchy levels): as
// a GeoIP2 record, or as a flat one when it is not one (a string city, no
// location map).
//
// flat remembers, per database, that its records are flat: once a record
// read as GeoIP2 fails and as flat succeeds, the next ones are read as
// flat first.
func decodeAnswer(res reader.Result, layout *Layout, levels []string, flat *bool) (*answer, error) {
	a := &answer{radius: -1, levels: make([]levelAnswer, len(levels))}
	for i := range a.levels {
		a.levels[i].conf = -1
	}
	var rec geoRecord
	var gerr error
	if !*flat {
		gerr = res.Decode(&rec)
	}
	if !*flat && gerr == nil && (rec.Location.Latitude != nil || rec.Country.ISOCode != "" || len(rec.Ipatlas.Regions) > 0) {
		a.fillGeo(&rec, levels)
	} else {
		var fr flatRecord
		err := res.Decode(&fr)
		switch {
		case err == nil:
			*flat = *flat || gerr != nil
			a.fillFlat(&fr)
		case gerr != nil:
			return nil, gerr
		case !*flat:
			return nil, err
		default: // not flat after all
			if err := res.Decode(&rec); err != nil {
				return nil, err
			}
			a.fillGeo(&rec, levels)
		}
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
	if layout.CountryPath != nil {
		v, err := recordpath.Value(res, layout.CountryPath)
		if err != nil {
			return nil, err
		}
		s, _ := v.(string)
		a.levels[levelCountry].code = s
	}
	a.finish(levels)
	return a, nil
}

// finish completes an answer read from a record: a location that is not
// a point on Earth is none, the level after country falls back to the
// first subdivision, and each level notes whether it says anything.
func (a *answer) finish(levels []string) {
	if a.hasLoc && (math.IsNaN(a.lat) || math.IsNaN(a.lon) || math.Abs(a.lat) > 90 || math.Abs(a.lon) > 180) {
		a.hasLoc = false
	}
	// The level after country (province by default) falls back to the
	// first subdivision.
	if len(levels) > levelFirstRegion && levels[levelFirstRegion] == provinceLevel {
		p := &a.levels[levelFirstRegion]
		if p.code == "" && len(p.names) == 0 {
			*p = a.levels[levelSubdivision]
		}
	}
	for i := range a.levels {
		l := &a.levels[i]
		l.has = l.code != "" || len(l.names) > 0 || l.geonameID != 0
	}
}

// fillFlat fills a from a flat record.
func (a *answer) fillFlat(fr *flatRecord) {
	lat, ok1 := number(fr.Latitude)
	lon, ok2 := number(fr.Longitude)
	a.hasLoc, a.lat, a.lon = ok1 && ok2, lat, lon
	a.levels[levelCountry].code = fr.CountryCode
	if fr.State1 != "" {
		a.levels[levelSubdivision].names = []string{fr.State1}
	}
	if fr.City != "" {
		a.levels[levelCity].names = []string{fr.City}
	}
}

// fillGeo fills a from a GeoIP2 record.
func (a *answer) fillGeo(rec *geoRecord, levels []string) {
	if rec.Location.Latitude != nil && rec.Location.Longitude != nil {
		a.hasLoc, a.lat, a.lon = true, *rec.Location.Latitude, *rec.Location.Longitude
	}
	if rec.Location.AccuracyRadius != nil {
		a.radius = float64(*rec.Location.AccuracyRadius)
	}
	set := func(l *levelAnswer, g *geoName) {
		l.code, l.names, l.geonameID, l.conf = g.ISOCode, namesOf(&g.Names), g.GeoNameID, geoConf(g.Confidence)
	}
	set(&a.levels[levelCountry], &rec.Country)
	if len(rec.Subdivisions) > 0 {
		// The first (largest) subdivision.
		set(&a.levels[levelSubdivision], &rec.Subdivisions[0])
	}
	set(&a.levels[levelCity], &rec.City)
	// ipatlas.regions: the deeper levels, and better confidences.
	for _, r := range rec.Ipatlas.Regions {
		a.addRegion(r.Level, r.Code, r.Name, regionConf(r.Confidence), levels)
	}
}

// addRegion adds an ipatlas.regions entry (its confidence as regionConf
// gives it) to the level it names, if eval reads that level.
func (a *answer) addRegion(level, code, name string, conf float64, levels []string) {
	i := -1
	switch level {
	case "country":
		i = levelCountry
	case "city":
		i = levelCity
	default:
		for j := levelFirstRegion; j < len(levels); j++ {
			if levels[j] == level {
				i = j
			}
		}
	}
	if i < 0 {
		return
	}
	l := &a.levels[i]
	if l.code == "" {
		l.code = code
	}
	if name != "" && !containsFold(l.names, name) {
		// l.names may be a place's, shared: clipped, so this copies.
		l.names = append(l.names, name)
	}
	if conf >= 0 {
		l.conf = conf
	}
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
		if f, err := schema.ParseDecimal(s); err == nil {
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
	if level == levelCity && allDigits(name) {
		// (ParseUint's errors allocate: names are not tried.)
		if id, err := strconv.ParseUint(name, 10, 64); err == nil {
			return l.geonameID == id
		}
	}
	return containsFold(l.names, name)
}

// allDigits reports whether s is ASCII digits only.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (l levelAnswer) String() string {
	return fmt.Sprintf("{%s %v %d %g}", l.code, l.names, l.geonameID, l.conf)
}
