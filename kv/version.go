package kv

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// FormatVersion is the store format this build of ipatlas reads and
// writes, stamped in the store under the key "v" (a uvarint).
//
//   - Format 1 (no stamp): the layout of the package doc; each ingest's
//     dictionary held every distinct record, up to 512 MiB, in one table
//     written at Commit, and a scan read it whole into memory.
//   - Format 2: the same keys and values; a record enters the dictionary
//     at its second sight (its first row holds it), without a size cap,
//     in tables written as the ingest goes, and scans read dictionaries
//     through a bounded cache. A format-1 store is read correctly by this
//     code: Migrate checks it and stamps it.
const FormatVersion = 2

const tagVersion = 'v'

var versionKey = []byte{tagVersion}

// VersionError is returned by Open for a store of another format.
type VersionError struct {
	Dir          string
	Found, Wants int
}

func (e *VersionError) Error() string {
	if e.Found < e.Wants {
		return fmt.Sprintf("kv: open %s: the store is of format %d (written by an ipatlas before store format versions); "+
			"this ipatlas reads format %d: run `ipatlas store migrate --db %s` to check it and upgrade it in place", e.Dir, e.Found, e.Wants, e.Dir)
	}
	return fmt.Sprintf("kv: open %s: the store is of format %d, written by a newer ipatlas; this ipatlas reads format %d: "+
		"use the ipatlas that wrote it (or a newer one)", e.Dir, e.Found, e.Wants)
}

// ErrVersion matches every *VersionError with errors.Is.
var ErrVersion = errors.New("kv: store of another format version")

// Is reports whether target is ErrVersion.
func (e *VersionError) Is(target error) bool { return target == ErrVersion }

// readVersion returns the store's format version: the stamp, 1 for a
// store with keys and no stamp, 0 for an empty store.
func readVersion(db *pebble.DB) (int, error) {
	v, closer, err := db.Get(versionKey)
	if err == nil {
		defer closer.Close()
		n, w := binary.Uvarint(v)
		if w <= 0 || w != len(v) || n == 0 || n > 1<<20 {
			return 0, fmt.Errorf("kv: corrupt format version %x", v)
		}
		return int(n), nil
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return 0, fmt.Errorf("kv: read format version: %w", err)
	}
	it, err := db.NewIter(nil)
	if err != nil {
		return 0, fmt.Errorf("kv: read format version: %w", err)
	}
	any := it.First()
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return 0, fmt.Errorf("kv: read format version: %w", err)
	}
	if any {
		return 1, nil
	}
	return 0, nil
}

// writeVersion stamps the store with FormatVersion, durably.
func writeVersion(db *pebble.DB) error {
	if err := db.Set(versionKey, binary.AppendUvarint(nil, FormatVersion), pebble.Sync); err != nil {
		return fmt.Errorf("kv: write format version: %w", err)
	}
	return nil
}

// checkVersion accepts a store of FormatVersion (or of allow, when not
// zero) and stamps an empty one.
func checkVersion(db *pebble.DB, dir string, allow int) error {
	v, err := readVersion(db)
	switch {
	case err != nil:
		return fmt.Errorf("kv: open %s: %w", dir, err)
	case v == 0:
		return writeVersion(db)
	case v == FormatVersion || v == allow:
		return nil
	}
	return &VersionError{Dir: dir, Found: v, Wants: FormatVersion}
}

// Migrate upgrades the store in dir to FormatVersion in place and returns
// the version it found. A format-1 store is checked first: every layer's
// metadata decodes and a full scan resolves every row (a record
// reference names a record of its dictionary); then it is stamped. A
// store of FormatVersion is left as it is; a newer one is refused.
func Migrate(dir string, opts Options) (int, error) {
	opts.allowVersion = 1
	s, err := Open(dir, opts)
	if err != nil {
		return 0, err
	}
	v, err := readVersion(s.db)
	if err == nil && v == 1 {
		err = s.checkAll()
		if err == nil {
			err = writeVersion(s.db)
		}
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return v, fmt.Errorf("kv: migrate %s: %w", dir, err)
	}
	return v, nil
}

// checkAll scans every layer of a snapshot.
func (s *Store) checkAll() error {
	sn, err := s.Snapshot()
	if err != nil {
		return err
	}
	defer sn.Close()
	for _, err := range sn.All() {
		if err != nil {
			return err
		}
	}
	return nil
}
