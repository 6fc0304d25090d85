//go:build !unix

package mmapfile

import (
	"errors"
	"os"
)

// Map returns errors.ErrUnsupported: this platform maps no files here.
func Map(*os.File, int) ([]byte, error) { return nil, errors.ErrUnsupported }

// MapAnon returns errors.ErrUnsupported: the caller uses the Go heap.
func MapAnon(int) ([]byte, error) { return nil, errors.ErrUnsupported }

// OpenNonblock is not needed where files are not FIFOs.
const OpenNonblock = 0

// Unmap does nothing.
func Unmap([]byte) error { return nil }
