package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/mmdbjson"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// diffLine is one line of diff's output, parsed by the test.
type diffLine struct {
	network string
	change  string
	a, b    format.Value // nil when absent
}

func (l diffLine) String() string {
	s := l.network + " " + l.change
	if l.a != nil {
		s += " a=" + string(mmdbjson.AppendJSON(nil, l.a))
	}
	if l.b != nil {
		s += " b=" + string(mmdbjson.AppendJSON(nil, l.b))
	}
	return s
}

func (l diffLine) equal(o diffLine) bool {
	eq := func(x, y format.Value) bool {
		return x == nil && y == nil || x != nil && y != nil && format.Equal(x, y)
	}
	return l.network == o.network && l.change == o.change && eq(l.a, o.a) && eq(l.b, o.b)
}

func parseDiff(t *testing.T, out string) []diffLine {
	t.Helper()
	var lines []diffLine
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("diff line %q: %v", sc.Text(), err)
		}
		var l diffLine
		for k, v := range raw {
			switch k {
			case "network":
				json.Unmarshal(v, &l.network)
			case "change":
				json.Unmarshal(v, &l.change)
			case "a", "b":
				rec, err := mmdbjson.ParseJSON(v)
				if err != nil {
					t.Fatalf("diff line %q: %s: %v", sc.Text(), k, err)
				}
				if k == "a" {
					l.a = rec
				} else {
					l.b = rec
				}
			default:
				t.Fatalf("diff line %q: unexpected key %q", sc.Text(), k)
			}
		}
		want := map[string]bool{"added": l.a == nil && l.b != nil, "removed": l.a != nil && l.b == nil, "changed": l.a != nil && l.b != nil}
		if !want[l.change] {
			t.Fatalf("diff line %q: change %q with a=%v b=%v", sc.Text(), l.change, l.a != nil, l.b != nil)
		}
		lines = append(lines, l)
	}
	return lines
}

// checkDiff runs ipatlas diff and compares its lines (in order) and exit
// status with the expected ones.
func checkDiff(t *testing.T, want []diffLine, args ...string) {
	t.Helper()
	stdout, stderr, code := runCLI(t, append([]string{"diff"}, args...)...)
	wantCode := exitOK
	if len(want) > 0 {
		wantCode = exitData
	}
	if code != wantCode {
		t.Fatalf("diff %v: exit %d, want %d\n%s", args, code, wantCode, stderr)
	}
	got := parseDiff(t, stdout)
	if len(got) != len(want) || !slices.EqualFunc(got, want, diffLine.equal) {
		t.Fatalf("diff %v:\n got %v\nwant %v", args, got, want)
	}
	counts := map[string]int{}
	for _, l := range want {
		counts[l.change]++
	}
	summary := "give the same answers"
	if len(want) > 0 {
		summary = fmt.Sprintf("differ in %d networks: %d added, %d removed, %d changed", len(want), counts["added"], counts["removed"], counts["changed"])
	}
	if !strings.Contains(stderr, summary) {
		t.Errorf("diff %v: stderr %q does not say %q", args, stderr, summary)
	}
}

