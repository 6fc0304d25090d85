//go:build unix

package mmdbtree

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// mmap maps length bytes of f read-only; errors.ErrUnsupported where the
// file system cannot map files.
func mmap(f *os.File, length int) ([]byte, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var data []byte
	cerr := rc.Control(func(fd uintptr) {
		data, err = unix.Mmap(int(fd), 0, length, unix.PROT_READ, unix.MAP_SHARED)
	})
	if cerr != nil {
		return nil, cerr
	}
	if errors.Is(err, unix.ENODEV) {
		return nil, errors.ErrUnsupported
	}
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return data, nil
}

func munmap(b []byte) error {
	if err := unix.Munmap(b); err != nil {
		return os.NewSyscallError("munmap", err)
	}
	return nil
}
