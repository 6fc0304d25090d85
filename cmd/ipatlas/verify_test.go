package main

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// brokenConformance are the conformance test-data files MaxMind broke on
// purpose (format/conformance_test.go's brokenTestData), with why.
var brokenConformance = map[string]string{
	"GeoIP2-City-Test-Broken-Double-Format.mmdb": "a double with a 5-byte payload",
	"GeoIP2-City-Test-Invalid-Node-Count.mmdb":   "node_count 100000 does not fit the file",
	"MaxMind-DB-test-broken-pointers-24.mmdb":    "records point past the data section",
	"MaxMind-DB-test-broken-search-tree-24.mmdb": "a path of the tree runs past bit 32",
}

// badDataStage is the stage at which reader/baddata_test.go (and
// maxminddb-golang v2) reject each bad-data file: "open" or "verify".
var badDataStage = map[string]string{
	"libmaxminddb/libmaxminddb-corrupt-search-tree.mmdb":          "verify",
	"libmaxminddb/libmaxminddb-deep-array-nesting.mmdb":           "verify",
	"libmaxminddb/libmaxminddb-deep-nesting.mmdb":                 "verify",
	"libmaxminddb/libmaxminddb-empty-array-last-in-metadata.mmdb": "verify",
	"libmaxminddb/libmaxminddb-empty-map-last-in-metadata.mmdb":   "verify",
	"libmaxminddb/libmaxminddb-metadata-marker-only.mmdb":         "open",
	"libmaxminddb/libmaxminddb-offset-integer-overflow.mmdb":      "open",
	"libmaxminddb/libmaxminddb-oversized-array.mmdb":              "verify",
	"libmaxminddb/libmaxminddb-oversized-map.mmdb":                "verify",
	"libmaxminddb/libmaxminddb-separator-record-max-left.mmdb":    "verify",
	"libmaxminddb/libmaxminddb-separator-record-min-left.mmdb":    "verify",
	"libmaxminddb/libmaxminddb-separator-record-min-right.mmdb":   "verify",
	"libmaxminddb/libmaxminddb-uint64-max-epoch.mmdb":             "verify",
	"maxminddb-golang/cyclic-data-structure.mmdb":                 "open",
	"maxminddb-golang/invalid-bytes-length.mmdb":                  "open",
	"maxminddb-golang/invalid-data-record-offset.mmdb":            "open",
	"maxminddb-golang/invalid-map-key-length.mmdb":                "open",
	"maxminddb-golang/invalid-string-length.mmdb":                 "open",
	"maxminddb-golang/metadata-is-an-uint128.mmdb":                "open",
	"maxminddb-golang/unexpected-bytes.mmdb":                      "open",
	"maxminddb-python/bad-unicode-in-map-key.mmdb":                "verify",
}

// badDataAlso is what verify reports besides the reader's first error for
// the bad-data files whose metadata breaks maxminddb-golang's rules (an
// empty description), so that the reader's Verify stops there: the
// problem each file was made for, found by the format package's decoder
// (the messages format/conformance_test.go expects). The others have no
// second problem: bad-data/README.md and format's tests explain why
// (unreachable zero nodes, an empty map or array at the end of the file,
// a maximal build_epoch).
var badDataAlso = map[string]string{
	"libmaxminddb/libmaxminddb-deep-array-nesting.mmdb":         "nested deeper than 512",
	"libmaxminddb/libmaxminddb-deep-nesting.mmdb":               "nested deeper than 512",
	"libmaxminddb/libmaxminddb-oversized-array.mmdb":            "array of 1000000 entries exceeds the section",
	"libmaxminddb/libmaxminddb-oversized-map.mmdb":              "map of 1000000 entries exceeds the section",
	"libmaxminddb/libmaxminddb-separator-record-max-left.mmdb":  "search tree: record 16 of node 0 points outside the data section",
	"libmaxminddb/libmaxminddb-separator-record-min-left.mmdb":  "search tree: record 2 of node 0 points outside the data section",
	"libmaxminddb/libmaxminddb-separator-record-min-right.mmdb": "search tree: record 2 of node 0 points outside the data section",
}

