package schema

import (
	"encoding/binary"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/ipatlas/ipatlas/format"
)

// AppendRecord appends the canonical encoding of in.Record(levels) to
// dst: the same bytes as AppendValue(dst, rec) for rec, _ :=
// in.Record(levels), written directly (no maps, no sorting at run time:
// the keys of every map of the schema are written in their canonical
// order). It returns Record's error for an invalid in. It does not
// modify in. FuzzAppendRecord holds it to Record + AppendValue.
func (in *Inference) AppendRecord(dst []byte, levels []string) ([]byte, error) {
	h, err := NewHierarchy(levels)
	if err != nil {
		return dst, err
	}
	return in.AppendRecordIn(dst, h)
}

// AppendRecordIn is AppendRecord for a hierarchy already checked: the
// builder's per-row path, which checks a file's levels once.
func (in *Inference) AppendRecordIn(dst []byte, h Hierarchy) ([]byte, error) {
	levels := h.Levels()
	if err := in.ValidateIn(h); err != nil {
		return dst, err
	}
	var stack [8]Region
	n := *in
	n.Regions = append(stack[:0], in.Regions...)
	n.Normalize()
	if !n.encodable() {
		// AppendValue's own error for the string, by the slow path.
		rec, err := in.Record(levels)
		if err != nil {
			return dst, err
		}
		return format.AppendValue(dst, rec)
	}
	lang := n.NamesLang
	country, city := -1, -1
	for i, l := range levels {
		switch l {
		case levelCountry:
			if country < 0 {
				country = i
			}
		case levelCity:
			if city < 0 {
				city = i
			}
		}
	}
	var countryCode string
	var continent Continent
	hasContinent, hasCountry, hasCity := false, false, false
	subdivisions := 0
	for i, r := range n.Regions {
		switch {
		case i == country:
			countryCode = r.Code
			hasCountry = geoLen(r, r.Code, lang) > 0
			continent, hasContinent = ContinentOf(r.Code)
		case i == city:
			hasCity = geoLen(r, "", lang) > 0
		case country >= 0 && country < i && i < city:
			if geoLen(r, subdivisionCode(r.Code, countryCode), lang) > 0 {
				subdivisions++
			}
		}
	}
	locLen := 0
	if n.HasLocation {
		locLen += 2
	}
	if n.HasAccuracy {
		locLen++
	}
	ipaLen := 0
	for _, b := range []bool{len(n.Regions) > 0, n.HasConfidence, n.Source != "", n.ModelVersion != "", lang != DefaultNamesLang} {
		if b {
			ipaLen++
		}
	}
	top := 0
	for _, b := range []bool{hasCity, hasContinent, hasCountry, ipaLen > 0, locLen > 0, subdivisions > 0} {
		if b {
			top++
		}
	}
	dst = appendMapHeader(dst, top)
	if hasCity {
		dst = appendKeyString(dst, "city")
		dst = appendGeo(dst, n.Regions[city], "", lang)
	}
	if hasContinent {
		dst = appendKeyString(dst, "continent")
		dst = appendMapHeader(dst, 2)
		dst = appendKeyString(dst, "code")
		dst = appendKeyString(dst, continent.Code)
		dst = appendKeyString(dst, "names")
		dst = appendMapHeader(dst, 1)
		dst = appendKeyString(dst, "en")
		dst = appendKeyString(dst, continent.Names.English)
	}
	if hasCountry {
		dst = appendKeyString(dst, "country")
		dst = appendGeo(dst, n.Regions[country], countryCode, lang)
	}
	if ipaLen > 0 {
		dst = appendKeyString(dst, "ipatlas")
		dst = appendMapHeader(dst, ipaLen)
		if n.HasConfidence {
			dst = appendKeyString(dst, "confidence")
			dst = appendFloat64(dst, n.Confidence)
		}
		if n.ModelVersion != "" {
			dst = appendKeyString(dst, "model_version")
			dst = appendKeyString(dst, n.ModelVersion)
		}
		if lang != DefaultNamesLang {
			dst = appendKeyString(dst, "names_lang")
			dst = appendKeyString(dst, lang)
		}
		if len(n.Regions) > 0 {
			dst = appendKeyString(dst, "regions")
			dst, _ = format.AppendControl(dst, format.KindSlice, uint(len(n.Regions)))
			for _, r := range n.Regions {
				m := 1
				for _, b := range []bool{r.Code != "", r.HasConfidence, r.GeonameID != 0, r.Name != ""} {
					if b {
						m++
					}
				}
				dst = appendMapHeader(dst, m)
				if r.Code != "" {
					dst = appendKeyString(dst, "code")
					dst = appendKeyString(dst, r.Code)
				}
				if r.HasConfidence {
					dst = appendKeyString(dst, "confidence")
					dst = appendFloat64(dst, r.Confidence)
				}
				if r.GeonameID != 0 {
					dst = appendKeyString(dst, "geoname_id")
					dst = format.AppendUint(dst, format.KindUint32, uint64(r.GeonameID))
				}
				dst = appendKeyString(dst, "level")
				dst = appendKeyString(dst, r.Level)
				if r.Name != "" {
					dst = appendKeyString(dst, "name")
					dst = appendKeyString(dst, r.Name)
				}
			}
		}
		if n.Source != "" {
			dst = appendKeyString(dst, "source")
			dst = appendKeyString(dst, n.Source)
		}
	}
	if locLen > 0 {
		dst = appendKeyString(dst, "location")
		dst = appendMapHeader(dst, locLen)
		if n.HasAccuracy {
			dst = appendKeyString(dst, "accuracy_radius")
			dst = format.AppendUint(dst, format.KindUint16, uint64(n.AccuracyRadiusKm))
		}
		if n.HasLocation {
			dst = appendKeyString(dst, "latitude")
			dst = appendFloat64(dst, n.Latitude)
			dst = appendKeyString(dst, "longitude")
			dst = appendFloat64(dst, n.Longitude)
		}
	}
	if subdivisions > 0 {
		dst = appendKeyString(dst, "subdivisions")
		dst, _ = format.AppendControl(dst, format.KindSlice, uint(subdivisions))
		for i, r := range n.Regions {
			if country >= 0 && country < i && i < city {
				code := subdivisionCode(r.Code, countryCode)
				if geoLen(r, code, lang) > 0 {
					dst = appendGeo(dst, r, code, lang)
				}
			}
		}
	}
	return dst, nil
}

