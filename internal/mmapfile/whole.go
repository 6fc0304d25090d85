package mmapfile

import (
	"errors"
	"io"
	"os"
)

// Errors of Whole for a file it cannot hold.
var (
	ErrEmpty    = errors.New("file is empty")
	ErrTooLarge = errors.New("file too large")
)

// Whole returns the whole of f, an open regular file: mapped read-only
// (mapped true: release it with Unmap), or read into memory where the
// file system cannot map files. An empty file is ErrEmpty, one larger
// than an int addresses ErrTooLarge. f may be closed once Whole returns.
func Whole(f *os.File) (data []byte, mapped bool, err error) {
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	size := int(st.Size())
	switch {
	case int64(size) != st.Size():
		return nil, false, ErrTooLarge
	case size == 0:
		return nil, false, ErrEmpty
	}
	data, err = Map(f, size)
	if errors.Is(err, errors.ErrUnsupported) {
		data = make([]byte, size)
		if _, err := io.ReadFull(f, data); err != nil {
			return nil, false, err
		}
		return data, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}
