package main

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
)

// newRuntimeRegistry returns a registry of the standard collectors of
// client_golang: go_* (runtime and memory), process_* (CPU, RSS, open
// files) and go_build_info. /metrics appends what it gathers to the
// service's own families, which stay hand-written (atomics on the
// request path, no locks).
func newRuntimeRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	return reg
}

// writeRuntimeMetrics writes what reg gathers, in the text format.
func writeRuntimeMetrics(w io.Writer, reg *prometheus.Registry) error {
	mfs, err := reg.Gather()
	for _, mf := range mfs {
		if _, werr := expfmt.MetricFamilyToText(w, mf); werr != nil {
			return werr
		}
	}
	return err
}

// ipatlasBuild returns the module version and VCS revision the binary was
// built from ("(devel)" and "unknown" when not recorded).
func ipatlasBuild() (version, revision string) {
	version, revision = "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	return version, revision
}

// serveEndpoint is what a request asked for, the label of its metrics.
type serveEndpoint int

const (
	epLookup  serveEndpoint = iota // GET /v1/lookup/{ip}
	epBatch                        // POST /v1/lookup
	epHealthz                      // GET /healthz
	epReadyz                       // GET /readyz
	epMetrics                      // GET /metrics
	epOther                        // anything else (404)
	numEndpoints
)

func (e serveEndpoint) String() string {
	switch e {
	case epLookup:
		return "lookup"
	case epBatch:
		return "batch"
	case epHealthz:
		return "healthz"
	case epReadyz:
		return "readyz"
	case epMetrics:
		return "metrics"
	}
	return "other"
}

// latencyBuckets are the upper bounds of the latency histogram, in
// seconds: from 25 µs (a cached lookup on loopback) to 1 s.
func latencyBuckets() [latencyBoundCount]float64 {
	return [...]float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1}
}

const (
	latencyBoundCount  = 14
	latencyBucketCount = latencyBoundCount + 1 // and +Inf
)

// latencyHistogram counts observations per bucket (not cumulative; the
// exposition sums them) and their sum in nanoseconds.
type latencyHistogram struct {
	buckets  [latencyBucketCount]atomic.Uint64
	sumNanos atomic.Uint64
}

func (h *latencyHistogram) observe(d time.Duration) {
	s, bounds := d.Seconds(), latencyBuckets()
	i := 0
	for i < len(bounds) && s > bounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumNanos.Add(uint64(max(d, 0)))
}

// serveMetrics holds the service's counters. The zero value is ready;
// all methods are safe for concurrent use (atomics only: no lock on the
// request path).
type serveMetrics struct {
	requests  [numEndpoints][600]atomic.Uint64 // by status code
	latency   [numEndpoints]latencyHistogram
	addresses [2]atomic.Uint64 // addresses looked up: [0] not found, [1] found
	inFlight  atomic.Int64

	reloads        atomic.Uint64
	reloadFailures atomic.Uint64
	overload       atomic.Uint64 // requests answered 503 for want of a slot
	faults         atomic.Uint64 // requests that faulted reading the mapped file
	damaged        atomic.Uint64 // generations found damaged (changed in place or faulted)
}

func (m *serveMetrics) observe(e serveEndpoint, code int, d time.Duration) {
	if code < 0 || code >= len(m.requests[e]) {
		code = 0
	}
	m.requests[e][code].Add(1)
	m.latency[e].observe(d)
}

// dbGauges are the gauges describing the served database.
type dbGauges struct {
	buildEpoch  uint
	nodeCount   uint
	loaded      time.Time
	generations int64 // opened and not yet closed
	path, typ   string
	state       string // ok, degraded or unavailable (lookupServer.state)
}

