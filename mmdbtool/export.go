package mmdbtool

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/ipatlas/ipatlas/format"
)

// ExportOptions configures WriteJSONL and WriteCSV.
type ExportOptions struct {
	// Aliases says which aliases of the IPv4 subtree to write, as the
	// IPv6 networks they are.
	Aliases Aliases
	// Progress, if not nil, is called after each network written.
	Progress func()
}

// ExportStats counts what an export wrote.
type ExportStats struct {
	// Networks is the number of networks (lines or rows) written.
	Networks int
	// Records is the number of distinct records (data offsets) they hold.
	Records int
}

// WriteJSONL writes one line {"network":"1.2.3.0/24","record":R} per
// network of f with data, in address order, R in the lossless JSON form
// of AppendRecordJSON. These are the lines of ipatlas's raw-record input;
// its first line, the metadata (builder.AppendRawMetadataLine), is the
// caller's to write, so that this package does not link the builder and
// its store.
func WriteJSONL(w io.Writer, f *File, opts ExportOptions) (ExportStats, error) {
	rows := rowWriter{pre: `{"network":"`, mid: `","record":`, post: "}\n", countRecords: true}
	return rows.write(w, f, opts, func(dst []byte, off uint) ([]byte, error) {
		return f.AppendRecordJSON(dst, off)
	})
}

