// Package serve is the ipatlas HTTP lookup service as a library: a
// Server is an http.Handler that answers IP lookups from one MaxMind DB
// file (any, not only ipatlas's) and reloads it safely while it serves.
// `ipatlas serve` is this package behind flags, a listener and signals; a
// CDN mounts the same Handler in its own mux (see the example).
//
// Endpoints (paths as the Server sees them; mount it under a prefix with
// http.StripPrefix):
//
//	GET  /v1/lookup/{ip}  {"ip":...,"network":...,"found":bool,"record":{...}}
//	POST /v1/lookup       a JSON array of up to MaxBatch addresses -> an array of answers, in order
//	GET  /healthz         200 while the process runs: status ok, degraded or unavailable
//	GET  /readyz          200 ready or degraded while a valid file serves; 503 not ready
//	GET  /metrics         what Options.Gatherer gathers, Prometheus text format
//
// A record is the JSON `ipatlas lookup` prints (internal/recordjson: NaN
// and infinities as strings). Bad addresses and malformed batches answer
// 400, wrong methods 405, more requests than Options.MaxInFlight or
// MaxBatches for Options.QueueWait 503 with Retry-After, a damaged file
// 503; every error body is {"error":"..."}.
//
// What it owns: the generations of the database (below), the loads that
// make them (New, Reload, RequestReload, Watch), admission, the record
// cache of each generation, and its metrics (a prometheus.Collector over
// atomic counters, registered on Options.Registerer). What it does not
// own: the listener, the http.Server's timeouts (a slow reader is cut off
// by WriteTimeout, which is the caller's), signals, the process. It
// reads databases only through reader (never a kv store or Pebble, never
// a peer reader), encodes records with internal/recordjson, and links
// nothing the ipatlas CLI does not already link (client_golang,
// klauspost/compress): internal/importcheck.
//
// Generations. The current Reader is held by a reader.Handle: with
// Options.Handle the caller's (the caller swaps it), with Options.Path a
// private one that reloads swap. Beside it the Server keeps, per Reader,
// a generation: the Reader, its record cache, its file's identity and
// damage, and a reference count.
//
//	            Handle ──► Reader n+1        (reload: open, check, Swap)
//	request ──► holder ──► generation n+1 ─┐
//	in flight ───────────► generation n    ├─ refs: 1 (holder) + requests
//	                                        └─ last release: Close (unmap), owned only
//
// Invariants:
//
//  1. Every answer comes from exactly one generation: a request takes a
//     reference to the current generation once and answers from it to
//     the end, batches included (TestGenerations: 60 swaps under 4
//     clients, every 1.2.3.4 answer from one whole file).
//  2. A generation's file is unmapped only after its last request ends,
//     and exactly once: the count never rises from 0, and the last
//     release closes the Reader (TestGenerations: one generation open
//     with no request running, none after Close). Readers of
//     Options.Handle belong to the caller and are never closed
//     (TestHandle).
//  3. A new version serves only after it passed the check (CheckSample or
//     CheckFull) and its stat did not change while it loaded; a version
//     that fails leaves the old one serving and is reported (/healthz
//     degraded, a reload failure, a log line) (TestReload,
//     TestCheckModes, TestFIFO).
//  4. A file changed in place never crashes the process and never gives
//     an answer from the old tree over new bytes: reads of a mapped file
//     run under reader.Guard, a fault or a changed size or content
//     (fstat after each answer; CRC-32C when only the mtime moved) marks
//     the generation damaged, which answers 503 until a whole file loads;
//     read into memory (Options.ReadIntoMemory) the old copy keeps
//     answering (TestInPlaceWriteUnderLoad, TestTouchAndSameSizeWrite).
//  5. No load blocks a request or another load's reporting: loads run on
//     goroutines of their own, one at a time; one slower than
//     Options.ReloadTimeout is reported and abandoned (TestReloadTimeout).
//  6. A slot of MaxInFlight or MaxBatches taken is given back when its
//     request ends; a batch is admitted before its body is read
//     (TestSlowReaders).
//  7. A lookup whose record is in the generation's cache allocates
//     nothing in the Server (TestLookupAllocs, BenchmarkHandlerLookup).
//  8. Answers are maxminddb-golang v2's for the same file (network, found,
//     the whole record), one by one and in batches (TestMatchesPeer), and
//     a record holding NaN or infinities answers 200 (TestNaN). No
//     request makes the Server panic, every status is one listed above
//     and every JSON body parses (FuzzServeHTTP).
//
// Concurrency: every method of Server is safe for concurrent use. Watch
// runs until its context ends; without it, files are loaded only by New,
// Reload and RequestReload (and a fault does not reload).
package serve
