//go:build unix

package mmapfile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Map maps length bytes of f read-only; errors.ErrUnsupported where the
// file system cannot map files.
func Map(f *os.File, length int) ([]byte, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var data []byte
	cerr := rc.Control(func(fd uintptr) {
		data, err = unix.Mmap(int(fd), 0, length, unix.PROT_READ, unix.MAP_SHARED)
	})
	switch {
	case cerr != nil:
		return nil, cerr
	case errors.Is(err, unix.ENODEV):
		return nil, errors.ErrUnsupported
	case err != nil:
		return nil, os.NewSyscallError("mmap", err)
	}
	return data, nil
}

// Unmap ends a mapping made by Map.
func Unmap(b []byte) error {
	if err := unix.Munmap(b); err != nil {
		return os.NewSyscallError("munmap", err)
	}
	return nil
}