// v2Rejects returns maxminddb-golang v2's verdict on a file: the stage
// ("open" or "verify") that rejects it, or "" when it passes.
func v2Rejects(t *testing.T, path string) string {
	t.Helper()
	db, err := maxminddb.Open(path)
	if err != nil {
		return "open"
	}
	defer db.Close()
	if db.Verify() != nil {
		return "verify"
	}
	return ""
}

// mmdblookupOpens reports whether libmaxminddb opens the file.
func mmdblookupOpens(t *testing.T, path string) bool {
	t.Helper()
	out, _ := exec.Command("/usr/bin/mmdblookup", "--file", path, "--ip", "1.1.1.1").CombinedOutput()
	return !strings.Contains(string(out), "Can't open")
}

// TestVerifyConformance runs verify on every conformance file: the
// test-data files pass except the four broken on purpose, every bad-data
// file fails, at the stage reader/baddata_test.go gives it, and the
// verdicts agree with maxminddb-golang v2's Open+Verify and, for the
// files that pass, with libmaxminddb opening them.
func TestVerifyConformance(t *testing.T) {
	testutil.Mmdblookup(t)
	seenBroken := 0
	for _, path := range testutil.ConformanceGlob(t, "test-data/*.mmdb") {
		name := filepath.Base(path)
		t.Run("test-data/"+name, func(t *testing.T) {
			out, errOut, code := runCLI(t, "verify", path)
			_, broken := brokenConformance[name]
			v2 := v2Rejects(t, path)
			switch {
			case broken && code != exitData:
				t.Errorf("exit %d for a file broken on purpose (%s)", code, brokenConformance[name])
			case !broken && code != exitOK:
				t.Errorf("exit %d, want 0:\n%s", code, errOut)
			case (v2 == "") != (code == exitOK):
				t.Errorf("exit %d, but maxminddb-golang v2 rejects at %q", code, v2)
			case code == exitOK && !mmdblookupOpens(t, path):
				t.Errorf("passes, but libmaxminddb does not open it")
			case code == exitOK && !strings.HasPrefix(out, path+": ok: ") || code != exitOK && !strings.HasPrefix(errOut, "ipatlas verify: "+path+": "):
				t.Errorf("output does not name the file:\n%s%s", out, errOut)
			}
			if broken {
				seenBroken++
			}
		})
	}
	if seenBroken != len(brokenConformance) {
		t.Errorf("found %d of the %d broken test-data files", seenBroken, len(brokenConformance))
	}
	bad := testutil.ConformanceGlob(t, "bad-data/*/*.mmdb")
	if len(bad) != len(badDataStage) {
		t.Errorf("%d bad-data files, %d in the table", len(bad), len(badDataStage))
	}
	for _, path := range bad {
		rel, _ := filepath.Rel(testutil.Conformance(t, "bad-data"), path)
		t.Run("bad-data/"+rel, func(t *testing.T) {
			want, ok := badDataStage[filepath.ToSlash(rel)]
			if !ok {
				t.Fatalf("not in the table")
			}
			_, errOut, code := runCLI(t, "verify", path)
			if code == exitOK && strings.Contains(errOut, "warning: metadata: the description is empty") {
				// v2's Verify stops at the empty description; the rest of
				// the file is sound (every reader opens it): a warning,
				// a failure with --strict.
				if _, _, code := runCLI(t, "verify", "--strict", path); code != exitData {
					t.Errorf("--strict: exit %d, want 1", code)
				}
				if v2 := v2Rejects(t, path); v2 != want {
					t.Errorf("maxminddb-golang v2 rejects at %q, the table says %q", v2, want)
				}
				return
			}
			if code != exitData {
				t.Fatalf("exit %d, want 1", code)
			}
			if v2 := v2Rejects(t, path); v2 != want {
				t.Errorf("maxminddb-golang v2 rejects at %q, the table says %q", v2, want)
			}
			atOpen := strings.Contains(errOut, "not a readable MaxMind DB file")
			if atOpen != (want == "open") {
				t.Errorf("stage %q, but stderr:\n%s", want, errOut)
			}
			lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
			for _, l := range lines {
				if strings.Contains(l, "panic") || !strings.HasPrefix(l, "ipatlas verify: "+path+": ") {
					t.Errorf("stderr line %q does not name the file", l)
				}
			}
			also, ok := badDataAlso[filepath.ToSlash(rel)]
			switch {
			case ok && !strings.Contains(errOut, also):
				// These files have no description either, which v2's Verify
				// stops at and verify only warns about.
				t.Errorf("want a line with %q:\n%s", also, errOut)
			case !ok && len(lines) != 1:
				t.Errorf("want one line:\n%s", errOut)
			}
		})
	}
}

