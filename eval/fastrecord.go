package eval

import (
	"math"
	"slices"

	"github.com/ipatlas/ipatlas/format"
)

// fastDecoder reads the GeoIP2 records eval compares straight from the
// bytes of a database's data section, reading only the fields eval needs
// (country, subdivisions, city, location, ipatlas.regions) and skipping
// the rest without decoding it.
//
// It is a fast path beside decodeAnswer, not a second reading of the
// format: it takes only records of the plain GeoIP2 shape (every field
// eval reads present with the type its Go field in geoRecord has, no key
// given twice) and reports any other record, and any error, as not
// handled, so that the caller decodes it with decodeAnswer. For every
// record it handles, the answer is the one decodeAnswer gives
// (TestFastAnswerMatchesDecodeAnswer on real and generated databases,
// FuzzFastAnswer on arbitrary bytes).
//
// The places of a record (a country, a subdivision, a city) are usually
// pointers to maps that many records share; their decoded form is kept
// by the offset of the map, so a record whose places were met before
// costs a walk of its top-level keys and its location.
//
// A fastDecoder is not safe for concurrent use.
type fastDecoder struct {
	dec format.Decoder
	// places are the places read, by the offset of their map's payload
	// (pointed to); subdivisions the first place of the subdivisions
	// arrays read (nil for an empty one), by the offset of the array's
	// payload (pointed to); strs the strings read, by the offset of
	// their payload (pointed to).
	places       map[uint]*geoPlace
	subdivisions map[uint]*geoPlace
	strs         map[uint]string
	// answers and levels are slabs the answers are cut from.
	answers []answer
	levels  []levelAnswer
	// scratch is the answer being read.
	scratch *answer
}

// geoPlace is a decoded GeoIP2 country, subdivision or city.
type geoPlace struct {
	code string
	// names are the non-empty names in namesOf's order, clipped so that
	// an append to them copies.
	names []string
	id    uint64
	conf  float64 // geoConf of the confidence
}

// cacheLimit bounds the entries of each cache of a fastDecoder.
const cacheLimit = 1 << 17

func newFastDecoder(dec format.Decoder) *fastDecoder {
	return &fastDecoder{dec: dec, places: map[uint]*geoPlace{}, subdivisions: map[uint]*geoPlace{}, strs: map[uint]string{}}
}

// slab is the number of answers allocated at once.
const slab = 256

// newAnswer returns an answer with n levels to fill (radius -1, levels
// zero).
func (f *fastDecoder) newAnswer(n int) *answer {
	if len(f.answers) == 0 {
		f.answers = make([]answer, slab)
	}
	if len(f.levels) < n {
		f.levels = make([]levelAnswer, 4*slab)
	}
	a := &f.answers[0]
	f.answers = f.answers[1:]
	*a = answer{radius: -1, levels: f.levels[:n:n]}
	f.levels = f.levels[n:]
	return a
}

// str reads the string at p (following a pointer) and returns it and the
// offset after the value at p.
func (f *fastDecoder) str(p uint) (string, uint, bool) {
	d := f.dec
	kind, size, q, ptr, next, err := d.Resolve(p)
	if err != nil || kind != format.KindString {
		return "", 0, false
	}
	if ptr {
		if s, ok := f.strs[q]; ok {
			return s, next, true
		}
	}
	b, _, err := d.StringAt(p)
	if err != nil {
		return "", 0, false
	}
	s := string(b)
	if !ptr {
		return s, q + size, true
	}
	if len(f.strs) >= cacheLimit {
		clear(f.strs)
	}
	f.strs[q] = s
	return s, next, true
}

// Bits of the keys met in a map, to refuse a key given twice.
const (
	keyCountry = 1 << iota
	keySubdivisions
	keyCity
	keyLocation
	keyIpatlas
)

