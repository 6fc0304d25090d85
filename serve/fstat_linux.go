package serve

import (
	"os"
	"syscall"
)

// statFile is an open file that fstat can ask for its size and mtime
// without allocating.
type statFile struct {
	f  *os.File // kept: its finalizer would close fd
	fd int
}

// newStatFile takes f (a regular file: Fd's switch to blocking mode
// changes nothing for it).
func newStatFile(f *os.File) statFile { return statFile{f: f, fd: int(f.Fd())} }

// fstat returns the size and modification time (Unix nanoseconds) of the
// file without allocating.
func (s statFile) fstat() (size, mtime int64, err error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(s.fd, &st); err != nil {
		return 0, 0, err
	}
	return st.Size, st.Mtim.Nano(), nil
}
