package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/big"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/cmd/ipatlas/internal/answercheck/report"
	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/mmdbjson"
	"github.com/ipatlas/ipatlas/mmdbtool"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// sampleInputs are the inference results of testdata/sample/ (made by
// builder/internal/gensample): three sources, three formats.
var sampleInputs = []string{
	"../../testdata/sample/bertgeo.csv",
	"../../testdata/sample/hmcgeo.jsonl.gz",
	"../../testdata/sample/ip2vec.tsv.zst",
}

// buildSampleDB builds testdata/sample/ into dir/name with ipatlas build.
func buildSampleDB(t *testing.T, dir, name string) string {
	t.Helper()
	for _, in := range sampleInputs {
		testutil.Require(t, in, "go run ./builder/internal/gensample -out testdata/sample")
	}
	out := filepath.Join(dir, name)
	if _, stderr, code := runCLI(t, append([]string{"build", "--out", out}, sampleInputs...)...); code != 0 {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	return out
}

// mustRunCLI runs ipatlas and fails the test unless it exits with want.
func mustRunCLI(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := runCLI(t, args...)
	if code != want {
		t.Fatalf("ipatlas %s: exit %d, want %d\nstderr:\n%s", strings.Join(args, " "), code, want, stderr)
	}
	return stdout, stderr
}

// openMaybeCompressed opens path, decompressing .gz and .zst.
func openMaybeCompressed(t *testing.T, path string) io.Reader {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.HasSuffix(path, ".gz"):
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		return zr
	case strings.HasSuffix(path, ".zst"):
		zr, err := zstd.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(zr.Close)
		return zr
	}
	return bytes.NewReader(data)
}

// exportRow is one line of an export, parsed by the test: the JSON by
// encoding/json (keys and their order), the record by mmdbjson.ParseJSON.
type exportRow struct {
	network netip.Prefix
	record  format.Value
	text    string // the record's JSON text
}

func readExportJSONL(t *testing.T, r io.Reader) []exportRow {
	t.Helper()
	var rows []exportRow
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<24)
	for n := 1; sc.Scan(); n++ {
		if n == 1 {
			var md struct {
				Metadata struct {
					DatabaseType string            `json:"database_type"`
					Description  map[string]string `json:"description"`
					Languages    []string          `json:"languages"`
				} `json:"metadata"`
			}
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&md); err != nil || md.Metadata.DatabaseType == "" {
				t.Fatalf("line 1 is not the metadata line (%v): %s", err, sc.Bytes())
			}
			continue
		}
		var line struct {
			Network string          `json:"network"`
			Record  json.RawMessage `json:"record"`
		}
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("line %d: %v: %s", len(rows)+1, err, sc.Bytes())
		}
		p, err := netip.ParsePrefix(line.Network)
		if err != nil {
			t.Fatalf("line %d: %v", len(rows)+1, err)
		}
		v, err := mmdbjson.ParseJSON(line.Record)
		if err != nil {
			t.Fatalf("line %d: record: %v", len(rows)+1, err)
		}
		rows = append(rows, exportRow{p, v, string(line.Record)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// v2Any is what maxminddb-golang v2 decodes v into, as an any.
func v2Any(v format.Value) any {
	switch v := v.(type) {
	case format.String:
		return string(v)
	case format.Bool:
		return bool(v)
	case format.Uint16:
		return uint64(v)
	case format.Uint32:
		return uint64(v)
	case format.Uint64:
		return uint64(v)
	case format.Int32:
		return int32(v)
	case format.Uint128:
		return v.Big()
	case format.Float64:
		return float64(v)
	case format.Float32:
		return float32(v)
	case format.Bytes:
		return []byte(v)
	case format.Map:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = v2Any(x)
		}
		return m
	case format.Slice:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = v2Any(x)
		}
		return s
	}
	panic(fmt.Sprintf("unknown value %T", v))
}

