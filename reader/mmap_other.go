//go:build !unix

package reader

import "errors"

// mmap is not available here; Open reads the file into memory instead.
func mmap(fd, length int) ([]byte, error) { return nil, errors.ErrUnsupported }

func munmap(b []byte) error { return nil }

// openNonblock is not needed where files are not FIFOs.
const openNonblock = 0
