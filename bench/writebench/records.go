package main

import (
	"math"
	"net/netip"

	"github.com/ipatlas/ipatlas/bench/internal/synth"
)

// Hash streams.
const (
	streamPool = iota + 1
	streamRecord
	streamNetwork
	streamRun
	streamIPv6
	streamSample
)

// languages are the locales of the names in every record: four scripts
// (Latin, Cyrillic, Katakana, Han).
var languages = []string{"en", "ru", "ja", "zh-CN"}

// names maps a locale to a name.
type names [4]string

func (n names) value() map[string]any {
	m := make(map[string]any, len(languages))
	for i, l := range languages {
		m[l] = n[i]
	}
	return m
}

type continent struct {
	code  string
	names names
}

var continents = map[string]continent{
	"AF": {"AF", names{"Africa", "Африка", "アフリカ", "非洲"}},
	"AS": {"AS", names{"Asia", "Азия", "アジア", "亚洲"}},
	"EU": {"EU", names{"Europe", "Европа", "ヨーロッパ", "欧洲"}},
	"NA": {"NA", names{"North America", "Северная Америка", "北アメリカ", "北美洲"}},
	"OC": {"OC", names{"Oceania", "Океания", "オセアニア", "大洋洲"}},
	"SA": {"SA", names{"South America", "Южная Америка", "南アメリカ", "南美洲"}},
}

// syllables transliterate one syllable into the four scripts, so that a
// generated place has a name in each.
var syllables = [][4]string{
	{"ka", "ка", "カ", "卡"}, {"ki", "ки", "キ", "基"}, {"ku", "ку", "ク", "库"},
	{"to", "то", "ト", "托"}, {"ta", "та", "タ", "塔"}, {"na", "на", "ナ", "纳"},
	{"ni", "ни", "ニ", "尼"}, {"ma", "ма", "マ", "马"}, {"mi", "ми", "ミ", "米"},
	{"ra", "ра", "ラ", "拉"}, {"ri", "ри", "リ", "里"}, {"ro", "ро", "ロ", "罗"},
	{"sa", "са", "サ", "萨"}, {"shi", "ши", "シ", "希"}, {"no", "но", "ノ", "诺"},
	{"ha", "ха", "ハ", "哈"}, {"ya", "я", "ヤ", "亚"}, {"be", "бе", "ベ", "贝"},
	{"do", "до", "ド", "多"}, {"go", "го", "ゴ", "戈"}, {"se", "се", "セ", "塞"},
	{"wa", "ва", "ワ", "瓦"}, {"zu", "зу", "ズ", "祖"}, {"le", "ле", "レ", "勒"},
}

// placeName makes a name of 2 to 4 syllables from h, in every script.
func placeName(h uint64) names {
	var n names
	count := 2 + int(h%3)
	h /= 3
	for range count {
		s := syllables[h%uint64(len(syllables))]
		h /= uint64(len(syllables))
		for i := range n {
			n[i] += s[i]
		}
	}
	for i := range n {
		n[i] = synth.Capitalize(n[i])
	}
	return n
}

type province struct {
	country  int
	code     string
	names    names
	lat, lon float64
}

type city struct {
	province int
	names    names
	lat, lon float64
}

// pool holds the places records are drawn from: fewer than records, so
// that sub-values (country, province and city names) repeat across
// records as they do in real data.
type pool struct {
	provinces []province
	cities    []city
}

// newPool builds the places for seed (synth.Places), named in every
// script.
func newPool(seed uint64) *pool {
	provinces, cities := synth.Places(seed, streamPool)
	p := &pool{}
	for _, pr := range provinces {
		p.provinces = append(p.provinces, province{country: pr.Parent, code: pr.Code, names: placeName(pr.Name), lat: pr.Lat, lon: pr.Lon})
	}
	for _, c := range cities {
		p.cities = append(p.cities, city{province: c.Parent, names: placeName(c.Name), lat: c.Lat, lon: c.Lon})
	}
	return p
}

// round2 rounds a confidence to two decimals, as models report them.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

var (
	sources        = []string{"bertgeo", "hmcgeo", "ip2vec", "landmark", "traceroute"}
	modelVersions  = []string{"2026-09", "2026-10", "2026-11"}
	accuracyRadius = []uint16{1, 5, 10, 20, 50, 100, 200, 500, 1000}
	districtWords  = []string{"District", "Ward", "Quarter"}
)