// peerNetworks lists a database's networks with data, and their records,
// as maxminddb-golang v2 reads them.
func peerNetworks(t *testing.T, path string, opts ...maxminddb.NetworksOption) ([]netip.Prefix, []any) {
	t.Helper()
	db, err := maxminddb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var nets []netip.Prefix
	var recs []any
	for res := range db.Networks(opts...) {
		var v any
		if err := res.Decode(&v); err != nil {
			t.Fatalf("maxminddb-golang: %s: %v", res.Prefix(), err)
		}
		nets = append(nets, res.Prefix())
		recs = append(recs, v)
	}
	return nets, recs
}

// mmdblookupTypes runs libmaxminddb's mmdblookup on addr and returns the
// type it prints for every leaf of the record, by dotted path, map keys
// escaped as export's CSV columns are.
func mmdblookupTypes(t *testing.T, db string, addr netip.Addr) map[string]string {
	t.Helper()
	v, found, _ := mmdblookupAt(t, db, addr)
	if !found {
		t.Fatalf("mmdblookup %s: no record", addr)
	}
	types := map[string]string{}
	var leaves func(v testutil.MmdbValue, prefix string)
	leaves = func(v testutil.MmdbValue, prefix string) {
		switch v.Kind {
		case "map":
			for k, e := range v.Map {
				leaves(e, prefix+escapeColumnKey(k)+".")
			}
		case "array":
			for i, e := range v.Elems {
				leaves(e, prefix+strconv.Itoa(i)+".")
			}
		default:
			types[strings.TrimSuffix(prefix, ".")] = v.Kind
		}
	}
	leaves(v, "")
	return types
}

