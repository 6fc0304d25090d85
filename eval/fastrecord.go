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

// fields walks the entries of a map, yielding the keys it is asked for by
// their index in a table of keys and skipping the others; a key given
// twice makes the record one the fast path does not handle. place,
// names, ipatlas and region walk their maps with it; answer and location,
// which walk a map for every record, keep their own switch on constant
// keys: through fields the warm walk of a GeoLite2-City record cost 11%
// more (BenchmarkFastAnswer, p=0.03, n=18), place's no measurable amount.
type fields struct {
	q     uint // offset of the next key, or of the value of the key yielded
	left  uint // entries not yet read
	seen  uint // bits of the keys met, by index
	ptr   bool // the map was pointed to
	after uint // with ptr, the offset after the pointer
}

// fields opens the map at p (following a pointer).
func (f *fastDecoder) fields(p uint) (fields, bool) {
	d := f.dec
	kind, size, q, ptr, next, err := d.Resolve(p)
	if err != nil || kind != format.KindMap || size > uint(len(d.Bytes())) {
		return fields{}, false
	}
	return fields{q: q, left: size, ptr: ptr, after: next}, true
}

// next moves to the value of the map's next key that is in keys (at most
// 64) and returns the key's index, or -1 at the end of the map; ok is
// false on a malformed map or a key given twice.
func (m *fields) next(d format.Decoder, keys []string) (i int, ok bool) {
	for m.left > 0 {
		m.left--
		key, after, err := d.StringAt(m.q)
		if err != nil {
			return 0, false
		}
		m.q = after
		i = keyIndex(key, keys)
		if i < 0 {
			if m.q, err = d.Skip(m.q); err != nil {
				return 0, false
			}
			continue
		}
		if m.seen&(1<<i) != 0 {
			return 0, false
		}
		m.seen |= 1 << i
		return i, true
	}
	return -1, true
}

// end returns the offset after the map's value, once every entry is read.
func (m *fields) end() uint {
	if m.ptr {
		return m.after
	}
	return m.q
}

