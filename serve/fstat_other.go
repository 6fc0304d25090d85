//go:build !linux

package serve

import "os"

// statFile is an open file that fstat can ask for its size and mtime.
type statFile struct {
	f *os.File
}

func newStatFile(f *os.File) statFile { return statFile{f: f} }

// fstat returns the size and modification time (Unix nanoseconds) of the
// file.
func (s statFile) fstat() (size, mtime int64, err error) {
	st, err := s.f.Stat()
	if err != nil {
		return 0, 0, err
	}
	return st.Size(), st.ModTime().UnixNano(), nil
}
