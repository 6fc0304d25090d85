package mmdbjson

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ipatlas/ipatlas/format"
)

// TestJSONHandWorked checks AppendJSON against JSON text written by hand
// from the rules in json.go, and ParseJSON of that text back.
func TestJSONHandWorked(t *testing.T) {
	tests := []struct {
		name string
		v    format.Value
		json string
	}{
		{"string", format.String("Shanghai"), `"Shanghai"`},
		{"string chinese", format.String("上海"), `"上海"`},
		{"string escapes", format.String("a\"b\\c\n\t\r\x01"), `"a\"b\\c\n\t\r\u0001"`},
		{"empty string", format.String(""), `""`},
		{"true", format.Bool(true), `true`},
		{"false", format.Bool(false), `false`},
		{"uint32", format.Uint32(5), `5`},
		{"uint32 zero", format.Uint32(0), `0`},
		{"uint32 max", format.Uint32(math.MaxUint32), `4294967295`},
		{"uint16", format.Uint16(5), `{"$type":"uint16","value":5}`},
		{"uint64 small", format.Uint64(5), `{"$type":"uint64","value":5}`},
		{"uint64 big", format.Uint64(1 << 32), `4294967296`},
		{"uint64 max", format.Uint64(math.MaxUint64), `18446744073709551615`},
		{"uint128 small", format.Uint128{Lo: 7}, `{"$type":"uint128","value":"7"}`},
		{"uint128 2^64", format.Uint128{Hi: 1}, `18446744073709551616`},
		{"uint128 max", format.Uint128{Hi: math.MaxUint64, Lo: math.MaxUint64}, `340282366920938463463374607431768211455`},
		{"uint128 10^38", format.Uint128{Hi: 0x4b3b4ca85a86c47a, Lo: 0x098a224000000000}, `100000000000000000000000000000000000000`},
		{"int32 negative", format.Int32(-5), `-5`},
		{"int32 min", format.Int32(math.MinInt32), `-2147483648`},
		{"int32 positive", format.Int32(5), `{"$type":"int32","value":5}`},
		{"int32 zero", format.Int32(0), `{"$type":"int32","value":0}`},
		{"double fraction", format.Float64(31.22), `31.22`},
		{"double integral", format.Float64(5), `{"$type":"double","value":5}`},
		{"double negative integral", format.Float64(-5), `{"$type":"double","value":-5}`},
		{"double minus zero", format.Float64(math.Copysign(0, -1)), `{"$type":"double","value":-0}`},
		{"double exponent", format.Float64(1e21), `1e+21`},
		{"double small", format.Float64(1e-7), `1e-07`},
		{"double NaN", format.Float64(math.NaN()), `{"$type":"double","value":"NaN"}`},
		{"double +Inf", format.Float64(math.Inf(1)), `{"$type":"double","value":"+Inf"}`},
		{"double -Inf", format.Float64(math.Inf(-1)), `{"$type":"double","value":"-Inf"}`},
		{"float", format.Float32(1.5), `{"$type":"float","value":1.5}`},
		{"float shortest", format.Float32(0.1), `{"$type":"float","value":0.1}`},
		{"float NaN", format.Float32(float32(math.NaN())), `{"$type":"float","value":"NaN"}`},
		{"bytes", format.Bytes{0, 1, 2}, `{"$type":"bytes","value":"AAEC"}`},
		{"bytes empty", format.Bytes{}, `{"$type":"bytes","value":""}`},
		{"map empty", format.Map{}, `{}`},
		{"map sorted", format.Map{"b": format.Uint32(1), "a": format.String("x")}, `{"a":"x","b":1}`},
		{"map with $type", format.Map{"$type": format.String("x")}, `{"$type":"map","value":{"$type":"x"}}`},
		{"map with value", format.Map{"value": format.Uint32(1)}, `{"value":1}`},
		{"array", format.Slice{format.Uint32(1), format.String("a"), format.Slice{}}, `[1,"a",[]]`},
		{"record", format.Map{
			"country":  format.Map{"iso_code": format.String("CN"), "confidence": format.Uint16(98)},
			"location": format.Map{"latitude": format.Float64(31.22), "longitude": format.Float64(121), "accuracy_radius": format.Uint16(5)},
		}, `{"country":{"confidence":{"$type":"uint16","value":98},"iso_code":"CN"},` +
			`"location":{"accuracy_radius":{"$type":"uint16","value":5},"latitude":31.22,"longitude":{"$type":"double","value":121}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendJSON(nil, tt.v))
			if got != tt.json {
				t.Errorf("AppendJSON = %s\nwant          %s", got, tt.json)
			}
			back, err := ParseJSON([]byte(tt.json))
			if err != nil {
				t.Fatalf("ParseJSON(%s): %v", tt.json, err)
			}
			if !format.Equal(back, tt.v) {
				t.Errorf("ParseJSON(%s) = %#v, want %#v", tt.json, back, tt.v)
			}
		})
	}
}

// TestParseJSONAccepts lists JSON that AppendJSON never writes but
// ParseJSON reads, with the value it must give.
func TestParseJSONAccepts(t *testing.T) {
	tests := []struct {
		json string
		want format.Value
	}{
		{` 5 `, format.Uint32(5)},
		{`5.0`, format.Float64(5)},
		{`5e0`, format.Float64(5)},
		{`-0`, format.Int32(0)},
		{`-0.0`, format.Float64(math.Copysign(0, -1))},
		{`1E2`, format.Float64(100)},
		{`{"$type":"uint32","value":5}`, format.Uint32(5)},
		{`{"value":5,"$type":"uint16"}`, format.Uint16(5)},
		{`{"$type":"double","value":-5000000000}`, format.Float64(-5e9)},
		{`{"$type":"double","value":"+Inf"}`, format.Float64(math.Inf(1))},
		{`{"$type":"uint64","value":18446744073709551615}`, format.Uint64(math.MaxUint64)},
		{`{"$type":"uint128","value":"0"}`, format.Uint128{}},
		{`{"$type":"map","value":{}}`, format.Map{}},
		{`{"$type":"map","value":{"value":{"$type":"uint16","value":1}}}`, format.Map{"value": format.Uint16(1)}},
		{`"\u4e0a\u6d77"`, format.String("上海")},
		{`"\ud83d\ude00\/"`, format.String("😀/")},
		{`"\b\f"`, format.String("\b\f")},
		{"[ 1 , 2 ]\n", format.Slice{format.Uint32(1), format.Uint32(2)}},
		{`{"a":{"value":[1]}}`, format.Map{"a": format.Map{"value": format.Slice{format.Uint32(1)}}}},
		{`4294967296`, format.Uint64(1 << 32)},
		{`18446744073709551616`, format.Uint128{Hi: 1}},
		{`{"$type":"float","value":3.4028234663852886e38}`, format.Float32(math.MaxFloat32)},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			got, err := ParseJSON([]byte(tt.json))
			if err != nil {
				t.Fatalf("ParseJSON: %v", err)
			}
			if !format.Equal(got, tt.want) {
				t.Fatalf("ParseJSON = %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestParseJSONErrors checks that bad JSON is rejected at the right offset
// with a message that says what is wrong.
func TestParseJSONErrors(t *testing.T) {
	tests := []struct {
		name   string
		json   string
		offset int
		msg    string
	}{
		{"empty", ``, 0, "unexpected end of input"},
		{"array missing comma", `[1 2]`, 3, "unexpected '2' in array, want ',' or ']'"},
		{"array unclosed", `[1`, 2, "unexpected end of input in array"},
		{"array closed by brace", `[1}`, 2, "unexpected '}' in array, want ',' or ']'"},
		{"object missing comma", `{"a":1 "b":2}`, 7, "unexpected '\"' in object, want ',' or '}'"},
		{"object unclosed", `{"a":1`, 6, "unexpected end of input in object"},
		{"object closed by bracket", `{"a":1]`, 6, "unexpected ']' in object, want ',' or '}'"},
		{"object empty then junk", `{ x}`, 2, "unexpected 'x' in object, want a key"},
		{"trailing", `1 2`, 2, "data after the value"},
		{"trailing object", `{}x`, 2, "data after the value"},
		{"null", `null`, 0, "null has no MMDB type"},
		{"null in map", `{"a":null}`, 5, "null has no MMDB type"},
		{"bad literal", `tru`, 0, "bad literal"},
		{"leading zero", `01`, 1, "data after the value"},
		{"plus sign", `+1`, 0, "unexpected '+'"},
		{"bare dot", `1.`, 2, "want a digit after '.'"},
		{"bare exponent", `1e`, 2, "want a digit in the exponent"},
		{"int32 underflow", `-2147483649`, 0, "does not fit in int32"},
		{"uint128 overflow", `340282366920938463463374607431768211456`, 0, "does not fit in uint128"},
		{"double overflow", `1e400`, 0, "out of the range of a double"},
		{"invalid utf8", "\"a\xffb\"", 2, "invalid UTF-8"},
		{"lone high surrogate", `"\ud800"`, 1, "lone surrogate"},
		{"lone low surrogate", `"\udc00"`, 1, "lone surrogate"},
		{"bad escape", `"\x"`, 1, `bad escape \x`},
		{"bad hex", `"\u12g4"`, 3, "want 4 hex digits"},
		{"control char", "\"a\nb\"", 2, "control character"},
		{"unterminated", `"abc`, 0, "unterminated string"},
		{"duplicate key", `{"a":1,"a":2}`, 7, `duplicate key "a"`},
		{"duplicate value key", `{"value":1,"value":2}`, 11, `duplicate key "value"`},
		{"duplicate nested", `[{"x":{"k":1,"k":1}}]`, 13, `duplicate key "k"`},
		{"missing colon", `{"a" 1}`, 5, "want ':'"},
		{"missing comma", `[1 2]`, 3, "want ',' or ']'"},
		{"trailing comma", `[1,]`, 3, "unexpected ']'"},
		{"unknown $type", `{"$type":"int64","value":1}`, 9, `unknown $type "int64"`},
		{"$type not string", `{"$type":1,"value":1}`, 0, "$type must be a string"},
		{"typed without value", `{"$type":"uint16"}`, 0, `exactly the keys "$type" and "value"`},
		{"typed extra key", `{"$type":"uint16","value":1,"x":2}`, 0, `exactly the keys`},
		{"uint16 overflow", `{"$type":"uint16","value":65536}`, 26, "out of range"},
		{"uint16 negative", `{"$type":"uint16","value":-1}`, 26, "out of range"},
		{"uint16 fraction", `{"$type":"uint16","value":1.5}`, 26, "not an integer literal"},
		{"uint16 string", `{"$type":"uint16","value":"1"}`, 26, "must be an integer number"},
		{"int32 overflow", `{"$type":"int32","value":2147483648}`, 25, "out of range"},
		{"uint64 overflow", `{"$type":"uint64","value":18446744073709551616}`, 26, "out of range"},
		{"uint128 number", `{"$type":"uint128","value":5}`, 27, "string of decimal digits"},
		{"uint128 junk", `{"$type":"uint128","value":"5x"}`, 27, "not a decimal number"},
		{"uint128 overflow", `{"$type":"uint128","value":"340282366920938463463374607431768211456"}`, 27, "not a decimal number"},
		{"double bad string", `{"$type":"double","value":"inf"}`, 26, `want a number, "NaN"`},
		{"double bool", `{"$type":"double","value":true}`, 26, "must be a number"},
		{"float overflow", `{"$type":"float","value":1e39}`, 25, "out of range"},
		{"bytes bad base64", `{"$type":"bytes","value":"AAE"}`, 25, "base64"},
		{"bytes number", `{"$type":"bytes","value":1}`, 25, "base64 string"},
		{"map not object", `{"$type":"map","value":[]}`, 23, "must be an object"},
		{"bad $type in map value", `{"$type":"map","value":{"a":{"$type":"x","value":1}}}`, 37, `unknown $type "x"`},
		{"bad value of untyped", `{"value":-2147483649}`, 9, "does not fit in int32"},
		{"high surrogate then not a low one", `"\ud800\u0041"`, 1, `lone surrogate \ud800`},
		{"deep", strings.Repeat("[", format.MaxDepth+2) + strings.Repeat("]", format.MaxDepth+2), format.MaxDepth + 1, "nested deeper"},
		{"deep wrappers", strings.Repeat(`{"$type":"map","value":{"$type":`, format.MaxDepth+1) + "1" + strings.Repeat("}}", format.MaxDepth+1), 32 * (format.MaxDepth + 1), "nested deeper"},
		{"deep unclosed", strings.Repeat("[", 2*format.MaxDepth+3), 2*format.MaxDepth + 2, "nested deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ParseJSON([]byte(tt.json))
			if err == nil {
				t.Fatalf("ParseJSON(%s) = %#v, want an error", tt.json, v)
			}
			var je *JSONError
			if !errors.As(err, &je) {
				t.Fatalf("error %v is %T, not a *JSONError", err, err)
			}
			if je.Offset != tt.offset || !strings.Contains(je.Msg, tt.msg) {
				t.Fatalf("error %q at offset %d, want %q at offset %d", je.Msg, je.Offset, tt.msg, tt.offset)
			}
		})
	}
}

// TestJSONParserAllowNull checks that AllowNull reads null only as a map
// member's value.
func TestJSONParserAllowNull(t *testing.T) {
	jp := JSONParser{AllowNull: true}
	v, err := jp.Parse([]byte(`{"a":null,"value":null,"b":1}`))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(format.Map)
	if len(m) != 3 || m["a"] != nil || m["value"] != nil || m["b"] != format.Uint32(1) {
		t.Fatalf("Parse = %#v", v)
	}
	for _, bad := range []string{`null`, `[null]`, `{"$type":"uint16","value":null}`} {
		if v, err := jp.Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) = %#v, want an error", bad, v)
		}
	}
}