// answer returns the answer for the record at data offset off, as
// decodeAnswer gives it with the zero Layout and the database not known
// to be flat; ok is false when the record is not one it handles.
func (f *fastDecoder) answer(off uint, levels []string) (a *answer, ok bool) {
	d := f.dec
	kind, size, p, _, _, err := d.Resolve(off)
	if err != nil || kind != format.KindMap || size > uint(len(d.Bytes())) {
		return nil, false
	}
	if f.scratch == nil || len(f.scratch.levels) != len(levels) {
		f.scratch = &answer{levels: make([]levelAnswer, len(levels))}
	}
	a = f.scratch
	*a = answer{radius: -1, levels: a.levels}
	for i := range a.levels {
		a.levels[i] = levelAnswer{conf: -1}
	}
	var seen uint
	var loc location
	var regions bool
	for range size {
		key, next, err := d.StringAt(p)
		if err != nil {
			return nil, false
		}
		p = next
		switch string(key) {
		case "country", "city":
			level, bit := levelCountry, uint(keyCountry)
			if string(key) == "city" {
				level, bit = levelCity, keyCity
			}
			if seen&bit != 0 {
				return nil, false
			}
			seen |= bit
			pl, next, ok := f.place(p)
			if !ok {
				return nil, false
			}
			p = next
			setPlace(&a.levels[level], pl)
		case "subdivisions":
			if seen&keySubdivisions != 0 {
				return nil, false
			}
			seen |= keySubdivisions
			pl, next, ok := f.firstSubdivision(p)
			if !ok {
				return nil, false
			}
			p = next
			if pl != nil {
				// The first (largest) subdivision.
				setPlace(&a.levels[levelSubdivision], pl)
			}
		case "location":
			if seen&keyLocation != 0 {
				return nil, false
			}
			seen |= keyLocation
			next, ok := f.location(p, &loc)
			if !ok {
				return nil, false
			}
			p = next
		case "ipatlas":
			if seen&keyIpatlas != 0 {
				return nil, false
			}
			seen |= keyIpatlas
			next, has, ok := f.ipatlas(p, a, levels)
			if !ok {
				return nil, false
			}
			p = next
			regions = has
		default:
			if p, err = d.Skip(p); err != nil {
				return nil, false
			}
		}
	}
	if !loc.hasLat && a.levels[levelCountry].code == "" && !regions {
		// decodeAnswer tries the record as a flat one.
		return nil, false
	}
	if loc.hasLat && loc.hasLon {
		a.hasLoc, a.lat, a.lon = true, loc.lat, loc.lon
	}
	if loc.hasRadius {
		a.radius = loc.radius
	}
	a.finish(levels)
	// The answer kept has the levels up to the last one that says
	// something: the levels after it are as a missing one (row).
	n := len(a.levels)
	for n > 0 && !a.levels[n-1].has && a.levels[n-1].conf < 0 {
		n--
	}
	kept := f.newAnswer(n)
	copy(kept.levels, a.levels[:n])
	*kept = answer{hasLoc: a.hasLoc, lat: a.lat, lon: a.lon, radius: a.radius, levels: kept.levels}
	return kept, true
}

// firstSubdivision reads the subdivisions array at p and returns its
// first place (nil when empty) and the offset after the value at p.
func (f *fastDecoder) firstSubdivision(p uint) (*geoPlace, uint, bool) {
	d := f.dec
	kind, n, q, ptr, next, err := d.Resolve(p)
	if err != nil || kind != format.KindSlice || n > uint(len(d.Bytes())) {
		return nil, 0, false
	}
	start := q
	if ptr {
		if pl, ok := f.subdivisions[start]; ok {
			return pl, next, true
		}
	}
	var first *geoPlace
	for i := range n {
		pl, after, ok := f.place(q)
		if !ok {
			return nil, 0, false
		}
		q = after
		if i == 0 {
			first = pl
		}
	}
	if !ptr {
		return first, q, true
	}
	if len(f.subdivisions) >= cacheLimit {
		clear(f.subdivisions)
	}
	f.subdivisions[start] = first
	return first, next, true
}

// setPlace sets a level's answer from a place, as fillGeo's set does.
func setPlace(l *levelAnswer, pl *geoPlace) {
	l.code, l.names, l.geonameID, l.conf = pl.code, pl.names, pl.id, pl.conf
}

