// Package mmapfile maps a whole file read-only into memory, and
// anonymous memory for large indexes, for reader (its mapped files and
// lazy indexes) and the packages that walk MMDB files with it
// (internal/mmdbtree, mmdbtool). It owns the mapping system calls and
// nothing else: it imports only the standard library and
// golang.org/x/sys, and parses nothing, so that reader, which uses it,
// stays as light.
//
// Invariants:
//
//  1. Map returns a read-only shared mapping of the first length bytes of
//     the file, or errors.ErrUnsupported where the platform or the file
//     system cannot map files (the caller then reads the file instead).
//  2. MapAnon returns zeroed private memory, or errors.ErrUnsupported
//     (the caller allocates on the Go heap instead).
//  3. Whole holds a whole open regular file: mapped, or read where Map
//     is unsupported; an empty file is ErrEmpty (TestWhole). The open,
//     the regular-file check and how errors name the file stay the
//     caller's.
//  4. The mapping outlives the *os.File: close it after Map; Unmap ends
//     the mapping, after which the bytes must not be read.
//
// internal/mmdbtree's TestWalkConformance walks a mapped conformance file
// and unmaps it; mmdbtool's tests and FuzzFile read every file through
// it; reader's tests open every file through it and fill its lazy
// indexes in memory from MapAnon (TestOpenTouchesNoIndex,
// TestIndexConcurrentFill).
package mmapfile
