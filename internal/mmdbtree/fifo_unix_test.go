//go:build unix

package mmdbtree

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/reader"
)

// TestOpenRefusesFIFO: a FIFO with no writer is refused at once, with an
// error wrapping reader.ErrNotRegular (a blocking open hung export, diff,
// eval and compare on one).
func TestOpenRefusesFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.mmdb")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		tr, err := Open(fifo)
		if err == nil {
			tr.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, reader.ErrNotRegular) {
			t.Fatalf("Open(FIFO) = %v, want an error wrapping reader.ErrNotRegular", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open(FIFO) still blocked after 10s")
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, reader.ErrNotRegular) {
		t.Errorf("Open(directory) = %v, want reader.ErrNotRegular", err)
	}
}
