//go:build unix

package reader

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// mmap maps length bytes of fd read-only. ENODEV (a file system that cannot
// map) is reported as errors.ErrUnsupported so that Open falls back to
// reading the file.
func mmap(fd, length int) ([]byte, error) {
	data, err := unix.Mmap(fd, 0, length, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		if errors.Is(err, unix.ENODEV) {
			return nil, errors.ErrUnsupported
		}
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

// openNonblock keeps opening a FIFO from blocking (OpenRegular).
const openNonblock = unix.O_NONBLOCK
