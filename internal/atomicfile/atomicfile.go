package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ipatlas/ipatlas/format"
)

// File is a temporary file that Commit renames over its target. Write to
// it as to an *os.File; call Commit once, or Abort (safe after Commit, so
// it can be deferred).
type File struct {
	*os.File
	path string
	done bool
}

// Create starts an atomic write of path.
func Create(path string) (*File, error) {
	f, err := format.CreateTemp(path)
	if err != nil {
		return nil, fmt.Errorf("atomic write of %s: %w", path, err)
	}
	return &File{File: f, path: path}, nil
}

// Path returns the target path.
func (f *File) Path() string { return f.path }

// Commit makes the written bytes the file at the target path: fsync,
// close, rename, fsync of the folder. On error the temporary file is
// removed and the target is as it was (unless the folder's fsync failed,
// after the rename).
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("atomic write of %s: already committed or aborted", f.path)
	}
	f.done = true
	tmp := f.File.Name()
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("atomic write of %s: %w", f.path, err)
	}
	if err := SyncDir(filepath.Dir(f.path)); err != nil {
		return fmt.Errorf("atomic write of %s: %w", f.path, err)
	}
	return nil
}

// Abort closes and removes the temporary file, leaving the target as it
// was. After Commit it does nothing.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.File.Name())
}

// Write writes path atomically with what fill writes to w.
func Write(path string, fill func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := fill(f.File); err != nil {
		return fmt.Errorf("atomic write of %s: %w", path, err)
	}
	return f.Commit()
}

// WriteFile writes data to path atomically.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// SyncDir fsyncs the folder dir, so that a rename or create in it is
// durable. File systems and platforms that cannot fsync a folder (EINVAL,
// or a folder that cannot be opened for it, as on Windows) are not an
// error: there is nothing more to do there.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, os.ErrPermission) {
			return nil
		}
		return fmt.Errorf("fsync of folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, errSyncUnsupported) {
		return fmt.Errorf("fsync of folder %s: %w", dir, err)
	}
	return nil
}
