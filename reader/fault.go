package reader

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/ipatlas/ipatlas/internal/mmapfile"
)

// ErrNotRegular is wrapped by the error of Open and OpenRegular for a path
// that is not a regular file (a FIFO, a device, a directory, a socket).
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens file read-only, refusing anything but a regular file
// without blocking: the file is opened with O_NONBLOCK (where the
// platform has it), so that a FIFO with no writer cannot block the open,
// and its type is checked on the open descriptor. Open uses it; it is
// exported for programs that read a database file by other means (into
// memory, say) and want the same check.
func OpenRegular(file string) (*os.File, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|mmapfile.OpenNonblock, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, &fs.PathError{Op: "open", Path: file,
			Err: fmt.Errorf("%w (%s)", ErrNotRegular, fileTypeName(st.Mode()))}
	}
	return f, nil
}

func fileTypeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}

// FaultError reports a memory fault while reading a memory-mapped file:
// the file was truncated or rewritten in place under a Reader made by
// Open. Only Guard returns it.
type FaultError struct {
	// Addr is the faulting address.
	Addr uintptr
}

// Error returns a message naming the likely cause.
func (e *FaultError) Error() string {
	return fmt.Sprintf("memory fault at %#x reading the mapped database: the file was truncated or changed in place", e.Addr)
}

// Guard runs f and turns a memory fault in f into a *FaultError instead
// of a crash. A Reader made by Open reads the file through a memory
// mapping; if the file is truncated while mapped, the next read of a
// page past its new end raises SIGBUS, which kills the process unless
// the reading goroutine has asked for faults to panic
// (debug.SetPanicOnFault). Guard does that for the duration of f, in
// the calling goroutine only, recovers the fault's panic and restores the
// previous setting; any other panic is passed on.
//
// Guard protects the calls made in f on the calling goroutine. It cannot
// make answers right: a file rewritten in place may give wrong records
// or errors without a fault. Replace files by renaming (see the package
// documentation). A Reader that faulted must be treated as damaged:
// close it and open the file again once it is whole.
func Guard(f func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if p := recover(); p != nil {
			if fe := faultOf(p); fe != nil {
				err = fe
				return
			}
			panic(p)
		}
	}()
	return f()
}

// faultOf returns the FaultError for a recovered panic value p if it is a
// memory fault at a non-nil address (what debug.SetPanicOnFault turns a
// SIGBUS or SIGSEGV into), else nil.
func faultOf(p any) *FaultError {
	re, ok := p.(runtime.Error)
	if !ok {
		return nil
	}
	if a, ok := re.(interface{ Addr() uintptr }); ok {
		return &FaultError{Addr: a.Addr()}
	}
	return nil
}
