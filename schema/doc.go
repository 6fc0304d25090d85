// Package schema is ipatlas's record model: what one row of inference
// results holds, what the record stored for it in a .mmdb holds, and the
// conversions between them. It owns
//
//   - Inference and Region, a row as the builder parses it: a region
//     hierarchy (DefaultLevels: country > province > city > district >
//     street > community, or a source's own levels) with a confidence per
//     level, coordinates, a radius, source and model version; its
//     validation (Validate, FieldError naming the field) and Normalize;
//   - the encoders of the stored record: Inference.Record (a format.Map)
//     and Inference.AppendRecord (the same bytes, written directly), and
//     InferenceFromRecord, which reads a record back (SPEC.md, "Record
//     schema in the .mmdb");
//   - the typed record model that lookups decode into: the GeoIP2 models
//     with geoip2-golang v2's field names and tags (City, Country,
//     Enterprise, ASN and their parts; reader/geoip2 declares them as
//     aliases) and Atlas, the ipatlas record (IPAtlas, AtlasRegion, which
//     reader/geoip2 calls Region: not this package's Region, an input
//     row's level);
//   - the country-to-continent table (ContinentOf) and the reading of
//     input cells (ParseDecimal, QuoteCell).
//
// The byte codec is package format; this package only says which values a
// record holds.
//
// Invariants:
//
//  1. AppendRecord writes exactly AppendValue(Record()) (FuzzAppendRecord),
//     and every value of a record has a field of Atlas that decodes to it,
//     by this module's reader as by maxminddb-golang v2
//     (TestAtlasCoversRecord), so the writer and the typed model cannot
//     drift apart.
//  2. InferenceFromRecord(in.Record(levels)) is in after Normalize, also
//     after an encode/decode round trip (TestRoundTrip).
//  3. A record stores no empty map, array or string; the GeoIP2 fields are
//     a lossy view (percent confidences, the first levels) for existing
//     readers, the ipatlas map holds everything.
//
// Every type here is a plain value; functions do not keep or modify their
// arguments and are safe for concurrent use.
package schema
