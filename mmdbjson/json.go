package mmdbjson

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ipatlas/ipatlas/format"
)

// AppendJSON appends the JSON form of v to dst: lossless, so that a record
// can be written out (ipatlas export, the builder's raw-record input) and
// read back as the same MMDB types.
//
// Plain JSON is read by the default rule:
//
//	"text"                -> utf8_string
//	{...}                 -> map
//	[...]                 -> array
//	true, false           -> boolean
//	integer literal >= 0  -> uint32 if it fits, else uint64, else uint128
//	integer literal < 0   -> int32 (an error when it does not fit)
//	any other number      -> double (a literal with a fraction or an exponent)
//
// An integer literal is -?(0|[1-9][0-9]*): "5.0" and "5e0" are doubles.
// A value whose kind the default rule would not give back is written as a
// typed wrapper, an object with exactly the keys "$type" and "value":
//
//	{"$type":"uint16","value":5}
//	{"$type":"uint32","value":5}            (accepted; never written)
//	{"$type":"uint64","value":5}            uint64 values that fit in uint32
//	{"$type":"uint128","value":"5"}         uint128 values that fit in uint64; a decimal string
//	{"$type":"int32","value":5}             non-negative int32
//	{"$type":"double","value":5}            integral doubles, -0
//	{"$type":"double","value":"NaN"}        also "+Inf", "-Inf"
//	{"$type":"float","value":1.5}           every float, same strings
//	{"$type":"bytes","value":"AAEC"}        base64, standard alphabet, padded
//	{"$type":"map","value":{"$type":"x"}}   a map that has a "$type" key
//
// Numbers are written in the shortest form that reads back to the same
// bits (strconv's 'g', -1). Map keys are written sorted by their bytes,
// strings as UTF-8 with only '"', '\\' and control characters escaped.
// JSON null has no MMDB type: ParseJSON rejects it (a JSONParser may
// accept it as an absent value).
//
// ParseJSON of the result gives a value Equal to v, for every v that
// AppendValue can encode. Invalid UTF-8 in strings and map keys (which
// AppendValue rejects) is written as U+FFFD; a nil Value is written as
// null.
func AppendJSON(dst []byte, v format.Value) []byte {
	switch v := v.(type) {
	case format.String:
		return appendJSONString(dst, string(v))
	case format.Bool:
		return strconv.AppendBool(dst, bool(v))
	case format.Uint32:
		return strconv.AppendUint(dst, uint64(v), 10)
	case format.Uint16:
		dst = append(dst, `{"$type":"uint16","value":`...)
		return append(strconv.AppendUint(dst, uint64(v), 10), '}')
	case format.Uint64:
		if v > math.MaxUint32 {
			return strconv.AppendUint(dst, uint64(v), 10)
		}
		dst = append(dst, `{"$type":"uint64","value":`...)
		return append(strconv.AppendUint(dst, uint64(v), 10), '}')
	case format.Uint128:
		if v.Hi != 0 {
			return appendUint128(dst, v)
		}
		dst = append(dst, `{"$type":"uint128","value":"`...)
		return append(appendUint128(dst, v), `"}`...)
	case format.Int32:
		if v < 0 {
			return strconv.AppendInt(dst, int64(v), 10)
		}
		dst = append(dst, `{"$type":"int32","value":`...)
		return append(strconv.AppendInt(dst, int64(v), 10), '}')
	case format.Float64:
		start := len(dst)
		dst = appendJSONFloat(dst, float64(v), 64)
		if isNonIntegerLiteral(dst[start:]) {
			return dst
		}
		num := slices.Clone(dst[start:])
		dst = append(dst[:start], `{"$type":"double","value":`...)
		return append(append(dst, num...), '}')
	case format.Float32:
		dst = append(dst, `{"$type":"float","value":`...)
		return append(appendJSONFloat(dst, float64(v), 32), '}')
	case format.Bytes:
		dst = append(dst, `{"$type":"bytes","value":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, v)
		return append(dst, `"}`...)
	case format.Map:
		_, typed := v["$type"]
		if typed {
			dst = append(dst, `{"$type":"map","value":`...)
		}
		dst = appendJSONMap(dst, v)
		if typed {
			dst = append(dst, '}')
		}
		return dst
	case format.Slice:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSON(dst, e)
		}
		return append(dst, ']')
	}
	return append(dst, "null"...)
}

