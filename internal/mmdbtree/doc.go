// Package mmdbtree walks the search trees of MaxMind DB files: one tree
// network by network (export), or two trees side by side (diff, compare),
// over files that are memory-mapped, not read whole.
//
// It owns the mapping of a file for a walk (Open, Close, FromBytes) and
// the pair walk (PairWalk). It does not own the rules of one tree (node
// records, the IPv4 start, the alias policy, the visit budget) nor the
// single-tree walk: those are format.Tree's, shared with the reader, and
// Walk and Leaves only add the file's name to their errors. It decodes no
// record (callers get data offsets and decode with Tree.Dec), reaches no
// store and links no peer reader: it imports only format, reader (for
// OpenRegular) and internal/mmapfile (internal/importcheck).
//
// It reads any valid MMDB file, and a corrupt one gives an error, never a
// panic or an endless walk:
//
//  1. Walk is format.Tree's walk, with its largest budget of node visits
//     (Tolerant: 64 times the node count, what a walk that follows every
//     alias may spend). A pair walk spends Tree.Budget, set to the same.
//     So cycles and widely shared subtrees end with an error (mmdbtool's
//     FuzzFile runs export and diff on any bytes).
//  2. A record that points outside the data section, and a node below the
//     last bit of the address, are errors naming the file
//     (TestIteratorsStopAndErrors, mmdbtool).
//  3. Open refuses, without blocking, a path that is not a regular file,
//     wrapping reader.ErrNotRegular (TestOpenRefusesFIFO), and an empty or
//     unparsable file, naming it (TestOpenErrors).
//  4. Walk and Leaves give the networks with data in address order,
//     aliases of the IPv4 subtree as the IPv6 networks they are when
//     followed (TestWalkConformance, TestWalkAliases).
//  5. A pair walk reports, in address order, the fewest networks that
//     cover every address whose cell is not skipped, each with one cell
//     throughout; networks both trees alias are reported once, as IPv4.
//     Its answers equal address-by-address lookups with maxminddb-golang
//     (TestDiffMatchesPeerLookups, mmdbtool; TestCompareMatchesBruteForce,
//     eval).
//
// A Tree is not safe for concurrent use (a walk spends its Budget), except
// that Visited may be read while a walk runs; there is no global state.
// After Close no slice of the file may be used.
package mmdbtree
