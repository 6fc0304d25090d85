// Package mmdbjson is the lossless JSON form of MMDB data-section values
// (format.Value): AppendJSON writes a value so that ParseJSON reads back
// the same MMDB types, for ipatlas export's raw records, the records of
// ipatlas diff and the builder's raw-record input (ipatlas lookup and the
// HTTP service print plain JSON, internal/recordjson, not this form).
// It owns that one form (plain JSON
// where the default rule gives the type back, a {"$type", "value"}
// wrapper where it does not) and its parser; it imports only format and
// the standard library, and knows nothing of ipatlas's record schema.
//
// Invariants:
//
//  1. ParseJSON(AppendJSON(v)) is Equal to v for every v that
//     format.AppendValue can encode (TestJSONRoundTripRandom,
//     TestJSONHandWorked).
//  2. Parsing never panics on any input and is bounded: nesting to
//     format.MaxDepth, work linear in the input's length (FuzzParseJSON,
//     TestParseJSONDeepLinear); an error names its byte offset and what
//     was expected (TestParseJSONErrors).
//  3. Output is deterministic: map keys sorted by their bytes, numbers in
//     the shortest form that reads back to the same bits.
//
// Functions keep no state; a JSONParser is a value and safe for
// concurrent use.
package mmdbjson