// place reads the map of a country, subdivision or city at p and returns
// it and the offset after the value at p.
func (f *fastDecoder) place(p uint) (*geoPlace, uint, bool) {
	d := f.dec
	kind, size, q, ptr, next, err := d.Resolve(p)
	if err != nil || kind != format.KindMap || size > uint(len(d.Bytes())) {
		return nil, 0, false
	}
	start := q // the key of the place kept
	if ptr {
		if pl, ok := f.places[start]; ok {
			return pl, next, true
		}
	}
	pl := &geoPlace{conf: -1}
	var names [8]string
	var seen uint
	for range size {
		key, after, err := d.StringAt(q)
		if err != nil {
			return nil, 0, false
		}
		q = after
		bit := uint(0)
		switch string(key) {
		case "iso_code":
			bit = 1
		case "geoname_id":
			bit = 2
		case "confidence":
			bit = 4
		case "names":
			bit = 8
		}
		if seen&bit != 0 {
			return nil, 0, false
		}
		seen |= bit
		switch bit {
		case 1:
			s, after, ok := f.str(q)
			if !ok {
				return nil, 0, false
			}
			pl.code, q = s, after
		case 2:
			v, after, ok := f.unsigned(q)
			if !ok {
				return nil, 0, false
			}
			pl.id, q = v, after
		case 4:
			v, after, ok := f.number(q)
			if !ok {
				return nil, 0, false
			}
			pl.conf, q = geoConf(v), after
		case 8:
			after, ok := f.names(q, &names)
			if !ok {
				return nil, 0, false
			}
			q = after
		default:
			if q, err = d.Skip(q); err != nil {
				return nil, 0, false
			}
		}
	}
	for _, n := range names {
		if n != "" {
			pl.names = append(pl.names, n)
		}
	}
	pl.names = slices.Clip(pl.names)
	if !ptr {
		return pl, q, true
	}
	if len(f.places) >= cacheLimit {
		clear(f.places)
	}
	f.places[start] = pl
	return pl, next, true
}

// nameIndex is the index of a language in namesOf's order, -1 for others.
func nameIndex(lang []byte) int {
	switch string(lang) {
	case "en":
		return 0
	case "de":
		return 1
	case "es":
		return 2
	case "fr":
		return 3
	case "ja":
		return 4
	case "pt-BR":
		return 5
	case "ru":
		return 6
	case "zh-CN":
		return 7
	}
	return -1
}

// names reads a names map at p into names (namesOf's order).
func (f *fastDecoder) names(p uint, names *[8]string) (uint, bool) {
	d := f.dec
	kind, size, q, ptr, next, err := d.Resolve(p)
	if err != nil || kind != format.KindMap || size > uint(len(d.Bytes())) {
		return 0, false
	}
	var seen uint
	for range size {
		key, after, err := d.StringAt(q)
		if err != nil {
			return 0, false
		}
		q = after
		i := nameIndex(key)
		if i < 0 {
			if q, err = d.Skip(q); err != nil {
				return 0, false
			}
			continue
		}
		if seen&(1<<i) != 0 {
			return 0, false
		}
		seen |= 1 << i
		s, after, ok := f.str(q)
		if !ok {
			return 0, false
		}
		names[i], q = s, after
	}
	if ptr {
		return next, true
	}
	return q, true
}

// location is what eval reads of a record's location map.
type location struct {
	lat, lon, radius          float64
	hasLat, hasLon, hasRadius bool
}

// location reads the location map at p: latitude and longitude (doubles)
// and accuracy_radius (a uint16).
func (f *fastDecoder) location(p uint, loc *location) (uint, bool) {
	d := f.dec
	kind, size, q, ptr, next, err := d.Resolve(p)
	if err != nil || kind != format.KindMap || size > uint(len(d.Bytes())) {
		return 0, false
	}
	var seen uint
	for range size {
		key, after, err := d.StringAt(q)
		if err != nil {
			return 0, false
		}
		q = after
		switch string(key) {
		case "latitude", "longitude":
			bit, has, v := uint(1), &loc.hasLat, &loc.lat
			if string(key) == "longitude" {
				bit, has, v = 2, &loc.hasLon, &loc.lon
			}
			if seen&bit != 0 {
				return 0, false
			}
			seen |= bit
			kind, size, r, ptr, after, err := d.Resolve(q)
			if err != nil || kind != format.KindFloat64 || size != 8 {
				return 0, false
			}
			u, err := d.Uint(r, 8)
			if err != nil {
				return 0, false
			}
			*v, *has = math.Float64frombits(u), true
			q = r + 8
			if ptr {
				q = after
			}
		case "accuracy_radius":
			if seen&4 != 0 {
				return 0, false
			}
			seen |= 4
			kind, size, r, ptr, after, err := d.Resolve(q)
			if err != nil || kind != format.KindUint16 || size > 2 {
				return 0, false
			}
			u, err := d.Uint(r, size)
			if err != nil {
				return 0, false
			}
			loc.radius, loc.hasRadius = float64(u), true
			q = r + size
			if ptr {
				q = after
			}
		default:
			if q, err = d.Skip(q); err != nil {
				return 0, false
			}
		}
	}
	if ptr {
		return next, true
	}
	return q, true
}

