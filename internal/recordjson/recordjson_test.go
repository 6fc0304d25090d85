package recordjson

import (
	"math"
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
}
