package main

import (
	"math"
	"net/netip"
	"unicode"
	"unicode/utf8"
)

// mix is the splitmix64 finalizer: a cheap, well-spread 64-bit hash.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash2 hashes a value under a seed and a stream tag, so that different
// uses of one seed draw independent numbers.
func hash2(seed, stream, v uint64) uint64 {
	return mix(seed ^ mix(stream<<56^v))
}

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

type country struct {
	code, continent string
	names           names
	lat, lon        float64
}

// countries is the pool records draw from, the first ones more often.
var countries = []country{
	{"CN", "AS", names{"China", "Китай", "中国", "中国"}, 35, 105},
	{"US", "NA", names{"United States", "США", "アメリカ合衆国", "美国"}, 39, -98},
	{"JP", "AS", names{"Japan", "Япония", "日本", "日本"}, 36, 138},
	{"DE", "EU", names{"Germany", "Германия", "ドイツ連邦共和国", "德国"}, 51, 9},
	{"RU", "EU", names{"Russia", "Россия", "ロシア", "俄罗斯"}, 60, 100},
	{"IN", "AS", names{"India", "Индия", "インド", "印度"}, 21, 78},
	{"BR", "SA", names{"Brazil", "Бразилия", "ブラジル", "巴西"}, -10, -55},
	{"GB", "EU", names{"United Kingdom", "Великобритания", "イギリス", "英国"}, 54, -2},
	{"FR", "EU", names{"France", "Франция", "フランス共和国", "法国"}, 46, 2},
	{"KR", "AS", names{"South Korea", "Республика Корея", "大韓民国", "韩国"}, 36, 128},
	{"ID", "AS", names{"Indonesia", "Индонезия", "インドネシア", "印度尼西亚"}, -5, 120},
	{"CA", "NA", names{"Canada", "Канада", "カナダ", "加拿大"}, 60, -95},
	{"AU", "OC", names{"Australia", "Австралия", "オーストラリア", "澳大利亚"}, -25, 135},
	{"MX", "NA", names{"Mexico", "Мексика", "メキシコ", "墨西哥"}, 23, -102},
	{"NG", "AF", names{"Nigeria", "Нигерия", "ナイジェリア", "尼日利亚"}, 10, 8},
	{"EG", "AF", names{"Egypt", "Египет", "エジプト", "埃及"}, 27, 30},
	{"ZA", "AF", names{"South Africa", "ЮАР", "南アフリカ", "南非"}, -29, 24},
	{"AR", "SA", names{"Argentina", "Аргентина", "アルゼンチン", "阿根廷"}, -34, -64},
	{"IT", "EU", names{"Italy", "Италия", "イタリア共和国", "意大利"}, 42.8, 12.8},
	{"ES", "EU", names{"Spain", "Испания", "スペイン", "西班牙"}, 40, -4},
	{"TR", "AS", names{"Turkey", "Турция", "トルコ", "土耳其"}, 39, 35},
	{"VN", "AS", names{"Vietnam", "Вьетнам", "ベトナム", "越南"}, 16, 106},
	{"UA", "EU", names{"Ukraine", "Украина", "ウクライナ", "乌克兰"}, 49, 32},
	{"PL", "EU", names{"Poland", "Польша", "ポーランド共和国", "波兰"}, 52, 20},
	{"NZ", "OC", names{"New Zealand", "Новая Зеландия", "ニュージーランド", "新西兰"}, -41, 174},
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
		n[i] = capitalize(n[i])
	}
	return n
}

func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
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

// newPool builds the places for seed: 8 to 27 provinces per country and
// 5 to 44 cities per province.
func newPool(seed uint64) *pool {
	p := &pool{}
	var n uint64
	next := func() uint64 { n++; return hash2(seed, streamPool, n) }
	for ci, c := range countries {
		np := 8 + int(next()%20)
		for pi := range np {
			h := next()
			pr := province{
				country: ci,
				code:    c.code + "-" + string(rune('A'+pi/26)) + string(rune('A'+pi%26)),
				names:   placeName(h),
				lat:     clamp(c.lat+unit(next())*10-5, -89, 89),
				lon:     wrapLon(c.lon + unit(next())*16 - 8),
			}
			p.provinces = append(p.provinces, pr)
			nc := 5 + int(next()%40)
			for range nc {
				p.cities = append(p.cities, city{
					province: len(p.provinces) - 1,
					names:    placeName(next()),
					lat:      clamp(pr.lat+unit(next())*3-1.5, -89.5, 89.5),
					lon:      wrapLon(pr.lon + unit(next())*4 - 2),
				})
			}
		}
	}
	return p
}

// unit maps h to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

func wrapLon(x float64) float64 {
	if x > 180 {
		return x - 360
	}
	if x < -180 {
		return x + 360
	}
	return x
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
	h := func(k uint64) uint64 { return hash2(seed, streamRecord, uint64(r)<<8|k) }
	// The first cities (and so countries) come up more often.
	u := unit(h(1))
	cityIdx := int(u * u * float64(len(p.cities)))
	ci := p.cities[cityIdx]
	pr := p.provinces[ci.province]
	co := countries[pr.country]
	cont := continents[co.continent]

	depth := 4 // 1 country, 2 province, 3 city, 4 district
	switch d := h(2) % 100; {
	case d < 5:
		depth = 1
	case d < 15:
		depth = 2
	case d < 75:
		depth = 3
	}
	conf := make([]float64, depth)
	c := 0.80 + 0.2*unit(h(3))
	for i := range conf {
		conf[i] = round2(c)
		c *= 0.75 + 0.25*unit(h(4+uint64(i)))
	}

	lat, lon := co.lat, co.lon
	switch depth {
	case 2:
		lat, lon = pr.lat, pr.lon
	case 3, 4:
		lat, lon = ci.lat, ci.lon
	}
	// A unique offset per record number keeps all records distinct.
	lat = clamp(lat+float64(r%1000-500)*1e-4, -90, 90)
	lon = wrapLon(lon + float64(r/1000%1000-500)*1e-4)

	regions := []any{map[string]any{
		"level": "country", "code": co.code, "name": co.names[0], "confidence": conf[0],
	}}
	rec := map[string]any{
		"continent": map[string]any{"code": cont.code, "names": cont.names.value()},
		"country": map[string]any{
			"iso_code": co.code, "names": co.names.value(), "confidence": uint16(math.Round(conf[0] * 100)),
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
		name := placeName(hash2(seed, streamPool, 1<<40|uint64(cityIdx)<<3|d))[0] + " " + districtWords[d%uint64(len(districtWords))]
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
	if hash2(seed, streamRun, b)%10 == 0 {
		return int(hash2(seed, streamRun, b|1<<40) % uint64(records))
	}
	return int(hash2(seed, streamNetwork, uint64(i)) % uint64(records))
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
	slot := uint64(k)*step + hash2(seed, streamIPv6, uint64(k))%step
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
	return int(hash2(seed, streamNetwork, uint64(allIPv4+k)) % uint64(records))
}