// TestVerifyGeoLite checks the real GeoLite2-City database and logs how
// long the check takes.
func TestVerifyGeoLite(t *testing.T) {
	path := testutil.GeoLiteCity(t)
	start := time.Now()
	out, errOut, code := runCLI(t, "verify", path)
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	if want := path + `: ok: MaxMind DB 2.0, "GeoLite2-City", ip_version 6, record_size 28, 3,691,620 nodes`; !strings.HasPrefix(out, want) {
		t.Errorf("output %q, want it to start with %q", out, want)
	}
	t.Logf("verify GeoLite2-City.mmdb: %v", time.Since(start))
}

// handMetadata is the metadata of a hand-made database, with the types
// libmaxminddb demands.
func handMetadata(nodeCount uint) format.Map {
	return format.Metadata{
		NodeCount: nodeCount, RecordSize: 24, IPVersion: 4, BinaryFormatMajorVersion: 2,
		DatabaseType: "hand-made", Description: map[string]string{"en": "laid out byte by byte"},
		Languages: []string{"en"}, BuildEpoch: 1700000000,
	}.Value()
}

// assembleMMDB lays a database out by hand: the tree, 16 zero bytes, the
// data section, the marker and the metadata map.
func assembleMMDB(t *testing.T, tree, data []byte, md format.Map) []byte {
	t.Helper()
	meta, err := format.AppendValue(nil, md)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.Write(tree)
	b.Write(make([]byte, 16))
	b.Write(data)
	b.Write(format.MetadataMarker)
	b.Write(meta)
	return b.Bytes()
}

// Hand-encoded data sections. In an IPv4 tree of one node (24-bit
// records), record 17+off points at data offset off.
var (
	// {"k": "xCabc"} at 0; byte 5 is 'C' = 0x43, which also reads as the
	// control byte of a 3-byte string: "abc". Then {"p": "q"} at 9.
	handGood = []byte{0xE1, 0x41, 'k', 0x45, 'x', 'C', 'a', 'b', 'c', 0xE1, 0x41, 'p', 0x41, 'q'}
	// The same, but "p" is a pointer (0x20 0x05: 11-bit pointer to 5)
	// into the middle of the string "xCabc".
	handPointerInside = []byte{0xE1, 0x41, 'k', 0x45, 'x', 'C', 'a', 'b', 'c', 0xE1, 0x41, 'p', 0x20, 0x05}
	// "p" points to 3, the start of the string value "xCabc": valid.
	handPointerToValue = []byte{0xE1, 0x41, 'k', 0x45, 'x', 'C', 'a', 'b', 'c', 0xE1, 0x41, 'p', 0x20, 0x03}
	// {"a": uint16 1, "a": uint16 2} at 0, {"p": "q"} at 9.
	handDuplicateKey = []byte{0xE2, 0x41, 'a', 0xA1, 0x01, 0x41, 'a', 0xA1, 0x02, 0xE1, 0x41, 'p', 0x41, 'q'}
)

// oneNodeTree is a one-node IPv4 tree: 0.0.0.0/1 has the value at data
// offset 0, 128.0.0.0/1 the one at 9.
func oneNodeTree() []byte { return format.AppendNode(nil, 24, 17+0, 17+9) }