func appendJSONMap(dst []byte, m format.Map) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = AppendJSON(dst, m[k])
	}
	return append(dst, '}')
}

// appendJSONFloat appends f in the shortest form that reads back to the
// same bits at bitSize, or one of the strings "NaN", "+Inf", "-Inf".
func appendJSONFloat(dst []byte, f float64, bitSize int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Inf"`...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bitSize)
}

// isNonIntegerLiteral reports whether num, a JSON number or a quoted
// string, is a number literal with a fraction or an exponent: one the
// default rule reads as a double.
func isNonIntegerLiteral(num []byte) bool {
	if len(num) == 0 || num[0] == '"' {
		return false
	}
	for _, c := range num {
		if c == '.' || c == 'e' || c == 'E' {
			return true
		}
	}
	return false
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendUint128 appends the decimal digits of u.
func appendUint128(dst []byte, u format.Uint128) []byte {
	if u.Hi == 0 {
		return strconv.AppendUint(dst, u.Lo, 10)
	}
	// Split off the low 19 decimal digits until the rest fits in 64 bits.
	const tenTo19 = 10_000_000_000_000_000_000
	var groups [3]uint64
	n := 0
	for u.Hi != 0 {
		q1, r1 := bits.Div64(0, u.Hi, tenTo19)
		q0, r0 := bits.Div64(r1, u.Lo, tenTo19)
		groups[n] = r0
		n++
		u = format.Uint128{Hi: q1, Lo: q0}
	}
	dst = strconv.AppendUint(dst, u.Lo, 10)
	for n > 0 {
		n--
		var digits [19]byte
		g := groups[n]
		for i := 18; i >= 0; i-- {
			digits[i] = byte('0' + g%10)
			g /= 10
		}
		dst = append(dst, digits[:]...)
	}
	return dst
}

// parseUint128 parses decimal digits (no sign, at least one digit) into a
// Uint128, reporting false on bad syntax or overflow.
func parseUint128(s []byte) (format.Uint128, bool) {
	if len(s) == 0 {
		return format.Uint128{}, false
	}
	var u format.Uint128
	for _, c := range s {
		if c < '0' || c > '9' {
			return format.Uint128{}, false
		}
		hi1, lo := bits.Mul64(u.Lo, 10)
		hi2, hi := bits.Mul64(u.Hi, 10)
		if hi2 != 0 {
			return format.Uint128{}, false
		}
		hi, carry := bits.Add64(hi, hi1, 0)
		if carry != 0 {
			return format.Uint128{}, false
		}
		lo, carry = bits.Add64(lo, uint64(c-'0'), 0)
		hi, carry = bits.Add64(hi, 0, carry)
		if carry != 0 {
			return format.Uint128{}, false
		}
		u = format.Uint128{Hi: hi, Lo: lo}
	}
	return u, true
}

// JSONError is a problem in JSON text: what is wrong and where.
type JSONError struct {
	// Offset is the byte offset in the text where the problem is.
	Offset int
	// Msg says what is wrong.
	Msg string
}

// Error returns "json: offset N: msg".
func (e *JSONError) Error() string { return "json: offset " + strconv.Itoa(e.Offset) + ": " + e.Msg }

// ParseJSON reads the JSON form of a value (see AppendJSON) from b, which
// must hold exactly one JSON value, optionally surrounded by whitespace.
// It rejects, with a *JSONError giving the byte offset: syntax errors,
// invalid UTF-8, lone surrogate escapes, duplicate object keys, null,
// integers that fit no MMDB type, numbers out of their type's range,
// unknown "$type"s, typed wrappers with other keys than "$type" and
// "value" or a value of the wrong shape, nesting deeper than format.MaxDepth,
// and data after the value.
func ParseJSON(b []byte) (format.Value, error) {
	return JSONParser{}.Parse(b)
}

// JSONParser reads the JSON form of values, with options. The zero value
// is ParseJSON's parser.
type JSONParser struct {
	// AllowNull accepts JSON null as a map member's value and gives a nil
	// Value for it, for inputs that write absent fields as null; null is
	// still rejected elsewhere.
	AllowNull bool
}

// Parse reads one JSON value from b, like ParseJSON.
func (jp JSONParser) Parse(b []byte) (format.Value, error) {
	if !utf8.Valid(b) {
		i := 0
		for i < len(b) {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return nil, &JSONError{Offset: i, Msg: "invalid UTF-8"}
	}
	p := jsonParser{b: b}
	p.skipSpace()
	var n jnode
	if err := p.node(&n, 0); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(p.b) {
		return nil, p.errf("data after the value")
	}
	return jp.convert(&n, false, 0)
}

// Parsing is two passes, each linear in the input: jsonParser checks the
// syntax and builds a tree of jnodes (number literals kept as text); then
// convert gives the tree its meaning (typed wrappers, the default rule).

// jnode is one JSON value.
type jnode struct {
	kind byte   // '{', '[', '"', '0' (number), 't', 'f', 'n' (null)
	off  int    // byte offset of the value in the text
	s    string // a string's value, a number's literal
	keys []string
	kids []jnode // object members (with keys) or array elements
}

// jsonParser checks JSON syntax over valid UTF-8.
type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) errf(format string, args ...any) error {
	return errAt(p.i, format, args...)
}

// maxEcho is the most bytes of a key, literal or string that an error
// message quotes from the input: an error names where the problem is,
// and a megabyte-long number should not make a megabyte-long message.
const maxEcho = 64

func errAt(off int, format string, args ...any) error {
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) > maxEcho {
			cut := maxEcho
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			args[i] = s[:cut] + "... (" + strconv.Itoa(len(s)) + " bytes)"
		}
	}
	return &JSONError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// maxJSONDepth bounds the syntax pass's nesting. A typed wrapper is one
