// Package mmdbtool is what `ipatlas export`, `diff`, `verify` and
// `inspect` do, as a library over memory-mapped MaxMind DB files: any
// MMDB file, not only ipatlas's.
//
// It owns:
//
//   - File (Open, FromBytes): a file mapped read-only for walks over its
//     search tree, with Networks, an iterator of (Network, error) in
//     address order, and the lossless JSON form of its records
//     (AppendRecordJSON, mmdbjson.AppendJSON's output, faster);
//   - WriteJSONL and WriteCSV: the export streams;
//   - Differ: the differences between two files' answers, an iterator
//     of (Difference, error), and their JSON lines;
//   - Verify: the structural check, a VerifyReport of problems and
//     warnings;
//   - Inspect: the statistics of one walk of the tree, Stats.
//
// The command line (cmd/ipatlas) parses flags, prints and picks exit
// codes; it holds no logic of these four. This package writes no files
// (export's atomic temporary file and compression are the command's) and
// does not import builder, so that an edge process embedding it links no
// store.
//
// Invariants:
//
//  1. Files are memory-mapped (read whole only where the file system
//     cannot map), never copied onto the heap: a diff of two 755 MB files
//     holds neither. Open, Inspect and Verify refuse a path that is not a
//     regular file without blocking (reader.OpenRegular;
//     TestOpenRefusesNonFiles).
//  2. A corrupt file gives an error naming it, never a panic or an
//     endless walk: walks of File and Differ visit at most 64 times the
//     node count per walk (internal/mmdbtree's budget, given in full to
//     every walk); Inspect's walk allows each node once. Iterators yield
//     an error at most once, as their last pair, and stop when the loop
//     breaks (TestIteratorsStopAndErrors). (FuzzFile; TestVerifyCorrupted,
//     TestDiffBadFiles in cmd/ipatlas.)
//  3. AppendRecordJSON is exactly mmdbjson.AppendJSON of the decoded value
//     (TestRecordJSONRandom, TestRecordJSONRealFiles), so records compare
//     by value and type in Differ whatever pointers or key order a writer
//     used.
//  4. Networks agrees with maxminddb-golang v2's Networks, with and
//     without aliased networks (TestNetworksMatchesPeer); Differ with
//     lookups of both files by v2 (TestDiffMatchesPeerLookups); Inspect
//     with v2's network census (TestInspectMatchesPeer).
//  5. Memory is bounded by the tree's depth and the distinct records:
//     the text caches hold at most 64 MiB each and empty when full.
//
// Concurrency: a File, a Differ and their iterators are not safe for
// concurrent use, except File.Visited, which a progress line may read
// while a walk runs. Distinct Files are independent; there is no global
// mutable state.
package mmdbtool
