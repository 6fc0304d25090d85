package builder

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/gazetteer"
	"github.com/ipatlas/ipatlas/schema"
)

// The fixed fields of a row, in cell order; level fields and extra columns
// follow (see columns).
const (
	fNetwork = iota
	fLatitude
	fLongitude
	fAccuracy
	fConfidence
	fSource
	fModelVersion
	fNamesLang
	numFixed
)

var fixedNames = [numFixed]string{
	fNetwork:      "network",
	fLatitude:     "latitude",
	fLongitude:    "longitude",
	fAccuracy:     "accuracy_radius_km",
	fConfidence:   "confidence",
	fSource:       "source",
	fModelVersion: "model_version",
	fNamesLang:    "names_lang",
}

// columns maps field names to cells: a row is held as one string per
// field, "" for absent. Cells are numFixed fixed fields, then for each
// level L the cells L, L_code, L_confidence, then the extra columns.
type columns struct {
	levels []string
	hier   schema.Hierarchy // levels, checked once for the file
	extras []string
	// byName maps every field name to its cell.
	byName map[string]int
	// source is the source name given to rows without one.
	source string
	// memo maps the cells of a row, network left out, to the record they
	// built: inference results repeat a few hundred thousand records over
	// millions of networks, and building one is most of a row's cost.
	// INVARIANT: an entry is what build returned for those cells.
	memo    map[string]memoEntry
	memoKey []byte
	scratch []byte
	// records numbers the records the memos hold, from 1.
	records uint32
	// labeler, when not nil, labels rows with coordinates; label counts
	// the outcomes by row (memo hits included, see count).
	labeler *gazetteer.Labeler
	label   LabelStats
	outcome gazetteer.Outcome // of the record being built
	// parts caches the encoded region parts of labeled records (see
	// labelfast.go).
	parts map[labelKey]labelParts
	// lastLabel is the outcome of the row build returned last, for the
	// parsers' own memos.
	lastLabel gazetteer.Outcome
	gate      memoGate
}

// memoEntry is a record built once: its canonical encoding, never
// modified, and its number, which names it within the file (records
// built again after a memo reset get new numbers; 0 for a record not
// memoized).
type memoEntry struct {
	rec   []byte
	id    uint32
	label gazetteer.Outcome // what labeling did to the row
}

// count adds the labeling outcome of a row built as e to c.label.
func (c *columns) count(e memoEntry) {
	o := e.label
	if o == 0 {
		return
	}
	if o&gazetteer.Labeled != 0 {
		c.label.Labeled++
	}
	if o&gazetteer.CountryDisagrees != 0 {
		c.label.CountryDisagreements++
	}
	if o&gazetteer.SubdivisionDisagrees != 0 {
		c.label.SubdivisionDisagreements++
	}
	if o&gazetteer.NoCity != 0 {
		c.label.NoCity++
	}
	if o&gazetteer.NoPlace != 0 {
		c.label.NoPlace++
	}
}

// memoEntries bounds the memo; when full it starts again empty.
const memoEntries = 1 << 18

// memoGate decides whether a row looks its record up in the memo.
// Per-address input, where every record is new, would pay for a key and
// a map lookup at every row, and fill the memo with records never met
// again: when fewer than 1 in 16 lookups of the last 65,536 hit, the
// memo goes cold: only 1 row in 16 looks up (and adds its record on a
// miss), enough to notice records repeating again (the memo warms when
// 1 in 16 of the last 4,096 lookups hit).
type memoGate struct {
	lookups, hits, rows uint32
	cold                bool
}

// skip reports whether this row leaves the memo alone.
func (g *memoGate) skip() bool {
	if !g.cold {
		return false
	}
	g.rows++
	return g.rows%16 != 0
}

// hit counts a lookup that found its entry.
func (g *memoGate) hit() {
	g.hits++
	g.tick()
}

// miss counts a lookup that did not.
func (g *memoGate) miss() {
	g.tick()
}

func (g *memoGate) tick() {
	window := uint32(1 << 16)
	if g.cold {
		window = 1 << 12
	}
	if g.lookups++; g.lookups >= window {
		g.cold = g.hits < window/16
		g.lookups, g.hits = 0, 0
	}
}

