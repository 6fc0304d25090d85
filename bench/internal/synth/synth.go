// Package synth holds what the benchmark input generators
// (bench/inference, bench/writebench) share: a seeded hash, the countries
// and the pool of provinces and cities their records are drawn from, and
// the draw of a record's depth.
//
// Invariant: everything is a pure function of its arguments, so a seed
// gives the same inputs byte for byte on every run and machine (the
// figures in bench/*.md name their seeds).
package synth

import (
	"fmt"
	"math"
	"unicode"
	"unicode/utf8"
)

// Mix is the splitmix64 finalizer: a cheap, well-spread 64-bit hash.
func Mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Hash hashes v under a seed and a stream tag, so that the different uses
// of one seed draw independent numbers.
func Hash(seed, stream, v uint64) uint64 { return Mix(seed ^ Mix(stream<<56^v)) }

// Unit maps h to [0, 1).
func Unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// Clamp limits x to [lo, hi].
func Clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// WrapLon brings a longitude up to 360 degrees out of range back into
// [-180, 180].
func WrapLon(x float64) float64 {
	switch {
	case x > 180:
		return x - 360
	case x < -180:
		return x + 360
	}
	return x
}

// Capitalize upper-cases the first letter of s.
func Capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}

// Scripts of the countries' own names.
const (
	Latin = iota
	Cyrillic
	Katakana
	Han
	Hangul
)

// Country is a country of the pool.
type Country struct {
	Code, Continent string
	// Native is its name in its own script.
	Native string
	Script int
	// Names are its names in en, ru, ja and zh-CN.
	Names    [4]string
	Lat, Lon float64
}

// Countries are the countries places are drawn from, the first ones
// more often.
var Countries = []Country{
	{"CN", "AS", "中国", Han, [4]string{"China", "Китай", "中国", "中国"}, 35, 105},
	{"US", "NA", "United States", Latin, [4]string{"United States", "США", "アメリカ合衆国", "美国"}, 39, -98},
	{"JP", "AS", "日本", Katakana, [4]string{"Japan", "Япония", "日本", "日本"}, 36, 138},
	{"DE", "EU", "Deutschland", Latin, [4]string{"Germany", "Германия", "ドイツ連邦共和国", "德国"}, 51, 9},
	{"RU", "EU", "Россия", Cyrillic, [4]string{"Russia", "Россия", "ロシア", "俄罗斯"}, 60, 100},
	{"IN", "AS", "India", Latin, [4]string{"India", "Индия", "インド", "印度"}, 21, 78},
	{"BR", "SA", "Brasil", Latin, [4]string{"Brazil", "Бразилия", "ブラジル", "巴西"}, -10, -55},
	{"GB", "EU", "United Kingdom", Latin, [4]string{"United Kingdom", "Великобритания", "イギリス", "英国"}, 54, -2},
	{"FR", "EU", "France", Latin, [4]string{"France", "Франция", "フランス共和国", "法国"}, 46, 2},
	{"KR", "AS", "대한민국", Hangul, [4]string{"South Korea", "Республика Корея", "大韓民国", "韩国"}, 36, 128},
	{"ID", "AS", "Indonesia", Latin, [4]string{"Indonesia", "Индонезия", "インドネシア", "印度尼西亚"}, -5, 120},
	{"CA", "NA", "Canada", Latin, [4]string{"Canada", "Канада", "カナダ", "加拿大"}, 60, -95},
	{"AU", "OC", "Australia", Latin, [4]string{"Australia", "Австралия", "オーストラリア", "澳大利亚"}, -25, 135},
	{"MX", "NA", "México", Latin, [4]string{"Mexico", "Мексика", "メキシコ", "墨西哥"}, 23, -102},
	{"NG", "AF", "Nigeria", Latin, [4]string{"Nigeria", "Нигерия", "ナイジェリア", "尼日利亚"}, 10, 8},
	{"EG", "AF", "Egypt", Latin, [4]string{"Egypt", "Египет", "エジプト", "埃及"}, 27, 30},
	{"ZA", "AF", "South Africa", Latin, [4]string{"South Africa", "ЮАР", "南アフリカ", "南非"}, -29, 24},
	{"AR", "SA", "Argentina", Latin, [4]string{"Argentina", "Аргентина", "アルゼンチン", "阿根廷"}, -34, -64},
	{"IT", "EU", "Italia", Latin, [4]string{"Italy", "Италия", "イタリア共和国", "意大利"}, 42.8, 12.8},
	{"ES", "EU", "España", Latin, [4]string{"Spain", "Испания", "スペイン", "西班牙"}, 40, -4},
	{"TR", "AS", "Türkiye", Latin, [4]string{"Turkey", "Турция", "トルコ", "土耳其"}, 39, 35},
	{"VN", "AS", "Việt Nam", Latin, [4]string{"Vietnam", "Вьетнам", "ベトナム", "越南"}, 16, 106},
	{"UA", "EU", "Україна", Cyrillic, [4]string{"Ukraine", "Украина", "ウクライナ", "乌克兰"}, 49, 32},
	{"PL", "EU", "Polska", Latin, [4]string{"Poland", "Польша", "ポーランド共和国", "波兰"}, 52, 20},
	{"NZ", "OC", "New Zealand", Latin, [4]string{"New Zealand", "Новая Зеландия", "ニュージーランド", "新西兰"}, -41, 174},
}

