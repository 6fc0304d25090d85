// Package atomicfile writes a file so that a reader sees either the old
// file or the whole new one, never a part, and the new one survives a
// power cut once the write returns.
//
// It owns that one sequence (Create, Commit, Abort; Write and WriteFile
// around them; SyncDir) for every package that writes a file whole:
// compile's outputs, gazetteer's files, eval's and bench's reports and
// bench/inference's inputs. It
// imports only the standard library and format (for format.CreateTemp,
// the temporary name both share); format/writer.go keeps its own copy of
// the sequence, since format imports only the standard library.
//
// Invariants:
//
//  1. The bytes go to a temporary file in the target's own folder (a
//     rename does not cross file systems), named by format.CreateTemp:
//     ".NAME.PID-RANDOM.tmp", mode 0644 (TestWriteFileReplaces,
//     TestFailedWriteLeavesOld); stale ones of killed writers are swept
//     when the next writer of the same target starts, those of live
//     processes kept (TestSweepsStale).
//  2. Commit fsyncs the file, closes it, renames it over the target and
//     fsyncs the folder, in that order; only then is the write durable.
//     A folder's fsync that the file system does not support is not an
//     error; a missing folder is (TestSyncDir).
//  3. On any failure, and on Abort, the temporary file is closed and
//     removed and the target is left as it was, and the error names the
//     target (TestFailedWriteLeavesOld, TestFailedRenameLeavesNoTemp).
//  4. A File is committed at most once: Commit after Commit or Abort is
//     an error, Abort after Commit does nothing, so Abort can be deferred
//     (TestAbortAndCommitOnce).
//
// A File is used by one goroutine; the package has no global state.
package atomicfile