func newColumns(levels, extras []string, source string) (*columns, error) {
	if levels == nil {
		levels = schema.DefaultLevels
	}
	hier, err := schema.NewHierarchy(levels)
	if err != nil {
		return nil, fmt.Errorf("levels: %w", err)
	}
	c := &columns{levels: levels, hier: hier, extras: extras, source: source, byName: map[string]int{}}
	for i, n := range fixedNames {
		c.byName[n] = i
	}
	for i, l := range levels {
		c.byName[l] = c.levelCell(i)
		c.byName[l+"_code"] = c.levelCell(i) + 1
		c.byName[l+"_confidence"] = c.levelCell(i) + 2
	}
	for i, x := range extras {
		if x == "" || !utf8.ValidString(x) {
			return nil, fmt.Errorf("extra column %q: empty or invalid UTF-8 name", x)
		}
		if _, ok := c.byName[x]; ok {
			return nil, fmt.Errorf("extra column %q: already the name of a field or of another extra column", x)
		}
		if x == "regions" {
			return nil, fmt.Errorf("extra column %q: the name of a field", x)
		}
		c.byName[x] = numFixed + 3*len(levels) + i
	}
	return c, nil
}

func (c *columns) levelCell(i int) int { return numFixed + 3*i }
func (c *columns) extraCell(i int) int { return numFixed + 3*len(c.levels) + i }
func (c *columns) numCells() int       { return numFixed + 3*len(c.levels) + len(c.extras) }

// name returns the field name of cell i.
func (c *columns) name(i int) string {
	switch {
	case i < numFixed:
		return fixedNames[i]
	case i < c.extraCell(0):
		l := c.levels[(i-numFixed)/3]
		return l + [3]string{"", "_code", "_confidence"}[(i-numFixed)%3]
	}
	return c.extras[i-c.extraCell(0)]
}

// problem is a bad field of a row.
type problem struct {
	field string
	err   error
}

func probf(field, format string, args ...any) *problem {
	return &problem{field, fmt.Errorf(format, args...)}
}

// parseFloat reads the float in cell i, if any.
func (c *columns) parseFloat(cells []string, i int) (float64, bool, *problem) {
	s := cells[i]
	if s == "" {
		return 0, false, nil
	}
	f, err := schema.ParseDecimal(strings.TrimSpace(s))
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, false, probf(c.name(i), "%s out of range", schema.QuoteCell(s))
		}
		return 0, false, probf(c.name(i), "%s is not a number (want plain decimal: 31.22, -0.5, 1e-3)", schema.QuoteCell(s))
	}
	return f, true, nil
}

// build turns cells into a record: an Inference checked by Validate and
// turned into the schema record, with the extra columns under
// ipatlas.extra. It returns the record's canonical encoding, which the
// memo owns: it must not be modified, and stays valid.
func (c *columns) build(cells []string) (memoEntry, *problem) {
	if c.gate.skip() {
		out, label, prob := c.buildRecord(c.scratch[:0], cells)
		c.scratch = out[:0]
		if prob != nil {
			return memoEntry{}, prob
		}
		e := memoEntry{rec: append([]byte(nil), out...), label: label} // not numbered: not memoized
		c.count(e)
		c.lastLabel = label
		return e, nil
	}
	key := c.memoKey[:0]
	for i, s := range cells {
		if i != fNetwork {
			key = append(append(key, s...), 0)
		}
	}
	c.memoKey = key
	if e, ok := c.memo[string(key)]; ok {
		c.count(e)
		c.lastLabel = e.label
		c.gate.hit()
		return e, nil
	}
	out, label, prob := c.buildRecord(c.scratch[:0], cells)
	c.scratch = out[:0]
	if prob != nil {
		return memoEntry{}, prob
	}
	c.gate.miss()
	if c.memo == nil || len(c.memo) >= memoEntries {
		c.memo = make(map[string]memoEntry)
	}
	c.records++
	e := memoEntry{rec: append([]byte(nil), out...), id: c.records, label: label}
	c.memo[string(key)] = e
	c.count(e)
	c.lastLabel = label
	return e, nil
}

// buildRecord is build without the memo; it also returns what labeling
// did.
func (c *columns) buildRecord(buf []byte, cells []string) ([]byte, gazetteer.Outcome, *problem) {
	out, prob := c.buildInference(buf, cells)
	return out, c.outcome, prob
}