// record generates record number r for seed, shaped like an ipatlas city
// record (SPEC.md "Record schema"). The value is a tree of map[string]any,
// []any, string, uint16 and float64. Records differ from one another
// (their locations are distinct); their places come from the pool, so
// names and whole sub-maps repeat. Depth varies: 5% country only, 10%
// down to province, 60% to city, 25% to a district.
func (p *pool) record(seed uint64, r int) map[string]any {
	h := func(k uint64) uint64 { return synth.Hash(seed, streamRecord, uint64(r)<<8|k) }
	// The first cities (and so countries) come up more often.
	u := synth.Unit(h(1))
	cityIdx := int(u * u * float64(len(p.cities)))
	ci := p.cities[cityIdx]
	pr := p.provinces[ci.province]
	co := synth.Countries[pr.country]
	cont := continents[co.Continent]
	coNames := names(co.Names)

	depth := synth.Depth(h(2)) // 1 country, 2 province, 3 city, 4 district
	conf := make([]float64, depth)
	c := 0.80 + 0.2*synth.Unit(h(3))
	for i := range conf {
		conf[i] = round2(c)
		c *= 0.75 + 0.25*synth.Unit(h(4+uint64(i)))
	}

	lat, lon := co.Lat, co.Lon
	switch depth {
	case 2:
		lat, lon = pr.lat, pr.lon
	case 3, 4:
		lat, lon = ci.lat, ci.lon
	}
	// A unique offset per record number keeps all records distinct.
	lat = synth.Clamp(lat+float64(r%1000-500)*1e-4, -90, 90)
	lon = synth.WrapLon(lon + float64(r/1000%1000-500)*1e-4)

	regions := []any{map[string]any{
		"level": "country", "code": co.Code, "name": coNames[0], "confidence": conf[0],
	}}
	rec := map[string]any{
		"continent": map[string]any{"code": cont.code, "names": cont.names.value()},
		"country": map[string]any{
			"iso_code": co.Code, "names": coNames.value(), "confidence": uint16(math.Round(conf[0] * 100)),
		},
		"location": map[string]any{
			"latitude": lat, "longitude": lon,
			"accuracy_radius": accuracyRadius[min(len(accuracyRadius)-1, int(h(10)%3)+3*(4-depth))],
		},
	}
	if depth >= 2 {
		rec["subdivisions"] = []any{map[string]any{
			"iso_code": pr.code, "names": pr.names.value(), "confidence": uint16(math.Round(conf[1] * 100)),
		}}
		regions = append(regions, map[string]any{
			"level": "province", "code": pr.code, "name": pr.names[0], "confidence": conf[1],
		})
	}
	if depth >= 3 {
		rec["city"] = map[string]any{"names": ci.names.value(), "confidence": uint16(math.Round(conf[2] * 100))}
		regions = append(regions, map[string]any{"level": "city", "name": ci.names[0], "confidence": conf[2]})
	}
	if depth >= 4 {
		d := h(11) % 8 // eight districts per city
		name := placeName(synth.Hash(seed, streamPool, 1<<40|uint64(cityIdx)<<3|d))[0] + " " + districtWords[d%uint64(len(districtWords))]
		regions = append(regions, map[string]any{"level": "district", "name": name, "confidence": conf[3]})
	}
	rec["ipatlas"] = map[string]any{
		"regions":       regions,
		"confidence":    conf[depth-1],
		"source":        sources[h(12)%uint64(len(sources))],
		"model_version": modelVersions[h(13)%uint64(len(modelVersions))],
	}
	return rec
}

// Network layout.
const (
	allIPv4 = 1 << 24 // every IPv4 /24
	runLen  = 16      // /24s in a run of equal records
)

// ipv4Record is the record number of the i-th /24: a hash, so that
// neighbours mostly differ, except that one block of runLen /24s in ten
// shares a record (so the writers have siblings to merge).
func ipv4Record(seed uint64, i, records int) int {
	b := uint64(i / runLen)
	if synth.Hash(seed, streamRun, b)%10 == 0 {
		return int(synth.Hash(seed, streamRun, b|1<<40) % uint64(records))
	}
	return int(synth.Hash(seed, streamNetwork, uint64(i)) % uint64(records))
}

// ipv4Prefix is the i-th /24.
func ipv4Prefix(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 0}), 24)
}

// The IPv6 /48s are spread over 2000::/3 less 2001::/32 (Teredo, which
// mmdbwriter aliases to IPv4) and 2002::/16 (6to4, aliased by both), in
// /48 units counted from 2000::.
const (
	v6Slots      = 1<<45 - 1<<16 - 1<<32
	teredoStart  = 1 << 32 // 2001::/32
	teredoLen    = 1 << 16
	sixToFourOff = 1 << 33 // 2002::/16
	sixToFourLen = 1 << 32
)

// ipv6Prefix is the k-th of n /48s: one in each of n equal stretches of
// the allowed space, at a seeded place in its stretch, so the sequence is
// sorted.
func ipv6Prefix(seed uint64, k, n int) netip.Prefix {
	step := uint64(v6Slots) / uint64(n)
	slot := uint64(k)*step + synth.Hash(seed, streamIPv6, uint64(k))%step
	if slot >= teredoStart {
		slot += teredoLen
	}
	if slot >= sixToFourOff {
		slot += sixToFourLen
	}
	top := 0x2000<<32 | slot // the first 48 bits
	var b [16]byte
	for i := range 6 {
		b[i] = byte(top >> (40 - 8*i))
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), 48)
}

// ipv6Record is the record number of the k-th /48.
func ipv6Record(seed uint64, k, records int) int {
	return int(synth.Hash(seed, streamNetwork, uint64(allIPv4+k)) % uint64(records))
}
