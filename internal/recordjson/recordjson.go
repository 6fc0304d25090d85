package recordjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
)

// Encode returns the JSON of v, a value decoded from a database (maps,
// slices, strings, numbers, bools, []byte), without a trailing newline.
func Encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	var uv *json.UnsupportedValueError
	if errors.As(err, &uv) {
		buf.Reset()
		err = enc.Encode(Safe(v))
	}
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Safe returns v with every NaN or infinite float (float64 or float32, at
// any depth of maps and slices) replaced by the string "NaN", "+Inf" or
// "-Inf". Maps and slices holding one are copied; v is not changed.
func Safe(v any) any {
	switch x := v.(type) {
	case float64:
		return safeFloat(x)
	case float32:
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return safeFloat(f)
		}
		return x // stays a float32: encoding/json writes it with 32-bit digits
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = Safe(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = Safe(e)
		}
		return s
	}
	return v
}

func safeFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return f
}