// handTree writes an IPv4 database (24-bit records) from hand-made nodes:
// each record is a node index, empty (-1) or data (-2-k: the k-th value).
func handTree(t *testing.T, path string, nodes [][2]int, values []format.Value) string {
	t.Helper()
	n := uint(len(nodes))
	var data []byte
	var offs []uint
	for _, v := range values {
		offs = append(offs, uint(len(data)))
		var err error
		if data, err = format.AppendValue(data, v); err != nil {
			t.Fatal(err)
		}
	}
	rec := func(r int) uint {
		switch {
		case r >= 0:
			return uint(r)
		case r == -1:
			return n
		}
		return n + format.DataSectionSeparatorSize + offs[-2-r]
	}
	var file []byte
	for _, nd := range nodes {
		file = format.AppendNode(file, 24, rec(nd[0]), rec(nd[1]))
	}
	file = append(file, make([]byte, format.DataSectionSeparatorSize)...)
	file = append(file, data...)
	file = append(file, format.MetadataMarker...)
	md := format.Metadata{DatabaseType: "hand", Description: map[string]string{"en": "hand-made"}, BinaryFormatMajorVersion: 2,
		BuildEpoch: 1, IPVersion: 4, NodeCount: n, RecordSize: 24}
	file, err := format.AppendValue(file, md.Value())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDiffBadFiles diffs every corrupt file of the conformance suite
// against a good one: an error or an answer, never a crash.
func TestDiffBadFiles(t *testing.T) {
	good := testutil.ConformanceGlob(t, "test-data/GeoIP2-City-Test.mmdb")[0]
	files := testutil.ConformanceGlob(t, "bad-data/*/*.mmdb")
	files = append(files, testutil.ConformanceGlob(t, "test-data/*Broken*.mmdb")...)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, args := range [][]string{{"diff", path, good}, {"diff", "--brief", good, path}} {
				_, stderr, code := runCLI(t, args...)
				if code == exitUsage && !strings.Contains(stderr, filepath.Base(path)) || code > exitUsage || strings.Contains(stderr, "goroutine") {
					t.Fatalf("%v: exit %d:\n%s", args, code, stderr)
				}
			}
		})
	}
}

