package serve

import (
	"log/slog"
	"runtime"
	"time"

	"github.com/ipatlas/ipatlas/reader"
	"github.com/prometheus/client_golang/prometheus"
)

// Check is what a new version of the file must pass before it is served.
type Check string

// The checks.
const (
	// CheckSample opens the file, looks up 8,192 spread-out addresses
	// and walks the first networks of 49 regions, decoding every record
	// reached: about 0.1 s on GeoLite2-City. A file damaged only in a few
	// deep nodes or records can pass it.
	CheckSample Check = "sample"
	// CheckFull runs reader.Reader.Verify: every node and record (13-16 s
	// on GeoLite2-City on a shared 2-core machine; the old version serves
	// meanwhile).
	CheckFull Check = "full"
)

// Limits of the batch endpoint.
const (
	// MaxBatch is the most addresses one POST /v1/lookup may hold.
	MaxBatch = 1000
	// MaxBatchBody is the largest body of a POST /v1/lookup in bytes:
	// 1,000 of the longest addresses with room for whitespace.
	MaxBatchBody = 256 << 10
)

// DefaultPoll is how often ipatlas serve looks at the file's inode, size
// and mtime (its --poll); a good argument to Watch.
const DefaultPoll = time.Second

// GzipMin is the smallest answer that is gzipped for a client that
// accepts gzip: one GeoLite2-City record (about 1 KiB) is not worth it
// (gzip cost 15% of single-lookup throughput on loopback, bench/SERVE.md);
// a batch of a few is.
const GzipMin = 4096

// Options configure a Server. The zero value of every field but the
// source (Path or Handle) is a sensible default.
type Options struct {
	// Path is the database file the Server opens, checks, serves and
	// reloads (Reload, Watch). Exactly one of Path and Handle is set.
	Path string
	// Handle is an already opened database that the caller owns and
	// replaces (Handle.Reload, Handle.Swap): every request reads the
	// Handle's current Reader once and answers from it. The Server never
	// closes the caller's Readers; Reload and Watch do nothing with a
	// Handle, and a file changed in place is noticed only by a fault.
	Handle *reader.Handle
	// Name is what /healthz, /readyz and /metrics call the database.
	// Default: the base name of Path (its full path with ExposePaths),
	// or "database" with a Handle.
	Name string

	// Check is what a new version of Path must pass (default CheckSample).
	Check Check
	// ReadIntoMemory reads each version of Path into memory instead of
	// mapping it: a private copy that a write in place cannot damage, at
	// the cost of the file's size in memory per version.
	ReadIntoMemory bool
	// ReloadTimeout is the longest a load (open and check) may take
	// before Watch reports it as failed (default 1 minute).
	ReloadTimeout time.Duration

	// MaxInFlight is how many lookup requests (single and batch) are
	// answered at once (default 256); more wait up to QueueWait, then get
	// 503 with Retry-After.
	MaxInFlight int
	// MaxBatches is how many POST /v1/lookup requests are answered at
	// once, each holding up to about 1 MB (default 4 per CPU, at least 8).
	MaxBatches int
	// QueueWait is how long a request over a limit waits for its turn
	// (default 500 ms; negative: no wait).
	QueueWait time.Duration

	// DisableGzip never gzips answers; by default answers of GzipMin bytes
	// or more are gzipped when the request accepts gzip.
	DisableGzip bool
	// BatchItemErrors answers a bad address in a batch with
	// {"ip":...,"error":...} in its place instead of failing the batch
	// with 400.
	BatchItemErrors bool
	// ExposePaths shows the full path and full reload errors in /healthz,
	// /readyz and /metrics (default: the base name and a short class).
	ExposePaths bool
	// AccessLog logs every request at level Info (method, path, status,
	// bytes, seconds, client).
	AccessLog bool
	// Logger receives loads, reloads, rejections and faults (default:
	// discard).
	Logger *slog.Logger

	// Registerer receives the Server's metrics collector (ipatlas_*
	// families). Default: a registry of the Server's own. Two Servers on
	// one Registerer collide: wrap it (prometheus.WrapRegistererWith).
	Registerer prometheus.Registerer
	// Gatherer is what GET /metrics serves. Default: Registerer if it is
	// a Gatherer too (a *prometheus.Registry is), else nothing: /metrics
	// answers 404 and the caller serves its registry itself.
	Gatherer prometheus.Gatherer
	// RuntimeMetrics registers client_golang's Go (go_*), process
	// (process_*) and build-info (go_build_info) collectors and
	// ipatlas_build_info (the main module's version and VCS revision) on
	// Registerer too. A program embedding the Server usually registers
	// these itself, if at all; ipatlas serve asks for them.
	RuntimeMetrics bool
}

// withDefaults returns o with the zero values replaced by the defaults.
func (o Options) withDefaults() Options {
	if o.Check == "" {
		o.Check = CheckSample
	}
	if o.ReloadTimeout <= 0 {
		o.ReloadTimeout = time.Minute
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 256
	}
	if o.MaxBatches <= 0 {
		o.MaxBatches = max(8, 4*runtime.GOMAXPROCS(0))
	}
	switch {
	case o.QueueWait == 0:
		o.QueueWait = 500 * time.Millisecond
	case o.QueueWait < 0:
		o.QueueWait = 0
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
