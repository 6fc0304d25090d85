package builder

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/schema"
)

// This file holds the fast path of labeled records: a row that states no
// region and gets country, subdivision and city from one place (the
// per-address, coordinates-only case) has a record whose region parts
// (city, continent, country, subdivisions, ipatlas.regions) depend only
// on the place and the language. They are encoded once per place and
// language, and each row's record is assembled around them with its own
// location, confidence, source and model version.
// TestLabelFastMatchesRecord holds it to schema.Inference.Record + AppendValue,
// byte for byte.

// labelParts are the encoded constant parts of a labeled record: each
// nil when the record has no such key.
type labelParts struct {
	city, continent, country, subdivisions, regions []byte
}

type labelKey struct {
	place int
	lang  string
}

// maxLabelParts bounds the cache; when full it starts again empty.
const maxLabelParts = 1 << 16

// fastLevels reports whether the hierarchy starts country, province,
// city: the shape the fast path assembles.
func fastLevels(levels []string) bool {
	return len(levels) >= 3 && levels[0] == "country" && levels[2] == "city"
}

// fastRecord appends the encoding of the labeled in (normalized, three
// regions all from place) to buf, as schema.Inference.Record would give it; false
// when in is not of that shape or not valid (the slow path then reports
// the problem).
func (c *columns) fastRecord(buf []byte, in *schema.Inference, place int) ([]byte, bool) {
	if len(c.extras) > 0 || len(in.Regions) != 3 || !in.HasLocation || !fastLevels(c.levels) {
		return buf, false
	}
	lang := in.NamesLang
	if lang == "" {
		lang = schema.DefaultNamesLang
	}
	parts, ok := c.parts[labelKey{place, lang}]
	if ok {
		// The regions are the place's, valid when its parts were made:
		// the rest of in is checked (Validate's checks of the regions
		// and of the rest are independent, in has a location).
		rest := *in
		rest.Regions = nil
		if rest.ValidateIn(c.hier) != nil {
			return buf, false
		}
	} else {
		if in.ValidateIn(c.hier) != nil {
			return buf, false
		}
		var err error
		if parts, err = makeLabelParts(in, c.levels, lang); err != nil {
			return buf, false
		}
		if c.parts == nil || len(c.parts) >= maxLabelParts {
			c.parts = map[labelKey]labelParts{}
		}
		c.parts[labelKey{place, lang}] = parts
	}
	n := 2 // ipatlas, location
	size := 160 + len(in.ModelVersion) + len(in.Source) + len(parts.regions)
	for _, p := range [][]byte{parts.city, parts.continent, parts.country, parts.subdivisions} {
		if p != nil {
			n++
			size += len(p)
		}
	}
	// One growth of buf for the whole record, not one per part.
	out := appendMapHeader(slices.Grow(buf, size), n)
	out = appendPart(out, "city", parts.city)
	out = appendPart(out, "continent", parts.continent)
	out = appendPart(out, "country", parts.country)

	// ipatlas: confidence, model_version, names_lang, regions, source.
	hasConf := in.HasConfidence
	m := 1
	for _, b := range []bool{hasConf, in.ModelVersion != "", lang != schema.DefaultNamesLang, in.Source != ""} {
		if b {
			m++
		}
	}
	out = appendKey(out, "ipatlas")
	out = appendMapHeader(out, m)
	if hasConf {
		out = appendKey(out, "confidence")
		out = appendFloat64(out, in.Confidence)
	}
	if in.ModelVersion != "" {
		out = appendKey(out, "model_version")
		out, _ = format.AppendValue(out, format.String(in.ModelVersion))
	}
	if lang != schema.DefaultNamesLang {
		out = appendKey(out, "names_lang")
		out, _ = format.AppendValue(out, format.String(lang))
	}
	out = appendPart(out, "regions", parts.regions)
	if in.Source != "" {
		out = appendKey(out, "source")
		out, _ = format.AppendValue(out, format.String(in.Source))
	}

	// location: accuracy_radius, latitude, longitude.
	out = appendKey(out, "location")
	if in.HasAccuracy {
		out = appendMapHeader(out, 3)
		out = appendKey(out, "accuracy_radius")
		out, _ = format.AppendValue(out, format.Uint16(in.AccuracyRadiusKm))
	} else {
		out = appendMapHeader(out, 2)
	}
	out = appendKey(out, "latitude")
	out = appendFloat64(out, in.Latitude)
	out = appendKey(out, "longitude")
	out = appendFloat64(out, in.Longitude)
	out = appendPart(out, "subdivisions", parts.subdivisions)
	return out, true
}

// makeLabelParts encodes the region parts of in's record: the record of
// in's regions alone, written by format's AppendRecord (the bytes of
// schema.Inference.Record + AppendValue, without maps), cut into its top-level
// values and ipatlas.regions.
func makeLabelParts(in *schema.Inference, levels []string, lang string) (labelParts, error) {
	t := schema.Inference{Regions: in.Regions, NamesLang: lang, HasLocation: true}
	rec, err := t.AppendRecord(nil, levels)
	if err != nil {
		return labelParts{}, err
	}
	var p labelParts
	err = eachEntry(rec, 0, func(key string, v []byte, off uint) error {
		switch key {
		case "city":
			p.city = v
		case "continent":
			p.continent = v
		case "country":
			p.country = v
		case "subdivisions":
			p.subdivisions = v
		case "ipatlas":
			return eachEntry(rec, off, func(key string, v []byte, _ uint) error {
				if key == "regions" {
					p.regions = v
				}
				return nil
			})
		}
		return nil
	})
	return p, err
}

// eachEntry calls fn with each key of the map at off in rec, the bytes of
// its value (a slice of rec) and the value's offset.
func eachEntry(rec []byte, off uint, fn func(key string, v []byte, off uint) error) error {
	d := format.NewDecoder(rec)
	kind, size, p, err := d.Control(off)
	if err != nil {
		return err
	}
	if kind != format.KindMap {
		return fmt.Errorf("label parts: %s where a map was expected", kind)
	}
	for range size {
		key, next, err := d.StringAt(p)
		if err != nil {
			return err
		}
		end, err := d.Skip(next)
		if err != nil {
			return err
		}
		if err := fn(string(key), rec[next:end:end], next); err != nil {
			return err
		}
		p = end
	}
	return nil
}

// appendMapHeader appends the control byte of a map of n < 29 entries
// (MMDB type 7 in the top three bits, the size in the low five).
func appendMapHeader(b []byte, n int) []byte { return append(b, 7<<5|byte(n)) }

// appendKey appends a map key (an MMDB string): the keys here are ASCII
// and shorter than 29 bytes, so a control byte with the size (type 2 in
// the top three bits) and the bytes, as format.AppendValue writes them
// but without boxing the key in an interface.
func appendKey(b []byte, k string) []byte {
	if len(k) >= 29 {
		b, _ = format.AppendValue(b, format.String(k))
		return b
	}
	return append(append(b, 2<<5|byte(len(k))), k...)
}

// appendFloat64 appends an MMDB double (type 3, size 8, big-endian
// IEEE 754) as format.AppendValue writes a format.Float64.
func appendFloat64(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 3<<5|8), math.Float64bits(f))
}

// appendPart appends key and its encoded value, unless value is nil.
func appendPart(b []byte, key string, value []byte) []byte {
	if value == nil {
		return b
	}
	return append(appendKey(b, key), value...)
}
