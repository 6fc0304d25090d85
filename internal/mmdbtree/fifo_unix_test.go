//go:build unix

package mmdbtree

import (
	"errors"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
)

// TestOpenRefusesFIFO: a FIFO with no writer is refused at once, with an
// error wrapping reader.ErrNotRegular (a blocking open hung export, diff,
// eval and compare on one).
func TestOpenRefusesFIFO(t *testing.T) {
	fifo := testutil.FIFO(t, "fifo.mmdb")
	err := testutil.NoBlock(t, fifo, func() (*Tree, error) { return Open(fifo) })
	if !errors.Is(err, reader.ErrNotRegular) {
		t.Fatalf("Open(FIFO) = %v, want an error wrapping reader.ErrNotRegular", err)
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, reader.ErrNotRegular) {
		t.Errorf("Open(directory) = %v, want reader.ErrNotRegular", err)
	}
}