// ipatlas reads the ipatlas map at p: its regions into a, as fillGeo
// does; has reports a non-empty regions array.
func (f *fastDecoder) ipatlas(p uint, a *answer, levels []string) (next uint, has bool, ok bool) {
	d := f.dec
	kind, size, q, ptr, after, err := d.Resolve(p)
	if err != nil || kind != format.KindMap || size > uint(len(d.Bytes())) {
		return 0, false, false
	}
	seen := false
	for range size {
		key, next, err := d.StringAt(q)
		if err != nil {
			return 0, false, false
		}
		q = next
		if string(key) != "regions" {
			if q, err = d.Skip(q); err != nil {
				return 0, false, false
			}
			continue
		}
		if seen {
			return 0, false, false
		}
		seen = true
		kind, n, r, ptr, next, err := d.Resolve(q)
		if err != nil || kind != format.KindSlice || n > uint(len(d.Bytes())) {
			return 0, false, false
		}
		for range n {
			var level, code, name string
			conf := -1.0
			var ok bool
			if r, ok = f.region(r, &level, &code, &name, &conf); !ok {
				return 0, false, false
			}
			a.addRegion(level, code, name, conf, levels)
		}
		has = n > 0
		q = r
		if ptr {
			q = next
		}
	}
	if ptr {
		return after, has, true
	}
	return q, has, true
}

// region reads one ipatlas.regions entry at p.
func (f *fastDecoder) region(p uint, level, code, name *string, conf *float64) (uint, bool) {
	d := f.dec
	kind, size, q, ptr, next, err := d.Resolve(p)
	if err != nil || kind != format.KindMap || size > uint(len(d.Bytes())) {
		return 0, false
	}
	var seen uint
	for range size {
		key, after, err := d.StringAt(q)
		if err != nil {
			return 0, false
		}
		q = after
		var dst *string
		bit := uint(0)
		switch string(key) {
		case "level":
			dst, bit = level, 1
		case "code":
			dst, bit = code, 2
		case "name":
			dst, bit = name, 4
		case "confidence":
			if seen&8 != 0 {
				return 0, false
			}
			seen |= 8
			v, after, ok := f.number(q)
			if !ok {
				return 0, false
			}
			*conf, q = regionConf(v), after
			continue
		default:
			if q, err = d.Skip(q); err != nil {
				return 0, false
			}
			continue
		}
		if seen&bit != 0 {
			return 0, false
		}
		seen |= bit
		s, after, ok := f.str(q)
		if !ok {
			return 0, false
		}
		*dst, q = s, after
	}
	if ptr {
		return next, true
	}
	return q, true
}

// unsigned reads a uint16, uint32 or uint64 at p (as a uint64 field
// takes them) and returns it and the offset after the value at p.
func (f *fastDecoder) unsigned(p uint) (uint64, uint, bool) {
	d := f.dec
	kind, size, q, ptr, next, err := d.Resolve(p)
	if err != nil {
		return 0, 0, false
	}
	switch {
	case kind == format.KindUint16 && size <= 2,
		kind == format.KindUint32 && size <= 4,
		kind == format.KindUint64 && size <= 8:
	default:
		return 0, 0, false
	}
	v, err := d.Uint(q, size)
	if err != nil {
		return 0, 0, false
	}
	if ptr {
		return v, next, true
	}
	return v, q + size, true
}

// number reads a confidence at p as decoding it into an any and number
// give it: unsigned integers and floats; other kinds are not handled.
func (f *fastDecoder) number(p uint) (float64, uint, bool) {
	d := f.dec
	kind, size, q, ptr, next, err := d.Resolve(p)
	if err != nil {
		return 0, 0, false
	}
	var v float64
	switch {
	case kind == format.KindFloat64 && size == 8:
		u, err := d.Uint(q, 8)
		if err != nil {
			return 0, 0, false
		}
		v = math.Float64frombits(u)
	case kind == format.KindFloat32 && size == 4:
		u, err := d.Uint(q, 4)
		if err != nil {
			return 0, 0, false
		}
		v = float64(math.Float32frombits(uint32(u)))
	case kind == format.KindUint16 && size <= 2,
		kind == format.KindUint32 && size <= 4,
		kind == format.KindUint64 && size <= 8:
		u, err := d.Uint(q, size)
		if err != nil {
			return 0, 0, false
		}
		v = float64(u)
	default:
		return 0, 0, false
	}
	if ptr {
		return v, next, true
	}
	return v, q + size, true
}
