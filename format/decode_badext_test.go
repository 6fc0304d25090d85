package format

import (
	"strings"
	"testing"
)

// TestResolveBadExtended: a value whose extended type byte is invalid,
// at the start of the section or reached through a pointer, is an error
// naming the offset of its type byte; Decoder.Resolve indexed past the
// section wording it (eval's FuzzFastAnswer found `00 30`).
func TestResolveBadExtended(t *testing.T) {
	for _, c := range []struct {
		name string
		buf  []byte
		off  uint
		want string
	}{
		{"at the start", []byte{0x00, 0x30}, 0, "offset 1: invalid extended type 55"},
		{"through a pointer", []byte{0x20, 0x02, 0x00, 0x30}, 0, "offset 3: invalid extended type 55"},
		{"with size bytes", []byte{0x1d, 0x09, 0x05}, 0, "offset 1: invalid extended type 16"},
	} {
		d := NewDecoder(c.buf)
		if _, _, _, _, _, err := d.Resolve(c.off); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Resolve: %v, want an error saying %q", c.name, err, c.want)
		}
		if _, _, err := d.StringAt(c.off); err == nil {
			t.Errorf("%s: StringAt: no error", c.name)
		}
	}
}
