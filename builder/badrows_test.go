package builder

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/kv"
)

// TestBadRowsListed: a rejected file names its bad rows, up to
// MaxReportedErrors of them, in file order, not only the first; the store
// is left as it was.
func TestBadRowsListed(t *testing.T) {
	st := openStore(t)
	for _, c := range []struct {
		bad      int // bad rows among 300
		reported int
		more     bool
	}{{1, 1, false}, {3, 3, false}, {150, MaxReportedErrors, true}} {
		t.Run(fmt.Sprint(c.bad), func(t *testing.T) {
			var b strings.Builder
			b.WriteString("network,country_code\n")
			var wantLines []int
			for i := range 300 {
				if i%(300/c.bad) == 0 && len(wantLines) < c.bad {
					fmt.Fprintf(&b, "10.%d.%d.0/33,CN\n", i/256, i%256)
					wantLines = append(wantLines, i+2)
					continue
				}
				fmt.Fprintf(&b, "10.%d.%d.0/24,CN\n", i/256, i%256)
			}
			path := writeFile(t, t.TempDir(), "a.csv", []byte(b.String()))
			_, err := IngestFile(context.Background(), st, "x", 0, kv.Replace, path, Options{})
			var br *BadRowsError
			if !errors.As(err, &br) {
				t.Fatalf("error %v (%T), want a *BadRowsError", err, err)
			}
			if len(br.Errors) != c.reported || br.More != c.more {
				t.Fatalf("%d rows reported (more %v), want %d (%v)", len(br.Errors), br.More, c.reported, c.more)
			}
			for i, e := range br.Errors {
				var re *RowError
				if !errors.As(e, &re) || re.Line != wantLines[i] || re.Field != "network" {
					t.Errorf("bad row %d: %v, want line %d", i, e, wantLines[i])
				}
			}
			if n := strings.Count(err.Error(), "a.csv:"); n != c.reported {
				t.Errorf("the message names %d rows, want %d:\n%s", n, c.reported, err)
			}
			if got := dump(t, st); len(got) != 0 {
				t.Errorf("a rejected file left %d networks in the store", len(got))
			}
		})
	}
}

// TestSniffRaw: a .jsonl of raw records (what 'ipatlas export' writes) is
// read as raw records; inference rows stay inference rows.
func TestSniffRaw(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, data string
		networks   int
		err        string
	}{
		{"raw.jsonl", `{"network":"1.2.3.0/24","record":{"a":1}}` + "\n", 1, ""},
		{"meta.jsonl", `{"metadata":{"database_type":"T"}}` + "\n" + `{"network":"1.2.3.0/24","record":{"a":1}}` + "\n", 1, ""},
		{"rows.jsonl", `{"network":"1.2.3.0/24","country_code":"CN"}` + "\n", 1, ""},
		{"mixed.jsonl", `{"network":"1.2.3.0/24","record":{"a":1},"regions":[]}` + "\n", 0, "record: unknown key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, c.name, []byte(c.data))
			n := 0
			_, err := ReadFile(path, Options{}, func(p netip.Prefix, rec []byte, line int) error { n++; return nil })
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Fatalf("error %v, want %q", err, c.err)
			}
			if n != c.networks {
				t.Errorf("%d networks, want %d", n, c.networks)
			}
			md, ok, err := ReadRawMetadata(path, Options{})
			if err != nil || ok != (c.name == "meta.jsonl") || ok && md.DatabaseType != "T" {
				t.Errorf("ReadRawMetadata: %+v %v %v", md, ok, err)
			}
		})
	}
}
