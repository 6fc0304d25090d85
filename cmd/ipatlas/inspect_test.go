package main

import (
	"encoding/json"
	"maps"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// inspectJSON is the part of inspect --json the tests read.
type inspectJSON struct {
	FileSize        int             `json:"file_size"`
	Metadata        inspectMetadata `json:"metadata"`
	SearchTreeSize  uint64          `json:"search_tree_size"`
	DataSectionSize uint64          `json:"data_section_size"`
	MetadataSize    uint64          `json:"metadata_size"`
	NodesReached    uint64          `json:"nodes_reached"`
	DistinctRecords uint64          `json:"distinct_records"`
	Networks        struct {
		Total uint64       `json:"total"`
		IPv4  inspectFamJS `json:"ipv4"`
		IPv6  inspectFamJS `json:"ipv6"`
	} `json:"networks"`
	Aliases []string `json:"ipv4_aliases"`
}

type inspectFamJS struct {
	Networks  uint64      `json:"networks"`
	Addresses json.Number `json:"addresses"`
	ByLength  []struct {
		PrefixLength int         `json:"prefix_length"`
		Networks     uint64      `json:"networks"`
		Addresses    json.Number `json:"addresses"`
	} `json:"by_prefix_length"`
}

// histogram returns the family's networks per prefix length.
func (f inspectFamJS) histogram() map[int]uint64 {
	h := map[int]uint64{}
	for _, c := range f.ByLength {
		h[c.PrefixLength] = c.Networks
	}
	return h
}

func runInspectJSON(t *testing.T, path string) inspectJSON {
	t.Helper()
	out, errOut, code := runCLI(t, "inspect", "--json", path)
	if code != 0 {
		t.Fatalf("inspect %s: exit %d\n%s", path, code, errOut)
	}
	var rep inspectJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("inspect --json printed %q: %v", out, err)
	}
	// The metadata keys are the file's own names (SPEC), whatever the
	// Go struct that prints them says.
	var raw struct {
		Metadata map[string]json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("inspect --json printed %q: %v", out, err)
	}
	want := []string{"binary_format_major_version", "binary_format_minor_version", "build_epoch", "build_time",
		"database_type", "description", "ip_version", "languages", "node_count", "record_size"}
	if got := slices.Sorted(maps.Keys(raw.Metadata)); !slices.Equal(got, want) {
		t.Errorf("inspect --json metadata keys %q, want %q", got, want)
	}
	return rep
}

// netCensus is what an independent reader says about a database's
// networks: per family and prefix length, and the distinct data offsets.
type netCensus struct {
	v4, v6  map[int]uint64
	records map[uintptr]bool
}

// censusV2 counts the networks with maxminddb-golang v2's Networks(),
// which skips the IPv4 aliases of an IPv6 tree and gives IPv4 networks
// as IPv4 prefixes.
func censusV2(t *testing.T, path string) (netCensus, maxminddb.Metadata) {
	t.Helper()
	db, err := maxminddb.Open(path)
	if err != nil {
		t.Fatalf("maxminddb-golang v2: %v", err)
	}
	defer db.Close()
	c := netCensus{v4: map[int]uint64{}, v6: map[int]uint64{}, records: map[uintptr]bool{}}
	for r := range db.Networks() {
		if err := r.Err(); err != nil {
			t.Fatalf("maxminddb-golang v2 Networks: %v", err)
		}
		p := r.Prefix()
		if p.Addr().Is4() {
			c.v4[p.Bits()]++
		} else {
			c.v6[p.Bits()]++
		}
		c.records[r.Offset()] = true
	}
	return c, db.Metadata
}

// addresses sums the addresses of a histogram of a bitLen-bit family.
func histAddresses(h map[int]uint64, bitLen int) string {
	total := new(big.Int)
	for l, n := range h {
		a := new(big.Int).Lsh(big.NewInt(1), uint(bitLen-l))
		total.Add(total, a.Mul(a, new(big.Int).SetUint64(n)))
	}
	return total.String()
}

func histSum(h map[int]uint64) (n uint64) {
	for _, c := range h {
		n += c
	}
	return n
}