// JSON level more than the MMDB value it writes, and a map with a "$type"
// key is written as a wrapper around the map, so MMDB nesting to
// format.MaxDepth is JSON nesting to 2*format.MaxDepth+1; convert holds
// the MMDB nesting to format.MaxDepth.
const maxJSONDepth = 2*format.MaxDepth + 1

// node parses the value at p.i into n.
func (p *jsonParser) node(n *jnode, depth int) error {
	if depth > maxJSONDepth {
		return p.errf("nested deeper than %d", format.MaxDepth)
	}
	if p.i >= len(p.b) {
		return p.errf("unexpected end of input, want a value")
	}
	n.off = p.i
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(n, depth)
	case c == '[':
		return p.array(n, depth)
	case c == '"':
		n.kind = '"'
		var err error
		n.s, err = p.str()
		return err
	case c == 't':
		n.kind = 't'
		return p.literal("true")
	case c == 'f':
		n.kind = 'f'
		return p.literal("false")
	case c == 'n':
		n.kind = 'n'
		return p.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		n.kind = '0'
		lit, err := p.numberLiteral()
		n.s = string(lit)
		return err
	default:
		return p.errf("unexpected %q, want a value", rune(c))
	}
}

func (p *jsonParser) literal(word string) error {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return p.errf("bad literal, want %s", word)
	}
	p.i += len(word)
	return nil
}

func (p *jsonParser) array(n *jnode, depth int) error {
	if p.open(n, '[', ']') {
		return nil
	}
	for more := true; more; {
		p.skipSpace()
		n.kids = append(n.kids, jnode{})
		if err := p.node(&n.kids[len(n.kids)-1], depth+1); err != nil {
			return err
		}
		var err error
		if more, err = p.next(']', "array"); err != nil {
			return err
		}
	}
	return nil
}

// open consumes the opening bracket of a container of kind and reports
// whether the container is empty (its closing bracket consumed too).
func (p *jsonParser) open(n *jnode, kind, closing byte) bool {
	n.kind = kind
	p.i++
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == closing {
		p.i++
		return true
	}
	return false
}

// next consumes what follows an element of a container (an array or
// object, named by what): ',' (more elements) or the closing bracket.
func (p *jsonParser) next(closing byte, what string) (more bool, err error) {
	p.skipSpace()
	if p.i >= len(p.b) {
		return false, p.errf("unexpected end of input in %s", what)
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		return true, nil
	case closing:
		p.i++
		return false, nil
	}
	return false, p.errf("unexpected %q in %s, want ',' or '%c'", rune(p.b[p.i]), what, closing)
}

