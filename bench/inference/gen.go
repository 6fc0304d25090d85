package inference

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"

	"github.com/ipatlas/ipatlas/bench/internal/synth"
	"github.com/ipatlas/ipatlas/internal/atomicfile"
	"github.com/klauspost/compress/gzip"
)

// Hash streams.
const (
	streamPool = iota + 1
	streamCombo
	streamRow
	streamRun
	streamIPv6
	streamSample
)

// syllables spell one syllable in each script; a place name is 2 to 4 of
// them, in the script of its country.
var syllables = [][5]string{
	{"ka", "ка", "カ", "卡", "카"}, {"ki", "ки", "キ", "基", "키"}, {"ku", "ку", "ク", "库", "쿠"},
	{"to", "то", "ト", "托", "토"}, {"ta", "та", "タ", "塔", "타"}, {"na", "на", "ナ", "纳", "나"},
	{"ni", "ни", "ニ", "尼", "니"}, {"ma", "ма", "マ", "马", "마"}, {"mi", "ми", "ミ", "米", "미"},
	{"ra", "ра", "ラ", "拉", "라"}, {"ri", "ри", "リ", "里", "리"}, {"ro", "ро", "ロ", "罗", "로"},
	{"sa", "са", "サ", "萨", "사"}, {"shi", "ши", "シ", "希", "시"}, {"no", "но", "ノ", "诺", "노"},
	{"ha", "ха", "ハ", "哈", "하"}, {"ya", "я", "ヤ", "亚", "야"}, {"be", "бе", "ベ", "贝", "베"},
	{"do", "до", "ド", "多", "도"}, {"go", "го", "ゴ", "戈", "고"}, {"se", "се", "セ", "塞", "세"},
	{"wa", "ва", "ワ", "瓦", "와"}, {"zu", "зу", "ズ", "祖", "주"}, {"lé", "ле", "レ", "勒", "레"},
}

// placeName makes a name of 2 to 4 syllables from h in script.
func placeName(h uint64, script int) string {
	var s string
	count := 2 + int(h%3)
	h /= 3
	for range count {
		s += syllables[h%uint64(len(syllables))][script]
		h /= uint64(len(syllables))
	}
	return synth.Capitalize(s)
}

type province struct {
	country  int
	code     string
	name     string
	lat, lon float64
}

type city struct {
	province int
	name     string
	lat, lon float64
}

// pool holds the places the combinations draw from: far fewer than the
// combinations, so that names repeat across records as in real data.
type pool struct {
	provinces []province
	cities    []city
	// districts memoizes the district names of per-address rows.
	districts map[uint64]string
}

// newPool builds the places of seed (synth.Places), named in the
// script of their country.
func newPool(seed uint64) *pool {
	provinces, cities := synth.Places(seed, streamPool)
	p := &pool{}
	for _, pr := range provinces {
		p.provinces = append(p.provinces, province{
			country: pr.Parent, code: pr.Code, name: placeName(pr.Name, synth.Countries[pr.Parent].Script), lat: pr.Lat, lon: pr.Lon,
		})
	}
	for _, c := range cities {
		p.cities = append(p.cities, city{
			province: c.Parent, name: placeName(c.Name, synth.Countries[provinces[c.Parent].Parent].Script), lat: c.Lat, lon: c.Lon,
		})
	}
	return p
}

// fixed rounds x to prec decimals the way the input file writes it, so
// that what a reader decodes equals the returned value exactly.
func fixed(x float64, prec int) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', prec, 64), 64)
	return f
}

var (
	sources       = []string{"bertgeo", "hmcgeo", "ip2vec", "landmark", "traceroute"}
	accuracyKm    = []int{1, 5, 10, 20, 50, 100, 200, 500, 1000}
	districtWords = []string{"District", "Ward", "Quarter"}
)

// combo is one distinct (country, province, city, district, coordinates,
// confidences) combination: what a row says about its network.
type combo struct {
	depth    int // 1 country, 2 province, 3 city, 4 district
	country  *synth.Country
	province *province // nil when depth < 2
	city     *city     // nil when depth < 3
	district string    // "" when depth < 4
	conf     [4]float64
	lat, lon float64
	accuracy int
	source   string
}

// confidence is the overall confidence: the deepest level's.
func (c *combo) confidence() float64 { return c.conf[c.depth-1] }

