// Package keycache is a fixed-size map from 128-bit keys (two 64-bit
// hashes of a value) to uint32 values: the memo of "records seen lately"
// that both the builder's ingest (kv) and the MMDB writer (format) keep so
// that their memory does not grow with the number of distinct records.
//
// It owns that table and nothing else: it hashes nothing (callers bring
// the keys) and imports only the standard library, so format, which may
// import nothing of the module but this, can use it
// (internal/importcheck).
//
// Invariants:
//
//  1. A Cache never grows after New, which rounds to a power of two of
//     sets holding at least the keys asked for, up to MaxLen (TestSize,
//     TestSizeCapped).
//  2. A Get returns only a value that was Put for exactly that key: a
//     forgotten key is a miss, never a wrong value; within a set of Ways
//     slots, the least recently used (Get or Put) slot is replaced first
//     (TestAgainstModel, against a brute-force model).
//  3. Get does not allocate: it is on the per-record path of the writer
//     and the ingest (TestGetDoesNotAllocate).
//
// A Cache is used by one goroutine at a time; there is no global state.
package keycache
