// Package suite is the benchmark suite behind cmd/ipatlas-bench: it
// measures ipatlas's readers against their peers and ipatlas's build
// against mmdbwriter, and returns results that bench/report renders.
//
// Readers (RunReaders): every lookup path (ipatlas no-decode, Decode and
// typed; maxminddb-golang v2 and v1; geoip2-golang v2), grouped like for
// like, on every workload of bench/workload, each path looking up the same
// addresses in the same order. A measurement times batches of lookups
// until a minimum time has passed; one goroutine gives ns/op, the per-batch
// distribution (p99) and allocations (runtime.MemStats), 1..MaxProcs
// goroutines sharing one reader give throughput by core count. Runs are
// repeated and interleaved (run 1 of every path, then run 2, ...) so that
// a noisy spell of a shared machine hits every path alike; figures are the
// median, min and max over runs. Before timing, every path's answers are
// counted and checked equal within each group: the peers check each other.
//
// Build (RunBuild): for each scale, inference results from bench/inference
// are built by `ipatlas ingest` + `ipatlas compile` (the ipatlas binary
// named by ChildRunner.IPAtlas) and by mmdbwriter, each in a child process (wall time, CPU time, peak RSS as the child's VmHWM),
// with a timeout after which a run is reported as not finished; every
// output is checked against the rows with maxminddb-golang v2.
//
// Open time and memory of each reader are measured in child processes too
// (RunChild is what those children run), so that one reader's memory is
// not another's.
//
// It owns the measurements and their results (ReadersResult,
// BuildResult), not their presentation (bench/report) nor the addresses
// (bench/workload) nor the synthetic input and its check
// (bench/inference). It links every peer library (maxminddb-golang v1 and
// v2, geoip2-golang, mmdbwriter), so only cmd/ipatlas-bench may import
// it: the shipped ipatlas binary must not (TestShippedDeps,
// internal/importcheck). ipatlas's build is measured through the ipatlas
// binary in a child process, never in process, so it is timed as users
// run it.
//
// Invariants:
//
//  1. No figure without checked answers: before timing a workload, the
//     answers of every path are counted and must be equal within a group
//     (decode and typed paths count the same records), or RunReaders
//     fails; the counts equal a brute-force oracle over the networks the
//     database was written from (TestBenchReadersShort,
//     cmd/ipatlas-bench). Every build output is checked against its rows
//     by inference.RunCheck, and a failed check is reported as FAILED,
//     not as a time (TestBenchBuildNotIPAtlas, cmd/ipatlas-bench).
//  2. A measurement counts every lookup of every goroutine, and
//     allocations and bytes over all of them (runtime.MemStats): a worker
//     that allocates one 64-byte object per lookup reads 1 alloc/op and
//     64 B/op, one that allocates nothing 0 (TestMeasureCounts);
//     figures over runs are the median (of an even count, the mean of the
//     middle two), min and max, quantiles interpolated
//     (TestStatAndQuantile).
//  3. A child that runs past its timeout is reported as not finished, and
//     killed; peak RSS is the child's own VmHWM (sampled, or reported by
//     the child at exit), never the parent's high-water mark.
//  4. ParseScale accepts "1", "1/64", "0.25" or a row count, and refuses
//     anything else (TestParseScale).
//
// Concurrency: RunReaders and RunBuild are not meant to run at the same
// time as other benchmarks (they would measure each other); nothing is
// shared between calls.
package suite