func (p *jsonParser) object(n *jnode, depth int) error {
	if p.open(n, '{', '}') {
		return nil
	}
	var seen map[string]struct{}
	for more := true; more; {
		p.skipSpace()
		if p.i >= len(p.b) {
			return p.errf("unexpected end of input in object")
		}
		if p.b[p.i] != '"' {
			return p.errf("unexpected %q in object, want a key", rune(p.b[p.i]))
		}
		keyAt := p.i
		k, err := p.str()
		if err != nil {
			return err
		}
		if len(n.keys) >= 8 && seen == nil {
			seen = make(map[string]struct{}, 2*len(n.keys))
			for _, k := range n.keys {
				seen[k] = struct{}{}
			}
		}
		dup := false
		if seen != nil {
			_, dup = seen[k]
			seen[k] = struct{}{}
		} else {
			dup = slices.Contains(n.keys, k)
		}
		if dup {
			return errAt(keyAt, "duplicate key %q", k)
		}
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return p.errf("want ':' after key %q", k)
		}
		p.i++
		p.skipSpace()
		n.keys = append(n.keys, k)
		n.kids = append(n.kids, jnode{})
		if err := p.node(&n.kids[len(n.kids)-1], depth+1); err != nil {
			return err
		}
		if more, err = p.next('}', "object"); err != nil {
			return err
		}
	}
	return nil
}

// convert gives n its meaning. plain reads an object as a map even if it
// has a "$type" key (the value of a "map" wrapper).
func (jp JSONParser) convert(n *jnode, plain bool, depth int) (format.Value, error) {
	if depth > format.MaxDepth {
		return nil, errAt(n.off, "nested deeper than %d", format.MaxDepth)
	}
	switch n.kind {
	case '"':
		return format.String(n.s), nil
	case 't':
		return format.Bool(true), nil
	case 'f':
		return format.Bool(false), nil
	case 'n':
		return nil, errAt(n.off, "null has no MMDB type")
	case '0':
		return numberValue(n)
	case '[':
		s := make(format.Slice, len(n.kids))
		for i := range n.kids {
			v, err := jp.convert(&n.kids[i], false, depth+1)
			if err != nil {
				return nil, err
			}
			s[i] = v
		}
		return s, nil
	}
	// An object.
	if !plain {
		if at := slices.Index(n.keys, "$type"); at >= 0 {
			return jp.typed(n, &n.kids[at], depth)
		}
	}
	m := make(format.Map, len(n.keys))
	for i, k := range n.keys {
		kid := &n.kids[i]
		if kid.kind == 'n' && jp.AllowNull {
			m[k] = nil
			continue
		}
		v, err := jp.convert(kid, false, depth+1)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}

// typed reads the typed wrapper n, whose "$type" member is t.
func (jp JSONParser) typed(n, t *jnode, depth int) (format.Value, error) {
	if t.kind != '"' {
		return nil, errAt(n.off, "$type must be a string")
	}
	typ := t.s
	at := slices.Index(n.keys, "value")
	if len(n.keys) != 2 || at < 0 {
		return nil, errAt(n.off, "typed value %q must have exactly the keys \"$type\" and \"value\"", typ)
	}
	v := &n.kids[at]
	switch typ {
	case "uint16", "uint32", "uint64", "int32":
		if v.kind != '0' {
			return nil, errAt(v.off, "%s value must be an integer number", typ)
		}
		if isNonIntegerLiteral([]byte(v.s)) {
			return nil, errAt(v.off, "%s value %s is not an integer literal", typ, v.s)
		}
		if typ == "int32" {
			x, err := strconv.ParseInt(v.s, 10, 32)
			if err != nil {
				return nil, errAt(v.off, "%s value %s out of range", typ, v.s)
			}
			return format.Int32(x), nil
		}
		size := map[string]int{"uint16": 16, "uint32": 32, "uint64": 64}[typ]
		x, err := strconv.ParseUint(v.s, 10, size)
		if err != nil {
			return nil, errAt(v.off, "%s value %s out of range", typ, v.s)
		}
		switch typ {
		case "uint16":
			return format.Uint16(x), nil
		case "uint32":
			return format.Uint32(x), nil
		}
		return format.Uint64(x), nil
	case "uint128":
		if v.kind != '"' {
			return nil, errAt(v.off, "uint128 value must be a string of decimal digits")
		}
		u, ok := parseUint128([]byte(v.s))
		if !ok {
			return nil, errAt(v.off, "uint128 value %q is not a decimal number in [0, 2^128)", v.s)
		}
		return u, nil
	case "double", "float":
		size := 64
		if typ == "float" {
			size = 32
		}
		var f float64
		switch v.kind {
		case '"':
			switch v.s {
			case "NaN":
				f = math.NaN()
			case "+Inf":
				f = math.Inf(1)
			case "-Inf":
				f = math.Inf(-1)
			default:
				return nil, errAt(v.off, "%s value %q: want a number, \"NaN\", \"+Inf\" or \"-Inf\"", typ, v.s)
			}
		case '0':
			var err error
			if f, err = strconv.ParseFloat(v.s, size); err != nil {
				return nil, errAt(v.off, "%s value %s out of range", typ, v.s)
			}
		default:
			return nil, errAt(v.off, "%s value must be a number, \"NaN\", \"+Inf\" or \"-Inf\"", typ)
		}
		if typ == "float" {
			return format.Float32(f), nil
		}
		return format.Float64(f), nil
	case "bytes":
		if v.kind != '"' {
			return nil, errAt(v.off, "bytes value must be a base64 string")
		}
		b, err := base64.StdEncoding.DecodeString(v.s)
		if err != nil {
			return nil, errAt(v.off, "bytes value is not standard padded base64: %v", err)
		}
		return format.Bytes(b), nil
	case "map":
		if v.kind != '{' {
			return nil, errAt(v.off, "map value must be an object")
		}
		return jp.convert(v, true, depth) // the wrapper is no MMDB level
	}
	return nil, errAt(t.off, "unknown $type %q (want uint16, uint32, uint64, uint128, int32, double, float, bytes or map)", typ)
}

// numberLiteral reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonParser) numberLiteral() ([]byte, error) {
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case digits() == 0:
		return nil, p.errf("bad number: want a digit")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.errf("bad number: want a digit after '.'")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.errf("bad number: want a digit in the exponent")
		}
	}
	return p.b[start:p.i], nil
}

