package compile

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ipatlas/ipatlas/format"
)

// slowLanguages is the reference of nameLanguages: the record decoded
// into Values, walked the obvious way.
func slowLanguages(t *testing.T, recs [][]byte) []string {
	t.Helper()
	set := map[string]bool{}
	var walk func(v format.Value, names bool)
	walk = func(v format.Value, names bool) {
		switch v := v.(type) {
		case format.Map:
			for k, x := range v {
				if names {
					set[k] = true
					continue
				}
				walk(x, k == "names")
			}
		case format.Slice:
			for _, x := range v {
				walk(x, false)
			}
		}
	}
	for _, r := range recs {
		v, _, err := format.NewDecoder(r).Value(0)
		if err != nil {
			t.Fatal(err)
		}
		walk(v, false)
	}
	out := []string{}
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// randomValue makes a value with "names" keys at any depth, holding maps,
// arrays and scalars.
func randomValue(r *rand.Rand, depth int) format.Value {
	keys := []string{"names", "city", "en", "zh-CN", "de", "x", "names2", "nam"}
	switch k := r.IntN(8); {
	case depth > 4 || k < 3:
		switch r.IntN(4) {
		case 0:
			return format.String(keys[r.IntN(len(keys))])
		case 1:
			return format.Float64(r.Float64())
		case 2:
			return format.Uint32(r.Uint32())
		}
		return format.Bool(r.IntN(2) == 0)
	case k < 6:
		m := format.Map{}
		for range r.IntN(5) {
			m[keys[r.IntN(len(keys))]+string(rune('a' + r.IntN(3)))[:r.IntN(2)]] = randomValue(r, depth+1)
		}
		return m
	default:
		var s format.Slice
		for range r.IntN(4) {
			s = append(s, randomValue(r, depth+1))
		}
		return s
	}
}

func TestNameLanguagesMatchesDecoding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		var recs [][]byte
		var l nameLanguages
		for i := range 1 + r.IntN(5) {
			v := format.Map{"names": format.Map{"en": format.String("A"), "ru": format.String("Б")}}
			if round > 0 {
				v = format.Map{"x": randomValue(r, 0), "names": randomValue(r, 0)}
			}
			b, err := format.AppendValue(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, b)
			l.add(format.RecordID(i), b)
		}
		if got, want := l.list(), slowLanguages(t, recs); !slices.Equal(got, want) {
			t.Fatalf("round %d: languages %q, want %q (records %x)", round, got, want, recs)
		}
	}
	var l nameLanguages
	b, _ := format.AppendValue(nil, format.Map{"names": format.Map{"fr": format.String("x")}})
	l.add(3, b)
	l.add(2, mustAppend(t, format.Map{"names": format.Map{"ja": format.String("x")}})) // an id met before: skipped
	if got := l.list(); !slices.Equal(got, []string{"fr"}) {
		t.Errorf("languages %q, want [fr]", got)
	}
}

func mustAppend(t *testing.T, v format.Value) []byte {
	t.Helper()
	b, err := format.AppendValue(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNameLanguagesAllocs(t *testing.T) {
	rec := mustAppend(t, format.Map{"city": format.Map{"names": format.Map{"en": format.String("Paris"), "fr": format.String("Paris")}},
		"country": format.Map{"names": format.Map{"en": format.String("France")}}})
	var l nameLanguages
	l.add(0, rec)
	id := format.RecordID(1)
	if n := testing.AllocsPerRun(100, func() { l.add(id, rec); id++ }); n != 0 {
		t.Errorf("add of a record with known locales: %v allocations, want 0", n)
	}
}
