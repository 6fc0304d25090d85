// Package reader reads MaxMind DB (MMDB) files: a drop-in replacement for
// github.com/oschwald/maxminddb-golang/v2. It has the same exported names,
// signatures, struct-tag semantics, options and error types, so a program
// switches by changing its import path (TestDropIn builds one program
// against both and compares the output); lookups are faster, and typed
// records come from the sibling package geoip2.
//
// Layout of a file and of a Reader over it:
//
//	file:   | search tree | 16 zero bytes | data section | marker + metadata |
//	          ^ tree        (separator)     ^ data          Metadata
//	index:  idx4p[ip>>(32-bits)] -> record reached after <= bits bits of the
//	        IPv4 subtree, and how many bits that took (32 MiB for 23 bits)
//	        idx6[first 16 bits]  -> the same for the root of an IPv6 tree
//	        both reserved by Open, filled one slot (a run of entries
//	        under a 12-bit prefix; 8-bit for idx6) at a time by the
//	        first lookup that reads an empty entry of the slot
//
// A lookup reads one index entry and walks the remaining bits of the tree
// (one dependent read per bit), then hands back a Result holding the data
// offset; decoding happens only when asked (Result.Decode), through a plan
// built once per Go type and cached.
//
// What the reader owns, and what it takes from format: the byte layer of
// the data section (control bytes, sizes, pointers and the rule that a
// pointer never points at a pointer: format.ReadControl, ReadResolved,
// SizeValid) and its limits (format.MaxDepth, format.ExpansionLimit) are
// format's, as are the search tree's rules and its one walker
// (format.Tree: the IPv4 start, the alias policy, the visit budget, the
// iterator of leaves that Networks, NetworksWithin and Verify use). The
// reader keeps what makes it fast: the lookup loops per record size and
// the acceleration indexes (reader.go, index.go), and, for decoding, the
// byte layer's use with maxminddb-golang's errors (decode_bytes.go),
// untyped decoding and the Decode entry points (decode_any.go), the
// caches keyed by data offset (decode_cache.go), the per-type plans
// (decode_plan.go) and their decode functions (decode.go).
//
// What it must not do: import anything but the standard library, format,
// internal/mmapfile (the mapping system calls) and golang.org/x/sys
// (internal/importcheck), so that an edge process
// that embeds it links no store, no peer reader and no metrics; write or
// lock the files it reads.
//
// Invariants:
//
//  1. Every answer (found, offset, prefix, decoded value, error type) is
//     the one maxminddb-golang v2 gives; the tests check this on every
//     conformance file and on GeoLite2-City, with the index on and off
//     (TestCompatTestData, TestGeoLiteMatchesPeer,
//     TestDecodeTypedMatchesPeer, TestDropIn).
//  2. The index only skips the first bits of the walk: an entry holds
//     exactly what the bit-by-bit walk holds after those bits, so indexed
//     and plain lookups agree (TestIndexMatchesPlainWalk, FuzzReader),
//     also while goroutines fill the same slots at once
//     (TestIndexConcurrentFill). An entry is 0 until filled, then final.
//  3. No input makes the reader panic, read out of bounds or run without
//     bound: every read of the data section is bounds-checked, nesting is
//     limited to 512, containers larger than the rest of the section and
//     pointer fan-out beyond a budget proportional to the section are
//     errors, tree iteration and verification make at most format.Tree's
//     budget of node visits (the node count, plus the node count per alias
//     followed), filling an index slot is bounded by its size (FuzzReader,
//     TestBadData, format's FuzzTreeWalk).
//  4. Decoded strings are copies: nothing handed to the caller points into
//     the mapped file, so unmapping it cannot corrupt a record.
//  5. Open reads the metadata and the 96 nodes down to the IPv4 subtree
//     and nothing else of the tree: a process pays for the parts of the
//     file and of the index near what it looks up (TestOpenTouchesNoIndex;
//     TestOpenResidentMemory: Open of a 300 MiB file adds about 1 MiB
//     resident). The indexes stay within their documented sizes (32 MiB
//     for IPv4, 512 KiB for IPv6 by default: TestIndexMemoryBounded).
//  6. The hot path does not allocate: Lookup and the Result accessors
//     make no allocation (TestLookupDoesNotAllocate), Decode leaves the
//     caller's target where it is (TestDecodeTargetDoesNotEscape), and the
//     functions of the lookup path stay inlinable (TestHotPathInlines).
//
// Concurrency: a Reader is immutable after Open (but for index entries
// going from empty to final, through atomics) and safe for concurrent
// use by any number of goroutines, except Close, which must not run
// concurrently with other calls. To replace a database while lookups run,
// use a Handle: it swaps Readers atomically and leaves old ones to the
// garbage collector, which unmaps them once unreferenced; every answer is
// then the whole answer of one file, never a mix (TestHotReload, with
// -race), and a Reader in use is never unmapped under a call
// (TestMappedReaderStaysAlive).
//
// Replacing the file: a Reader made by Open maps the file, so the file
// must not change while the Reader is in use. Replace a database by
// writing the new version to a temporary name in the same directory and
// renaming it over the old one (as ipatlas build and compile do): the
// Reader keeps the old inode, whole, until it is closed. Never write in
// place (cp over it, truncate, an editor's save): a Reader over a file
// rewritten in place returns records of the new file mixed with the old,
// errors, or wrong answers, and a read of a page past a truncated end
// raises SIGBUS, which kills the process. Open refuses anything but a
// regular file (ErrNotRegular) without blocking on a FIFO. To survive
// writers that break the rule, either read the file into memory
// (OpenBytes over os.ReadFile: a private copy nothing can change) or call
// the Reader inside Guard, which turns the fault into a *FaultError in
// the calling goroutine (TestGuardTurnsFaultIntoError); then close that
// Reader and open the file again once it is whole. ipatlas serve does
// the latter and watches inode, size and mtime to notice the change.
//
// Not supported from maxminddb-golang v2: custom unmarshalers
// (mmdbdata.Unmarshaler and its cursor form) need that module's mmdbdata
// types, which this package cannot import; values of such types decode by
// the ordinary struct-tag rules. The `maxsize` tag option is accepted and
// not enforced.
package reader