// WriteCSV writes a header row, then one row per network of f with data,
// in address order. The first column is network; the others are the
// union of the records' leaf paths (Flatten), in CompareColumns order. A
// cell is empty where the record has no such leaf; LeafText gives the
// others. A first walk over the distinct records finds the columns, a
// second writes the rows.
func WriteCSV(w io.Writer, f *File, opts ExportOptions) (ExportStats, error) {
	colSet := map[string]struct{}{}
	seen := map[uint]struct{}{}
	for n, err := range f.Networks(opts.Aliases) {
		if err != nil {
			return ExportStats{}, err
		}
		if _, ok := seen[n.Offset]; ok {
			continue
		}
		seen[n.Offset] = struct{}{}
		v, err := f.Record(n.Offset)
		if err != nil {
			return ExportStats{}, err
		}
		Flatten(v, func(path string, _ format.Value) { colSet[path] = struct{}{} })
	}
	cols := make([]string, 0, len(colSet))
	for c := range colSet {
		cols = append(cols, c)
	}
	slices.SortFunc(cols, CompareColumns)
	index := make(map[string]int, len(cols))
	for i, c := range cols {
		index[c] = i
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.Write(append([]string{"network"}, cols...)); err != nil {
		return ExportStats{}, err
	}
	cw.Flush()
	if _, err := w.Write(buf.Bytes()); err != nil {
		return ExportStats{}, err
	}
	rows := rowWriter{mid: ","}
	if len(cols) == 0 {
		rows = rowWriter{post: "\n"}
	}
	records := len(seen)
	seen = nil // the first walk counted the records
	cells := make([]string, len(cols))
	s, err := rows.write(w, f, opts, func(dst []byte, off uint) ([]byte, error) {
		if len(cols) == 0 {
			return dst, nil
		}
		v, err := f.Record(off)
		if err != nil {
			return dst, err
		}
		clear(cells)
		Flatten(v, func(path string, leaf format.Value) { cells[index[path]] = LeafText(leaf) })
		buf.Reset()
		if err := cw.Write(cells); err != nil {
			return dst, err
		}
		cw.Flush()
		return append(dst, buf.Bytes()...), nil
	})
	s.Records = records
	return s, err
}

// rowWriter writes one line per network: pre, the prefix, mid, the text
// of its record, post. The text of each record is made once (up to the
// cache's bound). The distinct records are counted when countRecords.
type rowWriter struct {
	pre, mid, post string
	countRecords   bool
}

func (r rowWriter) write(w io.Writer, f *File, opts ExportOptions, text func(dst []byte, off uint) ([]byte, error)) (ExportStats, error) {
	var s ExportStats
	cache := newTextCache(textCacheLimit)
	seen := map[uint]struct{}{}
	var line, scratch []byte
	for n, err := range f.Networks(opts.Aliases) {
		if err != nil {
			return s, err
		}
		rec, ok := cache.get(n.Offset)
		if !ok {
			if scratch, err = text(scratch[:0], n.Offset); err != nil {
				return s, err
			}
			rec = bytes.Clone(scratch)
			cache.put(n.Offset, rec)
		}
		if _, ok := seen[n.Offset]; r.countRecords && !ok {
			seen[n.Offset] = struct{}{}
			s.Records++
		}
		line = append(line[:0], r.pre...)
		line = n.Prefix.AppendTo(line)
		line = append(line, r.mid...)
		line = append(line, rec...)
		line = append(line, r.post...)
		if _, err := w.Write(line); err != nil {
			return s, err
		}
		s.Networks++
		if opts.Progress != nil {
			opts.Progress()
		}
	}
	return s, nil
}

// Flatten calls fn for every leaf of v with its dotted path: map keys
// (with '.' and '\' escaped by '\') and array indexes. Empty maps and
// arrays have no leaves; a v that is neither has the path "".
func Flatten(v format.Value, fn func(path string, leaf format.Value)) {
	flatten(v, "", fn)
}

func flatten(v format.Value, path string, fn func(path string, leaf format.Value)) {
	join := func(seg string) string {
		if path == "" {
			return seg
		}
		return path + "." + seg
	}
	switch v := v.(type) {
	case format.Map:
		for k, x := range v {
			flatten(x, join(escapePathKey(k)), fn)
		}
	case format.Slice:
		for i, x := range v {
			flatten(x, join(strconv.Itoa(i)), fn)
		}
	default:
		fn(path, v)
	}
}

func escapePathKey(k string) string {
	if !strings.ContainsAny(k, `.\`) {
		return k
	}
	return strings.NewReplacer(`\`, `\\`, `.`, `\.`).Replace(k)
}

// SplitColumn splits a dotted column name of Flatten into its segments,
// unescaped.
func SplitColumn(path string) []string {
	var segs []string
	var cur strings.Builder
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '\\' && i+1 < len(path):
			i++
			cur.WriteByte(path[i])
		case c == '.':
			segs = append(segs, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(segs, cur.String())
}

// CompareColumns orders column names of Flatten segment by segment,
// segments that are both numbers (array indexes) by their value, a
// column before those it is a prefix of.
func CompareColumns(a, b string) int {
	sa, sb := SplitColumn(a), SplitColumn(b)
	for i := 0; i < len(sa) && i < len(sb); i++ {
		x, y := sa[i], sb[i]
		if x == y {
			continue
		}
		nx, errx := strconv.ParseUint(x, 10, 64)
		ny, erry := strconv.ParseUint(y, 10, 64)
		if errx == nil && erry == nil && nx != ny {
			return cmp.Compare(nx, ny)
		}
		return strings.Compare(x, y)
	}
	if c := cmp.Compare(len(sa), len(sb)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// LeafText is the CSV text of a scalar value: strings as they are;
// numbers in the shortest form that reads back to the same value (float
// at 32 bits); booleans true or false; bytes in base64; "" for a map or
// an array.
func LeafText(v format.Value) string {
	switch v := v.(type) {
	case format.String:
		return string(v)
	case format.Bool:
		return strconv.FormatBool(bool(v))
	case format.Float64:
		return strconv.FormatFloat(float64(v), 'g', -1, 64)
	case format.Float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case format.Uint16:
		return strconv.FormatUint(uint64(v), 10)
	case format.Uint32:
		return strconv.FormatUint(uint64(v), 10)
	case format.Uint64:
		return strconv.FormatUint(uint64(v), 10)
	case format.Int32:
		return strconv.FormatInt(int64(v), 10)
	case format.Uint128:
		return v.Big().String()
	case format.Bytes:
		return base64.StdEncoding.EncodeToString(v)
	}
	return ""
}
