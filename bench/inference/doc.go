// Package inference generates inference results (SPEC.md, "Input:
// inference results") at any scale up to every IPv4 /24 plus millions of
// IPv6 /48s, deterministically from a seed, and checks a .mmdb built from
// them against the rows it was built from.
//
// The input: a row for each of the first Config.IPv4Count IPv4 /24s,
// then Config.IPv6 rows of /48s spread in address order over 2000::/3
// outside 2002::/16 (6to4, which compile aliases to IPv4). Each row
// carries one of Config.Combos distinct combinations of country,
// province, city, district, coordinates and confidences, drawn from a pool
// of about 11,000 cities in 25 countries (so names repeat, as in real
// data), named in Latin, Cyrillic, Han, Katakana and Hangul scripts;
// confidence decreases with depth. One aligned run of 16 /24s in ten
// shares a combination, so compile has networks to merge.
//
// With Config.PerAddress the rows are per-address instead (what BertGeo-
// style models emit): Config.IPv4Count IPv4 /32s (64 in each /24, /24s
// consecutive from 1.0.0.0), then Config.IPv6 IPv6 /64s (16 in each /48,
// /48s consecutive from 2400::), with realistic locality (the /24s of a
// /21 share a city, each /24 its confidences) and coordinates jittered
// per address around the city at six decimals: almost every record is
// distinct (see peraddress.go).
//
// Generate writes gzip CSV and JSONL, streaming (memory bounded by
// Config.Combos, not by the rows). RunCheck opens a .mmdb with
// maxminddb-golang v2 (an independent reader), runs Verify and checks
// that seeded addresses answer the record of the row generated for their
// network.
//
// Used by bench/buildbench (the build path's scale benchmark) and by
// `ipatlas-bench build`.
//
// It owns the synthetic input and its check. It does not build: the
// database under check is made by ipatlas (ingest + compile) or by
// mmdbwriter elsewhere, and checked here only through a peer reader,
// never through ipatlas's own reader, so a bug shared by ipatlas's writer
// and reader cannot pass. It links maxminddb-golang, so the shipped
// ipatlas binary must not import it (TestShippedDeps,
// internal/importcheck).
//
// Invariants:
//
//  1. The input depends on the Config only: the same seed gives the same
//     bytes, another seed other rows (TestGenerateDeterministic). The row
//     of each network is a function of (Config, its index), so RunCheck
//     needs the Config, not the input files.
//  2. Rows come in strictly ascending address order, IPv4 first, the
//     IPv6 networks inside 2000::/3 and outside 2002::/16
//     (TestNetworksInOrder; per-address rows: TestAddressRowsInOrder).
//  3. Generate streams: writing ten times the rows allocates no more
//     (TestGenerateStreams); each file is written to a temporary name and
//     renamed when complete (internal/atomicfile), so no half-written
//     input is left under its name.
//  4. RunCheck fails on a database built from other rows
//     (TestCheckCatchesWrongRows) and passes on one that ipatlas built
//     from these rows, also with caches far smaller than the records
//     (TestBoundedCachesGiveTheSameDatabase).
//  5. Config.Validate refuses settings out of range, naming the flag of
//     bench/buildbench that sets them; Generate validates first.
//
// Everything here is safe for concurrent use: there is no shared mutable
// state (the name pools are built once per call, from the seed).
package inference
