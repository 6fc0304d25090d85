package builder

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/mmdbjson"
)

// rawRef reads one raw-record line the slow, obvious way: the whole line
// parsed as JSON, exactly the keys network and record, the record a map.
// It gives the networks and the record's encoding, or an error.
func rawRef(line string) ([]netip.Prefix, []byte, error) {
	v, err := mmdbjson.ParseJSON([]byte(line))
	if err != nil {
		return nil, nil, err
	}
	m, ok := v.(format.Map)
	if !ok || len(m) != 2 {
		return nil, nil, errors.New("not an object with two keys")
	}
	n, ok := m["network"].(format.String)
	if !ok {
		return nil, nil, errors.New("no network string")
	}
	rec, ok := m["record"].(format.Map)
	if !ok {
		return nil, nil, errors.New("no record map")
	}
	nets, err := ParseNetwork(string(n))
	if err != nil {
		return nil, nil, err
	}
	enc, err := format.AppendValue(nil, rec)
	return nets, enc, err
}

// TestRawMemo reads raw-record files whose lines repeat records, with
// good and bad lines of every shape around the memo's fast path (the
// same record text after a bad line, extra keys, repeated keys, escapes,
// spaces), and checks every line against rawRef.
func TestRawMemo(t *testing.T) {
	rec := `{"city":{"names":{"en":"Paris","fr":"Paris"}},"location":{"accuracy_radius":{"$type":"uint16","value":5},"latitude":48.85},"n":{"$type":"uint64","value":7},"f":{"$type":"float","value":1.5}}`
	rec2 := `{"country":{"iso_code":"CN","names":{"zh-CN":"中国"}},"big":{"$type":"uint128","value":"5"},"b":{"$type":"bytes","value":"AAE="}}`
	cases := []struct {
		name  string
		lines []string
	}{
		{"repeats", []string{
			`{"network":"1.2.3.0/24","record":` + rec + `}`,
			`{"network":"1.2.4.0/24","record":` + rec + `}`,
			`{"network":"2001:db8::/48","record":` + rec + `}`,
			`{"network":"1.2.5.0-1.2.6.255","record":` + rec + `}`,
			`{"network":"5.0.0.1","record":` + rec2 + `}`,
			`{"network":"5.0.0.2","record":` + rec2 + `}`,
			`{"network":"5.0.0.3","record":` + rec + `}`,
		}},
		{"bad network on a memoized record", []string{
			`{"network":"1.2.3.0/24","record":` + rec + `}`,
			`{"network":"1.2.4.1/24","record":` + rec + `}`,
			`{"network":"1.2.4.0/33","record":` + rec + `}`,
			`{"network":"::ffff:1.2.3.4","record":` + rec + `}`,
			`{"network":" 1.2.7.0/24 ","record":` + rec + `}`,
			`{"network":"1.2.8.0/24","record":` + rec + `}`,
		}},
		{"extra and repeated keys after the record", []string{
			`{"network":"1.2.3.0/24","record":{"a":1}}`,
			`{"network":"1.2.4.0/24","record":{"a":1},"x":2}`,
			`{"network":"1.2.5.0/24","record":{"a":1},"network":"9.9.9.0/24"}`,
			`{"network":"1.2.6.0/24","record":{"a":1},"record":{"a":2}}`,
			`{"network":"1.2.7.0/24","record":{"a":1}}`,
		}},
		{"bad record first, then the same text", []string{
			`{"network":"1.2.3.0/24","record":{"a":{"$type":"uint16","value":65536}}}`,
			`{"network":"1.2.4.0/24","record":{"a":{"$type":"uint16","value":65536}}}`,
			`{"network":"1.2.5.0/24","record":[1]}`,
			`{"network":"1.2.6.0/24","record":[1]}`,
			`{"network":"1.2.7.0/24","record":{"a":1}`,
			`{"network":"1.2.8.0/24","record":{"a":1}`,
		}},
		{"other shapes take the slow path", []string{
			`{"record":{"a":1},"network":"1.2.3.0/24"}`,
			`{"network":"1.2.4.0/24","record":{"a":1}} `,
			`{ "network":"1.2.5.0/24","record":{"a":1}}`,
			`{"network":"1.2.6.0\/24","record":{"a":1}}`,
			`{"network":"1.2.7.0/24","record": {"a":1}}`,
			`{"network":"1.2.8.0/24","record": {"a":1}}`,
			`{"network":"1.2.9.0/24","record":{"a":1}}`,
			"",
			`{"network":"1.2.10.0/24\t","record":{"a":1}}`,
		}},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".raw.jsonl")
			if err := os.WriteFile(path, []byte(strings.Join(c.lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			type got struct {
				nets []netip.Prefix
				rec  []byte
			}
			gotLines := map[int]*got{}
			st, err := ReadFile(path, Options{SkipBadRows: true}, func(p netip.Prefix, record []byte, line int) error {
				g := gotLines[line]
				if g == nil {
					g = &got{rec: bytes.Clone(record)}
					gotLines[line] = g
				} else if !bytes.Equal(g.rec, record) {
					return fmt.Errorf("line %d: two records", line)
				}
				g.nets = append(g.nets, p)
				return nil
			})
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			badLines := map[int]bool{}
			for _, e := range st.Errors {
				var re *RowError
				if !errors.As(e, &re) {
					t.Fatalf("error %v is not a *RowError", e)
				}
				badLines[re.Line] = true
			}
			for i, l := range c.lines {
				line := i + 1
				if strings.TrimSpace(l) == "" {
					continue
				}
				nets, enc, refErr := rawRef(l)
				g := gotLines[line]
				switch {
				case refErr != nil && g != nil:
					t.Errorf("line %d %s: read as %v, want an error (%v)", line, l, g.nets, refErr)
				case refErr != nil && !badLines[line]:
					t.Errorf("line %d %s: no error reported, want one (%v)", line, l, refErr)
				case refErr == nil && g == nil:
					t.Errorf("line %d %s: not read (bad: %v), want %v", line, l, badLines[line], nets)
				case refErr == nil && (!slices.Equal(g.nets, nets) || !bytes.Equal(g.rec, enc)):
					t.Errorf("line %d %s: read %v %x, want %v %x", line, l, g.nets, g.rec, nets, enc)
				}
			}
		})
	}
}