// TestVerifyBeyondReader checks what verify adds to the reader's Verify,
// on hand-made files the reader's Verify accepts: each problem is shown
// to be real by another reader (libmaxminddb refuses the file,
// maxminddb-golang v2 rejects it, or two readers read it differently) or
// by the layout worked out by hand above.
func TestVerifyBeyondReader(t *testing.T) {
	testutil.Mmdblookup(t)
	dir := t.TempDir()
	md := func(edit func(format.Map)) format.Map {
		m := handMetadata(1)
		edit(m)
		return m
	}
	// Two nodes, the second unreachable: node 0 holds 0.0.0.0/1 -> the
	// value at 0, 128.0.0.0/1 empty (record 2 = node_count).
	unreachable := append(format.AppendNode(nil, 24, 18, 2), format.AppendNode(nil, 24, 2, 2)...)
	cases := []struct {
		name        string
		file        []byte
		args        []string
		code        int
		stderr      string
		v2          string // maxminddb-golang v2's verdict: "" or the stage that rejects
		libmaxmind  bool   // whether libmaxminddb opens it
		witnessPath string // a key that readers read differently
	}{
		{"hand-made, good", assembleMMDB(t, oneNodeTree(), handGood, handMetadata(1)), nil, exitOK, "", "", true, ""},
		{"pointer to a nested value", assembleMMDB(t, oneNodeTree(), handPointerToValue, handMetadata(1)), nil, exitOK, "", "", true, ""},
		{"duplicate key", assembleMMDB(t, oneNodeTree(), handDuplicateKey, handMetadata(1)), nil, exitData,
			`data section: the map at offset 0 has the key "a" twice`, "", true, "a"},
		{"node_count uint16", assembleMMDB(t, oneNodeTree(), handGood, md(func(m format.Map) { m["node_count"] = format.Uint16(1) })), nil, exitData,
			"metadata: node_count is a uint16, not a uint32 (libmaxminddb refuses to open the file)", "", false, ""},
		{"record_size uint32", assembleMMDB(t, oneNodeTree(), handGood, md(func(m format.Map) { m["record_size"] = format.Uint32(24) })), nil, exitData,
			"metadata: record_size is a uint32, not a uint16", "", false, ""},
		{"build_epoch uint32", assembleMMDB(t, oneNodeTree(), handGood, md(func(m format.Map) { m["build_epoch"] = format.Uint32(1700000000) })), nil, exitData,
			"metadata: build_epoch is a uint32, not a uint64", "", false, ""},
		{"build_epoch 0", assembleMMDB(t, oneNodeTree(), handGood, md(func(m format.Map) { m["build_epoch"] = format.Uint64(0) })), nil, exitData,
			"metadata: build_epoch is 0", "", false, ""},
		{"no languages", assembleMMDB(t, oneNodeTree(), handGood, md(func(m format.Map) { delete(m, "languages") })), nil, exitData,
			"metadata: languages is missing", "", false, ""},
		{"metadata over 128 KiB", assembleMMDB(t, oneNodeTree(), handGood, md(func(m format.Map) {
			m["description"] = format.Map{"en": format.String(strings.Repeat("long ", 27000))}
		})), nil, exitData, "metadata: the section is 135", "", false, ""},
		{"unreachable node", assembleMMDB(t, unreachable, handGood[:9], handMetadata(2)), nil, exitOK,
			"warning: 1 of the 2 search-tree nodes are not reachable from the root", "", true, ""},
		{"unreachable node, strict", assembleMMDB(t, unreachable, handGood[:9], handMetadata(2)), []string{"--strict"}, exitData,
			"1 warning(s) and --strict", "", true, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".mmdb")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := reader.Open(path)
			if err != nil {
				t.Fatalf("case %d: the reader does not open the file: %v", i, err)
			}
			if err := r.Verify(); err != nil {
				t.Fatalf("case %d: the reader's Verify rejects the file (%v): the case tests nothing beyond it", i, err)
			}
			r.Close()
			if v2 := v2Rejects(t, path); v2 != tc.v2 {
				t.Errorf("maxminddb-golang v2 rejects at %q, want %q", v2, tc.v2)
			}
			if got := mmdblookupOpens(t, path); got != tc.libmaxmind {
				t.Errorf("libmaxminddb opens it: %v, want %v", got, tc.libmaxmind)
			}
			_, errOut, code := runCLI(t, append(append([]string{"verify"}, tc.args...), path)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errOut)
			}
			if tc.witnessPath != "" {
				// Two readers, two answers: libmaxminddb's path lookup
				// takes the first copy of the key, maxminddb-golang's
				// decoding of the whole map the last.
				c, _, _ := mmdblookupAt(t, path, netip.MustParseAddr("1.1.1.1"), tc.witnessPath)
				db, err := maxminddb.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var m map[string]any
				if err := db.Lookup(netip.MustParseAddr("1.1.1.1")).Decode(&m); err != nil {
					t.Fatal(err)
				}
				if c.Text != "1" || m[tc.witnessPath] != uint64(2) {
					t.Errorf("mmdblookup reads %q, maxminddb-golang %v: want 1 and 2", c.Text, m[tc.witnessPath])
				}
			}
		})
	}
}

