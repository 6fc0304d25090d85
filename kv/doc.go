// Package kv is ipatlas's store: IP networks and their records, kept in
// layers (one per source of inference results, each with a priority) in a
// Pebble database. It is the source of truth between ingest (builder) and
// compile: builder writes one file at a time into a layer, compile reads a
// consistent snapshot of all layers merged in tree order.
//
// # Why Pebble v2
//
// The store uses github.com/cockroachdb/pebble/v2 (v2.1.7): the current,
// maintained major version, whose Open ratchets a store's format major
// version forward (Options.FormatMajorVersion = FormatNewest), so stores made
// by older builds are upgraded in place. It builds here with the module's Go
// version; v1 is in maintenance only.
//
// # On-disk layout
//
// Every key starts with a one-byte tag. All integers are big-endian, so byte
// order is numeric order.
//
//	data row (26 bytes key):
//	+-----+----------+------------+----------------------------------+------+
//	| 'd' | layer ID | generation | network, 16 bytes in tree space  | bits |
//	|  1  |    4     |     4      | IPv4 a.b.c.d as ::a.b.c.d        |  1   |
//	+-----+----------+------------+----------------------------------+------+
//	value: kind (1 byte: 0 put, 1 tombstone, 2 reference) | record bytes (opaque; MMDB data encoding)
//	       for a reference: uvarint record number in the generation's dictionary
//
//	dictionary row (30 bytes key), after the generation's data rows:
//	+-----+----------+------------+----------------------------------+-----------+
//	| 'd' | layer ID | generation | 17 bytes 0xff (after any network) | record no |
//	|  1  |    4     |     4      |                                  |     4     |
//	+-----+----------+------------+----------------------------------+-----------+
//	value: record bytes
//
//	A record longer than 8 bytes that an ingest meets a second time while
//	its record cache (Options.RecordCache, a fixed-size table of 128-bit
//	keys) remembers it goes into its generation's dictionary, numbered
//	from 0 in order, and its later rows refer to it; its first row holds
//	it. Inference results repeat a few hundred thousand records over
//	millions of networks: the rows shrink to a few bytes of value, and a
//	scan reads each record once. Per-address results, whose records are
//	all distinct, stay in their rows and cost nothing more. The
//	dictionary is written as the ingest goes, in tables of its own (its
//	keys ascend with the numbers); a scan reads it in blocks of 64
//	records through a cache of Options.DictionaryCache bytes, so memory
//	grows with neither the records nor the networks.
//
//	format version:   'v'                    -> uvarint FormatVersion (2); see version.go
//
//	bits is the prefix length in the IPv6 tree's space: IPv6 /n is n,
//	IPv4 /n is 96+n. So 10.0.0.0/8 is ::a00:0/104:
//	  64 00000001 00000007 000000000000000000000000 0a000000 68   (layer 1, generation 7)
//
//	layer metadata:   'm' | layer name       -> version(1)=2 | ID(4) | priority(4, two's complement)
//	                                            | n (uvarint) | n × ( generation(4) | flags(1) | len (uvarint) | sourceID )
//	                                            flags: 1 = merged by CompactLayer (version 1 had no flags byte)
//	layer ID counter: 'n'                    -> next layer ID (4)
//
// Within one (layer, generation) the rows sort by network address, then
// prefix length: IPv6 networks that contain ::/96 (::/0, ::/64) first, then
// all of IPv4, then the rest of IPv6; a network before the networks inside
// it. That is the order compile walks the tree in.
//
// # Generations
//
// An Ingest (one input file) writes a new generation of its layer: a
// generation number no key on disk has. Its rows reach Pebble one of two
// ways, both with flat memory whatever the file's size:
//
//   - Sorted input (rows in ascending key order, the usual case: inference
//     results in address order) is written straight into sstables in
//     <dir>/ipatlas-ingest/, each synced and ingested into Pebble
//     (DB.Ingest) when it reaches 128 MiB, when the order breaks, and at
//     Commit. The rows skip the write-ahead log, the memtable and
//     compactions: the key range of a fresh generation overlaps nothing, so
//     the tables land in the bottom level.
//   - After an order break that ends a short run (fewer than 4096 rows), the
//     rest of the file goes through unsynced Pebble batches of bounded size
//     (Options.BatchSize, 4 MiB).
//
// Either way later writes get later sequence numbers, so the last write of
// a network in an ingest wins. Snapshots read only the generations their
// layer's metadata lists, so the rows are invisible until Commit publishes
// them with one small synced batch that rewrites the layer's metadata
// record:
//
//	Upsert:  gens = gens + [new]                         (newest wins per network)
//	Replace: gens = [new], DeleteRange every old generation (same batch)
//
// Ingested tables are durable when DB.Ingest returns; syncing the publishing
// batch syncs the write-ahead log up to it, so batched rows written before
// are durable too when the generation is listed. A process killed (or a
// machine losing power) at any moment loses at most the ingests not yet
// committed; Open deletes the rows of every generation no layer lists
// (DeleteRange per generation), of every layer ID without metadata, and the
// temporary tables.
//
// Snapshot.All merges one Pebble iterator per listed generation with a
// binary heap ordered by (network key, rank), where rank orders priority
// descending, layer ID ascending, newer generation first. For each (network,
// layer) the first row wins: a put is yielded, a tombstone yields nothing;
// the rest of that layer's rows for the network are skipped. Values are
// yielded without copying.
//
// Every Upsert adds a generation, so a layer built from many upserted files
// costs one iterator per file in every scan. CompactLayer rewrites a layer's
// generations into one (in key order, so through the fast table path) and
// swaps it in with one synced batch; snapshots see no difference.
//
// Idempotence: each generation keeps the sourceID its ingest was begun with.
// BeginIngest refuses (ErrAlreadyIngested) an input whose commit could not
// change the layer: Upsert of the newest generation's source, Replace of the
// only generation's source (unless that generation was merged from several
// by CompactLayer: it keeps the newest source it merged, and is flagged).
//
// # Memory
//
// Bounded whatever the input: an Ingest holds its record cache, one
// table being written for data and one for the dictionary (flushed at
// 128 MiB) or a batch (Options.BatchSize); a scan holds one iterator per
// generation and its dictionary cache. Open refuses a store of another
// format version (VersionError); Migrate upgrades a format-1 store.
//
// # Invariants
//
//  1. Keys are exactly as drawn above; data keys are 26 bytes, and bytewise
//     key order is the order All yields (within a layer and generation).
//     Dictionary keys are 30 bytes and sort after the data keys of their
//     generation; every reference of a listed generation names a row of
//     its dictionary (the dictionary is written before the generation is
//     listed).
//  2. A stored network is masked, has no zone, and is never an IPv6 network
//     of length >= 96 inside ::/96 (the tree's IPv4 space, which IPv4
//     networks occupy) or inside ::ffff:0:0/96 (IPv4-mapped, which compile
//     aliases to the IPv4 space): Put rejects them, so decoding a key is
//     unambiguous.
//  3. Snapshots see only generations listed in their layer's metadata as of
//     the snapshot; a generation is listed only after all its rows were
//     written, and listing is one synced batch (atomic and durable).
//  4. After Open, the data key space holds rows of listed generations only,
//     and <dir>/ipatlas-ingest/ is empty.
//  5. Generation numbers are never reused while rows with that number may
//     exist (the in-memory counter starts above every generation on disk);
//     layer IDs are never reused at all (the counter is persisted).
//  6. Within a layer, later listed generations win; within an ingest, the
//     last Put or Delete of a network wins.
//
// # Concurrency
//
// Store methods are safe for concurrent use. Several Ingests may run at
// once (into the same layer too: they publish in Commit order); one Ingest
// is used by one goroutine. Snapshots are safe for concurrent use; each
// iteration of All by one goroutine. Close snapshots, and finish ingests,
// before closing the Store.
//
// # Tests
//
// model_test.go runs seeded random operations (layers, ingests in both
// modes, puts, tombstones, Get, commits, aborts, compactions, drops,
// snapshots, reopens and
// simulated power loss on Pebble's crashable in-memory file system) against
// a plain map model; crash_test.go kills a child process with SIGKILL in the
// middle of an ingest and after a commit and checks what the store shows.
package kv
