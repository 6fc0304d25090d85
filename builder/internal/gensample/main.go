// Command gensample writes testdata/sample/, the inference results of the
// README's main job: three sources in three formats, generated
// deterministically (fixed seeds) from a small gazetteer.
//
//	go run ./builder/internal/gensample -out testdata/sample
//
// The files, as the papers in the seeds describe their models' output:
//
//   - bertgeo.csv: BertGeo, a global model: IPv4 /24s and IPv6 /48s in
//     13 cities, every depth of the 6-level hierarchy (country, province,
//     city, district, street, community), coordinates and an accuracy
//     radius that shrinks with depth, and two ranges per city.
//   - hmcgeo.jsonl.gz: HMCGeo, hierarchical multi-label classification:
//     a probability at every level, deep (district to community) in New
//     York, Los Angeles and Shanghai, in the "regions" array form; the
//     /24s of BertGeo again (the same networks, another source), /26s and
//     /28s nested inside them, IPv6 /56s inside BertGeo's /48s, ranges;
//     regions only, no coordinates.
//   - ip2vec.tsv.zst: IP2vec, street-level: single IPv4 addresses and
//     unaligned ranges inside BertGeo's /24s, IPv6 /64s and /128s, with
//     precise coordinates and small radii; no community columns.
//
// Confidences decrease with depth. Names are in the city's language
// (names_lang): Chinese, Russian, Arabic, Japanese, French, German,
// Portuguese, Spanish, English. No file gives a network twice.
// gensample reads every file back with builder.ReadFile before it exits.
package main

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ipatlas/ipatlas/builder"
	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/mmdbjson"
	"github.com/ipatlas/ipatlas/schema"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func main() {
	out := flag.String("out", "testdata/sample", "the directory to write the sample files into")
	flag.Parse()
	files, err := generate()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	for _, f := range files {
		path := filepath.Join(*out, f.name)
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			log.Fatal(err)
		}
		st, err := check(path)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d bytes, %d rows, %d networks\n", path, len(f.data), st.Rows, st.Networks)
	}
}

// file is one generated file.
type file struct {
	name string
	data []byte
}

// generate returns the sample files, compressed as their names say.
func generate() ([]file, error) {
	hmc, err := gzipped(hmcgeo())
	if err != nil {
		return nil, err
	}
	ip2, err := zstded(ip2vec())
	if err != nil {
		return nil, err
	}
	return []file{{"bertgeo.csv", bertgeo()}, {"hmcgeo.jsonl.gz", hmc}, {"ip2vec.tsv.zst", ip2}}, nil
}

// check reads a written file back and makes sure no network repeats.
func check(path string) (builder.Stats, error) {
	seen := map[netip.Prefix]int{}
	st, err := builder.ReadFile(path, builder.Options{}, func(p netip.Prefix, _ []byte, line int) error {
		if first, ok := seen[p]; ok {
			return fmt.Errorf("%s:%d: network %v already on line %d", path, line, p, first)
		}
		seen[p] = line
		return nil
	})
	st.Networks = len(seen)
	return st, err
}

func gzipped(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	w.Write(b)
	err = w.Close()
	return buf.Bytes(), err
}

func zstded(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedBetterCompression))
	if err != nil {
		return nil, err
	}
	w.Write(b)
	err = w.Close()
	return buf.Bytes(), err
}

// levels is the hierarchy of every sample file.
var levels = schema.DefaultLevels

// inference is one generated row.
type inference struct {
	network string
	p       *place
	depth   int        // levels given, 1 to 6
	path    [3]int     // district, street, community indices
	conf    [6]float64 // per level, decreasing
	hasLoc  bool
	lat     float64
	lon     float64
	acc     int // -1: none
	overall float64
	hasAll  bool
	source  string
	model   string
}

// name and code of level i.
func (in *inference) name(i int) string {
	p := in.p
	d := p.districts[in.path[0]]
	s := d.streets[in.path[1]]
	return [6]string{p.country, p.province, p.city, d.name, s.name, s.communities[in.path[2]]}[i]
}

func (in *inference) code(i int) string {
	switch i {
	case 0:
		return in.p.countryCode
	case 1:
		return in.p.provinceCode
	case 2:
		return in.p.cityCode
	}
	return ""
}

// gen draws the parts of rows that every source shares.
type gen struct {
	r      *rand.Rand
	source string
	model  string
}