// Place is a province or a city of the pool.
type Place struct {
	// Parent is the index of a province's country in Countries, or of a
	// city's province in the provinces.
	Parent int
	// Code is a province's ISO 3166-2-like code (its country's, a dash,
	// two letters); "" for a city.
	Code string
	// Name is the hash the place is named by.
	Name     uint64
	Lat, Lon float64
}

// Places draws the pool of seed from stream: 8 to 27 provinces per
// country, 5 to 44 cities per province (about 11,000 cities), each
// province near its country's point and each city near its province's.
func Places(seed, stream uint64) (provinces, cities []Place) {
	var n uint64
	next := func() uint64 { n++; return Hash(seed, stream, n) }
	for ci, c := range Countries {
		np := 8 + int(next()%20)
		for pi := range np {
			pr := Place{
				Parent: ci,
				Code:   c.Code + "-" + string(rune('A'+pi/26)) + string(rune('A'+pi%26)),
				Name:   next(),
				Lat:    Clamp(c.Lat+Unit(next())*10-5, -89, 89),
				Lon:    WrapLon(c.Lon + Unit(next())*16 - 8),
			}
			provinces = append(provinces, pr)
			nc := 5 + int(next()%40)
			for range nc {
				cities = append(cities, Place{
					Parent: len(provinces) - 1,
					Name:   next(),
					Lat:    Clamp(pr.Lat+Unit(next())*3-1.5, -89.5, 89.5),
					Lon:    WrapLon(pr.Lon + Unit(next())*4 - 2),
				})
			}
		}
	}
	return provinces, cities
}

// Depth draws how deep a record goes from h: 1 (the country) for 5% of
// the values, 2 (the province) for 10%, 3 (the city) for 60%, 4 (a
// district) for 25%.
func Depth(h uint64) int {
	switch d := h % 100; {
	case d < 5:
		return 1
	case d < 15:
		return 2
	case d < 75:
		return 3
	}
	return 4
}

// CheckCounts checks a generator's -ipv4-count (0 to maxIPv4, counted in
// what: "" for networks) and -ipv6 (0 to 2^30) flags.
func CheckCounts(ipv4, maxIPv4 int, what string, ipv6 int) error {
	switch {
	case ipv4 < 0 || ipv4 > maxIPv4:
		return fmt.Errorf("-ipv4-count %d: want 0 to %d%s", ipv4, maxIPv4, what)
	case ipv6 < 0 || ipv6 > 1<<30:
		return fmt.Errorf("-ipv6 %d: want 0 to %d", ipv6, 1<<30)
	}
	return nil
}
