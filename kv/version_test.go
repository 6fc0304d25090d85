package kv

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// fillStore makes a store in dir with one layer whose records are partly
// in the dictionary, and returns what a scan shows.
func fillStore(t *testing.T, dir string) []want {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ensure(t, s, "a", 1)
	in, err := s.BeginIngest("a", Replace, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 32)
		if err := in.Put(p, []byte([]string{"a record seen often", "another one, also long"}[i%2])); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.Commit(); err != nil {
		t.Fatal(err)
	}
	return dump(t, s)
}

// setRaw writes key = value (nil: deletes key) straight into the Pebble
// database of a closed store.
func setRaw(t *testing.T, dir string, key, value []byte) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest})
	if err != nil {
		t.Fatal(err)
	}
	if value == nil {
		err = db.Delete(key, pebble.Sync)
	} else {
		err = db.Set(key, value, pebble.Sync)
	}
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
}

// TestFormatVersion: a new store is stamped with FormatVersion; a store
// without a stamp (format 1, as ipatlas wrote before versions) or with a
// newer one is refused with a message that names both versions and what
// to do; Migrate checks and stamps a format-1 store, after which it opens
// and shows the same networks; a format-1 store whose rows do not resolve
// is not stamped.
func TestFormatVersion(t *testing.T) {
	dir := t.TempDir()
	want := fillStore(t, dir)
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := readVersion(s.db); err != nil || v != FormatVersion {
		t.Fatalf("version %d, %v; want %d", v, err, FormatVersion)
	}
	s.Close()

	setRaw(t, dir, versionKey, nil) // as format 1 left it
	_, err = Open(dir, Options{})
	var ve *VersionError
	if !errors.As(err, &ve) || !errors.Is(err, ErrVersion) || ve.Found != 1 || ve.Wants != FormatVersion {
		t.Fatalf("Open of a format-1 store: %v", err)
	}
	for _, w := range []string{"format 1", "format 2", "ipatlas store migrate --db " + dir} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if v, err := Migrate(dir, Options{}); err != nil || v != 1 {
		t.Fatalf("Migrate = %d, %v; want 1, nil", v, err)
	}
	if v, err := Migrate(dir, Options{}); err != nil || v != FormatVersion {
		t.Fatalf("Migrate again = %d, %v; want %d, nil", v, err, FormatVersion)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Migrate: %v", err)
	}
	if got := dump(t, s); !slices.Equal(got, want) {
		t.Fatalf("after Migrate:\ngot  %v\nwant %v", got, want)
	}
	s.Close()

	setRaw(t, dir, versionKey, binary.AppendUvarint(nil, FormatVersion+1))
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "newer ipatlas") {
		t.Fatalf("Open of a newer store: %v", err)
	}
	if _, err := Migrate(dir, Options{}); !errors.Is(err, ErrVersion) {
		t.Fatalf("Migrate of a newer store: %v", err)
	}

	// A format-1 store with a reference to a record its dictionary lacks.
	dir = t.TempDir()
	fillStore(t, dir)
	setRaw(t, dir, versionKey, nil)
	s, err = Open(dir, Options{allowVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	l := s.layers["a"]
	key := appendDictKey(nil, l.ID, l.gens[0].gen, 0)
	s.Close()
	setRaw(t, dir, key, nil)
	if _, err := Migrate(dir, Options{}); err == nil || !strings.Contains(err.Error(), "bad record reference") {
		t.Fatalf("Migrate of a broken store: %v", err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrVersion) {
		t.Fatalf("a store Migrate refused was stamped: %v", err)
	}
}
