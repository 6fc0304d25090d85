package geoip2

import "sync/atomic"

// Handle holds the current typed Reader of a database that may be
// replaced while lookups run (hot reload), as reader.Handle does for the
// untyped reader: each lookup uses one Reader from start to end, and a
// Reader swapped out is left to the garbage collector, which unmaps its
// file once no goroutine and no shared record needs it (records are
// copied out of the file, so they stay valid regardless). The zero Handle
// holds no Reader: Reader returns nil, whose lookups answer with an error,
// until Reload. Safe for concurrent use.
type Handle struct {
	cur atomic.Pointer[Reader]
}

// OpenHandle opens file and returns a Handle over it.
func OpenHandle(file string, opts ...Option) (*Handle, error) {
	r, err := Open(file, opts...)
	if err != nil {
		return nil, err
	}
	h := &Handle{}
	h.cur.Store(r)
	return h, nil
}

// Reader returns the current Reader.
func (h *Handle) Reader() *Reader { return h.cur.Load() }

// Reload opens file and makes it current; on error the current Reader
// stays.
func (h *Handle) Reload(file string, opts ...Option) error {
	r, err := Open(file, opts...)
	if err != nil {
		return err
	}
	h.cur.Store(r)
	return nil
}
