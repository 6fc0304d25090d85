// Package eval measures IP-geolocation databases the way the geolocation
// papers report their models: against ground truth (Evaluate: error in
// km, share within 1 to 100 km, accuracy per level of the region
// hierarchy, calibration of the stated confidences, honesty of
// accuracy_radius) and against each other (Compare: how much of the
// address space two databases place differently).
//
// It owns those measures (Evaluate, Compare, Result, Comparison and
// their JSON form) and their report (Table, WriteReport). It reads
// databases only through reader (lookups) and internal/mmdbtree (walks),
// truth files only through builder.ReadTable, and never opens a kv
// store; peer readers appear only in its tests, as oracles; it plots
// with internal/svgplot, not gonum, so the ipatlas binary stays light
// (internal/importcheck).
//
// Truth files are read by builder.ReadTable (CSV, TSV, JSONL; plain, .gz,
// .zst): columns ip, latitude, longitude, and optionally country_code or
// country, subdivision_code or subdivision, city (a name or a GeoNames
// id) or city_code, and L or L_code for every deeper level L of the
// hierarchy (province, district, street, community by default).
//
// Definitions (each held by a test against a brute-force reference in
// eval_test.go):
//
//  1. Distances are great-circle, on a sphere of radius 6371.0088 km
//     (internal/geo.Distance).
//  2. error_km and within_km are over the rows whose record has a
//     location; within is "at most". The median of an even count is the
//     mean of the middle two; p90 is the nearest rank.
//  3. A level's accuracy is over the truth rows naming it; a row the
//     database does not answer is wrong.
//  4. Calibration buckets the rows whose record states a confidence at
//     the level into Buckets equal-width buckets; ECE is the
//     rows-weighted mean of |share correct - mean confidence|.
//  5. radius_honesty is over the rows with a location and an
//     accuracy_radius: the share whose error is at most the radius.
//  6. Compare weighs by addresses; IPv4 is counted once (aliases inside
//     IPv6 count as nothing).
//  7. Records of the plain GeoIP2 shape are read by a fast path straight
//     from the data section's bytes (fastrecord.go: only the fields eval
//     compares; places, subdivision arrays and strings kept by offset);
//     every other record, and any --*-path layout, by the struct decoder
//     of decodeAnswer, the reference the fast path equals
//     (TestFastAnswerMatchesDecodeAnswer, FuzzFastAnswer).
//  8. A record whose coordinates are NaN, infinite or out of range counts
//     as found without a location: no NaN reaches a statistic, and the
//     results still encode as JSON (TestHostileLocations). A database
//     built from the truth's own points has no error and full accuracy,
//     one with every point moved by d has error d
//     (TestEvaluateExactAndShifted).
//  9. The JSON keys of a Result (what `ipatlas eval --json` prints) are
//     fixed: the keys its issue lists (TestResultJSONKeys). WriteReport
//     writes each file to a temporary name and renames it into place.
//
// Undefined figures (no rows to measure) are NaN, written to JSON as
// null. Databases are memory-mapped. Evaluate keeps one float64 per
// truth row and database and at most 2^18 decoded records per database;
// Compare keeps at most 2^18 small records per file. Nothing here is safe
// for concurrent use, and there is no global mutable state.
package eval
