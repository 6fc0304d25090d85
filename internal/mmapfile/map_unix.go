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

// MapAnon maps size bytes of private anonymous memory, readable and
// writable: zero pages that the kernel backs only when written, outside
// the Go heap (which would zero a reused span, making all of it
// resident, and scan nothing in it anyway).
func MapAnon(size int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return b, nil
}

// OpenNonblock is the open flag that keeps opening a FIFO from
// blocking, so that a caller can refuse what is not a regular file.
const OpenNonblock = unix.O_NONBLOCK

// Unmap ends a mapping made by Map or MapAnon.
func Unmap(b []byte) error {
	if err := unix.Munmap(b); err != nil {
		return os.NewSyscallError("munmap", err)
	}
	return nil
}