// combo returns combination k of seed (see draw) with coordinates the
// deepest place's plus an offset unique to k (below a million
// combinations).
func (p *pool) combo(seed uint64, k int) combo {
	h := func(i uint64) uint64 { return synth.Hash(seed, streamCombo, uint64(k)<<8|i) }
	c, cityIdx, lat, lon := p.draw(synth.Unit(h(1)), synth.Depth(h(3)), sources[h(2)%uint64(len(sources))], h, func(x float64) float64 { return fixed(x, 2) })
	if c.depth >= 4 {
		c.district = districtName(seed, cityIdx, h(10)%8, c.country.Script)
	}
	c.lat = fixed(synth.Clamp(lat+float64(k%1000-500)*1e-4, -90, 90), 4)
	c.lon = fixed(synth.WrapLon(lon+float64(k/1000%1000-500)*1e-4), 4)
	c.accuracy = accuracyKm[min(len(accuracyKm)-1, int(h(11)%3)+2*(4-c.depth))]
	return c
}

// draw returns a combination down to depth (synth.Depth) of the city
// drawn by u (the first cities come up more often), the index of that
// city and the point of its deepest place. Confidence decreases with
// depth: the first from h(4), each next one lower by a factor drawn by
// h(5+level), each kept as round gives it. The caller names a district
// (districtName) and sets the coordinates and the accuracy.
func (p *pool) draw(u float64, depth int, source string, h func(uint64) uint64, round func(float64) float64) (c combo, cityIdx int, lat, lon float64) {
	cityIdx = int(u * u * float64(len(p.cities)))
	ci := &p.cities[cityIdx]
	pr := &p.provinces[ci.province]
	co := &synth.Countries[pr.country]
	c = combo{depth: depth, country: co, source: source}
	x := 0.80 + 0.2*synth.Unit(h(4))
	for i := range c.depth {
		c.conf[i] = round(x)
		x *= 0.75 + 0.25*synth.Unit(h(5+uint64(i)))
	}
	lat, lon = co.Lat, co.Lon
	if c.depth >= 2 {
		c.province = pr
		lat, lon = pr.lat, pr.lon
	}
	if c.depth >= 3 {
		c.city = ci
		lat, lon = ci.lat, ci.lon
	}
	return c, cityIdx, lat, lon
}

// districtName names district d (0 to 7) of city cityIdx of seed's pool.
func districtName(seed uint64, cityIdx int, d uint64, script int) string {
	return placeName(synth.Hash(seed, streamPool, 1<<40|uint64(cityIdx)<<3|d), script) + " " + districtWords[d%uint64(len(districtWords))]
}

// csvHeader is the header of the CSV input.
const csvHeader = "network,country,country_code,country_confidence,province,province_code,province_confidence," +
	"city,city_confidence,district,district_confidence,latitude,longitude,accuracy_radius_km,confidence,source\n"

// appendCSV appends the cells of c after the network (with the leading
// comma) and the end of line.
func (c *combo) appendCSV(b []byte) []byte { return c.appendCSVPrec(b, 4) }

// appendCSVPrec is appendCSV with coordinates at prec decimals.
func (c *combo) appendCSVPrec(b []byte, prec int) []byte {
	// Each level's name, its code (country and province only) and its
	// confidence (empty below the depth).
	names := [4]string{c.country.Native, "", "", c.district}
	codes := [2]string{c.country.Code, ""}
	if c.province != nil {
		names[1], codes[1] = c.province.name, c.province.code
	}
	if c.city != nil {
		names[2] = c.city.name
	}
	b = append(b, ',')
	for i, name := range names {
		b = appendCSVField(b, name)
		b = append(b, ',')
		if i < len(codes) {
			b = append(b, codes[i]...)
			b = append(b, ',')
		}
		if i < c.depth {
			b = strconv.AppendFloat(b, c.conf[i], 'f', 2, 64)
		}
		b = append(b, ',')
	}
	b = strconv.AppendFloat(b, c.lat, 'f', prec, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, c.lon, 'f', prec, 64)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(c.accuracy), 10)
	b = append(b, ',')
	b = strconv.AppendFloat(b, c.confidence(), 'f', 2, 64)
	b = append(b, ',')
	b = append(b, c.source...)
	return append(b, '\n')
}

// appendCSVField appends s, quoted if it needs to be (RFC 4180).
func appendCSVField(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r' {
			b = append(b, '"')
			for j := 0; j < len(s); j++ {
				if s[j] == '"' {
					b = append(b, '"')
				}
				b = append(b, s[j])
			}
			return append(b, '"')
		}
	}
	return append(b, s...)
}

// appendJSON appends the members of c's JSON object after the network
// (with the leading comma), the closing brace and the end of line, in
// SPEC.md's "regions" form.
func (c *combo) appendJSON(b []byte) []byte { return c.appendJSONPrec(b, 4) }

