package recordjson

import (
	"math"
	"strings"
	"testing"
)

// TestEncode checks the two rules against hand-written JSON: NaN and
// infinities as strings at any depth, no HTML escaping, and the value
// left as it was.
func TestEncode(t *testing.T) {
	in := map[string]any{
		"nan":  math.NaN(),
		"list": []any{float32(math.Inf(-1)), 1.5, "a<b&c"},
		"m":    map[string]any{"inf": math.Inf(1), "n": uint64(1 << 40)},
	}
	got, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"list":["-Inf",1.5,"a<b&c"],"m":{"inf":"+Inf","n":1099511627776},"nan":"NaN"}`
	if string(got) != want {
		t.Errorf("Encode:\n got %s\nwant %s", got, want)
	}
	if f, ok := in["nan"].(float64); !ok || !math.IsNaN(f) {
		t.Errorf("Encode changed its input: %v", in["nan"])
	}
	plain, err := Encode(map[string]any{"x": 1.0})
	if err != nil || string(plain) != `{"x":1}` {
		t.Errorf("Encode of a plain record: %s, %v", plain, err)
	}
	// A float32 keeps its 32-bit digits (1.1, not 1.100000023841858) when
	// another value of the record is a NaN, as when none is.
	for _, v := range []any{[]any{float32(1.1)}, []any{float32(1.1), math.NaN()}} {
		got, err := Encode(v)
		if err != nil || !strings.HasPrefix(string(got), "[1.1") || strings.Contains(string(got), "1.10") {
			t.Errorf("Encode(%v) = %s, %v; want the float32 as 1.1", v, got, err)
		}
	}
}