// keyIndex is the index of key in keys (none empty), -1 when it is not
// there. Length and first byte are compared first: they tell most keys
// apart without a call to compare the bytes.
func keyIndex(key []byte, keys []string) int {
	if len(key) == 0 {
		return -1
	}
	for i, k := range keys {
		if len(k) == len(key) && k[0] == key[0] && string(key) == k {
			return i
		}
	}
	return -1
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

// placeKeys are the keys read of a place, by index.
var placeKeys = []string{"iso_code", "geoname_id", "confidence", "names"}

// place reads the map of a country, subdivision or city at p and returns
// it and the offset after the value at p.
func (f *fastDecoder) place(p uint) (*geoPlace, uint, bool) {
	m, ok := f.fields(p)
	if !ok {
		return nil, 0, false
	}
	start := m.q // the key of the place kept
	if m.ptr {
		if pl, ok := f.places[start]; ok {
			return pl, m.after, true
		}
	}
	pl := &geoPlace{conf: -1}
	var names [8]string
	for {
		i, ok := m.next(f.dec, placeKeys)
		if !ok {
			return nil, 0, false
		}
		if i < 0 {
			break
		}
		switch i {
		case 0:
			pl.code, m.q, ok = f.str(m.q)
		case 1:
			pl.id, m.q, ok = f.unsigned(m.q)
		case 2:
			var v float64
			v, m.q, ok = f.number(m.q)
			pl.conf = geoConf(v)
		case 3:
			m.q, ok = f.names(m.q, &names)
		}
		if !ok {
			return nil, 0, false
		}
	}
	for _, n := range names {
		if n != "" {
			pl.names = append(pl.names, n)
		}
	}
	pl.names = slices.Clip(pl.names)
	if !m.ptr {
		return pl, m.q, true
	}
	if len(f.places) >= cacheLimit {
		clear(f.places)
	}
	f.places[start] = pl
	return pl, m.after, true
}

// nameKeys are the languages of a names map in namesOf's order.
var nameKeys = []string{"en", "de", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"}

// names reads a names map at p into names (namesOf's order).
func (f *fastDecoder) names(p uint, names *[8]string) (uint, bool) {
	m, ok := f.fields(p)
	if !ok {
		return 0, false
	}
	for {
		i, ok := m.next(f.dec, nameKeys)
		if !ok {
			return 0, false
		}
		if i < 0 {
			return m.end(), true
		}
		if names[i], m.q, ok = f.str(m.q); !ok {
			return 0, false
		}
	}
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

// ipatlasKeys are the keys read of an ipatlas map.
var ipatlasKeys = []string{"regions"}

// ipatlas reads the ipatlas map at p: its regions into a, as fillGeo
// does; has reports a non-empty regions array.
func (f *fastDecoder) ipatlas(p uint, a *answer, levels []string) (next uint, has bool, ok bool) {
	d := f.dec
	m, ok := f.fields(p)
	if !ok {
		return 0, false, false
	}
	for {
		i, ok := m.next(d, ipatlasKeys)
		if !ok {
			return 0, false, false
		}
		if i < 0 {
			return m.end(), has, true
		}
		kind, n, r, ptr, next, err := d.Resolve(m.q)
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
		m.q = r
		if ptr {
			m.q = next
		}
	}
}

// regionKeys are the keys read of an ipatlas.regions entry, by index.
var regionKeys = []string{"level", "code", "name", "confidence"}

// region reads one ipatlas.regions entry at p.
func (f *fastDecoder) region(p uint, level, code, name *string, conf *float64) (uint, bool) {
	m, ok := f.fields(p)
	if !ok {
		return 0, false
	}
	strs := [...]*string{level, code, name}
	for {
		i, ok := m.next(f.dec, regionKeys)
		if !ok {
			return 0, false
		}
		if i < 0 {
			return m.end(), true
		}
		if i < len(strs) {
			*strs[i], m.q, ok = f.str(m.q)
		} else {
			var v float64
			v, m.q, ok = f.number(m.q)
			*conf = regionConf(v)
		}
		if !ok {
			return 0, false
		}
	}
}

// scalar reads a number at p: a double, a float or an unsigned integer of
// 16, 32 or 64 bits; it returns its kind, its bits (a float's as
// math.Float64bits or math.Float32bits give them) and the offset after
// the value at p. Other kinds are not handled.
func (f *fastDecoder) scalar(p uint) (format.Kind, uint64, uint, bool) {
	d := f.dec
	kind, size, q, ptr, next, err := d.Resolve(p)
	if err != nil {
		return 0, 0, 0, false
	}
	switch {
	case kind == format.KindFloat64 && size == 8,
		kind == format.KindFloat32 && size == 4,
		kind == format.KindUint16 && size <= 2,
		kind == format.KindUint32 && size <= 4,
		kind == format.KindUint64 && size <= 8:
	default:
		return 0, 0, 0, false
	}
	v, err := d.Uint(q, size)
	if err != nil {
		return 0, 0, 0, false
	}
	if !ptr {
		next = q + size
	}
	return kind, v, next, true
}

// unsigned reads a uint16, uint32 or uint64 at p (as a uint64 field
// takes them) and returns it and the offset after the value at p.
func (f *fastDecoder) unsigned(p uint) (uint64, uint, bool) {
	kind, v, next, ok := f.scalar(p)
	if !ok || kind == format.KindFloat64 || kind == format.KindFloat32 {
		return 0, 0, false
	}
	return v, next, true
}

// number reads a confidence at p as decoding it into an any and number
// give it: unsigned integers and floats; other kinds are not handled.
func (f *fastDecoder) number(p uint) (float64, uint, bool) {
	kind, v, next, ok := f.scalar(p)
	switch {
	case !ok:
		return 0, 0, false
	case kind == format.KindFloat64:
		return math.Float64frombits(v), next, true
	case kind == format.KindFloat32:
		return float64(math.Float32frombits(uint32(v))), next, true
	}
	return float64(v), next, true
}