// corruptions are ways to break a good file; each must fail verify, as
// it fails maxminddb-golang v2.
type corruption struct {
	name   string
	edit   func(b []byte, nodeCount, recordSize uint, dataStart, marker int) []byte
	stderr string
}

func setRecord(b []byte, recordSize, node, bit, v uint) {
	switch recordSize {
	case 24:
		o := node*6 + bit*3
		b[o], b[o+1], b[o+2] = byte(v>>16), byte(v>>8), byte(v)
	case 32:
		binary.BigEndian.PutUint32(b[node*8+bit*4:], uint32(v))
	default:
		panic("the tests use 24- and 32-bit records")
	}
}

var corruptions = []corruption{
	{"truncated in the tree", func(b []byte, _, _ uint, ds, _ int) []byte { return b[:ds/2] }, "not a readable MaxMind DB file"},
	{"truncated in the data", func(b []byte, _, _ uint, ds, m int) []byte { return b[:(ds+m)/2] }, "not a readable MaxMind DB file"},
	{"truncated in the marker", func(b []byte, _, _ uint, _, m int) []byte { return b[:m+5] }, "not a readable MaxMind DB file"},
	{"last byte cut", func(b []byte, _, _ uint, _, _ int) []byte { return b[:len(b)-1] }, "not a readable MaxMind DB file"},
	{"marker missing", func(b []byte, _, _ uint, _, m int) []byte { b[m] = 'x'; return b }, "not a readable MaxMind DB file"},
	{"record back to the root", func(b []byte, _, rs uint, _, _ int) []byte { setRecord(b, rs, 3, 1, 0); return b }, "invalid search tree"},
	{"record into the separator", func(b []byte, nc, rs uint, _, _ int) []byte { setRecord(b, rs, 3, 0, nc+5); return b }, "search tree is corrupt"},
	{"record past the data", func(b []byte, nc, rs uint, ds, m int) []byte { setRecord(b, rs, 3, 0, nc+16+uint(m-ds)+1); return b }, "search tree is corrupt"},
	{"record inside a value", func(b []byte, nc, rs uint, _, _ int) []byte {
		// The first value is {"n": ..., "name": ...}: the map's control
		// byte at 0, the key "n" at 1, its payload at 2.
		setRecord(b, rs, 3, 0, nc+16+2)
		return b
	}, "search tree points into the middle of a field"},
	{"separator not zero", func(b []byte, _, _ uint, ds, _ int) []byte { b[ds-3] = 1; return b }, "data separator"},
	{"orphan value", func(b []byte, _, _ uint, _, m int) []byte {
		return append(append(append([]byte(nil), b[:m]...), 0x41, 'z'), b[m:]...)
	}, "that the search tree does not point to"},
	{"invalid UTF-8", func(b []byte, _, _ uint, ds, m int) []byte {
		i := bytes.Index(b[ds:m], []byte("record "))
		b[ds+i+2] = 0xFF
		return b
	}, "invalid UTF-8"},
}

