// Package mmapfile maps a whole file read-only into memory, for the
// packages that walk MMDB files without the reader (internal/mmdbtree,
// mmdbtool). It owns the mapping system calls and nothing else: it
// imports only the standard library and golang.org/x/sys, and parses
// nothing.
//
// Invariants:
//
//  1. Map returns a read-only shared mapping of the first length bytes of
//     the file, or errors.ErrUnsupported where the platform or the file
//     system cannot map files (the caller then reads the file instead).
//  2. The mapping outlives the *os.File: close it after Map; Unmap ends
//     the mapping, after which the bytes must not be read.
//
// It has no tests of its own: internal/mmdbtree's TestWalkConformance
// walks a mapped conformance file and unmaps it, and mmdbtool's tests
// and FuzzFile read every file through it.
//
// reader keeps its own mapping code: it maps by descriptor and advises
// huge pages, and may import only format and golang.org/x/sys.
package mmapfile