func equalHist(a, b map[int]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkInspect compares inspect's report with the census and metadata of
// an independent reader, and with the file's size.
func checkInspect(t *testing.T, path string, rep inspectJSON, c netCensus, md maxminddb.Metadata) {
	t.Helper()
	if got := rep.Networks.IPv4.histogram(); !equalHist(got, c.v4) {
		t.Errorf("IPv4 networks per prefix length: inspect %v, maxminddb-golang %v", got, c.v4)
	}
	if got := rep.Networks.IPv6.histogram(); !equalHist(got, c.v6) {
		t.Errorf("IPv6 networks per prefix length: inspect %v, maxminddb-golang %v", got, c.v6)
	}
	if rep.Networks.IPv4.Networks != histSum(c.v4) || rep.Networks.IPv6.Networks != histSum(c.v6) ||
		rep.Networks.Total != histSum(c.v4)+histSum(c.v6) {
		t.Errorf("network totals: inspect %d + %d = %d, maxminddb-golang %d + %d",
			rep.Networks.IPv4.Networks, rep.Networks.IPv6.Networks, rep.Networks.Total, histSum(c.v4), histSum(c.v6))
	}
	if got, want := string(rep.Networks.IPv4.Addresses), histAddresses(c.v4, 32); got != want {
		t.Errorf("IPv4 addresses: inspect %s, want %s", got, want)
	}
	if got, want := string(rep.Networks.IPv6.Addresses), histAddresses(c.v6, 128); got != want {
		t.Errorf("IPv6 addresses: inspect %s, want %s", got, want)
	}
	if rep.DistinctRecords != uint64(len(c.records)) {
		t.Errorf("distinct records: inspect %d, maxminddb-golang %d", rep.DistinctRecords, len(c.records))
	}
	m := rep.Metadata
	if m.DatabaseType != md.DatabaseType || m.IPVersion != md.IPVersion || m.RecordSize != md.RecordSize ||
		m.NodeCount != md.NodeCount || m.BuildEpoch != uint64(md.BuildEpoch) ||
		m.Major != md.BinaryFormatMajorVersion || m.Minor != md.BinaryFormatMinorVersion ||
		strings.Join(m.Languages, ",") != strings.Join(md.Languages, ",") || len(m.Description) != len(md.Description) {
		t.Errorf("metadata: inspect %+v, maxminddb-golang %+v", m, md)
	}
	for k, v := range md.Description {
		if m.Description[k] != v {
			t.Errorf("description[%q]: inspect %q, maxminddb-golang %q", k, m.Description[k], v)
		}
	}
	if want := md.BuildTime().UTC().Format(time.RFC3339); m.BuildTime != want {
		t.Errorf("build_time %q, want %q", m.BuildTime, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The sections tile the file: tree, 16-byte separator, data, metadata.
	if tree := uint64(md.NodeCount) * uint64(md.RecordSize) / 4; rep.SearchTreeSize != tree {
		t.Errorf("search tree %d bytes, want node_count*record_size/4 = %d", rep.SearchTreeSize, tree)
	}
	if got := rep.SearchTreeSize + 16 + rep.DataSectionSize + rep.MetadataSize; got != uint64(fi.Size()) || rep.FileSize != int(fi.Size()) {
		t.Errorf("tree + separator + data + metadata = %d, file size %d (inspect says %d)", got, fi.Size(), rep.FileSize)
	}
}

// TestInspectAgainstMaxminddbGolang compares inspect with maxminddb-golang
// v2 on every valid conformance test database.
func TestInspectAgainstMaxminddbGolang(t *testing.T) {
	for _, path := range testutil.ConformanceGlob(t, "test-data/*.mmdb") {
		name := filepath.Base(path)
		if _, broken := brokenConformance[name]; broken {
			continue
		}
		t.Run(name, func(t *testing.T) {
			c, md := censusV2(t, path)
			checkInspect(t, path, runInspectJSON(t, path), c, md)
		})
	}
}

// TestInspectGeoLite compares inspect with maxminddb-golang v2 on the real
// GeoLite2-City database (3.5 million networks) and checks that the walk
// is fast.
func TestInspectGeoLite(t *testing.T) {
	path := testutil.GeoLiteCity(t)
	rep := runInspectJSON(t, path)
	c, md := censusV2(t, path)
	checkInspect(t, path, rep, c, md)
	if rep.NodesReached != uint64(md.NodeCount) {
		t.Errorf("nodes reached %d of %d", rep.NodesReached, md.NodeCount)
	}
	// MaxMind's writer aliases the IPv4 subtree at the IPv4-mapped range,
	// Teredo and 6to4.
	if got := strings.Join(rep.Aliases, " "); got != "::ffff:0:0/96 2001::/32 2002::/16" {
		t.Errorf("aliases %q", got)
	}
	out, _, code := runCLI(t, "inspect", path)
	if code != 0 {
		t.Fatalf("inspect (text): exit %d", code)
	}
	for _, want := range []string{
		`database_type:       "GeoLite2-City"`,
		"distinct records:    " + commas(rep.DistinctRecords),
		"networks:            " + commas(rep.Networks.Total) + " with data: IPv4 " + commas(rep.Networks.IPv4.Networks),
		"build time:          " + rep.Metadata.BuildTime + " (build_epoch " + strconv.FormatUint(rep.Metadata.BuildEpoch, 10) + ")",
		"     /24        " + commas(c.v4[24]) + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

// knownDB is a database a test writes with format.Create, whose networks
// are known by construction: no two of them are adjacent siblings, so the
// writer merges none.
type knownDB struct {
	v4, v6  map[int]uint64
	records int
}

func writeKnownDB(t *testing.T, path string, opts format.WriterOptions) knownDB {
	t.Helper()
	w, err := format.Create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	k := knownDB{v4: map[int]uint64{}, v6: map[int]uint64{}}
	used := map[int]bool{}
	ins := func(p string, rec int) {
		t.Helper()
		pfx := netip.MustParsePrefix(p)
		if err := w.InsertValue(pfx, format.Map{"n": format.Uint32(rec), "name": format.String("record " + strconv.Itoa(rec))}); err != nil {
			t.Fatalf("insert %s: %v", p, err)
		}
		used[rec] = true
		if pfx.Addr().Is4() {
			k.v4[pfx.Bits()]++
		} else {
			k.v6[pfx.Bits()]++
		}
	}
	ins("1.0.0.0/8", 0)
	for i := range 10 {
		ins("10.0."+strconv.Itoa(2*i)+".0/24", i%3) // every other /24: no siblings
	}
	for i := range 5 {
		ins("172.16.0."+strconv.Itoa(16*i)+"/29", 3+i%2)
	}
	for _, a := range []string{"192.0.2.1", "192.0.2.3", "192.0.2.5", "192.0.2.7"} {
		ins(a+"/32", 5)
	}
	if opts.IPVersion != 4 {
		ins("2001:db8::1/128", 6)
		ins("2001:db8::3/128", 0)
		for i := range 6 {
			ins("2400:0:"+strconv.Itoa(2*i)+"::/48", 7+i%2)
		}
		ins("2c0f::/16", 9)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	k.records = len(used)
	return k
}

// TestInspectKnownCounts checks inspect on databases whose counts are
// known by construction, in the three shapes the writer makes; every
// answer is also checked against maxminddb-golang v2.
func TestInspectKnownCounts(t *testing.T) {
	dir := t.TempDir()
	build := time.Date(2026, 11, 5, 12, 30, 0, 0, time.UTC)
	cases := []struct {
		name    string
		opts    format.WriterOptions
		aliases string
	}{
		{"ipv6 with aliases", format.WriterOptions{IPVersion: 6}, "::ffff:0:0/96 2002::/16"},
		{"ipv6 without aliases", format.WriterOptions{IPVersion: 6, DisableIPv4Aliases: true, RecordSize: 32}, ""},
		{"ipv4", format.WriterOptions{IPVersion: 4, RecordSize: 28}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.BuildTime = build
			tc.opts.Languages = []string{"en", "zh-CN"}
			tc.opts.Description = map[string]string{"en": "known counts", "zh-CN": "已知"}
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".mmdb")
			k := writeKnownDB(t, path, tc.opts)
			rep := runInspectJSON(t, path)
			if !equalHist(rep.Networks.IPv4.histogram(), k.v4) || !equalHist(rep.Networks.IPv6.histogram(), k.v6) {
				t.Errorf("networks: inspect IPv4 %v IPv6 %v, written IPv4 %v IPv6 %v",
					rep.Networks.IPv4.histogram(), rep.Networks.IPv6.histogram(), k.v4, k.v6)
			}
			if want := uint64(1<<24 + 10*256 + 5*8 + 4); string(rep.Networks.IPv4.Addresses) != strconv.FormatUint(want, 10) {
				t.Errorf("IPv4 addresses %s, want %d", rep.Networks.IPv4.Addresses, want)
			}
			if rep.DistinctRecords != uint64(k.records) {
				t.Errorf("distinct records %d, written %d", rep.DistinctRecords, k.records)
			}
			if got := strings.Join(rep.Aliases, " "); got != tc.aliases {
				t.Errorf("aliases %q, want %q", got, tc.aliases)
			}
			m := rep.Metadata
			if m.BuildTime != "2026-11-05T12:30:00Z" || m.BuildEpoch != uint64(build.Unix()) ||
				m.Description["zh-CN"] != "已知" || strings.Join(m.Languages, " ") != "en zh-CN" ||
				m.DatabaseType != "ipatlas-City" || m.IPVersion != uint(max(tc.opts.IPVersion, 4)) {
				t.Errorf("metadata %+v", m)
			}
			if tc.opts.RecordSize != 0 && m.RecordSize != uint(tc.opts.RecordSize) {
				t.Errorf("record_size %d, want %d", m.RecordSize, tc.opts.RecordSize)
			}
			if rep.NodesReached != uint64(m.NodeCount) {
				t.Errorf("nodes reached %d of %d", rep.NodesReached, m.NodeCount)
			}
			c, md := censusV2(t, path)
			checkInspect(t, path, rep, c, md)
		})
	}
}

// TestInspectCyclicTree: a tree whose root's record points back at the
// root is an error naming the file and the search tree (inspect's other
// errors are testdata/script/inspect_usage.txtar).
func TestInspectCyclicTree(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.mmdb")
	writeKnownDB(t, good, format.WriterOptions{IPVersion: 4, RecordSize: 24})
	c := testutil.ReadFile(t, good)
	copy(c[0:3], []byte{0, 0, 0})
	cyclic := filepath.Join(dir, "cyclic.mmdb")
	if err := os.WriteFile(cyclic, c, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, "inspect", cyclic)
	if code != exitData || !strings.Contains(stderr, "cyclic.mmdb: search tree: ") {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitData, stderr)
	}
}