// TestUint128Decimal checks appendUint128 and parseUint128 against
// math/big on seeded random values of every size.
func TestUint128Decimal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		u := format.Uint128{Hi: r.Uint64() >> r.IntN(64), Lo: r.Uint64() >> r.IntN(64)}
		if i%3 == 0 {
			u.Hi = 0
		}
		want := u.Big().String()
		got := string(appendUint128(nil, u))
		if got != want {
			t.Fatalf("appendUint128(%#v) = %s, want %s", u, got, want)
		}
		back, ok := parseUint128([]byte(want))
		if !ok || back != u {
			t.Fatalf("parseUint128(%s) = %#v, %v", want, back, ok)
		}
	}
	over := new(big.Int).Lsh(big.NewInt(1), 128)
	if _, ok := parseUint128([]byte(over.String())); ok {
		t.Fatalf("parseUint128(2^128) succeeded")
	}
}

// randomValue returns a random value tree of every kind, at most depth
// levels deep.
func randomValue(r *rand.Rand, depth int) format.Value {
	n := 12
	if depth <= 0 {
		n = 10
	}
	switch r.IntN(n) {
	case 0:
		return randomString(r)
	case 1:
		return randomFloat64(r)
	case 2:
		b := make(format.Bytes, r.IntN(8))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	case 3:
		return format.Uint16(r.Uint32() >> r.IntN(17))
	case 4:
		return format.Uint32(r.Uint32() >> r.IntN(33))
	case 5:
		return format.Int32(int32(r.Uint32()) >> r.IntN(32))
	case 6:
		return format.Uint64(r.Uint64() >> r.IntN(65))
	case 7:
		return format.Uint128{Hi: r.Uint64() >> r.IntN(65), Lo: r.Uint64() >> r.IntN(65)}
	case 8:
		return format.Bool(r.IntN(2) == 0)
	case 9:
		return format.Float32(float32(randomFloat64(r)))
	case 10:
		m := format.Map{}
		for range r.IntN(5) {
			m[string(randomString(r))] = randomValue(r, depth-1)
		}
		if r.IntN(8) == 0 {
			m["$type"] = randomValue(r, depth-1)
		}
		return m
	default:
		s := format.Slice{}
		for range r.IntN(5) {
			s = append(s, randomValue(r, depth-1))
		}
		return s
	}
}

