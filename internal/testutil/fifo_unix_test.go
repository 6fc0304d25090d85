//go:build unix

package testutil

import (
	"errors"
	"os"
	"testing"
)

type closer struct{ closed *bool }

func (c closer) Close() error { *c.closed = true; return nil }

func TestNoBlock(t *testing.T) {
	fifo := FIFO(t, "f")
	if fi, err := os.Stat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("FIFO made %v, %v", fi, err)
	}
	closed := false
	if err := NoBlock(t, fifo, func() (closer, error) { return closer{&closed}, nil }); err != nil || !closed {
		t.Errorf("NoBlock of a good open = %v, closed %v", err, closed)
	}
	bad := errors.New("bad")
	if err := NoBlock(t, "", func() (closer, error) { return closer{}, bad }); err != bad {
		t.Errorf("NoBlock of a failing open = %v, want %v", err, bad)
	}
}