// write writes the metrics in the Prometheus text exposition format
// (version 0.0.4).
func (m *serveMetrics) write(w io.Writer, db dbGauges) error {
	bw := bufio.NewWriter(w)
	family := func(name, typ, help string) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}

	family("ipatlas_http_requests_total", "counter", "HTTP requests answered, by endpoint and status code.")
	for e := range numEndpoints {
		for code := range m.requests[e] {
			if n := m.requests[e][code].Load(); n > 0 {
				fmt.Fprintf(bw, "ipatlas_http_requests_total{endpoint=%q,code=\"%d\"} %d\n", e.String(), code, n)
			}
		}
	}

	family("ipatlas_http_request_duration_seconds", "histogram", "Time from routing a request to its last byte written, by endpoint.")
	bounds := latencyBuckets()
	for e := range numEndpoints {
		h := &m.latency[e]
		var cum uint64
		for i := range h.buckets {
			cum += h.buckets[i].Load()
			le := "+Inf"
			if i < len(bounds) {
				le = strconv.FormatFloat(bounds[i], 'g', -1, 64)
			}
			fmt.Fprintf(bw, "ipatlas_http_request_duration_seconds_bucket{endpoint=%q,le=%q} %d\n", e.String(), le, cum)
		}
		fmt.Fprintf(bw, "ipatlas_http_request_duration_seconds_sum{endpoint=%q} %s\n", e.String(),
			strconv.FormatFloat(float64(h.sumNanos.Load())/1e9, 'g', -1, 64))
		fmt.Fprintf(bw, "ipatlas_http_request_duration_seconds_count{endpoint=%q} %d\n", e.String(), cum)
	}

	family("ipatlas_http_requests_in_flight", "gauge", "Requests being answered.")
	fmt.Fprintf(bw, "ipatlas_http_requests_in_flight %d\n", m.inFlight.Load())

	family("ipatlas_lookup_addresses_total", "counter", "Addresses looked up (single and batch), by whether the database had a record.")
	fmt.Fprintf(bw, "ipatlas_lookup_addresses_total{found=\"false\"} %d\n", m.addresses[0].Load())
	fmt.Fprintf(bw, "ipatlas_lookup_addresses_total{found=\"true\"} %d\n", m.addresses[1].Load())

	family("ipatlas_database_reloads_total", "counter", "New versions of the file loaded and swapped in since start.")
	fmt.Fprintf(bw, "ipatlas_database_reloads_total %d\n", m.reloads.Load())
	family("ipatlas_database_reload_failures_total", "counter", "New versions of the file rejected (the loaded one kept serving).")
	fmt.Fprintf(bw, "ipatlas_database_reload_failures_total %d\n", m.reloadFailures.Load())

	family("ipatlas_database_build_timestamp_seconds", "gauge", "build_epoch from the served database's metadata: when it was built, in seconds since the Unix epoch.")
	fmt.Fprintf(bw, "ipatlas_database_build_timestamp_seconds %d\n", db.buildEpoch)
	family("ipatlas_database_loaded_timestamp_seconds", "gauge", "When the served database was loaded, in seconds since the Unix epoch.")
	fmt.Fprintf(bw, "ipatlas_database_loaded_timestamp_seconds %s\n",
		strconv.FormatFloat(float64(db.loaded.UnixMilli())/1e3, 'f', 3, 64))
	family("ipatlas_database_node_count", "gauge", "Search tree nodes of the served database.")
	fmt.Fprintf(bw, "ipatlas_database_node_count %d\n", db.nodeCount)
	family("ipatlas_database_open_generations", "gauge", "Versions of the file still open: 1, plus replaced ones whose last requests are running.")
	fmt.Fprintf(bw, "ipatlas_database_open_generations %d\n", db.generations)
	family("ipatlas_http_requests_overload_total", "counter", "Lookup requests answered 503 because --max-in-flight or --max-batches were reached for --queue-wait.")
	fmt.Fprintf(bw, "ipatlas_http_requests_overload_total %d\n", m.overload.Load())
	family("ipatlas_database_faults_total", "counter", "Requests that hit a memory fault reading the mapped file (truncated or changed in place) and answered 503.")
	fmt.Fprintf(bw, "ipatlas_database_faults_total %d\n", m.faults.Load())
	family("ipatlas_database_damaged_total", "counter", "Served versions found damaged: their mapped file changed in place or faulted.")
	fmt.Fprintf(bw, "ipatlas_database_damaged_total %d\n", m.damaged.Load())
	family("ipatlas_database_state", "gauge", "1 for the service's state: ok (serving the file on disk), degraded (serving a good file; the one on disk is missing or bad) or unavailable (the served file is damaged; lookups answer 503).")
	for _, st := range []string{"ok", "degraded", "unavailable"} {
		v := 0
		if st == db.state {
			v = 1
		}
		fmt.Fprintf(bw, "ipatlas_database_state{state=%q} %d\n", st, v)
	}
	family("ipatlas_build_info", "gauge", "The ipatlas binary: module version, VCS revision and Go version, value 1.")
	version, revision := ipatlasBuild()
	fmt.Fprintf(bw, "ipatlas_build_info{version=\"%s\",revision=\"%s\",goversion=\"%s\"} 1\n",
		promEscapeLabel(version), promEscapeLabel(revision), promEscapeLabel(runtime.Version()))
	family("ipatlas_database_info", "gauge", "The served database: file (base name unless --expose-paths) and database_type, value 1.")
	fmt.Fprintf(bw, "ipatlas_database_info{path=\"%s\",type=\"%s\"} 1\n", promEscapeLabel(db.path), promEscapeLabel(db.typ))
	return bw.Flush()
}

// promEscapeLabel escapes a label value for the text format: backslash,
// double quote and line feed.
func promEscapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
