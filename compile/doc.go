// Package compile turns a snapshot of the store (kv) into a .mmdb file.
//
//	kv.Snapshot.All()            networks of every layer, by address, then
//	        |                    prefix length, then layer priority
//	        v
//	pick per prefix              higher priority, then higher ipatlas.confidence
//	        v
//	Resolver                     most specific prefix wins; the rest of a
//	        |                    covering network as the fewest CIDRs
//	        v
//	aggregator (optional)        Options.Aggregate region[:LEVEL]: runs of
//	        |                    adjacent networks with the same region path
//	        |                    merged into one record (aggregate.go)
//	        v
//	format.Writer                merges equal siblings, stores each record
//	                             once, writes temp file, fsync, rename
//
// It owns the resolution of the store's layers into one answer per
// address (the pick, the Resolver, the aggregator) and the Stats of a
// compile. It writes the file only through format.Writer (the byte
// encoding is format's, the record schema is schema's) and reads the
// store only through a kv.Snapshot; it parses no input (builder does)
// and links no peer writer or reader (internal/importcheck).
//
// Invariants:
//
//  1. With the exact policy (the default), the output answers every
//     address as the most specific stored network holding it does
//     (TestResolverAgainstOracle, against a brute-force oracle on seeded
//     nested networks), the rest of a covering network split into the
//     fewest CIDRs (TestEmitRangeFewestCIDRs); equal prefixes are decided
//     by layer priority, then by overall confidence, then by layer order
//     (TestEqualPrefixes). Networks out of order are an error, not a
//     wrong file (TestResolverRejectsDisorder).
//  2. Memory is bounded by the nesting depth of the networks and fixed
//     caches (format.MemoryOptions, the store's dictionary cache), never
//     by the number of networks or of distinct records: the writer
//     spills records to temporary files and finds equal ones with an
//     external sort; the aggregator holds one open group of at most
//     maxMembers networks and a fixed histogram. Records found by their
//     dictionary number and records found by hashing their bytes give the
//     same file, byte for byte (TestCompileRecordsMatchBytes); with caches
//     far smaller than the records the file is still right
//     (TestBoundedCachesGiveTheSameDatabase, bench/inference).
//  3. The output path holds the old file or the whole new one, never a
//     part: a failed compile (TestAggregateLevelNoneReach) or an
//     interrupted build (TestBuildInterruptedCleansUp, cmd/ipatlas)
//     leaves no file and no temporary file.
//  4. With Options.Aggregate, every address of a stored network with a
//     location is answered with the same region path down to the level,
//     at a location within the answer's accuracy_radius of its own (and
//     within MaxMergeKm); Stats.Aggregate.MaxKm bounds that distance
//     (TestAggregatePerAddress, TestAggregateProperty).
//
// Networks inside the IPv4 aliases (::ffff:0:0/96, 2002::/16) of an IPv6
// database, and IPv6 networks of an IPv4 database, are left out and
// counted in Stats.Skipped.
//
// Concurrency: a compile reads one snapshot, so ingests may run while it
// does; compiles to different outputs may run at once; there is no
// global mutable state. Options are not modified.
package compile