// TestVerifyCorrupted breaks a good file in every way of the table, in a
// 24-bit and a 32-bit tree, and checks that verify and maxminddb-golang v2
// both reject each copy.
func TestVerifyCorrupted(t *testing.T) {
	dir := t.TempDir()
	for _, rs := range []int{24, 32} {
		good := filepath.Join(dir, "good.mmdb")
		writeKnownDB(t, good, format.WriterOptions{IPVersion: 6, RecordSize: rs})
		if _, errOut, code := runCLI(t, "verify", good); code != exitOK {
			t.Fatalf("the good file fails: %s", errOut)
		}
		orig, err := os.ReadFile(good)
		if err != nil {
			t.Fatal(err)
		}
		db, err := maxminddb.Open(good)
		if err != nil {
			t.Fatal(err)
		}
		nc, recSize := db.Metadata.NodeCount, db.Metadata.RecordSize
		db.Close()
		dataStart := int(nc*recSize/4) + 16
		marker := bytes.LastIndex(orig, format.MetadataMarker)
		for _, c := range corruptions {
			t.Run(c.name+"/"+map[int]string{24: "24-bit", 32: "32-bit"}[rs], func(t *testing.T) {
				b := c.edit(append([]byte(nil), orig...), nc, recSize, dataStart, marker)
				path := filepath.Join(dir, "corrupt.mmdb")
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				if v2Rejects(t, path) == "" {
					t.Fatalf("maxminddb-golang v2 accepts the corrupted file")
				}
				_, errOut, code := runCLI(t, "verify", path)
				if code != exitData {
					t.Fatalf("exit %d, want 1:\n%s", code, errOut)
				}
				if !strings.HasPrefix(errOut, "ipatlas verify: "+path+": ") || !strings.Contains(errOut, c.stderr) {
					t.Errorf("stderr lacks %q:\n%s", c.stderr, errOut)
				}
			})
		}
	}
}

// TestVerifyRandomFlips flips random bytes of a small real database (in
// the tree, the data section and the metadata) and checks that verify
// never crashes, and fails every copy maxminddb-golang v2 rejects; a copy
// only verify rejects must be one of verify's own checks.
func TestVerifyRandomFlips(t *testing.T) {
	src := testutil.Conformance(t, "test-data", "GeoIP2-City-Test.mmdb")
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 0))
	both, onlyOurs := 0, 0
	for i := range 60 {
		b := append([]byte(nil), orig...)
		pos := rng.IntN(len(b))
		b[pos] ^= byte(1 + rng.IntN(255))
		path := filepath.Join(dir, "flip.mmdb")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := runCLI(t, "verify", path)
		v2 := v2Rejects(t, path)
		switch {
		case code != exitOK && code != exitData || strings.Contains(errOut, "panic"):
			t.Fatalf("flip %d (byte %d): exit %d:\n%s", i, pos, code, errOut)
		case v2 != "" && code != exitData:
			t.Errorf("flip %d (byte %d): maxminddb-golang v2 rejects at %s, verify passes", i, pos, v2)
		case v2 == "" && code == exitData:
			onlyOurs++
			if !strings.Contains(errOut, "libmaxminddb") && !strings.Contains(errOut, "inside a value") && !strings.Contains(errOut, "twice") {
				t.Errorf("flip %d (byte %d): only verify rejects, for a reason that is not one of its own checks:\n%s", i, pos, errOut)
			}
		case code == exitData:
			both++
		}
	}
	t.Logf("60 flips: %d rejected by both, %d by verify only", both, onlyOurs)
}

// TestVerifyPointerInsideValue: a data-section pointer into the middle of
// a value (its target bytes decode as a valid string) is rejected by the
// reader's Verify, by ipatlas verify and by maxminddb-golang v2.
func TestVerifyPointerInsideValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pointer-inside.mmdb")
	if err := os.WriteFile(path, assembleMMDB(t, oneNodeTree(), handPointerInside, handMetadata(1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := v2Rejects(t, path); got != "verify" {
		t.Fatalf("maxminddb-golang v2 rejects at %q, want verify", got)
	}
	_, stderr, code := runCLI(t, "verify", path)
	if code != exitData || !strings.Contains(stderr, "does not point to the start of a field (offset 5)") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}
