//go:build unix

package mmdbtree

import (
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
)

// TestOpenRefusesNonRegular: a FIFO with no writer (a blocking open hung
// export, diff, eval and compare on one), a directory and a device are
// refused at once, with an error wrapping reader.ErrNotRegular.
func TestOpenRefusesNonRegular(t *testing.T) {
	testutil.RefusesNonRegular(t, reader.ErrNotRegular, Open)
}
