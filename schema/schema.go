package schema

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ipatlas/ipatlas/format"
)

// This file holds the ipatlas record schema (SPEC.md, "Record schema in
// the .mmdb"): an Inference is one row of inference results as the
// builder parses it; Record turns it into the GeoIP2-compatible record
// stored in the .mmdb, and InferenceFromRecord reads such a record back.

// DefaultLevels is the default region hierarchy, outermost first.
// Callers must not modify it.
var DefaultLevels = []string{"country", "province", "city", "district", "street", "community"}

// DefaultNamesLang is the locale of region names when a row does not say.
const DefaultNamesLang = "en"

// The level names that Record maps to GeoIP2 fields; levels after
// levelCountry and before levelCity become subdivisions.
const (
	levelCountry = "country"
	levelCity    = "city"
)

// Region is one level of an inference's region hierarchy. The zero value
// is not a valid region: Level is required, and so is a Code or a Name.
type Region struct {
	// Level is the name of the level, one of the hierarchy's levels
	// (DefaultLevels unless the source declares its own).
	Level string
	// Code is an optional code: ISO 3166-1 alpha-2 for the country,
	// ISO 3166-2 (e.g. "CN-SH") for a province, free-form otherwise.
	Code string
	// Name is an optional name in the inference's NamesLang, any UTF-8.
	Name string
	// Confidence is the model's confidence in this level, in [0,1];
	// meaningful only when HasConfidence is set.
	Confidence    float64
	HasConfidence bool
	// GeonameID is the GeoNames id of the place, 0 for none (GeoNames
	// ids start at 1); the gazetteer's labeling sets it.
	GeonameID uint32
}

// Inference is one inference result (one row of input, without its
// network): where a host is and how sure the model is. Fields whose Has
// flag is false are absent, whatever their value. The zero value is not
// valid: a row needs at least one region or a location.
type Inference struct {
	// Regions is the region hierarchy, outermost first: Regions[i].Level
	// is levels[i] of the hierarchy; a row may stop at any depth.
	Regions []Region
	// Latitude and Longitude are WGS84 degrees, meaningful only when
	// HasLocation is set.
	Latitude, Longitude float64
	HasLocation         bool
	// AccuracyRadiusKm is the radius around the location in which the
	// host is, meaningful only when HasAccuracy is set.
	AccuracyRadiusKm uint16
	HasAccuracy      bool
	// Confidence is the overall confidence in [0,1], meaningful only when
	// HasConfidence is set; when absent, it is the deepest level's
	// confidence (see Normalize).
	Confidence    float64
	HasConfidence bool
	// Source names the model or data set the row comes from.
	Source string
	// ModelVersion is the version of the model that made the inference.
	ModelVersion string
	// NamesLang is the locale of the region names, such as "en" or
	// "zh-CN"; empty means DefaultNamesLang.
	NamesLang string
}

// FieldError is a problem with one field of an Inference or of a record.
// The builder prefixes it with the file and line of the row.
type FieldError struct {
	// Field names the field as an input column does ("latitude",
	// "district_confidence", "country_code", "level"), or, for a record,
	// as a path ("ipatlas.regions[2].confidence").
	Field string
	// Value is the bad value as text: strings quoted Go-style, numbers in
	// their shortest form; empty when there is no single bad value.
	Value string
	// Msg says what is wrong.
	Msg string
}

// Error returns "field = value: msg", or "field: msg" without a value.
func (e *FieldError) Error() string {
	if e.Value == "" {
		return e.Field + ": " + e.Msg
	}
	return e.Field + " = " + e.Value + ": " + e.Msg
}

func fieldErr(field, value, msg string) *FieldError {
	return &FieldError{Field: field, Value: value, Msg: msg}
}