// numberValue reads the number n by the default rule.
func numberValue(n *jnode) (format.Value, error) {
	lit := n.s
	if isNonIntegerLiteral([]byte(lit)) {
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			return nil, errAt(n.off, "number %s out of the range of a double", lit)
		}
		return format.Float64(f), nil
	}
	if lit[0] == '-' {
		x, err := strconv.ParseInt(lit, 10, 32)
		if err != nil {
			return nil, errAt(n.off, "negative integer %s does not fit in int32 (write a double as {\"$type\":\"double\",\"value\":%s})", lit, lit)
		}
		return format.Int32(x), nil
	}
	if len(lit) <= 19 {
		x, _ := strconv.ParseUint(lit, 10, 64)
		if x <= math.MaxUint32 {
			return format.Uint32(x), nil
		}
		return format.Uint64(x), nil
	}
	u, ok := parseUint128([]byte(lit))
	if !ok {
		return nil, errAt(n.off, "integer %s does not fit in uint128", lit)
	}
	if u.Hi == 0 {
		return format.Uint64(u.Lo), nil
	}
	return u, nil
}

// str reads a JSON string at p.i.
func (p *jsonParser) str() (string, error) {
	start := p.i
	p.i++ // '"'
	// Fast path: no escapes.
	for j := p.i; j < len(p.b); j++ {
		c := p.b[j]
		if c == '"' {
			s := string(p.b[p.i:j])
			p.i = j + 1
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
	}
	var out []byte
	for {
		if p.i >= len(p.b) {
			return "", errAt(start, "unterminated string")
		}
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c < 0x20:
			return "", p.errf("control character %#02x in string", c)
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		p.i++ // '\\'
		if p.i >= len(p.b) {
			return "", errAt(start, "unterminated string")
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, err := p.hex4()
			if err != nil {
				return "", err
			}
			if utf16.IsSurrogate(r) {
				at := p.i - 6
				if r >= 0xDC00 || len(p.b)-p.i < 6 || p.b[p.i] != '\\' || p.b[p.i+1] != 'u' {
					return "", errAt(at, "lone surrogate \\u%04x in string", r)
				}
				p.i += 2
				r2, err := p.hex4()
				if err != nil {
					return "", err
				}
				hi := r
				if r = utf16.DecodeRune(hi, r2); r == utf8.RuneError {
					return "", errAt(at, "lone surrogate \\u%04x in string", hi)
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", errAt(p.i-2, "bad escape \\%c in string", rune(e))
		}
	}
}

func (p *jsonParser) hex4() (rune, error) {
	if len(p.b)-p.i < 4 {
		return 0, p.errf("bad \\u escape: want 4 hex digits")
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, p.errf("bad \\u escape: want 4 hex digits")
		}
	}
	p.i += 4
	return r, nil
}
