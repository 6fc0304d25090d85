// Package recordpath reads one value of an MMDB record by a path of keys
// and indexes, in the syntax of 'ipatlas lookup --path' (elements
// separated by dots, "\." a dot and "\\" a backslash inside an element),
// with the semantics of libmaxminddb's MMDB_aget_value: each element is
// read as the data says, a key in a map, an index in an array (negative
// from the end), nothing in a scalar.
//
// It owns the path syntax (Parse) and the path walk (Value), shared by
// lookup --path and eval's --*-path layouts. It reads
// records only through reader.Result (never the bytes, never a peer
// reader) and imports nothing else of the module.
//
// Invariants:
//
//  1. Parse rejects an empty path, an empty element and a backslash
//     before anything but '.' or '\', naming the byte or element
//     (TestParseLookupPath, cmd/ipatlas), and never panics; a list of
//     elements has one spelling: escaping the elements Parse gives back
//     and joining them with dots yields its input (FuzzParse).
//  2. Value answers what mmdblookup answers for the same path: the value,
//     or nil (no error) when the record has nothing there
//     (TestLookupPathAgainstMmdblookup, cmd/ipatlas, on the conformance
//     files). Numeric elements are tried as indexes first (reader's
//     DecodePath, which decodes only the value); when that fails, the
//     whole record is decoded and each element read as the data says, so
//     a numeric map key works too.
//
// It holds no state and is safe for concurrent use.
package recordpath
