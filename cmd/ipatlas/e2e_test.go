package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/klauspost/compress/zstd"
)

// e2eRow is one generated inference row and what any reader must answer
// for the addresses it wins.
type e2eRow struct {
	file    int
	network string         // as written: CIDR, address or range
	cidrs   []netip.Prefix // the network split by the test's own code
	country string
	city    string
	conf    float64
	source  string
}

var e2eCountries = []struct{ code, name, province, city string }{
	{"CN", "China", "上海市", "上海"},
	{"RU", "Russia", "Москва", "Москва"},
	{"EG", "Egypt", "محافظة القاهرة", "القاهرة"},
	{"IN", "India", "महाराष्ट्र", "मुंबई"},
	{"FR", "France", "Bourgogne-Franche-Comté", "Besançon"},
	{"US", "United States", "New York", "New York"},
}

func provinceOf(code string) string {
	for _, c := range e2eCountries {
		if c.code == code {
			return c.province
		}
	}
	return ""
}

// rangeCIDRs splits [first, last] into CIDRs: the test's own slow split,
// one address at a time widened while it stays aligned and inside.
func rangeCIDRs(first, last netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for {
		bits := first.BitLen()
		for bits > 0 {
			p := netip.PrefixFrom(first, bits-1)
			if p.Masked().Addr() != first || testutil.LastAddr(p).Compare(last) > 0 {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(first, bits)
		out = append(out, p)
		if testutil.LastAddr(p) == last {
			return out
		}
		first = testutil.LastAddr(p).Next()
	}
}

// e2eNetwork draws a network inside a few small clusters, so that rows of
// different files overlap and nest.
func e2eNetwork(rng *rand.Rand) (text string, cidrs []netip.Prefix) {
	clusters := []netip.Prefix{
		netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("2001:db8:5::/48"),
	}
	c := clusters[rng.IntN(len(clusters))]
	bits := c.Addr().BitLen()
	rnd := func() netip.Addr {
		b := c.Addr().AsSlice()
		for i := c.Bits(); i < bits; i++ {
			if rng.IntN(2) == 1 {
				b[i/8] |= 0x80 >> (i % 8)
			}
		}
		a, _ := netip.AddrFromSlice(b)
		return a
	}
	switch rng.IntN(4) {
	case 0: // a single address
		a := rnd()
		return a.String(), []netip.Prefix{netip.PrefixFrom(a, bits)}
	case 1: // an inclusive range
		a, b := rnd(), rnd()
		if b.Less(a) {
			a, b = b, a
		}
		if c.Addr().Is6() { // keep IPv6 ranges short
			b = a
			for range rng.IntN(300) {
				if n := b.Next(); c.Contains(n) {
					b = n
				}
			}
		}
		return a.String() + "-" + b.String(), rangeCIDRs(a, b)
	default:
		l := c.Bits() + rng.IntN(bits-c.Bits()+1)
		if c.Addr().Is6() {
			l = max(l, 100)
		}
		p := netip.PrefixFrom(rnd(), l).Masked()
		return p.String(), []netip.Prefix{p}
	}
}

// writeInput writes rows in one of the input formats, compressed as the
// name's extension says.
func writeInput(t *testing.T, path string, rows []e2eRow) {
	t.Helper()
	var buf bytes.Buffer
	name := strings.TrimSuffix(strings.TrimSuffix(path, ".gz"), ".zst")
	switch filepath.Ext(name) {
	case ".csv", ".tsv":
		sep := ","
		if filepath.Ext(name) == ".tsv" {
			sep = "\t"
		}
		fmt.Fprintln(&buf, strings.Join([]string{"network", "country", "country_code", "country_confidence", "province", "province_confidence", "city", "city_confidence", "confidence", "source"}, sep))
		for _, r := range rows {
			fmt.Fprintln(&buf, strings.Join([]string{r.network, countryName(r.country), r.country, "0.99", provinceOf(r.country), "0.8", r.city, "0.5",
				strconv.FormatFloat(r.conf, 'g', -1, 64), r.source}, sep))
		}
	case ".jsonl":
		for _, r := range rows {
			line, _ := json.Marshal(map[string]any{
				"network": r.network,
				"regions": []map[string]any{
					{"level": "country", "code": r.country, "name": countryName(r.country), "confidence": 0.99},
					{"level": "province", "name": provinceOf(r.country), "confidence": 0.8},
					{"level": "city", "name": r.city, "confidence": 0.5},
				},
				"confidence": r.conf,
				"source":     r.source,
			})
			buf.Write(line)
			buf.WriteByte('\n')
		}
	default:
		t.Fatalf("no format for %s", path)
	}
	data := buf.Bytes()
	switch filepath.Ext(path) {
	case ".gz":
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(data)
		w.Close()
		data = z.Bytes()
	case ".zst":
		w, _ := zstd.NewWriter(nil)
		data = w.EncodeAll(data, nil)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func countryName(code string) string {
	for _, c := range e2eCountries {
		if c.code == code {
			return c.name
		}
	}
	return ""
}

// e2eOracle answers an address by brute force: of the rows whose CIDRs
// hold it, the most specific CIDR wins, then the later file.
func e2eOracle(rows []e2eRow, a netip.Addr) *e2eRow {
	var best *e2eRow
	bestBits := -1
	for i := range rows {
		r := &rows[i]
		for _, p := range r.cidrs {
			if p.Contains(a) && (p.Bits() > bestBits || p.Bits() == bestBits && r.file > best.file) {
				best, bestBits = r, p.Bits()
			}
		}
	}
	return best
}

// e2eAnswer is what a reader says for an address.
type e2eAnswer struct {
	Found   bool    `json:"found"`
	Source  string  `json:"source"`
	Conf    float64 `json:"confidence"`
	Country string  `json:"country"`
	City    string  `json:"city"`
}

func (a e2eAnswer) matches(r *e2eRow) bool {
	if r == nil {
		return !a.Found
	}
	return a.Found && a.Source == r.source && math.Abs(a.Conf-r.conf) < 1e-6 && a.Country == r.country && a.City == r.city
}

const pythonLookup = `
import json, sys, maxminddb
db = maxminddb.open_database(sys.argv[1], maxminddb.MODE_MMAP)
for line in sys.stdin:
    r = db.get(line.strip())
    if r is None:
        print(json.dumps({"found": False}))
        continue
    print(json.dumps({"found": True, "source": r["ipatlas"]["source"], "confidence": r["ipatlas"]["confidence"],
        "country": r["country"]["iso_code"], "city": r["city"]["names"]["en"]}, ensure_ascii=False))
`

func pythonAnswers(t *testing.T, db string, addrs []netip.Addr) []e2eAnswer {
	t.Helper()
	var in bytes.Buffer
	for _, a := range addrs {
		fmt.Fprintln(&in, a)
	}
	cmd := exec.Command("/usr/bin/python3", "-c", pythonLookup, db)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3-maxminddb: %v", err)
	}
	var answers []e2eAnswer
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var a e2eAnswer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("python3-maxminddb printed %q: %v", sc.Text(), err)
		}
		answers = append(answers, a)
	}
	if len(answers) != len(addrs) {
		t.Fatalf("python3-maxminddb answered %d of %d addresses", len(answers), len(addrs))
	}
	return answers
}

func mmdblookupAnswer(t *testing.T, db string, a netip.Addr) e2eAnswer {
	src, _, found := mmdblookupAt(t, db, a, "ipatlas", "source")
	if !found {
		return e2eAnswer{}
	}
	conf, _, _ := mmdblookupAt(t, db, a, "ipatlas", "confidence")
	country, _, _ := mmdblookupAt(t, db, a, "country", "iso_code")
	city, _, _ := mmdblookupAt(t, db, a, "city", "names", "en")
	c, err := strconv.ParseFloat(conf.Text, 64)
	if err != nil {
		t.Fatalf("mmdblookup confidence %q: %v", conf.Text, err)
	}
	return e2eAnswer{Found: true, Source: src.Text, Conf: c, Country: country.Text, City: city.Text}
}

// TestBuildEndToEnd builds one database from nine inputs, one per format
// and compression, whose networks overlap across files and nest inside
// them, and checks every answer of two outside readers against a
// brute-force oracle.
func TestBuildEndToEnd(t *testing.T) {
	testutil.Python(t)
	testutil.Mmdblookup(t)
	seed := uint64(20261123)
	if s := os.Getenv("IPATLAS_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set IPATLAS_SEED to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()
	var inputs []string
	var rows []e2eRow
	for f, ext := range []string{"csv", "tsv", "jsonl", "csv.gz", "tsv.gz", "jsonl.gz", "csv.zst", "tsv.zst", "jsonl.zst"} {
		seen := map[netip.Prefix]bool{}
		var fileRows []e2eRow
		for len(fileRows) < 60 {
			text, cidrs := e2eNetwork(rng)
			dup := false
			for _, p := range cidrs {
				dup = dup || seen[p]
			}
			if dup {
				continue // a file may not hold one network twice
			}
			for _, p := range cidrs {
				seen[p] = true
			}
			c := e2eCountries[rng.IntN(len(e2eCountries))]
			fileRows = append(fileRows, e2eRow{
				file: f, network: text, cidrs: cidrs, country: c.code, city: c.city,
				conf: float64(rng.IntN(1000)) / 1000, source: fmt.Sprintf("model%d", f),
			})
		}
		path := filepath.Join(dir, fmt.Sprintf("in%d.%s", f, ext))
		writeInput(t, path, fileRows)
		inputs = append(inputs, path)
		rows = append(rows, fileRows...)
	}
	db := filepath.Join(dir, "city.mmdb")
	if _, stderr, code := runCLI(t, append([]string{"build", "--out", db}, inputs...)...); code != 0 {
		t.Fatalf("build failed (%d):\n%s", code, stderr)
	}
	// Probe the edges of every network and random addresses in the clusters.
	var addrs []netip.Addr
	for _, r := range rows {
		for _, p := range r.cidrs {
			addrs = append(addrs, p.Addr(), testutil.LastAddr(p))
			if a := p.Addr().Prev(); a.IsValid() {
				addrs = append(addrs, a)
			}
			if a := testutil.LastAddr(p).Next(); a.IsValid() {
				addrs = append(addrs, a)
			}
		}
	}
	for range 1000 {
		_, cidrs := e2eNetwork(rng)
		addrs = append(addrs, cidrs[0].Addr())
	}
	py := pythonAnswers(t, db, addrs)
	bad := 0
	for i, a := range addrs {
		want := e2eOracle(rows, a)
		if !py[i].matches(want) {
			bad++
			if bad <= 10 {
				t.Errorf("python3-maxminddb: %s answered %+v, oracle says %+v", a, py[i], want)
			}
		}
	}
	// libmaxminddb runs once per value: check a seeded sample.
	for i := 0; i < 150; i++ {
		a := addrs[rng.IntN(len(addrs))]
		want := e2eOracle(rows, a)
		if got := mmdblookupAnswer(t, db, a); !got.matches(want) {
			t.Errorf("mmdblookup: %s answered %+v, oracle says %+v", a, got, want)
		}
	}
	t.Logf("%d rows in 9 files, %d addresses checked with python3-maxminddb, 150 with mmdblookup", len(rows), len(addrs))
}
