package builder

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/schema"
)

// stdRecords reads data with encoding/csv as csvReader mimics it, and
// describes each record or error; it stops at EOF or a read error.
func stdRecords(data []byte) []string {
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = true
	var out []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
			out = append(out, fmt.Sprintf("line %d: %v (%d fields)", pe.StartLine, pe.Err, len(rec)))
		case errors.As(err, &pe):
			out = append(out, fmt.Sprintf("line %d: %v", pe.StartLine, pe.Err))
		case err != nil:
			return append(out, "error: "+err.Error())
		default:
			line, _ := r.FieldPos(0)
			out = append(out, fmt.Sprintf("line %d: %q", line, rec))
		}
	}
}

// ourRecords is stdRecords with csvReader. The small bufio size makes
// lines longer than the buffer common.
func ourRecords(data []byte) []string {
	r := csvReader{r: bufio.NewReaderSize(bytes.NewReader(data), 16)}
	var out []string
	for {
		err := r.read()
		if err == io.EOF {
			return out
		}
		var se *csvSyntaxError
		switch {
		case errors.As(err, &se) && errors.Is(se.err, csv.ErrFieldCount):
			out = append(out, fmt.Sprintf("line %d: %v (%d fields)", se.startLine, se.err, r.numFields()))
		case errors.As(err, &se):
			out = append(out, fmt.Sprintf("line %d: %v", se.startLine, se.err))
		case err != nil:
			return append(out, "error: "+err.Error())
		default:
			rec := make([]string, r.numFields())
			for i := range rec {
				rec[i] = string(r.field(i))
			}
			out = append(out, fmt.Sprintf("line %d: %q", r.startLine, rec))
		}
	}
}

func checkCSVReader(t *testing.T, data []byte) {
	t.Helper()
	want, got := stdRecords(data), ourRecords(data)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("input %q:\ncsvReader:\n%s\nencoding/csv:\n%s", data, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestCSVReaderMatchesStd holds csvReader to encoding/csv, the reference
// it mimics, on the cases of RFC 4180 and its error paths.
func TestCSVReaderMatchesStd(t *testing.T) {
	tests := []struct{ name, data string }{
		{"plain", "a,b,c\n1,2,3\n"},
		{"no final newline", "a,b\n1,2"},
		{"crlf", "a,b\r\n1,2\r\n"},
		{"cr before eof", "a,b\n1,2\r"},
		{"lone cr inside", "a,b\n1\r2,3\n"},
		{"blank lines", "\n\na,b\n\n\r\n1,2\n\n"},
		{"empty fields", "a,b,c\n,,\n"},
		{"quoted", "a,b\n\"x,y\",\"z\"\"q\"\n"},
		{"quoted multi-line", "a,b\n\"x\ny\",z\n1,2\n"},
		{"quoted crlf inside", "a,b\n\"x\r\ny\",z\r\n"},
		{"quoted empty", "a,b\n\"\",\"\"\n"},
		{"quoted last field eof", "a,b\n1,\"2\""},
		{"bare quote", "a,b\n1,x\"y\n3,4\n"},
		{"quote then text", "a,b\n\"x\"y,2\n3,4\n"},
		{"unterminated quote", "a,b\n1,\"abc\n"},
		{"unterminated quote no newline", "a,b\n1,\"abc"},
		{"field count", "a,b\n1\n1,2,3\n4,5\n"},
		{"field count after quote", "a,b\n\"1\"\n"},
		{"spaces kept", "a, b\n 1 , 2 \n"},
		{"utf8", "名,b\n上海,\"北京\"\n"},
		{"invalid utf8", "a,b\n\xff,\"\xfe\"\n"},
		{"long line", "a,b\n" + strings.Repeat("x", 100) + "," + strings.Repeat("y", 50) + "\n"},
		{"long quoted", "a,b\n\"" + strings.Repeat("x\"\"", 40) + "\",1\n"},
		{"only header", "a,b,c"},
		{"empty", ""},
		{"only newlines", "\n\n\r\n"},
		{"quote at eof", "a,b\n1,\""},
		{"quote comma eof", "a\n\",\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkCSVReader(t, []byte(tt.data)) })
	}
}

// FuzzCSVReaderMatchesStd holds csvReader to encoding/csv on any input.
func FuzzCSVReaderMatchesStd(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a,b\n\"x\ny\",\"\"\"\"\r\n\n1,x\"\n", "a\n\"", "x,\"a\"b,c\n\r\n,,\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkCSVReader(t, data) })
}

// TestCSVLineMemo checks that rows sharing every field but the network
// (memoized by their line) get the record their own cells build, and
// that a bad network in a memoized line is still reported.
func TestCSVLineMemo(t *testing.T) {
	data := "country_code,network,province\n" +
		"CN,1.2.3.0/24,Shanghai\n" +
		"CN,1.2.4.0/24,Shanghai\n" + // memo hit, network in the middle
		"CN,1.2.5.0/24,Beijing\n" +
		"CN,\"1.2.6.0/24\",Shanghai\n" + // quoted: not memoized by line
		"CN,1.2.7.999,Shanghai\n" // memo hit with a bad network
	path := writeFile(t, t.TempDir(), "m.csv", []byte(data))
	var got []string
	_, err := ReadFile(path, Options{}, func(p netip.Prefix, rec []byte, line int) error {
		v, _, err := format.NewDecoder(rec).Value(0)
		if err != nil {
			return err
		}
		m, _ := v.(format.Map)
		in, err := schema.InferenceFromRecord(m)
		if err != nil {
			return err
		}
		got = append(got, fmt.Sprintf("%d %s %s", line, p, in.Regions[len(in.Regions)-1].Name))
		return nil
	})
	want := []string{"2 1.2.3.0/24 Shanghai", "3 1.2.4.0/24 Shanghai", "4 1.2.5.0/24 Beijing", "5 1.2.6.0/24 Shanghai"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("rows %q, want %q (error %v)", got, want, err)
	}
	var re *RowError
	if !errors.As(err, &re) || re.Line != 6 || re.Field != "network" {
		t.Fatalf("error %v, want line 6, field network", err)
	}
}

// TestAheadReader checks that the read-ahead reader gives its source's
// bytes in order, then the source's error, and stops cleanly early.
func TestAheadReader(t *testing.T) {
	boom := errors.New("boom")
	data := make([]byte, 3*aheadChunkSize+123)
	for i := range data {
		data[i] = byte(i * 7 / 5)
	}
	for _, tt := range []struct {
		name string
		src  func() io.Reader
		want []byte
		err  error
	}{
		{"empty", func() io.Reader { return bytes.NewReader(nil) }, nil, nil},
		{"whole chunks and a part", func() io.Reader { return bytes.NewReader(data) }, data, nil},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:5000])) }, data[:5000], nil},
		{"error after data", func() io.Reader {
			return io.MultiReader(bytes.NewReader(data[:aheadChunkSize+9]), iotest.ErrReader(boom))
		}, data[:aheadChunkSize+9], boom},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newAheadReader(tt.src())
			defer a.stop()
			got, err := io.ReadAll(iotest.HalfReader(a))
			if !bytes.Equal(got, tt.want) || !errors.Is(err, tt.err) {
				t.Fatalf("read %d bytes (want %d, equal %v), error %v (want %v)", len(got), len(tt.want), bytes.Equal(got, tt.want), err, tt.err)
			}
		})
	}
	// Stopping before the end does not hang.
	a := newAheadReader(bytes.NewReader(data))
	if _, err := a.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	a.stop()
}