func randomString(r *rand.Rand) format.String {
	pieces := []string{"a", "Z", "上海", "Москва", "القاهرة", "é", "\"", "\\", "\n", "\x00", "😀", "$type", "value", " "}
	var b strings.Builder
	for range r.IntN(5) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return format.String(b.String())
}

func randomFloat64(r *rand.Rand) format.Float64 {
	switch r.IntN(8) {
	case 0:
		return format.Float64(math.NaN())
	case 1:
		return format.Float64(math.Inf(1 - 2*r.IntN(2)))
	case 2:
		return format.Float64(float64(r.IntN(2000) - 1000))
	case 3:
		return format.Float64(math.Copysign(0, -1))
	case 4:
		return format.Float64(math.Float64frombits(r.Uint64()))
	default:
		return format.Float64((r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(40)-20)))
	}
}

// TestJSONRoundTripRandom checks ParseJSON(AppendJSON(v)) == v on seeded
// random value trees of every kind, and that the text is stable (writing
// the parsed value again gives the same bytes).
func TestJSONRoundTripRandom(t *testing.T) {
	const seed = 20261123
	r := rand.New(rand.NewPCG(seed, 0))
	kinds := map[format.Kind]int{}
	for i := range 5000 {
		v := randomValue(r, 4)
		kinds[v.Kind()]++
		j := AppendJSON(nil, v)
		back, err := ParseJSON(j)
		if err != nil {
			t.Fatalf("seed %d, value %d: ParseJSON(%s): %v", seed, i, j, err)
		}
		if !format.Equal(back, v) {
			t.Fatalf("seed %d, value %d: round trip of %#v via %s gives %#v", seed, i, v, j, back)
		}
		if j2 := AppendJSON(nil, back); string(j2) != string(j) {
			t.Fatalf("seed %d, value %d: text not stable: %s then %s", seed, i, j, j2)
		}
	}
	for _, k := range []format.Kind{format.KindString, format.KindFloat64, format.KindBytes, format.KindUint16, format.KindUint32, format.KindMap, format.KindInt32, format.KindUint64, format.KindUint128, format.KindSlice, format.KindBool, format.KindFloat32} {
		if kinds[k] == 0 {
			t.Errorf("no random value of kind %v", k)
		}
	}
}