// appendJSONPrec is appendJSON with coordinates at prec decimals.
func (c *combo) appendJSONPrec(b []byte, prec int) []byte {
	region := func(b []byte, i int, level, code, name string) []byte {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"level":"`...)
		b = append(b, level...)
		b = append(b, '"')
		if code != "" {
			b = append(b, `,"code":`...)
			b = appendJSONString(b, code)
		}
		b = append(b, `,"name":`...)
		b = appendJSONString(b, name)
		b = append(b, `,"confidence":`...)
		b = strconv.AppendFloat(b, c.conf[i], 'f', 2, 64)
		return append(b, '}')
	}
	b = append(b, `,"regions":[`...)
	b = region(b, 0, "country", c.country.Code, c.country.Native)
	if c.province != nil {
		b = region(b, 1, "province", c.province.code, c.province.name)
	}
	if c.city != nil {
		b = region(b, 2, "city", "", c.city.name)
	}
	if c.district != "" {
		b = region(b, 3, "district", "", c.district)
	}
	b = append(b, `],"latitude":`...)
	b = strconv.AppendFloat(b, c.lat, 'f', prec, 64)
	b = append(b, `,"longitude":`...)
	b = strconv.AppendFloat(b, c.lon, 'f', prec, 64)
	b = append(b, `,"accuracy_radius_km":`...)
	b = strconv.AppendInt(b, int64(c.accuracy), 10)
	b = append(b, `,"confidence":`...)
	b = strconv.AppendFloat(b, c.confidence(), 'f', 2, 64)
	b = append(b, `,"source":`...)
	b = appendJSONString(b, c.source)
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string (s is valid UTF-8).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '"' || ch == '\\':
			b = append(b, '\\', ch)
		case ch < 0x20:
			b = fmt.Appendf(b, `\u%04x`, ch)
		default:
			b = append(b, ch)
		}
	}
	return append(b, '"')
}

// Network layout.
const (
	AllIPv4 = 1 << 24 // every IPv4 /24
	runLen  = 16      // /24s in a run of equal combinations
	// v6Slots is the number of /48s in 2000::/3 less 2002::/16 (6to4,
	// which compile aliases to IPv4), counted from 2000::.
	v6Slots      = 1<<45 - sixToFourLen
	sixToFourOff = 1 << 33 // 2002::/16, in /48s from 2000::
	sixToFourLen = 1 << 32
)

// Config is what the generator and the checker agree on.
type Config struct {
	Seed      uint64 // seed of everything generated
	IPv4Count int    // rows for the first IPv4Count /24s (at most AllIPv4)
	IPv6      int    // /48 rows after them
	Combos    int    // distinct combinations of regions, coordinates and confidences
	// PerAddress generates per-address rows instead (see
	// addressPrefix): IPv4Count /32s, then IPv6 /64s, almost every
	// record distinct; Combos is not used.
	PerAddress bool
}

// Validate checks the generator settings; the error names the flag of
// buildbench that sets the wrong one.
func (c Config) Validate() error {
	if c.PerAddress {
		return synth.CheckCounts(c.IPv4Count, MaxPerAddressIPv4, " per-address rows", c.IPv6)
	}
	if c.Combos < 1 || c.Combos > 1_000_000 {
		return fmt.Errorf("-combos %d: want 1 to 1000000", c.Combos)
	}
	return synth.CheckCounts(c.IPv4Count, AllIPv4, "", c.IPv6)
}

// MaxPerAddressIPv4 is the most per-address IPv4 rows (64 of each /24
// from 1.0.0.0 up to 64.0.0.0).
const MaxPerAddressIPv4 = 63 << 24 / 4

// Rows is the number of rows of the input.
func (c Config) Rows() int { return c.IPv4Count + c.IPv6 }

// ipv4Combo is the combination of the i-th /24: a hash, so that
// neighbours mostly differ, except that one aligned run of runLen /24s in
// ten shares one (so compile has siblings to merge).
func (c Config) ipv4Combo(i int) int {
	b := uint64(i / runLen)
	if synth.Hash(c.Seed, streamRun, b)%10 == 0 {
		return int(synth.Hash(c.Seed, streamRun, b|1<<40) % uint64(c.Combos))
	}
	return int(synth.Hash(c.Seed, streamRow, uint64(i)) % uint64(c.Combos))
}

// ipv6Combo is the combination of the k-th /48.
func (c Config) ipv6Combo(k int) int {
	return int(synth.Hash(c.Seed, streamRow, uint64(AllIPv4+k)) % uint64(c.Combos))
}

// ipv4Prefix is the i-th /24.
func ipv4Prefix(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 0}), 24)
}

// ipv6Prefix is the k-th of the n /48s: one in each of n equal stretches
// of 2000::/3 less 2002::/16, at a seeded place in its stretch, so the
// sequence is in address order.
func (c Config) ipv6Prefix(k int) netip.Prefix {
	step := uint64(v6Slots) / uint64(c.IPv6)
	slot := uint64(k)*step + synth.Hash(c.Seed, streamIPv6, uint64(k))%step
	if slot >= sixToFourOff {
		slot += sixToFourLen
	}
	top := uint64(0x2000)<<32 | slot // the first 48 bits
	var b [16]byte
	for i := range 6 {
		b[i] = byte(top >> (40 - 8*i))
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), 48)
}

