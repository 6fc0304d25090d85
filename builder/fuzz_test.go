package builder

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/schema"
)

// parseAll runs the parser of fmt over data as scan does with SkipBadRows,
// and checks every good row: networks storable and masked, the record a
// single value that decodes to a map, and (for the schema formats) a
// record InferenceFromRecord reads back.
func parseAll(t *testing.T, fmtName string, data []byte) {
	cols, err := newColumns(nil, []string{"asn"}, "fuzz")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(bytes.NewReader(data))
	var p parser
	switch fmtName {
	case "csv":
		p, err = newCSVParser("f", br, cols)
	case "tsv":
		p, err = newTSVParser("f", br, cols)
	case "jsonl":
		p = newJSONLParser("f", br, cols)
	case "raw":
		p = &rawParser{file: "f", lr: lineReader{r: br}}
	}
	if err != nil {
		return
	}
	var r row
	for range len(data) + 2 {
		err := p.next(&r)
		if err == io.EOF {
			return
		}
		if err != nil {
			if _, bad := err.(*RowError); bad {
				continue
			}
			return
		}
		if len(r.nets) == 0 {
			t.Fatalf("line %d: a good row without networks", r.line)
		}
		for _, n := range r.nets {
			if !n.IsValid() || n.Masked() != n || checkStorable(n) != nil {
				t.Fatalf("line %d: bad network %v", r.line, n)
			}
		}
		v, end, err := format.NewDecoder(r.rec).Value(0)
		if err != nil || int(end) != len(r.rec) {
			t.Fatalf("line %d: record does not decode: %v", r.line, err)
		}
		m, ok := v.(format.Map)
		if !ok {
			t.Fatalf("line %d: record is %v, not a map", r.line, v.Kind())
		}
		if fmtName != "raw" {
			if _, err := schema.InferenceFromRecord(m); err != nil {
				t.Fatalf("line %d: InferenceFromRecord: %v", r.line, err)
			}
		}
	}
	t.Fatalf("parser did not stop after %d calls", len(data)+2)
}

func addSeeds(f *testing.F, files ...string) {
	for _, name := range files {
		b := testutil.ReadFile(f, "testdata/"+name)
		f.Add(b)
	}
}

// FuzzParseCSV checks that the CSV and TSV parsers never panic or loop,
// and that every row they accept gives a valid record.
func FuzzParseCSV(f *testing.F) {
	addSeeds(f, "sample.csv", "sample.tsv")
	f.Add([]byte(csvHeader + goodCSVRow + "1.2.3.0-1.2.4.5,\"a\"\"b\",CN,0.5,,,,1,2,3,0.1,en\n"))
	f.Add([]byte("network\tcountry\n1.2.3.4\tX\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseAll(t, "csv", data)
		parseAll(t, "tsv", data)
	})
}

// FuzzParseJSONL checks that the JSONL and raw-record parsers never panic
// or loop, and that every row they accept gives a valid record.
func FuzzParseJSONL(f *testing.F) {
	addSeeds(f, "sample.jsonl")
	f.Add([]byte(goodJSONRow + goodRawRow))
	f.Add([]byte(`{"network":"2001:db8::/32","record":{"a":{"$type":"uint128","value":"5"},"b":{"$type":"map","value":{"$type":"x"}}}}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseAll(t, "jsonl", data)
		parseAll(t, "raw", data)
	})
}
