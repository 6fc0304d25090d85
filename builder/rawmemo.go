package builder

import (
	"bytes"
	"hash/maphash"
)

// rawMemoBytes bounds the encodings a rawMemo holds; when full it starts
// again empty.
const rawMemoBytes = 64 << 20

// rawMemo maps the text R of a raw-record line shaped exactly
// {"network":"N","record":R} to the encoding of its record, so that a
// file repeating records (ipatlas export writes one line per network, and
// networks share records) parses each distinct record's JSON once.
//
// Keys are two 64-bit maphashes of R with seeds of their own, the 128-bit
// identity format.Encoder gives values too.
//
// INVARIANT: an entry is the encoding rawParser made, without error, of a
// line of that shape with that R. Such a line parses to the same record
// whatever N is: the JSON parser rejects repeated keys and rawParser keys
// other than network and record, so R is exactly the record's value.
type rawMemo struct {
	seeds [2]maphash.Seed
	m     map[[2]uint64][]byte
	size  int
}

func (m *rawMemo) key(rec []byte) [2]uint64 {
	if m.m == nil {
		m.seeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
		m.m = make(map[[2]uint64][]byte)
	}
	return [2]uint64{maphash.Bytes(m.seeds[0], rec), maphash.Bytes(m.seeds[1], rec)}
}

// get returns the encoding memoized for key, which is never modified.
func (m *rawMemo) get(key [2]uint64) ([]byte, bool) {
	enc, ok := m.m[key]
	return enc, ok
}

// put memoizes a copy of enc under key and returns the copy.
func (m *rawMemo) put(key [2]uint64, enc []byte) []byte {
	if m.size+len(enc) > rawMemoBytes {
		clear(m.m)
		m.size = 0
	}
	c := bytes.Clone(enc)
	m.m[key] = c
	m.size += len(c)
	return c
}

var (
	rawLineStart = []byte(`{"network":"`)
	rawLineMid   = []byte(`","record":`)
)

// splitRawLine returns the N and R of a line shaped exactly
// {"network":"N","record":R}, where N is printable ASCII without quotes
// or backslashes (so it is the network string as written), or false.
func splitRawLine(b []byte) (network, rec []byte, ok bool) {
	rest, ok := bytes.CutPrefix(b, rawLineStart)
	if !ok || len(b) == 0 || b[len(b)-1] != '}' {
		return nil, nil, false
	}
	for i, c := range rest {
		if c == '"' {
			network, rest = rest[:i], rest[i:]
			break
		}
		if c < 0x20 || c > 0x7e || c == '\\' {
			return nil, nil, false
		}
	}
	rest, ok = bytes.CutPrefix(rest, rawLineMid)
	if !ok || len(rest) < 2 {
		return nil, nil, false
	}
	return network, rest[:len(rest)-1], true
}
