package reader

import (
	"net/netip"
	"sync/atomic"
)

// Handle holds the current Reader of a database that may be replaced
// while lookups run (hot reload). Lookups load the current Reader with one
// atomic read and use it to the end, so every lookup sees either the old
// file or the new one, whole.
//
// A Reader swapped out is not closed: lookups may still be running on it
// and Results from it may still be decoded. Open registers a cleanup that
// unmaps the file once nothing references the Reader any more; call Close
// on an old Reader yourself only when you know no goroutine uses it.
//
// The zero Handle holds no Reader; until Swap or Reload gives it one, its
// lookups answer with an error, as after NewHandle(nil) or Swap(nil).
//
// All methods are safe for concurrent use.
type Handle struct {
	cur atomic.Pointer[Reader]
}

// NewHandle returns a Handle whose current Reader is r.
func NewHandle(r *Reader) *Handle {
	h := &Handle{}
	h.cur.Store(r)
	return h
}

// OpenHandle opens file and returns a Handle over it.
func OpenHandle(file string, options ...ReaderOption) (*Handle, error) {
	r, err := Open(file, options...)
	if err != nil {
		return nil, err
	}
	return NewHandle(r), nil
}

// Reader returns the current Reader (nil if the Handle holds none). Use it
// for a series of calls that must all see the same file. The methods of a
// nil *Reader return errors.
func (h *Handle) Reader() *Reader {
	if h == nil {
		return nil
	}
	return h.cur.Load()
}

// Lookup looks ip up in the current Reader. A Handle without one (the
// zero Handle, NewHandle(nil), after Swap(nil)) answers with an error.
func (h *Handle) Lookup(ip netip.Addr) Result {
	if h == nil {
		return Result{ip: ip, err: errNilReader}
	}
	return h.cur.Load().Lookup(ip)
}

// Swap makes r the current Reader and returns the previous one. Swap(nil)
// empties the Handle: lookups then answer with an error.
func (h *Handle) Swap(r *Reader) *Reader { return h.cur.Swap(r) }

// Reload opens file (typically a new version, written elsewhere and
// renamed over the old path) and makes it the current Reader. If the file
// does not open, the current Reader stays and the error is returned.
func (h *Handle) Reload(file string, options ...ReaderOption) error {
	r, err := Open(file, options...)
	if err != nil {
		return err
	}
	h.cur.Store(r)
	return nil
}