// FuzzParseJSON checks that ParseJSON never panics and that whatever it
// accepts survives AppendJSON then ParseJSON unchanged.
func FuzzParseJSON(f *testing.F) {
	seeds := []string{
		`{"a":1}`, `[1,-2,3.5,"x",true,false]`, `{"$type":"uint16","value":5}`,
		`{"$type":"map","value":{"$type":"x"}}`, `{"$type":"bytes","value":"AAEC"}`,
		`{"$type":"double","value":"NaN"}`, `{"$type":"float","value":0.1}`,
		`{"$type":"uint128","value":"340282366920938463463374607431768211455"}`,
		`"\ud83d\ude00"`, `1e21`, `-0`, `{"value":{"$type":"int32","value":5}}`,
	}
	r := rand.New(rand.NewPCG(7, 7))
	for range 20 {
		seeds = append(seeds, string(AppendJSON(nil, randomValue(r, 3))))
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseJSON(b)
		if err != nil {
			var je *JSONError
			if !errors.As(err, &je) || je.Offset < 0 || je.Offset > len(b) {
				t.Fatalf("error %v: not a *JSONError with an offset in [0, %d]", err, len(b))
			}
			return
		}
		j := AppendJSON(nil, v)
		back, err := ParseJSON(j)
		if err != nil {
			t.Fatalf("ParseJSON(AppendJSON(%#v) = %s): %v", v, j, err)
		}
		if !format.Equal(back, v) {
			t.Fatalf("round trip of %#v via %s gives %#v", v, j, back)
		}
	})
}

