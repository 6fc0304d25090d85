package builder

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/mmdbjson"
)

// maxLine is the longest line (CSV record) the parsers accept, so that a
// bad file (an unterminated quote) cannot make them hold all of it. A
// variable for tests.
var maxLine = 64 << 20

// row is one parsed row: its line, its networks and its record's
// canonical encoding. nets is reused by the next row; so is rec, unless
// stable is set: then rec is never modified and may be kept.
type row struct {
	line   int
	nets   []netip.Prefix
	rec    []byte
	stable bool
	// recID, when not zero, names rec within the file: rows with the
	// same recID have the same record (see memoEntry).
	recID uint32
}

// parser reads rows of one format. next returns io.EOF after the last row,
// a *RowError for a bad row after which reading can go on, and any other
// error (a *RowError wrapped in fatalError, a read error) when the file
// cannot be read further.
type parser interface {
	next(r *row) error
}

// fatalError marks an error after which a file cannot be read further
// (a bad header, a line too long, a read error), even with SkipBadRows.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// lineReader reads lines without their "\n" or "\r\n".
type lineReader struct {
	r    *bufio.Reader
	line int
	long []byte
}

func (l *lineReader) next() ([]byte, error) {
	b, err := l.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		l.long = append(l.long[:0], b...)
		for err == bufio.ErrBufferFull {
			if len(l.long) > maxLine {
				return nil, fmt.Errorf("line longer than %d bytes", maxLine)
			}
			b, err = l.r.ReadSlice('\n')
			l.long = append(l.long, b...)
		}
		b = l.long
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(b) == 0 && err == io.EOF {
		return nil, io.EOF
	}
	if len(b) > maxLine {
		return nil, fmt.Errorf("line longer than %d bytes", maxLine)
	}
	l.line++
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	return b, nil
}

// cellParser is the common part of the CSV, TSV and JSONL parsers: rows
// held as cells (see columns).
type cellParser struct {
	file  string
	cols  *columns
	cells []string
}

func (p *cellParser) reset() {
	for i := range p.cells {
		p.cells[i] = ""
	}
}

// finish parses the network and builds the record of the row in p.cells.
func (p *cellParser) finish(r *row) error {
	var err error
	r.nets, err = appendNetworks(r.nets[:0], p.cells[fNetwork])
	if err != nil {
		return rowErr(p.file, r.line, "network", err)
	}
	e, prob := p.cols.build(p.cells)
	r.rec, r.recID, r.stable = e.rec, e.id, true
	if prob != nil {
		return rowErr(p.file, r.line, prob.field, prob.err)
	}
	return nil
}

// csvParser reads CSV (RFC 4180 quoting, records may span lines; see
// csvReader).
type csvParser struct {
	cellParser
	r   csvReader
	idx []int
	// netField is the header position of the network column.
	netField int
	// memo maps a one-line record without quotes, its network field cut
	// out, to its record: such a line gives the same cells but the
	// network whatever the network, so a repeat skips splitting the line
	// into cells and building (see columns.memo).
	// Keys are two independent 64-bit hashes of the line, not its bytes:
	// a lookup reads only the line, not the key stored (a collision needs
	// both to collide, about 2^-128 per pair).
	// INVARIANT: an entry is what finish built for the cells of a line
	// with that key, and it was built without error.
	memo    map[[2]uint64]memoEntry
	seeds   [2]maphash.Seed
	memoKey []byte
}