// row returns a row for network in p, depth levels deep.
func (g *gen) row(network string, p *place, depth int, loc bool) inference {
	in := inference{network: network, p: p, depth: depth, acc: -1, source: g.source, model: g.model}
	d := g.r.IntN(len(p.districts))
	s := g.r.IntN(len(p.districts[d].streets))
	c := g.r.IntN(len(p.districts[d].streets[s].communities))
	in.path = [3]int{d, s, c}
	c0 := 0.9 + 0.09*g.r.Float64()
	for i := range depth {
		in.conf[i] = round(c0, 3)
		c0 *= 0.72 + 0.25*g.r.Float64()
	}
	if loc {
		spread := [6]float64{3, 1, 0.2, 0.05, 0.01, 0.004}[depth-1]
		in.hasLoc = true
		in.lat = round(p.lat+0.02*float64(d)+spread*(g.r.Float64()-0.5), 4)
		in.lon = round(p.lon-0.02*float64(s)+spread*(g.r.Float64()-0.5), 4)
		in.acc = [6]int{1000, 200, 50, 10, 5, 2}[depth-1] + g.r.IntN(5)
	}
	return in
}

func round(f float64, digits int) float64 {
	m := math.Pow(10, float64(digits))
	return math.Round(f*m) / m
}

func v4(p *place, c, d int) string {
	return fmt.Sprintf("%d.%d.%d.%d", p.v4[0], p.v4[1], c, d)
}

// v6 returns the address in the city's IPv6 space: site (0-255) in the
// low byte of the 3rd hextet, so a site is a /48, then the 4th to 8th
// hextets.
func v6(p *place, site uint16, h ...uint16) netip.Addr {
	var b [16]byte
	all := append([]uint16{p.v6[0], p.v6[1], p.v6[2] | site}, h...)
	for i, x := range all {
		b[2*i], b[2*i+1] = byte(x>>8), byte(x)
	}
	return netip.AddrFrom16(b)
}

