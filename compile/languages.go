package compile

import (
	"bytes"
	"slices"

	"github.com/ipatlas/ipatlas/format"
)

// nameLanguages collects the locales of the names the records carry: the
// keys of every map under a "names" key (GeoIP2's names{lang}), at any
// depth. It sees each distinct record once (next is the writer's next
// record id: ids are dense), so its cost is one decode per distinct
// record that mentions "names", and its memory the set of locales.
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
	v, _, err := format.NewDecoder(rec).Value(0)
	if err != nil {
		return // the writer reports bad records
	}
	l.walk(v, false)
}

func (l *nameLanguages) walk(v format.Value, names bool) {
	switch v := v.(type) {
	case format.Map:
		for k, x := range v {
			if names {
				if l.set == nil {
					l.set = map[string]struct{}{}
				}
				l.set[k] = struct{}{}
				continue
			}
			l.walk(x, k == "names")
		}
	case format.Slice:
		for _, x := range v {
			l.walk(x, false)
		}
	}
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