func newCSVParser(file string, r *bufio.Reader, cols *columns) (*csvParser, error) {
	p := &csvParser{cellParser: cellParser{file: file, cols: cols, cells: make([]string, cols.numCells())}, r: csvReader{r: r},
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	err := p.r.read()
	if err == io.EOF {
		return nil, fatalError{rowErr(file, 1, "", errors.New("empty file: a header row is required"))}
	}
	if err != nil {
		return nil, fatalError{rowErr(file, 1, "", fmt.Errorf("bad header: %w", csvErr(err)))}
	}
	header := make([]string, p.r.numFields())
	for i := range header {
		header[i] = string(p.r.field(i))
	}
	idx, prob := cols.headerIndex(header)
	if prob != nil {
		return nil, fatalError{rowErr(file, 1, prob.field, prob.err)}
	}
	p.idx = idx
	p.netField = slices.Index(idx, fNetwork)
	return p, nil
}

// csvErr drops the position from a CSV syntax error (the RowError gives
// the line).
func csvErr(err error) error {
	if se, ok := err.(*csvSyntaxError); ok {
		return se.err
	}
	return err
}

func (p *csvParser) next(r *row) error {
	err := p.r.read()
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		if se, ok := err.(*csvSyntaxError); ok {
			r.line = se.startLine
			if se.err == csv.ErrFieldCount {
				return rowErr(p.file, se.startLine, "", fmt.Errorf("%d fields, the header has %d", p.r.numFields(), len(p.idx)))
			}
			return rowErr(p.file, se.startLine, "", fmt.Errorf("bad CSV: %w", se.err))
		}
		return fatalError{rowErr(p.file, 0, "", err)}
	}
	r.line = p.r.startLine
	var key [2]uint64
	if p.r.plain {
		line := p.r.buf
		start, end := p.r.bounds[2*p.netField], p.r.bounds[2*p.netField+1]
		k := line[end:]
		if start > 0 {
			k = append(append(p.memoKey[:0], line[:start]...), line[end:]...)
			p.memoKey = k
		}
		key = [2]uint64{maphash.Bytes(p.seeds[0], k), maphash.Bytes(p.seeds[1], k)}
		if e, ok := p.memo[key]; ok {
			// The cells but the network are those of a good row.
			r.nets, err = appendNetworks(r.nets[:0], string(line[start:end]))
			if err != nil {
				return rowErr(p.file, r.line, "network", err)
			}
			r.rec, r.recID, r.stable = e.rec, e.id, true
			p.cols.count(e)
			return nil
		}
	}
	p.reset()
	all := string(p.r.buf) // one allocation for all the cells
	for i, cell := range p.idx {
		p.cells[cell] = all[p.r.bounds[2*i]:p.r.bounds[2*i+1]]
	}
	if err := p.finish(r); err != nil {
		return err
	}
	if p.r.plain && r.recID != 0 {
		if p.memo == nil || len(p.memo) >= memoEntries {
			p.memo = make(map[[2]uint64]memoEntry)
		}
		p.memo[key] = memoEntry{rec: r.rec, id: r.recID, label: p.cols.lastLabel}
	}
	return nil
}

// tsvParser reads tab-separated values: one row per line, fields split at
// every tab, no quoting or escapes.
type tsvParser struct {
	cellParser
	lr     lineReader
	idx    []int
	fields []string
}

func newTSVParser(file string, r *bufio.Reader, cols *columns) (*tsvParser, error) {
	p := &tsvParser{cellParser: cellParser{file: file, cols: cols, cells: make([]string, cols.numCells())}, lr: lineReader{r: r}}
	header, err := p.lr.next()
	if err == io.EOF {
		return nil, fatalError{rowErr(file, 1, "", errors.New("empty file: a header row is required"))}
	}
	if err != nil {
		return nil, fatalError{rowErr(file, 1, "", err)}
	}
	idx, prob := cols.headerIndex(strings.Split(string(header), "\t"))
	if prob != nil {
		return nil, fatalError{rowErr(file, 1, prob.field, prob.err)}
	}
	p.idx = idx
	return p, nil
}