// TestParseJSONDeepLinear parses deeply nested typed wrappers and "value"
// members, which a parser that re-reads members would take exponential
// time on; a linear one takes microseconds.
func TestParseJSONDeepLinear(t *testing.T) {
	const depth = format.MaxDepth - 2
	tests := []struct{ open, close string }{
		{`{"value":`, `}`},
		{`{"$type":"map","value":{"value":`, `}}`},
		{`{"$type":"map","value":{"$type":"map","value":`, `}}`},
	}
	for _, tt := range tests {
		n := depth / strings.Count(tt.open, "{")
		text := strings.Repeat(tt.open, n) + "1" + strings.Repeat(tt.close, n)
		v, err := ParseJSON([]byte(text))
		if err != nil {
			// The last form nests a map wrapper in a map wrapper's plain
			// map: the innermost "$type":"map" is a plain key there, so
			// the text is valid; any error is a bug.
			t.Fatalf("ParseJSON(%.60s...): %v", text, err)
		}
		if back, err := ParseJSON(AppendJSON(nil, v)); err != nil || !format.Equal(back, v) {
			t.Fatalf("round trip of %.60s...: %v", text, err)
		}
	}
}

// TestJSONRoundTripMaxDepth holds invariant 1 at the deepest nesting
// format.AppendValue encodes: a typed wrapper (a uint16, an integral
// double, a map with a "$type" key) is one more JSON level but no more
// MMDB levels, so it must not count against format.MaxDepth. One level
// deeper is refused.
func TestJSONRoundTripMaxDepth(t *testing.T) {
	typedMap := func(v format.Value) format.Value { return format.Map{"$type": v} }
	slice := func(v format.Value) format.Value { return format.Slice{v} }
	tests := []struct {
		name   string
		wrap   func(format.Value) format.Value
		levels int // wraps around leaf: the deepest AppendValue encodes
		leaf   format.Value
	}{
		{"slices of uint16", slice, format.MaxDepth, format.Uint16(7)},
		{"slices of integral double", slice, format.MaxDepth, format.Float64(2)},
		{"slices of typed map", slice, format.MaxDepth - 1, format.Map{"$type": format.String("x")}},
		{"typed maps of uint64", typedMap, format.MaxDepth, format.Uint64(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.leaf
			for range tt.levels {
				v = tt.wrap(v)
			}
			if _, err := format.AppendValue(nil, v); err != nil {
				t.Fatalf("AppendValue: %v (the test must build an encodable value)", err)
			}
			back, err := ParseJSON(AppendJSON(nil, v))
			if err != nil {
				t.Fatalf("ParseJSON(AppendJSON(v)): %v", err)
			}
			if !format.Equal(back, v) {
				t.Fatalf("round trip changed the value")
			}
			deeper := tt.wrap(v)
			if _, err := format.AppendValue(nil, deeper); err == nil {
				t.Fatalf("AppendValue of one level deeper: no error")
			}
			if _, err := ParseJSON(AppendJSON(nil, deeper)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
				t.Fatalf("ParseJSON of one level deeper: %v, want a nesting error", err)
			}
		})
	}
}

// TestParseJSONErrorsQuoteLittle: an error quotes at most a short prefix
// of a long key, literal or string from the input (and its length); it
// quoted all of a megabyte-long number.
func TestParseJSONErrorsQuoteLittle(t *testing.T) {
	long := strings.Repeat("9", 1<<20)
	key := strings.Repeat("é", 1<<19)
	for _, text := range []string{
		long,
		"-" + long,
		"1e" + long,
		`{"$type":"uint16","value":` + long + `}`,
		`{"$type":"uint128","value":"` + long + `"}`,
		`{"$type":"` + key + `","value":1}`,
		`{"` + key + `":1,"` + key + `":2}`,
		`{"` + key + `" 1}`,
	} {
		_, err := ParseJSON([]byte(text))
		if err == nil {
			t.Fatalf("ParseJSON(%.40s...): no error", text)
		}
		if len(err.Error()) > 300 || !utf8.ValidString(err.Error()) {
			t.Errorf("ParseJSON(%.40s...): a %d-byte message: %.300s", text, len(err.Error()), err)
		}
		if !strings.Contains(err.Error(), " bytes)") {
			t.Errorf("ParseJSON(%.40s...): %.300s: the length of what was cut is not given", text, err)
		}
	}
}