// encodable reports whether every string a record of n holds is UTF-8
// and short enough for the format.
func (n *Inference) encodable() bool {
	ok := func(s string) bool { return len(s) <= format.MaxControlSize && utf8.ValidString(s) }
	for _, r := range n.Regions {
		if !ok(r.Level) || !ok(r.Code) || !ok(r.Name) {
			return false
		}
	}
	return ok(n.Source) && ok(n.ModelVersion) && ok(n.NamesLang)
}

// The GeoIP2 view of a record holds only what geoip2-golang's models
// accept (their maxsize tags, which maxminddb-golang enforces): an
// iso_code of at most geoIP2MaxCode bytes, names of at most geoIP2MaxName
// bytes. A longer code or name is left out of the view and kept in
// ipatlas.regions, so that every MaxMind reader decodes the record
// (TestAtlasCoversRecord, TestRecordLongCodeAndName).
const (
	geoIP2MaxCode = 16
	geoIP2MaxName = 1024
)

// subdivisionCode is a subdivision's iso_code: its code without the
// "CC-" prefix of its country, "" when that is longer than geoIP2MaxCode.
func subdivisionCode(code, countryCode string) string {
	if countryCode != "" && len(code) > 3 && strings.EqualFold(code[:3], countryCode+"-") {
		code = code[3:]
	}
	if len(code) > geoIP2MaxCode {
		return ""
	}
	return code
}

// geoName is a name as the GeoIP2 view holds it: "" when it is longer
// than geoIP2MaxName.
func geoName(name string) string {
	if len(name) > geoIP2MaxName {
		return ""
	}
	return name
}

// geoLen is the number of entries of a GeoIP2 place map of r with
// iso_code code.
func geoLen(r Region, code, lang string) int {
	n := 0
	if r.HasConfidence {
		n++
	}
	if r.GeonameID != 0 {
		n++
	}
	if code != "" {
		n++
	}
	if geoName(r.Name) != "" {
		n++
	}
	return n
}

// appendGeo appends a GeoIP2 place map {confidence, geoname_id,
// iso_code, names}.
func appendGeo(dst []byte, r Region, code, lang string) []byte {
	dst = appendMapHeader(dst, geoLen(r, code, lang))
	if r.HasConfidence {
		dst = appendKeyString(dst, "confidence")
		dst = format.AppendUint(dst, format.KindUint16, uint64(percent(r.Confidence)))
	}
	if r.GeonameID != 0 {
		dst = appendKeyString(dst, "geoname_id")
		dst = format.AppendUint(dst, format.KindUint32, uint64(r.GeonameID))
	}
	if code != "" {
		dst = appendKeyString(dst, "iso_code")
		dst = appendKeyString(dst, code)
	}
	if geoName(r.Name) != "" {
		dst = appendKeyString(dst, "names")
		dst = appendMapHeader(dst, 1)
		dst = appendKeyString(dst, lang)
		dst = appendKeyString(dst, r.Name)
	}
	return dst
}

func appendMapHeader(dst []byte, n int) []byte {
	dst, _ = format.AppendControl(dst, format.KindMap, uint(n))
	return dst
}

// appendKeyString appends a string (checked UTF-8 by the caller).
func appendKeyString(dst []byte, s string) []byte {
	dst, _ = format.AppendControl(dst, format.KindString, uint(len(s)))
	return append(dst, s...)
}

func appendFloat64(dst []byte, f float64) []byte {
	dst, _ = format.AppendControl(dst, format.KindFloat64, 8)
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
}
