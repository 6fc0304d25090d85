package compile

import (
	"bytes"
	"slices"

	"github.com/ipatlas/ipatlas/format"
)

// nameLanguages collects the locales of the names the records carry: the
// keys of every map under a "names" key (GeoIP2's names{lang}), at any
// depth. It sees each distinct record once (next is the writer's next
// record id: ids are dense), so its cost is one walk of the encoded
// bytes per distinct record that mentions "names" (no decoding into
// Values, no allocation but for a locale not seen before), and its
// memory the set of locales.
type nameLanguages struct {
	next format.RecordID
	set  map[string]struct{}
}

// add looks at record rec, interned as id, if it is new.
func (l *nameLanguages) add(id format.RecordID, rec []byte) {
	if id < l.next {
		return
	}
	l.next = id + 1
	if !bytes.Contains(rec, []byte("names")) {
		return
	}
	l.walk(format.NewDecoder(rec), 0, false, 0)
}

// walk visits the value at off (names: it is the value of a "names" key)
// and returns its end, or false for a value it cannot read (the writer
// reports bad records).
func (l *nameLanguages) walk(d format.Decoder, off uint, names bool, depth int) (uint, bool) {
	if depth > format.MaxDepth {
		return 0, false
	}
	kind, size, payload, err := d.Control(off)
	if err != nil {
		return 0, false
	}
	switch kind {
	case format.KindMap:
		at := payload
		for range size {
			kk, ks, kp, err := d.Control(at)
			if err != nil || kk != format.KindString || kp+ks > uint(len(d.Bytes())) || kp+ks < kp {
				return 0, false
			}
			key := d.Bytes()[kp : kp+ks]
			at = kp + ks
			if names {
				if _, ok := l.set[string(key)]; !ok {
					if l.set == nil {
						l.set = map[string]struct{}{}
					}
					l.set[string(key)] = struct{}{}
				}
				var ok bool
				if at, ok = skip(d, at); !ok {
					return 0, false
				}
				continue
			}
			var ok bool
			if at, ok = l.walk(d, at, string(key) == "names", depth+1); !ok {
				return 0, false
			}
		}
		return at, true
	case format.KindSlice:
		at := payload
		for range size {
			var ok bool
			if at, ok = l.walk(d, at, false, depth+1); !ok {
				return 0, false
			}
		}
		return at, true
	}
	if kind == format.KindPointer {
		return 0, false
	}
	return scalarEnd(kind, size, payload), true
}

// skip returns the end of the value at off.
func skip(d format.Decoder, off uint) (uint, bool) {
	kind, size, payload, err := d.Control(off)
	switch {
	case err != nil || kind == format.KindPointer:
		return 0, false
	case kind == format.KindMap || kind == format.KindSlice:
		end, err := d.Skip(off)
		return end, err == nil
	}
	return scalarEnd(kind, size, payload), true
}

// scalarEnd is the end of a value of a kind that is neither a container
// nor a pointer: a bool's size is its value, the others' their length.
func scalarEnd(kind format.Kind, size, payload uint) uint {
	if kind == format.KindBool {
		return payload
	}
	return payload + size
}

// list returns the locales, sorted.
func (l *nameLanguages) list() []string {
	out := make([]string, 0, len(l.set))
	for k := range l.set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
