// Package recordjson is the one record-to-JSON encoding of ipatlas: what
// `ipatlas lookup` prints and what the HTTP service (package serve)
// answers for a decoded record are the same bytes. serve calls Encode;
// lookup, which writes the record inside a line of its own, encodes with
// the same settings and, when a value has no JSON number, the same Safe.
// It owns that encoding and nothing else: it imports only the
// standard library, decodes nothing (its callers hand it values decoded
// by reader) and writes no file. The lossless JSON form of a data section
// (types kept, for export and diff) is mmdbjson's, not this.
//
// Invariants (TestEncode):
//
//  1. No HTML escaping: names stay as written, "<" stays "<".
//  2. NaN and the infinities, which JSON has no number for, become the
//     strings "NaN", "+Inf" and "-Inf" (mmdbjson.AppendJSON's spelling)
//     at any depth of maps and slices; every other value, float32 digits
//     included, is encoding/json's output for it, whether or not a NaN is
//     elsewhere in the record.
//  3. Encode and Safe never modify their argument; the output has no
//     trailing newline.
//
// It holds no state and is safe for concurrent use.
package recordjson