func (p *tsvParser) next(r *row) error {
	var b []byte
	for {
		var err error
		b, err = p.lr.next()
		if err != nil {
			if err != io.EOF {
				err = fatalError{rowErr(p.file, p.lr.line+1, "", err)}
			}
			return err
		}
		if len(b) > 0 {
			break
		}
	}
	r.line = p.lr.line
	p.fields = p.fields[:0]
	for s := string(b); ; {
		f, rest, ok := strings.Cut(s, "\t")
		p.fields = append(p.fields, f)
		if !ok {
			break
		}
		s = rest
	}
	if len(p.fields) != len(p.idx) {
		return rowErr(p.file, r.line, "", fmt.Errorf("%d fields, the header has %d", len(p.fields), len(p.idx)))
	}
	p.reset()
	for i, s := range p.fields {
		p.cells[p.idx[i]] = s
	}
	return p.finish(r)
}

// jsonlParser reads one JSON object per line, with the keys of the CSV
// header (flat form) or a "regions" array.
type jsonlParser struct {
	cellParser
	lr lineReader
	jp mmdbjson.JSONParser
	// memo maps the text after the network of a line shaped
	// {"network":"N"REST (see splitJSONLLine), by two 64-bit hashes of
	// REST, to the record the line built: such a line gives the same
	// cells but the network whatever N is (the parser rejects a repeated
	// key, so REST holds no other network), so a repeat skips the JSON
	// parse and the build.
	// INVARIANT: an entry is what next built, without error, for a line
	// of that shape with that REST.
	memo  map[[2]uint64]memoEntry
	seeds [2]maphash.Seed
}

