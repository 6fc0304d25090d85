// Package builder ingests inference results (SPEC.md, "Input: inference
// results") into a kv.Store: it reads a file, checks every row, splits
// ranges into CIDRs, turns each row into the record schema.Inference.Record
// describes and writes the networks into one layer as one kv ingest.
//
// It owns the input side: the input formats, row checks and their errors,
// ranges to CIDRs, labeling from a gazetteer, and the ingest of one file.
// It does not decide which network wins across files or layers (compile
// does, from a kv snapshot) and writes no .mmdb. It reaches Pebble only
// through kv, reads gazetteer files only through gazetteer, and links no
// peer reader or writer (internal/importcheck). ReadTable, the same
// readers without the schema, serves eval's truth files.
//
// # Input formats
//
// Each format is read plain, gzip- or zstd-compressed (Options.Compression,
// or the extension .gz, .zst). Lines are counted from 1; the header is
// line 1.
//
//   - csv: RFC 4180 (encoding/csv: quoted fields may hold commas, quotes
//     and newlines). A header row is required; columns by name, in any
//     order: network; for each level L of the hierarchy (Options.Levels,
//     default schema.DefaultLevels) L, L_code and L_confidence; latitude,
//     longitude, accuracy_radius_km, confidence, source, model_version,
//     names_lang; and the declared Options.ExtraColumns, kept as strings
//     under ipatlas.extra. Any other column is an error, and so is a
//     header without network. An empty cell is an absent value.
//   - tsv: the same columns separated by tabs, one row per line, no
//     quoting or escapes.
//   - jsonl: one JSON object per line (a file picked by its name whose
//     first line has a "record" key and no "regions", or is the metadata
//     line of 'ipatlas export', is read as raw) with the same keys (numbers as JSON
//     numbers, the rest as strings; null is absent), or with the levels
//     given as
//     "regions":[{"level":"country","code":"CN","name":"China","confidence":0.98},...]
//     instead of the level keys.
//   - raw: one {"network": ..., "record": R} per line, R in the lossless
//     JSON form of mmdbjson.AppendJSON ({"$type":"uint16","value":5} for
//     values whose type plain JSON would not give back), stored exactly as
//     given, without schema checks: the form `ipatlas export` writes. A
//     first line {"metadata":{...}} is skipped (ReadRawMetadata reads it).
//
// Blank lines are skipped in the line-based formats.
//
// A network is a CIDR (1.2.3.0/24), a single address (1.2.3.4 is /32,
// 2001:db8::1 is /128) or an inclusive range first-last, split into the
// fewest CIDRs (SplitRange). CIDRs with host bits set, IPv4-mapped IPv6
// and IPv6 inside ::/96 are errors.
//
// # Labeling
//
// With Options.Labeler, a row with coordinates gets the country,
// subdivision and city it lacks from the nearest place of a gazetteer
// (gazetteer.Labeler: levels the row states are kept); Stats.Label counts
// what happened by row. Coordinates-only rows labeled from one place
// have their record assembled around the place's encoded parts
// (labelfast.go, held to schema.Inference.Record by TestLabelFastMatchesRecord).
// The gazetteer's ID is part of the ingest's source ID.
//
// # Errors
//
// A bad row is a *RowError naming file, line and field
// ("bertgeo.csv:12: latitude: outside [-90, 90] (got 95)"). By default the
// bad rows reject the file: the ingest is aborted and the store is as it
// was, and the error, a *BadRowsError, lists the first MaxReportedErrors
// bad rows. With Options.SkipBadRows the file lands without its bad rows,
// which Stats counts (Skipped) and lists (Errors, the first
// MaxReportedErrors). A bad header, an unreadable or corrupt file and a
// line longer than 64 MiB always reject the file.
//
// # Invariants
//
//  1. Nothing half-written: IngestFile writes into an unpublished kv
//     generation, committed only after the last row; on any error or a
//     cancelled context it is aborted and the store is as it was
//     (TestBadRows, TestIngestCancelled). A row's networks are all
//     checked before any is written, so SkipBadRows lands good rows whole
//     (TestSkipBadRows).
//  2. Idempotent: the ingest's source ID is the SHA-256 of the file's
//     bytes and of the options that shape its rows (format, compression,
//     levels, extra columns, SkipBadRows, Source); kv refuses to ingest the
//     same input twice (kv.ErrAlreadyIngested; TestIngestIdempotent).
//  3. No duplicate network with different data: a network already
//     written by the file is found with a Bloom filter of the networks
//     seen and checked exactly against the ingest's own rows
//     (kv.Ingest.Get); the same network with the same record is written
//     once (TestDuplicatesPastBloomGrowth).
//  4. Memory does not grow with the file nor with its distinct records:
//     rows are read and written one at a time (kv batches are bounded);
//     a line stops at 64 MiB (TestLongRecord); the memos of built records
//     and the table of record numbers have fixed sizes; the one structure
//     that grows is the Bloom filter, about 1.3 bytes per network, capped
//     at 64 MiB (past the cap, false positives grow and cost exact checks,
//     never a wrong answer).
//  5. The parsers never panic or loop on any bytes, and every row they
//     accept gives a valid record (FuzzParseCSV, FuzzParseJSONL,
//     FuzzReadTableCSV, FuzzReadTableJSONL); the CSV reader gives
//     encoding/csv's fields and errors, the reference it mimics
//     (TestCSVReaderMatchesStd, FuzzCSVReaderMatchesStd).
//  6. SplitRange covers exactly the range, in order, each address once,
//     with the fewest CIDRs (TestSplitRangeBruteForce); the fast path of
//     labeled records writes what schema.Inference.Record encodes
//     (TestLabelFastMatchesRecord).
//
// # Concurrency
//
// ReadFile and IngestFile may run concurrently on different files (kv
// allows several ingests at once); Options are not modified.
package builder