// buildInference builds the record, labeling it when c.labeler is set
// (leaving the outcome in c.outcome).
func (c *columns) buildInference(buf []byte, cells []string) ([]byte, *problem) {
	c.outcome = 0
	var in schema.Inference
	for i := range c.levels {
		at := c.levelCell(i)
		name, code := cells[at], cells[at+1]
		conf, hasConf, p := c.parseFloat(cells, at+2)
		if p != nil {
			return buf, p
		}
		if name == "" && code == "" && !hasConf {
			continue
		}
		in.Regions = append(in.Regions, schema.Region{Level: c.levels[i], Name: name, Code: code, Confidence: conf, HasConfidence: hasConf})
	}
	lat, hasLat, p := c.parseFloat(cells, fLatitude)
	if p != nil {
		return buf, p
	}
	lon, hasLon, p := c.parseFloat(cells, fLongitude)
	if p != nil {
		return buf, p
	}
	switch {
	case hasLat && !hasLon:
		return buf, probf("longitude", "missing: latitude is given without longitude")
	case hasLon && !hasLat:
		return buf, probf("latitude", "missing: longitude is given without latitude")
	}
	in.Latitude, in.Longitude, in.HasLocation = lat, lon, hasLat
	if s := strings.TrimSpace(cells[fAccuracy]); s != "" {
		n, err := strconv.ParseUint(s, 10, 16)
		switch {
		case strings.HasPrefix(s, "-"):
			return buf, probf("accuracy_radius_km", "%q is negative", s)
		case errors.Is(err, strconv.ErrRange):
			return buf, probf("accuracy_radius_km", "%q is more than %d", s, math.MaxUint16)
		case err != nil:
			return buf, probf("accuracy_radius_km", "%q is not a non-negative integer", s)
		}
		in.AccuracyRadiusKm, in.HasAccuracy = uint16(n), true
	}
	conf, hasConf, p := c.parseFloat(cells, fConfidence)
	if p != nil {
		return buf, p
	}
	in.Confidence, in.HasConfidence = conf, hasConf
	in.Source = cells[fSource]
	if in.Source == "" {
		in.Source = c.source
	}
	in.ModelVersion = cells[fModelVersion]
	in.NamesLang = cells[fNamesLang]
	if c.labeler != nil {
		stated := len(in.Regions)
		var place int
		c.outcome, place = c.labeler.LabelPlace(&in, c.levels)
		if stated == 0 && place >= 0 {
			if out, ok := c.fastRecord(buf, &in, place); ok {
				return out, nil
			}
		}
	}
	if len(c.extras) == 0 {
		// The record's bytes straight from the Inference, without maps.
		out, err := in.AppendRecordIn(buf, c.hier)
		if err != nil {
			var fe *schema.FieldError
			if errors.As(err, &fe) {
				return buf, &problem{fe.Field, fe}
			}
			return buf, &problem{"", err}
		}
		return out, nil
	}
	rec, err := in.Record(c.levels)
	if err != nil {
		var fe *schema.FieldError
		if errors.As(err, &fe) {
			return buf, &problem{fe.Field, fe}
		}
		return buf, &problem{"", err}
	}
	if len(c.extras) > 0 {
		extra := format.Map{}
		for i, x := range c.extras {
			s := cells[c.extraCell(i)]
			if s == "" {
				continue
			}
			if !utf8.ValidString(s) {
				return buf, probf(x, "invalid UTF-8 %q", s)
			}
			extra[x] = format.String(s)
		}
		if len(extra) > 0 {
			ipa, _ := rec["ipatlas"].(format.Map)
			if ipa == nil {
				ipa = format.Map{}
				rec["ipatlas"] = ipa
			}
			ipa["extra"] = extra
		}
	}
	out, err := format.AppendValue(buf, rec)
	if err != nil {
		return buf, &problem{"", err}
	}
	return out, nil
}

// headerIndex maps the columns of a CSV/TSV header to cells, checking
// that every column is known, none repeats and network is present.
func (c *columns) headerIndex(header []string) ([]int, *problem) {
	idx := make([]int, len(header))
	seen := map[int]bool{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // a UTF-8 byte order mark
		}
		h = strings.TrimSpace(h)
		cell, ok := c.byName[h]
		if !ok {
			field := h
			if !utf8.ValidString(h) {
				field = strconv.Quote(h)
			}
			known := slices.Clone(fixedNames[:])
			return nil, probf(field, "%s: want one of %s, the levels %s with _code and _confidence, or a declared extra column", "unknown column", strings.Join(known, ", "), strings.Join(c.levels, ", "))
		}
		if seen[cell] {
			return nil, probf(h, "column appears twice in the header")
		}
		seen[cell] = true
		idx[i] = cell
	}
	if !seen[fNetwork] {
		return nil, probf("network", "missing column: the header must name a network column")
	}
	return idx, nil
}