// eachRow calls fn for every row in address order (IPv4 first) with its
// network and combination number.
func (c Config) eachRow(fn func(p netip.Prefix, combo int) error) error {
	for i := range c.IPv4Count {
		if err := fn(ipv4Prefix(i), c.ipv4Combo(i)); err != nil {
			return err
		}
	}
	for k := range c.IPv6 {
		if err := fn(c.ipv6Prefix(k), c.ipv6Combo(k)); err != nil {
			return err
		}
	}
	return nil
}

// texts holds the text of every combination after the network, CSV and
// JSONL, in two flat buffers: memory bounded by the number of
// combinations, not of rows.
type texts struct {
	csv, json       []byte
	csvOff, jsonOff []int // combination k is buf[off[k]:off[k+1]]
}

func newTexts(c Config) *texts {
	p := newPool(c.Seed)
	t := &texts{csvOff: make([]int, 1, c.Combos+1), jsonOff: make([]int, 1, c.Combos+1)}
	for k := range c.Combos {
		cb := p.combo(c.Seed, k)
		t.csv = cb.appendCSV(t.csv)
		t.json = cb.appendJSON(t.json)
		t.csvOff = append(t.csvOff, len(t.csv))
		t.jsonOff = append(t.jsonOff, len(t.json))
	}
	return t
}

// writeCSV writes the CSV input, header and rows, to w. It streams: it
// allocates nothing per row.
func (c Config) writeCSV(w io.Writer, t *texts) error {
	if c.PerAddress {
		return c.writeAddressRows(w, false)
	}
	if _, err := io.WriteString(w, csvHeader); err != nil {
		return err
	}
	line := make([]byte, 0, 512)
	return c.eachRow(func(p netip.Prefix, k int) error {
		line = p.AppendTo(line[:0])
		line = append(line, t.csv[t.csvOff[k]:t.csvOff[k+1]]...)
		_, err := w.Write(line)
		return err
	})
}

// writeJSONL writes the JSONL input to w. It streams: it allocates
// nothing per row.
func (c Config) writeJSONL(w io.Writer, t *texts) error {
	if c.PerAddress {
		return c.writeAddressRows(w, true)
	}
	line := make([]byte, 0, 1024)
	return c.eachRow(func(p netip.Prefix, k int) error {
		line = append(line[:0], `{"network":"`...)
		line = p.AppendTo(line)
		line = append(line, '"')
		line = append(line, t.json[t.jsonOff[k]:t.jsonOff[k+1]]...)
		_, err := w.Write(line)
		return err
	})
}

// GenResult says what Generate wrote.
type GenResult struct {
	Rows                int   // rows in each file
	CSVBytes, JSONBytes int64 // sizes of the compressed files
}

// Generate writes the input as gzip CSV to csvPath and, unless jsonPath
// is empty, as gzip JSONL to jsonPath (each written to a temporary file,
// then renamed), the two at once. level is the gzip level (1 fastest to 9
// smallest). It streams: memory does not grow with the number of rows.
func Generate(c Config, csvPath, jsonPath string, level int) (GenResult, error) {
	if err := c.Validate(); err != nil {
		return GenResult{}, err
	}
	var t *texts
	if !c.PerAddress {
		t = newTexts(c)
	}
	res := GenResult{Rows: c.Rows()}
	type done struct {
		n   int64
		err error
	}
	ch := make(chan done, 1)
	go func() {
		if jsonPath == "" {
			ch <- done{}
			return
		}
		n, err := writeGzip(jsonPath, level, func(w io.Writer) error { return c.writeJSONL(w, t) })
		ch <- done{n, err}
	}()
	n, err := writeGzip(csvPath, level, func(w io.Writer) error { return c.writeCSV(w, t) })
	d := <-ch
	if err != nil {
		return res, err
	}
	if d.err != nil {
		return res, d.err
	}
	res.CSVBytes, res.JSONBytes = n, d.n
	return res, nil
}

// writeGzip writes what fill writes, gzip-compressed at level, to a
// temporary file renamed to path when complete, and returns its size.
func writeGzip(path string, level int, fill func(w io.Writer) error) (n int64, err error) {
	err = atomicfile.Write(path, func(f io.Writer) error {
		fb := bufio.NewWriterSize(f, 1<<20)
		zw, err := gzip.NewWriterLevel(fb, level)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(zw, 1<<20)
		if err := fill(w); err != nil {
			return err
		}
		for _, step := range []func() error{w.Flush, zw.Close, fb.Flush} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("gen: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("gen: %w", err)
	}
	return fi.Size(), nil
}
