//go:build unix

package reader

import (
	"errors"
	"os"
	"unsafe"

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

// adviseHugePages asks the kernel to back the 2 MiB-aligned interior of b,
// anonymous memory not yet touched, with transparent huge pages, so that
// random reads of a large index miss the TLB far less often. It is a hint:
// errors (no THP support, an old kernel) are ignored.
func adviseHugePages(b []byte) {
	const huge = 2 << 20
	if len(b) < 2*huge {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (start + huge - 1) &^ (huge - 1)
	hi := (start + uintptr(len(b))) &^ (huge - 1)
	if hi <= lo {
		return
	}
	_ = unix.Madvise(b[lo-start:hi-start], unix.MADV_HUGEPAGE)
}

// openNonblock keeps opening a FIFO from blocking (OpenRegular).
const openNonblock = unix.O_NONBLOCK
