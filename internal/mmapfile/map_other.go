//go:build !unix

package mmapfile

import (
	"errors"
	"os"
)

// Map returns errors.ErrUnsupported: this platform maps no files here.
func Map(*os.File, int) ([]byte, error) { return nil, errors.ErrUnsupported }

// Unmap does nothing.
func Unmap([]byte) error { return nil }
