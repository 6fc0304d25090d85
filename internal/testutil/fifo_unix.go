//go:build unix

package testutil

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// FIFO makes a named pipe in a temporary folder and returns its path;
// where mkfifo fails (a file system without FIFOs) the test skips. Opening
// it for reading blocks until a writer comes: what a reader of database
// files must refuse rather than hang on.
func FIFO(tb testing.TB, name string) string {
	tb.Helper()
	fifo := filepath.Join(tb.TempDir(), name)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		tb.Skipf("mkfifo: %v", err)
	}
	return fifo
}

// NoBlock calls open on another goroutine and returns its error, closing
// what it opened. An open still blocked after 10 s fails the test, after
// opening fifo (if not "") for writing without blocking, which frees a
// reader blocked on it so that the test binary can end.
func NoBlock[C io.Closer](tb testing.TB, fifo string, open func() (C, error)) error {
	tb.Helper()
	done := make(chan error, 1)
	go func() {
		c, err := open()
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		if fifo != "" {
			if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
		}
		tb.Fatal("open still blocked after 10s")
		return nil
	}
}

// RefusesNonRegular checks that open refuses at once, never blocking, a
// FIFO with no writer, a directory and a device (/dev/null), each with
// an error wrapping want and an *fs.PathError naming the path.
func RefusesNonRegular[C io.Closer](tb testing.TB, want error, open func(path string) (C, error)) {
	tb.Helper()
	fifo := FIFO(tb, "served.mmdb")
	for _, path := range []string{fifo, filepath.Dir(fifo), "/dev/null"} {
		err := NoBlock(tb, fifo, func() (C, error) { return open(path) })
		var pe *fs.PathError
		if !errors.Is(err, want) || !errors.As(err, &pe) || pe.Path != path {
			tb.Errorf("open(%s): %v; want a PathError naming it, wrapping %v", path, err, want)
		}
	}
}