// quoteNonEmpty quotes s, and leaves an empty s empty.
func quoteNonEmpty(s string) string {
	if s == "" {
		return ""
	}
	return strconv.Quote(s)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Normalize puts in into the canonical form Record stores, in place:
// NamesLang defaults to DefaultNamesLang; the country code is upper-cased
// (ASCII); an absent overall confidence becomes the deepest region's
// confidence when that region has one; values whose Has flag is false
// are zeroed. Normalize does not validate, and keeps invalid values
// invalid.
func (in *Inference) Normalize() {
	if in.NamesLang == "" {
		in.NamesLang = DefaultNamesLang
	}
	for i := range in.Regions {
		r := &in.Regions[i]
		if r.Level == levelCountry {
			r.Code = upperASCII(r.Code)
		}
		if !r.HasConfidence {
			r.Confidence = 0
		}
	}
	if !in.HasConfidence {
		in.Confidence = 0
		if n := len(in.Regions); n > 0 && in.Regions[n-1].HasConfidence {
			in.Confidence, in.HasConfidence = in.Regions[n-1].Confidence, true
		}
	}
	if !in.HasLocation {
		in.Latitude, in.Longitude = 0, 0
	}
	if !in.HasAccuracy {
		in.AccuracyRadiusKm = 0
	}
}

// normalized returns a normalized copy of in that shares nothing with it.
func (in *Inference) normalized() Inference {
	c := *in
	c.Regions = slices.Clone(in.Regions)
	c.Normalize()
	return c
}

func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// Validate checks in against the ordered hierarchy levels (DefaultLevels
// when nil) and returns the first problem as a *FieldError:
//   - levels: non-empty names, no duplicates, none that clashes with
//     another input field ("latitude", "city_code" when "city" is a level);
//   - Regions[i].Level is levels[i]: every level is known, in order, once,
//     and present with its parent level (a row may stop at any depth);
//   - every region has a code or a name; codes and names are valid UTF-8;
//   - the country code (level "country") is two ASCII letters, in either
//     case (Normalize upper-cases it);
//   - confidences are in [0,1] (not NaN);
//   - latitude is in [-90,90] and longitude in [-180,180] (not NaN);
//   - source, model_version are valid UTF-8; names_lang, when set, is a
//     language tag of ASCII letters, digits and '-' (e.g. "zh-CN");
//   - the row has at least one region or a location.
//
// Validate does not modify in.
func (in *Inference) Validate(levels []string) error {
	h, err := NewHierarchy(levels)
	if err != nil {
		return err
	}
	return in.ValidateIn(h)
}

// Hierarchy is a region hierarchy that ValidateLevels accepted, checked
// once (per file, per source) so that the per-row ValidateIn and
// AppendRecordIn do not check it again. The zero Hierarchy is
// DefaultLevels.
type Hierarchy struct{ levels []string }

// NewHierarchy checks levels (DefaultLevels when nil) with
// ValidateLevels. The Hierarchy keeps levels, which the caller must not
// modify afterwards.
func NewHierarchy(levels []string) (Hierarchy, error) {
	if levels == nil {
		return Hierarchy{}, nil
	}
	if err := ValidateLevels(levels); err != nil {
		return Hierarchy{}, err
	}
	return Hierarchy{levels}, nil
}

// Levels returns the hierarchy's levels, outermost first; the caller must
// not modify them.
func (h Hierarchy) Levels() []string {
	if h.levels == nil {
		return DefaultLevels
	}
	return h.levels
}

// ValidateIn is Validate for a hierarchy already checked.
func (in *Inference) ValidateIn(h Hierarchy) error {
	levels := h.Levels()
	for i, r := range in.Regions {
		if err := validateRegion(levels, in.Regions[:i], r); err != nil {
			return err
		}
	}
	if in.HasConfidence {
		if err := checkConfidence("confidence", in.Confidence); err != nil {
			return err
		}
	}
	if in.HasLocation {
		if !(in.Latitude >= -90 && in.Latitude <= 90) {
			return fieldErr("latitude", fmtFloat(in.Latitude), "outside [-90, 90]")
		}
		if !(in.Longitude >= -180 && in.Longitude <= 180) {
			return fieldErr("longitude", fmtFloat(in.Longitude), "outside [-180, 180]")
		}
	}
	if !utf8.ValidString(in.Source) {
		return fieldErr("source", strconv.Quote(in.Source), "invalid UTF-8")
	}
	if !utf8.ValidString(in.ModelVersion) {
		return fieldErr("model_version", strconv.Quote(in.ModelVersion), "invalid UTF-8")
	}
	if in.NamesLang != "" && !validLangTag(in.NamesLang) {
		return fieldErr("names_lang", strconv.Quote(in.NamesLang), "not a language tag (ASCII letters, digits and '-', starting with a letter, at most 35 bytes)")
	}
	if len(in.Regions) == 0 && !in.HasLocation {
		return fieldErr("regions", "", "row has neither a region nor a location")
	}
	return nil
}

// ValidateLevels checks a region hierarchy: at least one level, each a
// non-empty UTF-8 name given once (with no space around it, no control
// character and no comma), none the name of another input field
// or of another level's _code or _confidence field. Its error is a
// *FieldError for the field "levels".
func ValidateLevels(levels []string) error {
	if len(levels) == 0 {
		return fieldErr("levels", "", "empty hierarchy")
	}
	for i, l := range levels {
		if l == "" || !utf8.ValidString(l) {
			return fieldErr("levels", strconv.Quote(l), fmt.Sprintf("level %d: empty or invalid UTF-8 name", i+1))
		}
		if msg := levelNameProblem(l, i+1); msg != "" {
			return fieldErr("levels", strconv.Quote(l), msg)
		}
		if slices.Contains(levels[:i], l) {
			return fieldErr("levels", strconv.Quote(l), "duplicate level")
		}
		if slices.Contains(reservedColumns, l) {
			return fieldErr("levels", strconv.Quote(l), "the name of another input field, not usable as a level")
		}
		for _, suffix := range []string{"_code", "_confidence"} {
			if base, ok := strings.CutSuffix(l, suffix); ok && slices.Contains(levels, base) {
				return fieldErr("levels", strconv.Quote(l), "the name of level "+base+"'s "+suffix[1:]+" field, not usable as a level")
			}
		}
	}
	return nil
}

// levelNameProblem says what makes l, level n (from 1), unusable as a
// level name, or "": a space before or after it (a CSV header's cells
// are trimmed, so such a level would match no column), a control
// character, or a comma (the CLI and a store's layer info keep a
// hierarchy comma-separated).
func levelNameProblem(l string, n int) string {
	switch {
	case strings.TrimSpace(l) != l:
		return "spaces around a level name (separate the names by commas alone)"
	case strings.ContainsFunc(l, unicode.IsControl):
		return fmt.Sprintf("level %d: a control character in the name", n)
	case strings.ContainsRune(l, ','):
		return fmt.Sprintf("level %d: a comma in the name (hierarchies are written comma-separated)", n)
	}
	return ""
}

// reservedColumns are the input fields of SPEC.md other than levels (and
// the names FieldError uses for level problems): a level with one of
// these names would make a CSV header or an error ambiguous.
var reservedColumns = []string{
	"network", "latitude", "longitude", "accuracy_radius_km", "confidence",
	"source", "model_version", "names_lang", "regions", "level", "levels",
}

// validateRegion checks r, the region after parents in a row.
func validateRegion(levels []string, parents []Region, r Region) error {
	i := len(parents)
	at := slices.Index(levels, r.Level)
	switch {
	case at < 0:
		return fieldErr("level", strconv.Quote(r.Level), "not a level of the hierarchy "+strings.Join(levels, ", "))
	case slices.ContainsFunc(parents, func(p Region) bool { return p.Level == r.Level }):
		return fieldErr("level", strconv.Quote(r.Level), "duplicate level")
	case at > i:
		// Regions before r are levels[:i] (checked), so at < i means a
		// duplicate, caught above; at > i means a level is skipped.
		return fieldErr(r.Level, quoteNonEmpty(r.Name), fmt.Sprintf("level %s without its parent level %s", r.Level, levels[at-1]))
	}
	if !utf8.ValidString(r.Name) {
		return fieldErr(r.Level, strconv.Quote(r.Name), "invalid UTF-8")
	}
	if !utf8.ValidString(r.Code) {
		return fieldErr(r.Level+"_code", strconv.Quote(r.Code), "invalid UTF-8")
	}
	if r.Code == "" && r.Name == "" {
		return fieldErr(r.Level, "", "region has neither a name nor a code")
	}
	if r.Level == levelCountry && r.Code != "" && !isTwoLetters(r.Code) {
		return fieldErr("country_code", strconv.Quote(r.Code), "not an ISO 3166-1 alpha-2 code (two ASCII letters)")
	}
	if r.HasConfidence {
		return checkConfidence(r.Level+"_confidence", r.Confidence)
	}
	return nil
}

func checkConfidence(field string, c float64) error {
	if !(c >= 0 && c <= 1) {
		return fieldErr(field, fmtFloat(c), "outside [0, 1]")
	}
	return nil
}

func isTwoLetters(s string) bool {
	_, ok := countryKey(upperASCII(s))
	return ok
}

func validLangTag(s string) bool {
	if len(s) > 35 || s == "" || !isASCIILetter(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isASCIILetter(c) && !('0' <= c && c <= '9') && c != '-' {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// percent is a [0,1] confidence as the GeoIP2 Enterprise 0-100 integer.
func percent(c float64) format.Uint16 { return format.Uint16(math.Round(c * 100)) }

// names is the GeoIP2 names map of one name, nil for no name.
func names(lang, name string) format.Value {
	if name == "" {
		return nil
	}
	return format.Map{lang: format.String(name)}
}

// putString sets m[k] to s unless s is empty; putValue sets m[k] to v
// unless v is nil or an empty map.
func putString(m format.Map, k, s string) {
	if s != "" {
		m[k] = format.String(s)
	}
}

func putValue(m format.Map, k string, v format.Value) {
	if v == nil {
		return
	}
	if vm, ok := v.(format.Map); ok && len(vm) == 0 {
		return
	}
	m[k] = v
}

// Record validates in against levels (DefaultLevels when nil) and returns
// the record to store for it, a superset of MaxMind's GeoIP2 City and
// Enterprise records:
//
//	continent     {code, names{en}}                     from the country code (ContinentOf)
//	country       {iso_code, names{lang}, confidence}   confidence uint16, round(c*100)
//	subdivisions  [{iso_code, names{lang}, confidence}] levels after country and before city
//	city          {names{lang}, confidence}
//	location      {latitude, longitude, accuracy_radius} doubles, uint16 km
//	ipatlas       {regions [{level, code, name, confidence, geoname_id}],
//	               confidence, source, model_version, names_lang}
//	                                                    confidences as doubles
//
// A region's GeonameID, when not 0, is geoname_id (uint32) in its GeoIP2
// map (country, subdivision, city) and in its ipatlas.regions entry.
//
// Only the levels named "country" and "city", and the levels between
// them in levels, map to GeoIP2 fields; a hierarchy without "country" or
// "city" has no subdivisions. Every level is in ipatlas.regions,
// outermost first. A subdivision's iso_code is its code without the "CC-"
// prefix of its country, as GeoIP2 writes it ("CN-SH" gives "SH"); a
// city's code is only in ipatlas.regions. A subdivision iso_code longer
// than 16 bytes and a name longer than 1,024 bytes (the maxsize of
// geoip2-golang's models, which maxminddb-golang enforces) are only in
// ipatlas.regions too. Names are keyed by NamesLang;
// continent names are always English. ipatlas.confidence is the overall
// confidence, or the deepest level's (see Normalize).
//
// Invariants of a record:
//  1. No empty map, array or string is stored: a field without a value is
//     absent (a region without a name has no names map; a row without
//     coordinates or radius has no location).
//  2. ipatlas holds everything the Inference holds, so that
//     InferenceFromRecord gives it back; the GeoIP2 fields are a lossy
//     view (percentages, the first levels only) for existing readers.
//  3. ipatlas.names_lang is present only when NamesLang is not
//     DefaultNamesLang.
//
// Record does not modify in.
func (in *Inference) Record(levels []string) (format.Map, error) {
	if levels == nil {
		levels = DefaultLevels
	}
	if err := in.Validate(levels); err != nil {
		return nil, err
	}
	n := in.normalized()
	lang := n.NamesLang
	country, city := slices.Index(levels, levelCountry), slices.Index(levels, levelCity)

	rec := format.Map{}
	var countryCode string
	var subdivisions, regions format.Slice
	for i, r := range n.Regions {
		reg := format.Map{"level": format.String(r.Level)}
		putString(reg, "code", r.Code)
		putString(reg, "name", r.Name)
		if r.HasConfidence {
			reg["confidence"] = format.Float64(r.Confidence)
		}
		if r.GeonameID != 0 {
			reg["geoname_id"] = format.Uint32(r.GeonameID)
		}
		regions = append(regions, reg)

		geo := format.Map{}
		if r.GeonameID != 0 {
			geo["geoname_id"] = format.Uint32(r.GeonameID)
		}
		putValue(geo, "names", names(lang, geoName(r.Name)))
		if r.HasConfidence {
			geo["confidence"] = percent(r.Confidence)
		}
		switch {
		case i == country:
			countryCode = r.Code
			putString(geo, "iso_code", r.Code)
			putValue(rec, "country", geo)
			if c, ok := ContinentOf(r.Code); ok {
				rec["continent"] = format.Map{"code": format.String(c.Code), "names": format.Map{"en": format.String(c.Names.English)}}
			}
		case i == city:
			putValue(rec, "city", geo) // empty when the city has only a code
		case country >= 0 && country < i && i < city:
			putString(geo, "iso_code", subdivisionCode(r.Code, countryCode))
			if len(geo) > 0 {
				subdivisions = append(subdivisions, geo)
			}
		}
	}
	if len(subdivisions) > 0 {
		rec["subdivisions"] = subdivisions
	}

	loc := format.Map{}
	if n.HasLocation {
		loc["latitude"] = format.Float64(n.Latitude)
		loc["longitude"] = format.Float64(n.Longitude)
	}
	if n.HasAccuracy {
		loc["accuracy_radius"] = format.Uint16(n.AccuracyRadiusKm)
	}
	putValue(rec, "location", loc)

	ipa := format.Map{}
	if len(regions) > 0 {
		ipa["regions"] = regions
	}
	if n.HasConfidence {
		ipa["confidence"] = format.Float64(n.Confidence)
	}
	putString(ipa, "source", n.Source)
	putString(ipa, "model_version", n.ModelVersion)
	if lang != DefaultNamesLang {
		ipa["names_lang"] = format.String(lang)
	}
	putValue(rec, "ipatlas", ipa)
	return rec, nil
}

// InferenceFromRecord reads a record back into an Inference. A record
// with an ipatlas map (one that Record wrote) gives the Inference exactly:
// for a valid in, InferenceFromRecord(in.Record(levels)) equals in after
// Normalize, also after an encode/decode round trip.
//
// Any other GeoIP2-style record (MaxMind's, DB-IP's, ...) is read from its
// GeoIP2 fields: country as level "country", the first subdivision as
// "province" (its code as ISO 3166-2, "CC-" + iso_code; further
// subdivisions are dropped), city as "city", confidences as percentages
// divided by 100, geoname_id, names in "en" when present, else in the first language
// in byte order, and location. Unknown keys are ignored. A field of the
// wrong type is a *FieldError naming its path.
func InferenceFromRecord(m format.Map) (Inference, error) {
	var in Inference
	if err := readLocation(m, &in); err != nil {
		return Inference{}, err
	}
	if v, ok := m["ipatlas"]; ok {
		if err := readIPAtlas(v, &in); err != nil {
			return Inference{}, err
		}
		return in, nil
	}
	if err := readGeoIP2(m, &in); err != nil {
		return Inference{}, err
	}
	return in, nil
}

// kindErr reports a value of the wrong kind at path.
func kindErr(path string, want string, v format.Value) *FieldError {
	got := "nil"
	if v != nil {
		got = v.Kind().String()
	}
	return fieldErr(path, "", "want "+want+", got "+got)
}

func getMap(path string, v format.Value) (format.Map, error) {
	if m, ok := v.(format.Map); ok {
		return m, nil
	}
	return nil, kindErr(path, "map", v)
}

// getString reads the optional string m[k].
func getString(path string, m format.Map, k string) (string, error) {
	v, ok := m[k]
	if !ok {
		return "", nil
	}
	if s, ok := v.(format.String); ok {
		return string(s), nil
	}
	return "", kindErr(path+"."+k, "utf8_string", v)
}

// getFloat reads the optional double m[k] (a float also accepted, for
// other writers' files).
func getFloat(path string, m format.Map, k string) (float64, bool, error) {
	switch v := m[k].(type) {
	case nil:
		if _, ok := m[k]; ok {
			return 0, false, kindErr(path+"."+k, "double", nil)
		}
		return 0, false, nil
	case format.Float64:
		return float64(v), true, nil
	case format.Float32:
		return float64(v), true, nil
	default:
		return 0, false, kindErr(path+"."+k, "double", v)
	}
}

// getUint reads the optional unsigned integer m[k], at most max.
func getUint(path string, m format.Map, k string, max uint64) (uint64, bool, error) {
	var u uint64
	switch v := m[k].(type) {
	case nil:
		if _, ok := m[k]; ok {
			return 0, false, kindErr(path+"."+k, "unsigned integer", nil)
		}
		return 0, false, nil
	case format.Uint16:
		u = uint64(v)
	case format.Uint32:
		u = uint64(v)
	case format.Uint64:
		u = uint64(v)
	default:
		return 0, false, kindErr(path+"."+k, "unsigned integer", v)
	}
	if u > max {
		return 0, false, fieldErr(path+"."+k, strconv.FormatUint(u, 10), "greater than "+strconv.FormatUint(max, 10))
	}
	return u, true, nil
}

func readLocation(m format.Map, in *Inference) error {
	v, ok := m["location"]
	if !ok {
		return nil
	}
	loc, err := getMap("location", v)
	if err != nil {
		return err
	}
	lat, hasLat, err := getFloat("location", loc, "latitude")
	if err != nil {
		return err
	}
	lon, hasLon, err := getFloat("location", loc, "longitude")
	if err != nil {
		return err
	}
	if hasLat != hasLon {
		return fieldErr("location", "", "latitude and longitude must come together")
	}
	in.Latitude, in.Longitude, in.HasLocation = lat, lon, hasLat
	r, ok, err := getUint("location", loc, "accuracy_radius", math.MaxUint16)
	if err != nil {
		return err
	}
	in.AccuracyRadiusKm, in.HasAccuracy = uint16(r), ok
	return nil
}

func readIPAtlas(v format.Value, in *Inference) error {
	ipa, err := getMap("ipatlas", v)
	if err != nil {
		return err
	}
	if v, ok := ipa["regions"]; ok {
		s, ok := v.(format.Slice)
		if !ok {
			return kindErr("ipatlas.regions", "array", v)
		}
		in.Regions = make([]Region, len(s))
		for i, rv := range s {
			path := "ipatlas.regions[" + strconv.Itoa(i) + "]"
			rm, err := getMap(path, rv)
			if err != nil {
				return err
			}
			r := &in.Regions[i]
			if r.Level, err = getString(path, rm, "level"); err != nil {
				return err
			}
			if r.Level == "" {
				return fieldErr(path+".level", "", "missing")
			}
			if r.Code, err = getString(path, rm, "code"); err != nil {
				return err
			}
			if r.Name, err = getString(path, rm, "name"); err != nil {
				return err
			}
			if r.Confidence, r.HasConfidence, err = getFloat(path, rm, "confidence"); err != nil {
				return err
			}
			id, _, err := getUint(path, rm, "geoname_id", math.MaxUint32)
			if err != nil {
				return err
			}
			r.GeonameID = uint32(id)
		}
	}
	if in.Confidence, in.HasConfidence, err = getFloat("ipatlas", ipa, "confidence"); err != nil {
		return err
	}
	if in.Source, err = getString("ipatlas", ipa, "source"); err != nil {
		return err
	}
	if in.ModelVersion, err = getString("ipatlas", ipa, "model_version"); err != nil {
		return err
	}
	if in.NamesLang, err = getString("ipatlas", ipa, "names_lang"); err != nil {
		return err
	}
	if in.NamesLang == "" {
		in.NamesLang = DefaultNamesLang
	}
	return nil
}

// geoPart is one GeoIP2 region map (country, a subdivision, city).
type geoPart struct {
	path string
	m    format.Map
}

func readGeoIP2(m format.Map, in *Inference) error {
	var parts []geoPart
	var levels []string
	add := func(path, level string, v format.Value) error {
		pm, err := getMap(path, v)
		if err != nil {
			return err
		}
		parts = append(parts, geoPart{path, pm})
		levels = append(levels, level)
		return nil
	}
	if v, ok := m["country"]; ok {
		if err := add("country", levelCountry, v); err != nil {
			return err
		}
	}
	if v, ok := m["subdivisions"]; ok {
		s, ok := v.(format.Slice)
		if !ok {
			return kindErr("subdivisions", "array", v)
		}
		if len(s) > 0 {
			if err := add("subdivisions[0]", "province", s[0]); err != nil {
				return err
			}
		}
	}
	if v, ok := m["city"]; ok {
		if err := add("city", levelCity, v); err != nil {
			return err
		}
	}

	// The language: "en" if any part has it, else the first in byte order.
	lang := ""
	for _, p := range parts {
		nm, ok := p.m["names"].(format.Map)
		if !ok {
			continue
		}
		if _, ok := nm[DefaultNamesLang]; ok {
			lang = DefaultNamesLang
			break
		}
		for k := range nm {
			if lang == "" || k < lang {
				lang = k
			}
		}
	}
	if lang == "" {
		lang = DefaultNamesLang
	}
	in.NamesLang = lang

	countryCode := ""
	for i, p := range parts {
		r := Region{Level: levels[i]}
		var err error
		if r.Code, err = getString(p.path, p.m, "iso_code"); err != nil {
			return err
		}
		if r.Level == levelCountry {
			countryCode = r.Code
		} else if r.Code != "" && countryCode != "" {
			r.Code = countryCode + "-" + r.Code
		}
		if v, ok := p.m["names"]; ok {
			nm, err := getMap(p.path+".names", v)
			if err != nil {
				return err
			}
			if r.Name, err = getString(p.path+".names", nm, lang); err != nil {
				return err
			}
		}
		c, ok, err := getUint(p.path, p.m, "confidence", 100)
		if err != nil {
			return err
		}
		r.Confidence, r.HasConfidence = float64(c)/100, ok
		id, _, err := getUint(p.path, p.m, "geoname_id", math.MaxUint32)
		if err != nil {
			return err
		}
		r.GeonameID = uint32(id)
		if r.Code == "" && r.Name == "" && !r.HasConfidence {
			continue // e.g. a names map without the chosen language
		}
		in.Regions = append(in.Regions, r)
	}
	return nil
}
