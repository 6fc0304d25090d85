package main

import (
	"io"

	"github.com/ipatlas/ipatlas/reader"
)

// readRegularFile reads the whole of path, refusing anything but a
// regular file without blocking (a FIFO with no writer would block
// os.ReadFile forever): see reader.OpenRegular.
func readRegularFile(path string) ([]byte, error) {
	f, err := reader.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read-only
	return io.ReadAll(f)
}
