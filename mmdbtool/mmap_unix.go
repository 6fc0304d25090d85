//go:build unix

package mmdbtool

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// mmap maps length bytes of f read-only; errors.ErrUnsupported where the
// file system cannot map files. (internal/mmdbtree has the same two
// functions unexported; it maps only files that format.Parse accepts,
// and verify and inspect must map any file.)
func mmap(f *os.File, length int) ([]byte, error) {
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

func munmap(b []byte) error { return os.NewSyscallError("munmap", unix.Munmap(b)) }