// TestSplitRawLine checks the fast path's idea of a line's shape.
func TestSplitRawLine(t *testing.T) {
	cases := []struct {
		line, network, rec string
		ok                 bool
	}{
		{`{"network":"1.2.3.0/24","record":{"a":1}}`, "1.2.3.0/24", `{"a":1}`, true},
		{`{"network":"","record":{}}`, "", `{}`, true},
		{`{"network":"1.2.3.0/24","record":{"a":1}} `, "", "", false},
		{`{"network":"1.2.3.0/24","record":}`, "", "", false},
		{`{"network":"1.2\"3","record":{}}`, "", "", false},
		{`{"network":"1.2.3.0/24\u0041","record":{}}`, "", "", false},
		{"{\"network\":\"1.2.3.0/24\t\",\"record\":{}}", "", "", false},
		{"{\"network\":\"1.2.3.0/24\xc3\xa9\",\"record\":{}}", "", "", false},
		{`{"network":"1.2.3.0/24"}`, "", "", false},
		{`{"network":"1.2.3.0/24","rec":{}}`, "", "", false},
		{`{"network":"1.2.3.0/24`, "", "", false},
	}
	for _, c := range cases {
		n, r, ok := splitRawLine([]byte(c.line))
		if ok != c.ok || string(n) != c.network || string(r) != c.rec {
			t.Errorf("%s: %q %q %v, want %q %q %v", c.line, n, r, ok, c.network, c.rec, c.ok)
		}
	}
}
