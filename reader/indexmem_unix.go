//go:build unix

package reader

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapAnon maps size bytes of private anonymous memory: zero pages that
// the kernel backs only when written, outside the Go heap (which would
// zero a reused span, making all of it resident, and scan nothing in it
// anyway).
func mapAnon(size int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return b, nil
}

func unmapAnon(b []byte) error {
	if err := unix.Munmap(b); err != nil {
		return os.NewSyscallError("munmap", err)
	}
	return nil
}