// TestDiffHandMade diffs small databases whose differences are worked out
// by hand.
func TestDiffHandMade(t *testing.T) {
	dir := t.TempDir()
	x := format.Map{"c": format.String("x")}
	y := format.Map{"c": format.String("y")}
	z := format.Map{"c": format.String("z")}
	n16 := format.Map{"n": format.Uint16(5)}
	n32 := format.Map{"n": format.Uint32(5)}
	db := func(name string, ipVersion int, nets map[string]format.Value) string {
		return handMadeDB(t, dir, name, ipVersion, nets)
	}
	base := db("base.mmdb", 6, map[string]format.Value{"10.0.0.0/8": x, "20.0.0.0/8": y, "2001:db8::/32": z})
	split := db("split.mmdb", 6, map[string]format.Value{"10.0.0.0/9": x, "10.128.0.0/9": y, "20.0.0.0/8": y, "2001:db8::/32": z})
	moved := db("moved.mmdb", 6, map[string]format.Value{"10.0.0.0/8": x, "30.0.0.0/8": z, "2001:db8::/33": z, "2001:db8:8000::/33": x})
	types16 := db("n16.mmdb", 6, map[string]format.Value{"1.0.0.0/8": n16})
	types32 := db("n32.mmdb", 6, map[string]format.Value{"1.0.0.0/8": n32})
	v4 := db("v4.mmdb", 4, map[string]format.Value{"1.2.3.0/24": x})
	v6 := db("v6.mmdb", 6, map[string]format.Value{"1.2.3.0/24": x, "2001:db8::/32": y})
	v6y := db("v6y.mmdb", 6, map[string]format.Value{"1.2.3.0/24": y, "2001:db8::/32": y})
	noAlias := filepath.Join(dir, "noalias.mmdb")
	w, err := format.Create(noAlias, format.WriterOptions{DisableIPv4Aliases: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.InsertValue(netip.MustParsePrefix("1.2.3.0/24"), x); err != nil {
		t.Fatal(err)
	}
	if err := w.InsertValue(netip.MustParsePrefix("2001:db8::/32"), y); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A tree that is not minimal: X in four leaves, one of them a second
	// copy of X at another data offset. It answers X everywhere.
	fourX := handTree(t, filepath.Join(dir, "fourx.mmdb"), [][2]int{{1, 2}, {-2, -2}, {-3, -2}}, []format.Value{x, x})
	// The same answers, stored as one network per half.
	halves := db("halves.mmdb", 4, map[string]format.Value{"0.0.0.0/1": x, "128.0.0.0/1": x})
	empty := handTree(t, filepath.Join(dir, "empty.mmdb"), [][2]int{{-1, -1}}, nil)
	// X on the left half, in two leaves; Y on the right.
	leftX := handTree(t, filepath.Join(dir, "leftx.mmdb"), [][2]int{{1, -3}, {-2, -2}}, []format.Value{x, y})

	cases := []struct {
		name string
		args []string
		want []diffLine
	}{
		{"self", []string{base, base}, nil},
		{"split", []string{base, split}, []diffLine{{"10.128.0.0/9", "changed", x, y}}},
		{"split reversed", []string{split, base}, []diffLine{{"10.128.0.0/9", "changed", y, x}}},
		{"added and removed", []string{base, moved}, []diffLine{
			{"20.0.0.0/8", "removed", y, nil},
			{"30.0.0.0/8", "added", nil, z},
			{"2001:db8:8000::/33", "changed", z, x},
		}},
		{"type only", []string{types16, types32}, []diffLine{{"1.0.0.0/8", "changed", n16, n32}}},
		{"IPv4 against IPv6, aliases followed", []string{v4, v6}, []diffLine{
			{"::ffff:1.2.3.0/120", "added", nil, x},
			{"2001:db8::/32", "added", nil, y},
			{"2002:102:300::/40", "added", nil, x},
		}},
		{"IPv4 against IPv6, aliases ignored", []string{"--ignore-aliases", v4, v6}, []diffLine{{"2001:db8::/32", "added", nil, y}}},
		{"both alias: IPv4 differences once", []string{v6, v6y}, []diffLine{{"1.2.3.0/24", "changed", x, y}}},
		{"one aliases", []string{v6, noAlias}, []diffLine{
			{"::ffff:1.2.3.0/120", "removed", x, nil},
			{"2002:102:300::/40", "removed", x, nil},
		}},
		{"one aliases, ignored", []string{noAlias, v6, "--ignore-aliases"}, nil},
		{"brief", []string{"--brief", base, split}, nil},
		{"not minimal: same answers", []string{fourX, halves}, nil},
		{"not minimal: merged", []string{fourX, empty}, []diffLine{{"0.0.0.0/0", "removed", x, nil}}},
		{"not minimal: added", []string{empty, fourX}, []diffLine{{"0.0.0.0/0", "added", nil, x}}},
		{"not minimal: one half", []string{leftX, fourX}, []diffLine{{"128.0.0.0/1", "changed", y, x}}},
		{"not minimal: against empty", []string{leftX, empty}, []diffLine{
			{"0.0.0.0/1", "removed", x, nil},
			{"128.0.0.0/1", "removed", y, nil},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "brief" {
				stdout, stderr, code := runCLI(t, append([]string{"diff"}, c.args...)...)
				if code != exitData || stdout != "" || !strings.Contains(stderr, "differ in 1 networks: 0 added, 0 removed, 1 changed") {
					t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
				}
				return
			}
			checkDiff(t, c.want, c.args...)
		})
	}
	// The hand-made trees are what the cases say, by maxminddb-golang.
	for _, c := range []struct {
		db   string
		addr string
		want format.Value
	}{{fourX, "1.2.3.4", x}, {fourX, "200.0.0.1", x}, {leftX, "100.0.0.1", x}, {leftX, "130.0.0.1", y}, {empty, "1.2.3.4", nil}} {
		r, err := maxminddb.Open(c.db)
		if err != nil {
			t.Fatal(err)
		}
		var got any
		res := r.Lookup(netip.MustParseAddr(c.addr))
		if err := res.Decode(&got); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if c.want == nil && res.Found() || c.want != nil && fmt.Sprint(got) != fmt.Sprint(v2Any(c.want)) {
			t.Errorf("%s %s: %v (found %v), want %v", filepath.Base(c.db), c.addr, got, res.Found(), c.want)
		}
	}
}

// TestDiffSampleEdits exports a database built from testdata/sample,
// edits a known set of rows (records changed, some only in an MMDB type;
// rows deleted; rows added in gaps), builds the edited rows, and checks
// that diff lists exactly those networks, as worked out from the edits.
func TestDiffSampleEdits(t *testing.T) {
	dir := t.TempDir()
	a := buildSampleDB(t, dir, "a.mmdb")
	rowsPath := filepath.Join(dir, "rows.raw.jsonl")
	mustRunCLI(t, exitOK, "export", a, "--out", rowsPath)
	data, err := os.ReadFile(rowsPath)
	if err != nil {
		t.Fatal(err)
	}
	rows := readExportJSONL(t, bytes.NewReader(data))
	edited := map[netip.Prefix]bool{}
	sibling := func(p netip.Prefix) netip.Prefix {
		b := p.Addr().AsSlice()
		i := p.Bits() - 1
		b[i/8] ^= 0x80 >> (i % 8)
		s, _ := netip.AddrFromSlice(b)
		return netip.PrefixFrom(s, p.Bits())
	}
	var want []diffLine
	var out bytes.Buffer
	write := func(p netip.Prefix, rec format.Value) {
		fmt.Fprintf(&out, "{\"network\":%q,\"record\":%s}\n", p, mmdbjson.AppendJSON(nil, rec))
	}
	for i, r := range rows {
		// Edit rows whose sibling is not edited too, so that no two edits
		// are neighbours that diff would rightly join.
		editable := r.network.Bits() > 0 && !edited[sibling(r.network)]
		switch {
		case editable && i%97 == 5:
			rec := r.record.(format.Map)
			changed := maps.Clone(rec)
			c, _ := rec["country"].(format.Map)
			if conf, ok := c["confidence"].(format.Uint16); ok && i%2 == 0 {
				// The same number, another type.
				c = maps.Clone(c)
				c["confidence"] = format.Uint32(conf)
				changed["country"] = c
			} else {
				changed["edit"] = format.String(fmt.Sprintf("row %d", i))
			}
			write(r.network, changed)
			want = append(want, diffLine{r.network.String(), "changed", rec, changed})
			edited[r.network] = true
		case editable && i%101 == 50:
			want = append(want, diffLine{r.network.String(), "removed", r.record, nil})
			edited[r.network] = true
		default:
			write(r.network, r.record)
		}
	}
	peer, err := maxminddb.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	for i, s := range []string{"0.0.0.0/8", "198.51.100.0/24", "203.0.113.7/32", "2001:db8:1::/48", "3fff::/20"} {
		p := netip.MustParsePrefix(s)
		for res := range peer.NetworksWithin(p) {
			t.Fatalf("%s is not a gap of the sample: %s has data", p, res.Prefix())
		}
		rec := format.Map{"added": format.Uint32(i)}
		write(p, rec)
		want = append(want, diffLine{p.String(), "added", nil, rec})
	}
	slices.SortFunc(want, func(x, y diffLine) int {
		px, py := netip.MustParsePrefix(x.network), netip.MustParsePrefix(y.network)
		// Address order as the tree has it: IPv4 (at ::/96) first.
		if c := b2i(px.Addr().Is6()) - b2i(py.Addr().Is6()); c != 0 {
			return c
		}
		return px.Addr().Compare(py.Addr())
	})
	if len(want) < 150 {
		t.Fatalf("only %d edits", len(want))
	}
	editedPath := filepath.Join(dir, "edited.raw.jsonl")
	if err := os.WriteFile(editedPath, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(dir, "b.mmdb")
	mustRunCLI(t, exitOK, "build", "--out", b, editedPath)

	checkDiff(t, want, a, b)
	checkDiff(t, nil, a, a)
	checkDiff(t, nil, b, b)
	reversed := make([]diffLine, len(want))
	flip := map[string]string{"added": "removed", "removed": "added", "changed": "changed"}
	for i, l := range want {
		reversed[i] = diffLine{l.network, flip[l.change], l.b, l.a}
	}
	checkDiff(t, reversed, b, a)
	// The unedited rows give a database with the same answers.
	mustRunCLI(t, exitOK, "build", "--out", filepath.Join(dir, "c.mmdb"), rowsPath)
	checkDiff(t, nil, a, filepath.Join(dir, "c.mmdb"))
}