func newJSONLParser(file string, r *bufio.Reader, cols *columns) *jsonlParser {
	return &jsonlParser{cellParser: cellParser{file: file, cols: cols, cells: make([]string, cols.numCells())},
		lr: lineReader{r: r}, jp: mmdbjson.JSONParser{AllowNull: true},
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

var jsonlLineStart = []byte(`{"network":"`)

// splitJSONLLine returns the N and REST of a line shaped exactly
// {"network":"N"REST, where N is printable ASCII without quotes or
// backslashes (so it is the network string as written), or false.
func splitJSONLLine(b []byte) (network, rest []byte, ok bool) {
	after, ok := bytes.CutPrefix(b, jsonlLineStart)
	if !ok {
		return nil, nil, false
	}
	for i, c := range after {
		if c == '"' {
			return after[:i], after[i+1:], true
		}
		if c < 0x20 || c > 0x7e || c == '\\' {
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// nextLine reads the next non-blank line.
func nextLine(file string, lr *lineReader, r *row) ([]byte, error) {
	for {
		b, err := lr.next()
		if err != nil {
			if err != io.EOF {
				err = fatalError{rowErr(file, lr.line+1, "", err)}
			}
			return nil, err
		}
		if len(bytes.TrimSpace(b)) > 0 {
			r.line = lr.line
			return b, nil
		}
	}
}

// parseObject parses the line b, row r's, as a JSON object.
func parseObject(file string, jp mmdbjson.JSONParser, r *row, b []byte) (format.Map, error) {
	v, err := jp.Parse(b)
	if err != nil {
		var je *mmdbjson.JSONError
		if errors.As(err, &je) {
			return nil, rowErr(file, r.line, "", fmt.Errorf("bad JSON at column %d: %s", je.Offset+1, je.Msg))
		}
		return nil, rowErr(file, r.line, "", err)
	}
	m, ok := v.(format.Map)
	if !ok {
		return nil, rowErr(file, r.line, "", fmt.Errorf("want a JSON object, got %s", kindName(v)))
	}
	return m, nil
}

func kindName(v format.Value) string {
	if v == nil {
		return "null"
	}
	switch v.Kind() {
	case format.KindMap:
		return "an object"
	case format.KindSlice:
		return "an array"
	case format.KindString:
		return "a string"
	case format.KindBool:
		return "a boolean"
	}
	return "a number (" + v.Kind().String() + ")"
}

func (p *jsonlParser) next(r *row) error {
	b, err := nextLine(p.file, &p.lr, r)
	if err != nil {
		return err
	}
	network, rest, shaped := splitJSONLLine(b)
	if !shaped {
		return p.parse(r, b)
	}
	key := [2]uint64{maphash.Bytes(p.seeds[0], rest), maphash.Bytes(p.seeds[1], rest)}
	if e, ok := p.memo[key]; ok {
		if r.nets, err = appendNetworks(r.nets[:0], string(network)); err != nil {
			return rowErr(p.file, r.line, "network", err)
		}
		r.rec, r.recID, r.stable = e.rec, e.id, true
		p.cols.count(e)
		return nil
	}
	if err := p.parse(r, b); err != nil {
		return err
	}
	if r.recID == 0 {
		return nil // the record was not memoized (see memoGate)
	}
	if p.memo == nil || len(p.memo) >= memoEntries {
		p.memo = make(map[[2]uint64]memoEntry)
	}
	p.memo[key] = memoEntry{rec: r.rec, id: r.recID, label: p.cols.lastLabel}
	return nil
}

// parse parses the line b, row r's, into cells and builds its record.
func (p *jsonlParser) parse(r *row, b []byte) error {
	m, err := parseObject(p.file, p.jp, r, b)
	if err != nil {
		return err
	}
	p.reset()
	hasLevel := ""
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if k == "regions" {
			continue
		}
		cell, ok := p.cols.byName[k]
		if !ok {
			return rowErr(p.file, r.line, k, fmt.Errorf("unknown key: want network, regions, %s, the levels %s with _code and _confidence, or a declared extra column",
				strings.Join(fixedNames[1:], ", "), strings.Join(p.cols.levels, ", ")))
		}
		if cell >= numFixed && cell < p.cols.extraCell(0) && v != nil {
			hasLevel = k
		}
		if prob := p.setCell(cell, k, v); prob != nil {
			return rowErr(p.file, r.line, prob.field, prob.err)
		}
	}
	if regions, ok := m["regions"]; ok && regions != nil {
		if hasLevel != "" {
			return rowErr(p.file, r.line, hasLevel, errors.New("level keys and a regions array in the same row: use one form"))
		}
		if prob := p.setRegions(regions); prob != nil {
			return rowErr(p.file, r.line, prob.field, prob.err)
		}
	}
	return p.finish(r)
}

// isNumberCell reports whether cell i holds a number.
func (p *jsonlParser) isNumberCell(i int) bool {
	switch {
	case i == fLatitude || i == fLongitude || i == fAccuracy || i == fConfidence:
		return true
	case i >= numFixed && i < p.cols.extraCell(0):
		return (i-numFixed)%3 == 2
	}
	return false
}

// setCell puts the JSON value v of field name into cell i as text,
// checking its kind: numbers for numeric fields, strings for the others
// (extra columns take numbers and booleans too).
func (p *jsonlParser) setCell(i int, name string, v format.Value) *problem {
	if v == nil {
		return nil
	}
	if p.isNumberCell(i) {
		s, ok := numberText(v)
		if !ok {
			return probf(name, "want a number, got %s", kindName(v))
		}
		p.cells[i] = s
		return nil
	}
	if s, ok := v.(format.String); ok {
		p.cells[i] = string(s)
		return nil
	}
	if i >= p.cols.extraCell(0) {
		if b, ok := v.(format.Bool); ok {
			p.cells[i] = strconv.FormatBool(bool(b))
			return nil
		}
		if s, ok := numberText(v); ok {
			p.cells[i] = s
			return nil
		}
	}
	return probf(name, "want a string, got %s", kindName(v))
}

// numberText formats a JSON number so that strconv reads back its value.
func numberText(v format.Value) (string, bool) {
	switch v := v.(type) {
	case format.Float64:
		return strconv.FormatFloat(float64(v), 'g', -1, 64), true
	case format.Float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32), true
	case format.Uint16:
		return strconv.FormatUint(uint64(v), 10), true
	case format.Uint32:
		return strconv.FormatUint(uint64(v), 10), true
	case format.Uint64:
		return strconv.FormatUint(uint64(v), 10), true
	case format.Int32:
		return strconv.FormatInt(int64(v), 10), true
	case format.Uint128:
		return v.Big().String(), true
	}
	return "", false
}

// setRegions fills the level cells from a "regions" array.
func (p *jsonlParser) setRegions(v format.Value) *problem {
	regions, ok := v.(format.Slice)
	if !ok {
		return probf("regions", "want an array, got %s", kindName(v))
	}
	seen := map[string]bool{}
	for i, rv := range regions {
		at := fmt.Sprintf("regions[%d]", i)
		reg, ok := rv.(format.Map)
		if !ok {
			return probf(at, "want an object, got %s", kindName(rv))
		}
		lv, ok := reg["level"].(format.String)
		if !ok {
			return probf(at+".level", "missing or not a string")
		}
		level := string(lv)
		li := -1
		for j, l := range p.cols.levels {
			if l == level {
				li = j
			}
		}
		if li < 0 {
			return probf(at+".level", "%q is not a level of the hierarchy %s", level, strings.Join(p.cols.levels, ", "))
		}
		if seen[level] {
			return probf(at+".level", "level %q given twice", level)
		}
		seen[level] = true
		cell := p.cols.levelCell(li)
		for _, k := range slices.Sorted(maps.Keys(reg)) {
			x := reg[k]
			var prob *problem
			switch k {
			case "level":
			case "name":
				prob = p.setCell(cell, level, x)
			case "code":
				prob = p.setCell(cell+1, level+"_code", x)
			case "confidence":
				prob = p.setCell(cell+2, level+"_confidence", x)
			default:
				prob = probf(at+"."+k, "unknown key: want level, code, name or confidence")
			}
			if prob != nil {
				return prob
			}
		}
	}
	return nil
}

// rawParser reads raw records: {"network": ..., "record": <JSON form of
// a format.Value>} per line, stored as given.
type rawParser struct {
	file string
	lr   lineReader
	buf  []byte
	// memo skips the JSON parse of records seen before (see rawMemo).
	memo rawMemo
}

func (p *rawParser) next(r *row) error {
	b, err := nextLine(p.file, &p.lr, r)
	if err != nil {
		return err
	}
	if r.line == 1 && isRawMetadataLine(b) { // see ReadRawMetadata
		if b, err = nextLine(p.file, &p.lr, r); err != nil {
			return err
		}
	}
	network, recText, shaped := splitRawLine(b)
	var key [2]uint64
	if shaped {
		key = p.memo.key(recText)
		if enc, ok := p.memo.get(key); ok {
			if r.nets, err = appendNetworks(r.nets[:0], string(network)); err != nil {
				return rowErr(p.file, r.line, "network", err)
			}
			r.rec, r.stable = enc, true
			return nil
		}
	}
	m, err := parseObject(p.file, mmdbjson.JSONParser{}, r, b)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "network" && k != "record" {
			return rowErr(p.file, r.line, k, errors.New(`unknown key: a raw record has only "network" and "record"`))
		}
	}
	n, ok := m["network"].(format.String)
	if !ok {
		return rowErr(p.file, r.line, "network", fmt.Errorf("want a string, got %s", kindName(m["network"])))
	}
	if r.nets, err = appendNetworks(r.nets[:0], string(n)); err != nil {
		return rowErr(p.file, r.line, "network", err)
	}
	rec, ok := m["record"].(format.Map)
	if !ok {
		return rowErr(p.file, r.line, "record", fmt.Errorf("want an object (a map), got %s", kindName(m["record"])))
	}
	p.buf, err = format.AppendValue(p.buf[:0], rec)
	r.rec, r.stable, r.recID = p.buf, false, 0
	if err != nil {
		return rowErr(p.file, r.line, "record", err)
	}
	if shaped {
		r.rec, r.stable = p.memo.put(key, p.buf), true
	}
	return nil
}
