package builder

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// readTableAll reads a table whose columns are the names met, in order
// of first appearance (at most 8).
func readTableAll(path string) (names []string, rows [][]string, err error) {
	column := func(name string) (int, bool) {
		if i := slices.Index(names, name); i >= 0 {
			return i, true
		}
		if len(names) == 8 {
			return 0, false
		}
		names = append(names, name)
		return len(names) - 1, true
	}
	err = ReadTable(path, Options{}, 8, column, func(line int, cells []string) error {
		rows = append(rows, slices.Clone(cells[:len(names)]))
		return nil
	})
	return names, rows, err
}

func TestReadTable(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"t.csv":   "ip,latitude\n1.2.3.4,5\n\n\"2.3.4.5\",\"6,5\"\n",
		"t.tsv":   "ip\tlatitude\n1.2.3.4\t5\n\n2.3.4.5\t6,5\n",
		"t.jsonl": `{"ip":"1.2.3.4","latitude":5}` + "\n\n" + `{"latitude":"6,5","ip":"2.3.4.5","x":null}` + "\n",
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o644)
		names, rows, err := readTableAll(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "t.jsonl" {
			// The keys of a line in order: ip, latitude, then x.
			names = names[:2]
			for i := range rows {
				rows[i] = rows[i][:2]
			}
		}
		want := [][]string{{"1.2.3.4", "5"}, {"2.3.4.5", "6,5"}}
		if !slices.Equal(names, []string{"ip", "latitude"}) || !slices.EqualFunc(rows, want, slices.Equal) {
			t.Errorf("%s: %v %q, want %q", name, names, rows, want)
		}
	}
}

// FuzzReadTableCSV holds ReadTable on CSV to encoding/csv: the same
// records when both read the file, an error (a *RowError) when
// encoding/csv rejects it, never a panic.
func FuzzReadTableCSV(f *testing.F) {
	for _, s := range []string{"ip,latitude,longitude\n1.2.3.4,1,2\n", "a\n\"x\"\"y\"\n", "a,b\n1\n", "a,a\n", "a\n\"\n", "a,b\r\n1,2\r\n\n3,4", "\ufeffip\n1\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		path := filepath.Join(t.TempDir(), "f.csv")
		os.WriteFile(path, []byte(s), 0o644)
		_, rows, err := readTableAll(path)
		if err != nil {
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *RowError", err)
			}
			return
		}
		std, serr := csv.NewReader(bytes.NewReader([]byte(s))).ReadAll()
		if serr != nil {
			t.Fatalf("ReadTable read %q, encoding/csv: %v", s, serr)
		}
		if len(std) == 0 || len(std)-1 != len(rows) {
			t.Fatalf("%d rows, encoding/csv %d records", len(rows), len(std))
		}
		for i, rec := range std[1:] {
			// Repeated columns are an error, so cells are the fields.
			if !slices.Equal(rec, rows[i][:len(rec)]) {
				t.Fatalf("row %d: %q, encoding/csv %q", i, rows[i], rec)
			}
		}
	})
}

// FuzzReadTableJSONL: any input gives rows or a *RowError, never a
// panic.
func FuzzReadTableJSONL(f *testing.F) {
	for _, s := range []string{`{"ip":"1.2.3.4","latitude":1}`, `{"a":[1]}`, `{"a":{"b":1}}`, `[1]`, `{"a":1e999}`, "{\"a\":\"\xff\"}", `{"a":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		path := filepath.Join(t.TempDir(), "f.jsonl")
		os.WriteFile(path, []byte(s), 0o644)
		if _, _, err := readTableAll(path); err != nil {
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *RowError", err)
			}
		}
	})
}
