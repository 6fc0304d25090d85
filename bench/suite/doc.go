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
// Concurrency: RunReaders and RunBuild are not meant to run at the same
// time as other benchmarks (they would measure each other); nothing is
// shared between calls.
package suite
