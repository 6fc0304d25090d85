package builder

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/mmdbjson"
)

// ReadTable reads a CSV, TSV or JSONL file other than inference results
// (ipatlas eval's truth files) as rows of named text cells, with the
// readers, the format and compression choice (opts.Format and
// opts.Compression, else the extension) and the limits of ReadFile;
// opts' other fields are not used.
//
// column maps a column name (a CSV/TSV header field, a JSONL key) to its
// cell index (0 <= index < cells); a name it does not know is a
// *RowError naming the field. fn gets each data row's line and its cells,
// "" where the row has no value (an empty field, a missing or null key),
// valid until fn returns; a JSON number is given as text that strconv
// reads back, a JSON value that is neither a string nor a number is a
// *RowError. An error from fn stops the reading and is returned as is.
// Every problem of the file is an error naming it and, where there is
// one, the line and field (a *RowError).
func ReadTable(path string, opts Options, cells int, column func(name string) (int, bool), fn func(line int, cells []string) error) error {
	r, err := resolve(path, opts)
	if err != nil {
		return err
	}
	if r.format == "raw" {
		return fmt.Errorf("%s: the raw format holds records, not a table; use csv, tsv or jsonl", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br, closeInput, err := decompress(path, r.compression, f)
	defer closeInput()
	if err != nil {
		return err
	}
	t := tableReader{file: path, cells: make([]string, cells), column: column}
	switch r.format {
	case "csv":
		err = t.csv(br, fn)
	case "tsv":
		err = t.tsv(br, fn)
	default:
		err = t.jsonl(br, fn)
	}
	var ce callerError
	if errors.As(err, &ce) {
		return ce.err
	}
	return err
}

// tableReader is the state of one ReadTable.
type tableReader struct {
	file   string
	cells  []string
	column func(string) (int, bool)
}

// header maps the names of a header row to cells.
func (t *tableReader) header(names []string) ([]int, error) {
	idx := make([]int, len(names))
	seen := map[string]bool{}
	for i, n := range names {
		n = strings.TrimSpace(n)
		if i == 0 {
			n = strings.TrimPrefix(n, "\ufeff")
		}
		if seen[n] {
			return nil, rowErr(t.file, 1, n, errors.New("repeated column"))
		}
		seen[n] = true
		c, ok := t.column(n)
		if !ok {
			return nil, rowErr(t.file, 1, n, errors.New("unknown column"))
		}
		if c < 0 || c >= len(t.cells) {
			return nil, rowErr(t.file, 1, n, fmt.Errorf("internal error: column index %d out of range", c))
		}
		idx[i] = c
	}
	return idx, nil
}

func (t *tableReader) call(fn func(int, []string) error, line int) error {
	if err := fn(line, t.cells); err != nil {
		return callerError{err}
	}
	clear(t.cells)
	return nil
}

func (t *tableReader) csv(br *bufio.Reader, fn func(int, []string) error) error {
	cr := csvReader{r: br}
	err := cr.read()
	if err == io.EOF {
		return rowErr(t.file, 1, "", errors.New("empty file: a header row is required"))
	}
	if err != nil {
		return rowErr(t.file, 1, "", fmt.Errorf("bad header: %w", csvErr(err)))
	}
	names := make([]string, cr.numFields())
	for i := range names {
		names[i] = string(cr.field(i))
	}
	idx, err := t.header(names)
	if err != nil {
		return err
	}
	for {
		err := cr.read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if se, ok := err.(*csvSyntaxError); ok {
				if se.err == csv.ErrFieldCount {
					return rowErr(t.file, se.startLine, "", fmt.Errorf("%d fields, the header has %d", cr.numFields(), len(idx)))
				}
				return rowErr(t.file, se.startLine, "", fmt.Errorf("bad CSV: %w", se.err))
			}
			return rowErr(t.file, cr.numLine+1, "", err)
		}
		all := string(cr.buf) // one allocation for all the cells
		for i, c := range idx {
			t.cells[c] = all[cr.bounds[2*i]:cr.bounds[2*i+1]]
		}
		if err := t.call(fn, cr.startLine); err != nil {
			return err
		}
	}
}

func (t *tableReader) tsv(br *bufio.Reader, fn func(int, []string) error) error {
	lr := lineReader{r: br}
	h, err := lr.next()
	if err == io.EOF {
		return rowErr(t.file, 1, "", errors.New("empty file: a header row is required"))
	}
	if err != nil {
		return rowErr(t.file, 1, "", err)
	}
	idx, err := t.header(strings.Split(string(h), "\t"))
	if err != nil {
		return err
	}
	for {
		b, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return rowErr(t.file, lr.line+1, "", err)
		}
		if len(b) == 0 {
			continue
		}
		fields := strings.Split(string(b), "\t")
		if len(fields) != len(idx) {
			return rowErr(t.file, lr.line, "", fmt.Errorf("%d fields, the header has %d", len(fields), len(idx)))
		}
		for i, c := range idx {
			t.cells[c] = fields[i]
		}
		if err := t.call(fn, lr.line); err != nil {
			return err
		}
	}
}

func (t *tableReader) jsonl(br *bufio.Reader, fn func(int, []string) error) error {
	lr := lineReader{r: br}
	jp := mmdbjson.JSONParser{AllowNull: true}
	known := map[string]int{}
	var r row
	for {
		b, err := nextLine(t.file, &lr, &r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return unwrapFatal(err)
		}
		m, err := parseObject(t.file, jp, &r, b)
		if err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			v := m[k]
			c, ok := known[k]
			if !ok {
				if c, ok = t.column(k); !ok || c < 0 || c >= len(t.cells) {
					return rowErr(t.file, r.line, k, errors.New("unknown key"))
				}
				known[k] = c
			}
			switch v := v.(type) {
			case nil:
			case format.String:
				t.cells[c] = string(v)
			default:
				s, ok := numberText(v)
				if !ok {
					return rowErr(t.file, r.line, k, fmt.Errorf("want a string or a number, got %s", kindName(v)))
				}
				t.cells[c] = s
			}
		}
		if err := t.call(fn, r.line); err != nil {
			return err
		}
	}
}