// escapeColumnKey escapes a map key as export's CSV columns do: '\' and
// '.' behind a '\'.
var escapeColumnKey = strings.NewReplacer(`\`, `\\`, `.`, `\.`).Replace

// valueTypes returns the MMDB type of every leaf of v, by the dotted path
// of export's CSV columns.
func valueTypes(v format.Value) map[string]string {
	types := map[string]string{}
	mmdbtool.Flatten(v, func(path string, leaf format.Value) { types[path] = leaf.Kind().String() })
	return types
}

// checkExportJSONL checks exported rows against maxminddb-golang v2's
// networks and records of db, and (when mmdblookup is there) the MMDB
// type of every leaf of 40 records spread over the rows against
// libmaxminddb's.
func checkExportJSONL(t *testing.T, db string, rows []exportRow) {
	t.Helper()
	nets, recs := peerNetworks(t, db)
	if len(rows) != len(nets) {
		t.Fatalf("%d rows, maxminddb-golang lists %d networks", len(rows), len(nets))
	}
	for i, r := range rows {
		if r.network != nets[i] {
			t.Fatalf("row %d: network %s, maxminddb-golang %s", i+1, r.network, nets[i])
		}
		if got := v2Any(r.record); !reflect.DeepEqual(got, recs[i]) {
			t.Fatalf("row %d (%s): record\n%#v\nmaxminddb-golang\n%#v", i+1, r.network, got, recs[i])
		}
	}
	if _, err := os.Stat("/usr/bin/mmdblookup"); err != nil {
		return // the types are checked by the tests that need mmdblookup
	}
	for i := 0; i < len(rows); i += max(1, len(rows)/40) {
		want := mmdblookupTypes(t, db, rows[i].network.Addr())
		if got := valueTypes(rows[i].record); !maps.Equal(got, want) {
			t.Fatalf("row %d (%s): types %v, mmdblookup %v", i+1, rows[i].network, got, want)
		}
	}
}

// TestExportBadFiles exports every corrupt file of the conformance
// suite: an error (exit 1) or a good export, never a crash, and a failed
// export leaves nothing behind.
func TestExportBadFiles(t *testing.T) {
	files := testutil.ConformanceGlob(t, "bad-data/*/*.mmdb")
	files = append(files, testutil.ConformanceGlob(t, "test-data/*Broken*.mmdb")...)
	files = append(files, testutil.ConformanceGlob(t, "test-data/*Invalid*.mmdb")...)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, name := range []string{"rows.raw.jsonl.zst", "rows.csv"} {
				dir := t.TempDir()
				out := filepath.Join(dir, name)
				_, stderr, code := runCLI(t, "export", path, "--out", out)
				if code != exitOK && code != exitData || strings.Contains(stderr, "goroutine") {
					t.Fatalf("exit %d:\n%s", code, stderr)
				}
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				if code == exitData && len(entries) != 0 {
					t.Errorf("failed (%s) and left %v behind", strings.TrimSpace(stderr), entries)
				}
				if code == exitOK && (len(entries) != 1 || entries[0].Name() != name) {
					t.Errorf("succeeded and left %v", entries)
				}
			}
		})
	}
}

// TestExportJSONL exports a database built from testdata/sample in every
// compression and to standard output, checks every row against
// maxminddb-golang v2 (and the types against mmdblookup), then builds
// the export back and checks that the rebuilt database answers the same.
func TestExportJSONL(t *testing.T) {
	dir := t.TempDir()
	db := buildSampleDB(t, dir, "s.mmdb")
	var first string
	for _, name := range []string{"rows.raw.jsonl", "rows.jsonl.gz", "rows.raw.ndjson.zst", "-"} {
		t.Run(name, func(t *testing.T) {
			var rows []exportRow
			if name == "-" {
				stdout, stderr := mustRunCLI(t, exitOK, "export", db, "--out", "-")
				if !strings.Contains(stderr, "networks") {
					t.Errorf("no summary on stderr: %q", stderr)
				}
				rows = readExportJSONL(t, strings.NewReader(stdout))
			} else {
				out := filepath.Join(dir, name)
				stdout, _ := mustRunCLI(t, exitOK, "export", db, "--out", out)
				if !strings.Contains(stdout, fmt.Sprintf("%s: ", db)) {
					t.Errorf("summary: %q", stdout)
				}
				fi, err := os.Stat(out)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o644 {
					t.Errorf("mode %v, want 0644", fi.Mode().Perm())
				}
				rows = readExportJSONL(t, openMaybeCompressed(t, out))
			}
			var all strings.Builder
			for _, r := range rows {
				all.WriteString(r.network.String() + " " + r.text + "\n")
			}
			if first == "" {
				checkExportJSONL(t, db, rows)
				first = all.String()
			} else if all.String() != first {
				t.Errorf("the rows differ from the first export's")
			}
		})
	}

	// Build the export back: every network answers the same record.
	rebuilt := filepath.Join(dir, "rebuilt.mmdb")
	mustRunCLI(t, exitOK, "build", "--out", rebuilt, filepath.Join(dir, "rows.raw.ndjson.zst"))
	mustRunCLI(t, exitOK, "build", "--format", "raw", "--out", filepath.Join(dir, "rebuilt2.mmdb"), filepath.Join(dir, "rows.jsonl.gz"))
	for _, r := range []string{rebuilt, filepath.Join(dir, "rebuilt2.mmdb")} {
		compareAnswers(t, db, r, nil)
	}
}

// answerCheck builds internal/answercheck (without the race detector, so
// that maxminddb-golang decodes at full speed) and runs it on a and b
// with args: b must answer every address as a, by maxminddb-golang v2.
func answerCheck(t *testing.T, a, b string, args ...string) report.Report {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "answercheck")
	if out, err := exec.Command("go", "build", "-o", bin, "./internal/answercheck").CombinedOutput(); err != nil {
		t.Fatalf("building answercheck: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append(args, a, b)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("answercheck %v %s %s: %v\n%s", args, a, b, err, stderr.Bytes())
	}
	var rep report.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("answercheck: %v: %s", err, out)
	}
	return rep
}

// compareAnswers checks that b answers the first and last address of
// every network of a (and of the gaps between them) as a does, records
// decoded by maxminddb-golang v2 into any and compared deeply; skip, if
// not nil, is a network that b must not answer.
func compareAnswers(t *testing.T, a, b string, skip *netip.Prefix) {
	t.Helper()
	args := []string{"-networks"}
	if skip != nil {
		args = append(args, "-skip", skip.String())
	}
	if rep := answerCheck(t, a, b, args...); rep.Found == 0 {
		t.Fatalf("no address of %s has data: %+v", a, rep)
	}
}

// csvColumnLess is the column order the help promises: segment by
// segment, two numbers by value, else bytewise; a prefix first.
func csvColumnLess(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			continue
		}
		x, errx := strconv.ParseUint(a[i], 10, 64)
		y, erry := strconv.ParseUint(b[i], 10, 64)
		if errx == nil && erry == nil && x != y {
			return cmp.Compare(x, y)
		}
		return strings.Compare(a[i], b[i])
	}
	return cmp.Compare(len(a), len(b))
}

// anyLeaves calls fn for every leaf of a record decoded into any, with
// its path as DecodePath takes it and as a CSV column names it (prefix:
// the column of v followed by a dot, or "").
func anyLeaves(v any, path []any, prefix string, fn func(path []any, col string, leaf any)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			anyLeaves(x, append(slices.Clip(path), k), prefix+escapeColumnKey(k)+".", fn)
		}
	case []any:
		for i, x := range v {
			anyLeaves(x, append(slices.Clip(path), i), prefix+strconv.Itoa(i)+".", fn)
		}
	default:
		fn(path, strings.TrimSuffix(prefix, "."), v)
	}
}

// cellText is how a CSV cell shows a leaf decoded by maxminddb-golang.
func cellText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case uint64:
		return strconv.FormatUint(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case *big.Int:
		return v.String()
	}
	return fmt.Sprintf("unexpected %T", v)
}

// TestExportCSV exports databases (the sample build and conformance files
// with every MMDB type, arrays and keys that need escapes) to CSV and
// checks the header (the union of the leaf paths, in the promised order)
// and every cell against maxminddb-golang v2's DecodePath on the
// database.
func TestExportCSV(t *testing.T) {
	dir := t.TempDir()
	dbs := []string{buildSampleDB(t, dir, "s.mmdb")}
	dbs = append(dbs, testutil.ConformanceGlob(t, "test-data/MaxMind-DB-test-decoder.mmdb")...)
	dbs = append(dbs, testutil.ConformanceGlob(t, "test-data/GeoIP2-City-Test.mmdb")...)
	dbs = append(dbs, testutil.ConformanceGlob(t, "test-data/MaxMind-DB-test-nested.mmdb")...)
	dbs = append(dbs, handMadeDB(t, dir, "keys.mmdb", 4, map[string]format.Value{
		"1.0.0.0/8": format.Map{"a.b": format.String("dot"), `c\d`: format.String("backslash"), "e": format.Map{"f.g": format.Slice{format.Uint16(3), format.Map{}}}},
		"2.0.0.0/8": format.Map{"a": format.Map{"b": format.String("nested, not dotted")}, "list": format.Slice{}},
		"3.0.0.0/8": format.Map{"l": format.Slice{format.Bool(true), format.Bool(false), format.Bool(true), format.Bool(true), format.Bool(false), format.Bool(true), format.Bool(true), format.Bool(false), format.Bool(true), format.Bool(true), format.Bool(false), format.Float32(0.1)}},
	}))
	for _, db := range dbs {
		t.Run(filepath.Base(db), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "rows.csv.gz")
			mustRunCLI(t, exitOK, "export", db, "--out", out)
			cr := csv.NewReader(openMaybeCompressed(t, out))
			cr.FieldsPerRecord = 0
			all, err := cr.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			header := all[0]
			if header[0] != "network" {
				t.Fatalf("first column %q", header[0])
			}
			peer, err := maxminddb.Open(db)
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			// The columns are the union of the records' leaves.
			want := map[string]bool{}
			paths := map[string][]any{}
			nets, recs := peerNetworks(t, db)
			for _, rec := range recs {
				anyLeaves(rec, nil, "", func(path []any, col string, _ any) {
					want[col] = true
					paths[col] = path
				})
			}
			cols := header[1:]
			if len(cols) != len(want) {
				t.Errorf("%d columns, the records have %d leaf paths", len(cols), len(want))
			}
			for i, c := range cols {
				if !want[c] {
					t.Errorf("column %q is no leaf path of any record", c)
				}
				if i > 0 && csvColumnLess(mmdbtool.SplitColumn(cols[i-1]), mmdbtool.SplitColumn(c)) >= 0 {
					t.Errorf("columns %q, %q out of order", cols[i-1], c)
				}
			}
			rows := all[1:]
			if len(rows) != len(nets) {
				t.Fatalf("%d rows, maxminddb-golang lists %d networks", len(rows), len(nets))
			}
			for i, row := range rows {
				if row[0] != nets[i].String() {
					t.Fatalf("row %d: network %s, maxminddb-golang %s", i+1, row[0], nets[i])
				}
				res := peer.Lookup(nets[i].Addr())
				for j, c := range cols {
					path, ok := paths[c]
					if !ok {
						continue
					}
					// A path of another record's shape may not apply.
					var leaf any
					err := res.DecodePath(&leaf, path...)
					got := row[j+1]
					switch {
					case err != nil || leaf == nil:
						if got != "" {
							t.Errorf("row %d (%s) %s: %q, the record has no such leaf (%v)", i+1, row[0], c, got, err)
						}
					case got != cellText(leaf):
						t.Errorf("row %d (%s) %s: %q, maxminddb-golang %q", i+1, row[0], c, got, cellText(leaf))
					}
				}
			}
		})
	}
}

// handMadeDB writes a database holding the given networks with
// format.Create.
func handMadeDB(t *testing.T, dir, name string, ipVersion int, nets map[string]format.Value) string {
	t.Helper()
	path := filepath.Join(dir, name)
	w, err := format.Create(path, format.WriterOptions{IPVersion: ipVersion})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]netip.Prefix, 0, len(nets))
	for k := range nets {
		keys = append(keys, netip.MustParsePrefix(k))
	}
	slices.SortFunc(keys, func(a, b netip.Prefix) int {
		// IPv4 (at ::/96) first, then by address.
		return cmp.Or(cmp.Compare(b2i(a.Addr().Is6()), b2i(b.Addr().Is6())), a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
	for _, p := range keys {
		if err := w.InsertValue(p, nets[p.String()]); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestExportAliases exports a database written by MaxMind's mmdbwriter,
// which aliases the IPv4 data at ::ffff:0:0/96, 2001::/32 (Teredo) and
// 2002::/16, with each --aliases mode, checks the networks against
// maxminddb-golang v2's (with and without its aliased networks), and
// builds the exports back: with --aliases teredo the rebuild answers
// every address as the original; without, it answers nothing in
// 2001::/32 and the same everywhere else.
func TestExportAliases(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "maxmind.mmdb")
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "test", Description: map[string]string{"en": "aliases"}, IPVersion: 6, RecordSize: 28})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []struct {
		cidr string
		rec  mmdbtype.Map
	}{
		{"1.2.3.0/24", mmdbtype.Map{"c": mmdbtype.String("a"), "n": mmdbtype.Uint16(1)}},
		{"5.6.0.0/16", mmdbtype.Map{"c": mmdbtype.String("b"), "n": mmdbtype.Uint64(2)}},
		{"2a00::/16", mmdbtype.Map{"c": mmdbtype.String("c"), "f": mmdbtype.Float32(0.5)}},
	} {
		_, ipnet, err := net.ParseCIDR(n.cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(ipnet, n.rec); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	real, _ := peerNetworks(t, src)
	all, _ := peerNetworks(t, src, maxminddb.IncludeAliasedNetworks())
	teredo := netip.MustParsePrefix("2001::/32")
	var withTeredo []netip.Prefix
	for _, p := range all {
		if slices.Contains(real, p) || teredo.Overlaps(p) {
			withTeredo = append(withTeredo, p)
		}
	}
	if len(real) != 3 || len(withTeredo) != 5 || len(all) != 9 {
		t.Fatalf("mmdbwriter wrote %d networks, %d with Teredo, %d with all aliases: %v", len(real), len(withTeredo), len(all), all)
	}
	for _, c := range []struct {
		mode string
		want []netip.Prefix
	}{{"none", real}, {"teredo", withTeredo}, {"all", all}} {
		out := filepath.Join(dir, c.mode+".raw.jsonl")
		mustRunCLI(t, exitOK, "export", "--aliases", c.mode, src, "--out", out)
		var got []netip.Prefix
		for _, r := range readExportJSONL(t, openMaybeCompressed(t, out)) {
			got = append(got, r.network)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("--aliases %s: %v, want %v", c.mode, got, c.want)
		}
	}

	addrs := []string{"1.2.3.4", "5.6.7.8", "2a00::1", "::ffff:1.2.3.4", "2002:102:304::1", "2001:0:102:304::1", "2001:0:506:708::", "2001:0:909:909::", "9.9.9.9"}
	for _, c := range []struct {
		mode string
		skip *netip.Prefix
	}{{"teredo", nil}, {"none", &teredo}} {
		rebuilt := filepath.Join(dir, "rebuilt-"+c.mode+".mmdb")
		mustRunCLI(t, exitOK, "build", "--out", rebuilt, filepath.Join(dir, c.mode+".raw.jsonl"))
		compareAnswers(t, src, rebuilt, c.skip)
		orig, err := maxminddb.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := maxminddb.Open(rebuilt)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range addrs {
			a := netip.MustParseAddr(s)
			x, y := orig.Lookup(a), rb.Lookup(a)
			var va, vb any
			if err := x.Decode(&va); err != nil {
				t.Fatal(err)
			}
			if err := y.Decode(&vb); err != nil {
				t.Fatal(err)
			}
			inTeredo := teredo.Contains(a)
			switch {
			case c.skip != nil && inTeredo:
				if y.Found() {
					t.Errorf("--aliases none, rebuilt: %s answers %v; ipatlas makes no Teredo alias", a, vb)
				}
			case x.Found() != y.Found() || !reflect.DeepEqual(va, vb):
				t.Errorf("--aliases %s, rebuilt: %s answers %v (found %v), the original %v (found %v)", c.mode, a, vb, y.Found(), va, x.Found())
			}
		}
		orig.Close()
		rb.Close()
	}
	// build rejects the networks that its own ::ffff:0:0/96 alias covers.
	_, stderr, code := runCLI(t, "build", "--out", filepath.Join(dir, "x.mmdb"), filepath.Join(dir, "all.raw.jsonl"))
	if code != exitData || !strings.Contains(stderr, "::ffff:1.2.3.0/120") {
		t.Errorf("build of --aliases all rows: exit %d, stderr %q", code, stderr)
	}
}

// TestExportGeoLiteRoundTrip exports the real GeoLite2-City database
// (written by MaxMind), builds the rows back with ipatlas build, and
// checks 1,000,000 IPv4 and 200,000 IPv6 addresses (half uniform, half
// drawn inside the database's own networks) against both files with
// maxminddb-golang v2: found in both or neither, and the same record,
// decoded into any and compared deeply (once per pair of records); the
// MMDB type of every leaf of a sample of records is compared with
// libmaxminddb's mmdblookup. Prefixes may differ only where the rebuild
// joined neighbours with equal records. GeoLite2 aliases Teredo
// (2001::/32) to its IPv4 data; ipatlas does not (see ipatlas export
// --help), so addresses there are left out of the comparison, and diff
// --ignore-aliases must find no difference while plain diff finds
// exactly the IPv4 networks removed under 2001::/32.
func TestExportGeoLiteRoundTrip(t *testing.T) {
	src := testutil.GeoLiteCity(t)
	dir := t.TempDir()
	rowsPath := filepath.Join(dir, "geolite.raw.jsonl.zst")
	t0 := time.Now()
	summary, _ := mustRunCLI(t, exitOK, "export", src, "--out", rowsPath)
	exportTime := time.Since(t0)
	rebuilt := filepath.Join(dir, "rebuilt.mmdb")
	t1 := time.Now()
	buildOut, _ := mustRunCLI(t, exitOK, "build", "--out", rebuilt, rowsPath)
	buildTime := time.Since(t1)
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	t.Logf("export: %s in %s: %s", rowsPath, exportTime.Round(time.Millisecond), strings.TrimSpace(summary))
	t.Logf("build: %s", strings.TrimSpace(buildOut))
	t.Logf("sizes: original %d bytes, rows %d bytes (zstd), rebuilt %d bytes; export %s, build %s",
		size(src), size(rowsPath), size(rebuilt), exportTime.Round(time.Millisecond), buildTime.Round(time.Millisecond))

	// 1,000,000 IPv4 and 200,000 IPv6 addresses, compared by
	// maxminddb-golang v2 in answercheck; Teredo is left out (and must
	// have no answer in the rebuild).
	const seed = 20261123
	rep := answerCheck(t, src, rebuilt, "-random4", "1000000", "-random6", "200000", "-seed", fmt.Sprint(seed), "-skip", "2001::/32")
	t.Logf("%d addresses (seed %d): %d found, %d distinct record pairs compared, %d in a wider (joined) network in the rebuild, %d skipped (Teredo)",
		rep.Addresses, seed, rep.Found, rep.Pairs, rep.Wider, rep.Skipped)
	if rep.Addresses != 1_200_000 || rep.Found < 500_000 || rep.Pairs < 100_000 {
		t.Fatalf("the sample does not test much: %+v", rep)
	}
	// Teredo: the original answers there, the rebuild does not.
	rng := rand.New(rand.NewPCG(seed, 5))
	orig, err := maxminddb.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	rb, err := maxminddb.Open(rebuilt)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	teredoFound := 0
	for range 1000 {
		var b [16]byte
		b[0], b[1] = 0x20, 0x01
		for i := 4; i < 16; i++ {
			b[i] = byte(rng.Uint32())
		}
		a := netip.AddrFrom16(b)
		if orig.Lookup(a).Found() {
			teredoFound++
		}
		if rb.Lookup(a).Found() {
			t.Fatalf("%s: the rebuild answers inside 2001::/32", a)
		}
	}
	if teredoFound == 0 {
		t.Fatal("the original answers no Teredo address")
	}
	typeSample := rep.TypeSample

	// MMDB types, leaf by leaf, by libmaxminddb.
	if _, err := os.Stat("/usr/bin/mmdblookup"); err != nil {
		testutil.Mmdblookup(t)
	}
	for _, a := range typeSample {
		x, y := mmdblookupTypes(t, src, a), mmdblookupTypes(t, rebuilt, a)
		if len(x) == 0 || !maps.Equal(x, y) {
			t.Fatalf("%s: mmdblookup types\n%v\nin the original,\n%v\nin the rebuild", a, x, y)
		}
	}
	t.Logf("types of every leaf of %d records checked with mmdblookup", len(typeSample))

	// diff: the same answers outside the aliases; Teredo is exactly the
	// IPv4 networks, removed; a file against itself is empty.
	stdout, _ := mustRunCLI(t, exitOK, "diff", "--ignore-aliases", src, rebuilt)
	if stdout != "" {
		t.Errorf("diff --ignore-aliases printed %.300s", stdout)
	}
	_, stderr := mustRunCLI(t, exitData, "diff", "--brief", src, rebuilt)
	if want := fmt.Sprintf("differ in %d networks: 0 added, %d removed, 0 changed", rep.Networks4, rep.Networks4); !strings.Contains(stderr, want) {
		t.Errorf("diff --brief: %q, want %q", stderr, want)
	}
	if stdout, _ := mustRunCLI(t, exitOK, "diff", src, src); stdout != "" {
		t.Errorf("diff of the file with itself printed %.300s", stdout)
	}
}
