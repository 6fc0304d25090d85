// Package format is the MaxMind DB (MMDB) binary format, version 2.0:
// the data-section codec, the metadata, and the search-tree records.
//
// A file is laid out as
//
//	+-------------------+------------------+--------------+---------------------------+
//	| search tree       | 16 zero bytes    | data section | marker "\xAB\xCD\xEFMaxMind.com" + metadata map |
//	| node_count nodes  | (separator)      | values       | (at most 128 KiB)         |
//	+-------------------+------------------+--------------+---------------------------+
//
// A node is two records of record_size bits (24, 28 or 32). A record
// value v is a node number when v < node_count, "no data" when
// v == node_count, and the data-section offset v - node_count - 16
// otherwise.
//
// format is the one byte-level core of the module's MMDB readers: the
// control-byte, size and pointer layer (ReadControl, ReadResolved,
// SizeValid: control.go), the limits of a decode (MaxDepth, MaxValues,
// MaxPayloadBytes, ExpansionLimit), and the search tree's rules and its
// one walker (Tree: walk.go). Decoder (into Values), the reader's typed
// decoder, Database, the reader's Networks and Verify and
// internal/mmdbtree all go through them.
//
// Invariants:
//
//  1. Decoding never panics, reads out of bounds or loops for ever on any
//     input: every read is bounds-checked, nesting is limited to MaxDepth,
//     the values and payload bytes one decode produces to ExpansionLimit,
//     pointer cycles and pointers to pointers are errors
//     (TestControl, TestValueErrors, FuzzDecode).
//  2. The encoder writes maps with their keys sorted, so equal values
//     encode to equal bytes; equal values are stored once and referenced by
//     pointer where a pointer is shorter than the value.
//  3. A walk of any search tree ends: it reads at most one node per bit
//     of the 128-bit key and makes at most Tree.VisitBudget node visits;
//     cycles, shared subtrees and nodes below the last bit are errors
//     (see Tree; TestTreeWalkCorrupt, FuzzTreeWalk, FuzzTree).
//  4. Every value the encoder writes at the top level is a record that the
//     caller asked for; shared sub-values first appear inside a record and
//     are pointed to afterwards, so a verifier that walks the data section
//     finds no value that the tree does not reference.
//
// All types here are values or read-only views and are safe for
// concurrent reads; an Encoder is used by one goroutine at a time.
package format
