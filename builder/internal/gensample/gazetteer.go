package main

// place is a city with its full region hierarchy, names in the local
// language (namesLang), the addresses the sample gives it, and a few
// districts, each with streets, each with communities.
type place struct {
	lang                   string
	country, countryCode   string
	province, provinceCode string
	city, cityCode         string
	lat, lon               float64
	v4                     [2]byte // the city's IPv4 /16
	v6                     [4]uint16
	districts              []district
}

type district struct {
	name    string
	streets []street
}

type street struct {
	name        string
	communities []string
}

// places are the sample's cities: Chinese, Cyrillic, Arabic, Japanese and
// Latin names with accents.
var places = []place{
	{"zh-CN", "中国", "CN", "上海市", "CN-SH", "上海", "310100", 31.2304, 121.4737, [2]byte{36, 96}, [4]uint16{0x240e, 0x0381, 0x0100, 0},
		[]district{
			{"浦东新区", []street{{"陆家嘴街道", []string{"梅园社区", "崂山社区"}}, {"花木街道", []string{"联洋社区", "东方社区"}}}},
			{"徐汇区", []street{{"徐家汇街道", []string{"汇翠社区", "乐山社区"}}}},
		}},
	{"zh-CN", "中国", "CN", "北京市", "CN-BJ", "北京", "110100", 39.9042, 116.4074, [2]byte{36, 112}, [4]uint16{0x240e, 0x0381, 0x0200, 0},
		[]district{
			{"海淀区", []street{{"中关村街道", []string{"科学院社区", "黄庄社区"}}}},
			{"朝阳区", []street{{"建外街道", []string{"永安里社区"}}}},
		}},
	{"ru", "Россия", "RU", "Москва", "RU-MOW", "Москва", "", 55.7558, 37.6173, [2]byte{5, 18}, [4]uint16{0x2a00, 0x1fa0, 0x0100, 0},
		[]district{
			{"Тверской район", []street{{"Тверская улица", []string{"Тверской квартал", "Камергерский квартал"}}}},
			{"Хамовники", []street{{"улица Льва Толстого", []string{"Хамовнический квартал"}}}},
		}},
	{"ru", "Россия", "RU", "Санкт-Петербург", "RU-SPE", "Санкт-Петербург", "", 59.9343, 30.3351, [2]byte{5, 19}, [4]uint16{0x2a00, 0x1fa0, 0x0200, 0},
		[]district{
			{"Центральный район", []street{{"Невский проспект", []string{"Литейный округ", "Дворцовый округ"}}}},
		}},
	{"ar", "مصر", "EG", "القاهرة", "EG-C", "القاهرة", "", 30.0444, 31.2357, [2]byte{41, 32}, [4]uint16{0x2c0f, 0xfc88, 0x0100, 0},
		[]district{
			{"مدينة نصر", []street{{"شارع عباس العقاد", []string{"الحي السابع", "الحي الثامن"}}}},
			{"الزمالك", []street{{"شارع 26 يوليو", []string{"حي الزمالك"}}}},
		}},
	{"fr", "France", "FR", "Île-de-France", "FR-IDF", "Paris", "75056", 48.8566, 2.3522, [2]byte{90, 84}, [4]uint16{0x2a01, 0xcb00, 0x0100, 0},
		[]district{
			{"1er arrondissement", []street{{"Rue de Rivoli", []string{"Saint-Germain-l'Auxerrois", "Les Halles"}}}},
			{"5e arrondissement", []street{{"Rue Mouffetard", []string{"Jardin des Plantes", "Val-de-Grâce"}}}},
		}},
	{"fr", "France", "FR", "Auvergne-Rhône-Alpes", "FR-ARA", "Lyon", "69123", 45.7640, 4.8357, [2]byte{90, 85}, [4]uint16{0x2a01, 0xcb00, 0x0200, 0},
		[]district{
			{"2e arrondissement", []street{{"Rue de la République", []string{"Bellecour", "Ainay"}}}},
		}},
	{"de", "Deutschland", "DE", "Bayern", "DE-BY", "München", "09162000", 48.1351, 11.5820, [2]byte{84, 128}, [4]uint16{0x2003, 0x00e1, 0x0100, 0},
		[]district{
			{"Schwabing-West", []street{{"Leopoldstraße", []string{"Schwabing", "Münchner Freiheit"}}}},
			{"Maxvorstadt", []street{{"Türkenstraße", []string{"Universität"}}}},
		}},
	{"en", "United States", "US", "New York", "US-NY", "New York", "", 40.7128, -74.0060, [2]byte{23, 240}, [4]uint16{0x2600, 0x1700, 0x0100, 0},
		[]district{
			{"Manhattan", []street{{"Broadway", []string{"SoHo", "Tribeca"}}, {"Fifth Avenue", []string{"Midtown"}}}},
			{"Brooklyn", []street{{"Atlantic Avenue", []string{"Boerum Hill", "Cobble Hill"}}}},
		}},
	{"en", "United States", "US", "California", "US-CA", "Los Angeles", "", 34.0522, -118.2437, [2]byte{23, 241}, [4]uint16{0x2600, 0x1700, 0x0200, 0},
		[]district{
			{"Hollywood", []street{{"Sunset Boulevard", []string{"East Hollywood", "Sunset Square"}}}},
			{"Downtown", []street{{"Spring Street", []string{"Historic Core", "Gallery Row"}}}},
		}},
	{"pt-BR", "Brasil", "BR", "São Paulo", "BR-SP", "São Paulo", "3550308", -23.5505, -46.6333, [2]byte{177, 10}, [4]uint16{0x2804, 0x014c, 0x0100, 0},
		[]district{
			{"Pinheiros", []street{{"Rua dos Pinheiros", []string{"Jardim América", "Vila Madalena"}}}},
		}},
	{"ja", "日本", "JP", "東京都", "JP-13", "東京", "13101", 35.6762, 139.6503, [2]byte{126, 72}, [4]uint16{0x2400, 0x4050, 0x0100, 0},
		[]district{
			{"千代田区", []street{{"丸の内", []string{"丸の内一丁目", "丸の内二丁目"}}}},
			{"渋谷区", []street{{"道玄坂", []string{"道玄坂二丁目"}}}},
		}},
	{"es", "España", "ES", "Comunidad de Madrid", "ES-MD", "Madrid", "28079", 40.4168, -3.7038, [2]byte{88, 20}, [4]uint16{0x2a0c, 0x5a80, 0x0100, 0},
		[]district{
			{"Salamanca", []street{{"Calle de Serrano", []string{"Recoletos", "Castellana"}}}},
		}},
}