// depth draws a depth from weights (weights[i] for depth i+1).
func (g *gen) depth(weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := g.r.IntN(total)
	for i, w := range weights {
		if x < w {
			return i + 1
		}
		x -= w
	}
	return len(weights)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// bertgeo is the BertGeo file: CSV with every column.
func bertgeo() []byte {
	g := &gen{r: rand.New(rand.NewPCG(2026, 1)), source: "bertgeo", model: "bertgeo-2026.11"}
	var rows []inference
	for i := range places {
		p := &places[i]
		for k := range 64 {
			in := g.row(v4(p, k, 0)+"/24", p, g.depth(5, 10, 35, 25, 15, 10), true)
			if g.r.IntN(2) == 0 {
				in.overall, in.hasAll = round(in.conf[in.depth-1]*(0.95+0.05*g.r.Float64()), 3), true
			}
			rows = append(rows, in)
		}
		for k := range 8 {
			rows = append(rows, g.row(netip.PrefixFrom(v6(p, uint16(k)), 48).String(), p, g.depth(10, 20, 40, 30), true))
		}
		rows = append(rows,
			g.row(v4(p, 200, 0)+"-"+v4(p, 201, 255), p, 3, true),
			g.row(v4(p, 202, 0)+"-"+v4(p, 203, 127), p, 2, true))
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(tableHeader(len(levels)))
	for _, in := range rows {
		overall := ""
		if in.hasAll {
			overall = ftoa(in.overall)
		}
		w.Write(in.cells(len(levels), overall))
	}
	w.Flush()
	return buf.Bytes()
}

// tableHeader is the header of a CSV or TSV file of the first n levels.
// Only the first three levels have codes (ISO 3166-1, ISO 3166-2, a
// national city code): no empty code columns for the others.
func tableHeader(n int) []string {
	header := []string{"network"}
	for i, l := range levels[:n] {
		if i < 3 {
			header = append(header, l, l+"_code", l+"_confidence")
		} else {
			header = append(header, l, l+"_confidence")
		}
	}
	return append(header, "latitude", "longitude", "accuracy_radius_km", "confidence", "source", "model_version", "names_lang")
}

// cells is the row of in under tableHeader(n), with overall in the
// confidence column.
func (in *inference) cells(n int, overall string) []string {
	rec := []string{in.network}
	for i := range n {
		switch {
		case i < 3 && i < in.depth:
			rec = append(rec, in.name(i), in.code(i), ftoa(in.conf[i]))
		case i < 3:
			rec = append(rec, "", "", "")
		case i < in.depth:
			rec = append(rec, in.name(i), ftoa(in.conf[i]))
		default:
			rec = append(rec, "", "")
		}
	}
	return append(rec, ftoa(in.lat), ftoa(in.lon), strconv.Itoa(in.acc), overall, in.source, in.model, in.p.lang)
}

// hmcgeo is the HMCGeo file: JSONL with a regions array, regions only.
func hmcgeo() []byte {
	g := &gen{r: rand.New(rand.NewPCG(2026, 2)), source: "hmcgeo", model: "hmcgeo-1.2"}
	deep := map[string]bool{"New York": true, "Los Angeles": true, "上海": true}
	var rows []inference
	for i := range places {
		p := &places[i]
		n24, n26, n28, n56 := 16, 2, 0, 4
		if deep[p.city] {
			n24, n26, n28, n56 = 32, 4, 4, 16
		}
		depth := func() int { return g.depth(0, 0, 5, 20, 35, 40) }
		for k := range n24 {
			rows = append(rows, g.row(v4(p, k, 0)+"/24", p, depth(), false))
			if k < n24/2 {
				for j := range n26 {
					rows = append(rows, g.row(v4(p, k, 64*j)+"/26", p, depth(), false))
				}
			}
			if k < n24/4 {
				for j := range n28 {
					rows = append(rows, g.row(v4(p, k, 16*j)+"/28", p, 6, false))
				}
			}
		}
		for j := range n56 {
			rows = append(rows, g.row(netip.PrefixFrom(v6(p, uint16(j%4), uint16(j/4)<<8), 56).String(), p, depth(), false))
		}
		rows = append(rows, g.row(v4(p, 100, 16)+"-"+v4(p, 100, 200), p, 5, false))
		if deep[p.city] {
			rows = append(rows, g.row(v4(p, 101, 0)+"-"+v4(p, 102, 63), p, 4, false))
		}
	}
	var buf bytes.Buffer
	for _, in := range rows {
		b := []byte(`{"network":`)
		b = mmdbjson.AppendJSON(b, format.String(in.network))
		b = append(b, `,"regions":[`...)
		for i := range in.depth {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"level":`...)
			b = mmdbjson.AppendJSON(b, format.String(levels[i]))
			if c := in.code(i); c != "" {
				b = append(b, `,"code":`...)
				b = mmdbjson.AppendJSON(b, format.String(c))
			}
			b = append(b, `,"name":`...)
			b = mmdbjson.AppendJSON(b, format.String(in.name(i)))
			b = append(b, `,"confidence":`...)
			b = append(b, ftoa(in.conf[i])...)
			b = append(b, '}')
		}
		b = append(b, `],"source":"hmcgeo","model_version":"hmcgeo-1.2","names_lang":`...)
		b = mmdbjson.AppendJSON(b, format.String(in.p.lang))
		b = append(b, "}\n"...)
		buf.Write(b)
	}
	return buf.Bytes()
}

// ip2vec is the IP2vec file: TSV down to the street, precise coordinates.
func ip2vec() []byte {
	g := &gen{r: rand.New(rand.NewPCG(2026, 3)), source: "ip2vec", model: "ip2vec-2025.3"}
	var rows []inference
	depth := func() int { return g.depth(0, 0, 0, 1, 4) }
	for i := range places {
		p := &places[i]
		for k := range 40 {
			rows = append(rows, g.row(v4(p, k, 1+g.r.IntN(254)), p, depth(), true))
		}
		for k := range 6 {
			rows = append(rows, g.row(v4(p, 40+k, 10)+"-"+v4(p, 40+k, 37), p, depth(), true))
		}
		for k := range 4 {
			for j := 1; j <= 3; j++ {
				rows = append(rows, g.row(netip.PrefixFrom(v6(p, uint16(k), uint16(j)), 64).String(), p, depth(), true))
			}
		}
		for k := range 4 {
			rows = append(rows, g.row(v6(p, uint16(k), 0x10, 0, 0, uint16(1+g.r.IntN(0xfffe))).String(), p, 5, true))
		}
	}
	var b strings.Builder
	b.WriteString(strings.Join(tableHeader(5), "\t") + "\n")
	for _, in := range rows {
		// Street level is precise: a radius of a few km.
		in.acc = 1 + g.r.IntN(5)
		b.WriteString(strings.Join(in.cells(5, ftoa(in.conf[in.depth-1])), "\t") + "\n")
	}
	return []byte(b.String())
}
