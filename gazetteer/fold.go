package gazetteer

import (
	"strings"
	"unicode"
)

// foldTable maps lower-case Latin letters with diacritics to their base
// letters: the Latin-1 Supplement, Latin Extended-A and the letters of
// Latin Extended-B and Additional that place names use most.
var foldTable = func() map[rune]string {
	m := map[rune]string{}
	for base, letters := range map[string]string{
		"a":  "àáâãäåāăąǎǟǡǻȁȃȧạảấầẩẫậắằẳẵặ",
		"c":  "çćĉċč",
		"d":  "ďđḍ",
		"e":  "èéêëēĕėęěȅȇȩẹẻẽếềểễệ",
		"g":  "ĝğġģǧǵ",
		"h":  "ĥħḥ",
		"i":  "ìíîïĩīĭįıǐȉȋịỉ",
		"j":  "ĵǰ",
		"k":  "ķǩ",
		"l":  "ĺļľŀł",
		"n":  "ñńņňŉǹṇ",
		"o":  "òóôõöøōŏőơǒǫǭǿȍȏȫȭȯȱọỏốồổỗộớờởỡợ",
		"r":  "ŕŗřȑȓṛ",
		"s":  "śŝşšșṣ",
		"t":  "ţťŧțṭ",
		"u":  "ùúûüũūŭůűųưǔǖǘǚǜȕȗụủứừửữự",
		"w":  "ŵẁẃẅ",
		"y":  "ýÿŷȳỳỵỷỹ",
		"z":  "źżžẓ",
		"ae": "æǣǽ", "oe": "œ", "ss": "ß", "th": "þ", "dh": "ð",
	} {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()

// Fold returns name folded for comparison: lower case, Latin diacritics
// removed (é is e, ß is ss, ł is l), combining marks dropped, hyphens,
// apostrophes and runs of spaces made one space, and trimmed. Names that
// differ only in these ways fold equal: "São Paulo" and "sao paulo",
// "Saint-Étienne" and "Saint Etienne".
func Fold(name string) string {
	var b strings.Builder
	space := false
	for _, r := range name {
		r = unicode.ToLower(r)
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == '-' || r == '\'' || r == '’' || r == '‘' || r == '`' || unicode.IsSpace(r):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if s, ok := foldTable[r]; ok {
			b.WriteString(s)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
