package serve

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// endpoint is what a request asked for, the label of its metrics.
type endpoint int

const (
	epLookup  endpoint = iota // GET /v1/lookup/{ip}
	epBatch                   // POST /v1/lookup
	epHealthz                 // GET /healthz
	epReadyz                  // GET /readyz
	epMetrics                 // GET /metrics
	epOther                   // anything else (404)
	numEndpoints
)

func (e endpoint) String() string {
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

// latencyBounds are the upper bounds of the latency histogram, in
// seconds: from 25 µs (a cached lookup on loopback) to 1 s.
var latencyBounds = [...]float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1}

// latencyHistogram counts observations per bucket (not cumulative; Collect
// sums them) and their sum in nanoseconds.
type latencyHistogram struct {
	buckets  [len(latencyBounds) + 1]atomic.Uint64 // the last one is +Inf
	sumNanos atomic.Uint64
}

func (h *latencyHistogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(latencyBounds) && s > latencyBounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumNanos.Add(uint64(max(d, 0)))
}

// counters are the Server's counts: atomics only, so that the request
// path takes no lock and does not allocate. The collector turns them into
// metrics when they are gathered.
type counters struct {
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

func (m *counters) observe(e endpoint, code int, d time.Duration) {
	if code < 0 || code >= len(m.requests[e]) {
		code = 0
	}
	m.requests[e][code].Add(1)
	m.latency[e].observe(d)
}

// collector is the prometheus.Collector of a Server: the ipatlas_*
// families, read from the counters and the current generation at each
// Collect.
type collector struct {
	s *Server

	requests, duration, inFlight, addresses                  *prometheus.Desc
	reloads, reloadFailures, buildTime, loadedTime           *prometheus.Desc
	nodeCount, generations, overload, faults, damaged, state *prometheus.Desc
	info                                                     *prometheus.Desc
}

func newCollector(s *Server) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &collector{s: s,
		requests:       d("ipatlas_http_requests_total", "HTTP requests answered, by endpoint and status code.", "endpoint", "code"),
		duration:       d("ipatlas_http_request_duration_seconds", "Time from routing a request to its last byte written, by endpoint.", "endpoint"),
		inFlight:       d("ipatlas_http_requests_in_flight", "Requests being answered."),
		addresses:      d("ipatlas_lookup_addresses_total", "Addresses looked up (single and batch), by whether the database had a record.", "found"),
		reloads:        d("ipatlas_database_reloads_total", "New versions of the file loaded and swapped in since start."),
		reloadFailures: d("ipatlas_database_reload_failures_total", "New versions of the file rejected (the loaded one kept serving)."),
		buildTime:      d("ipatlas_database_build_timestamp_seconds", "build_epoch from the served database's metadata: when it was built, in seconds since the Unix epoch."),
		loadedTime:     d("ipatlas_database_loaded_timestamp_seconds", "When the served database was loaded, in seconds since the Unix epoch."),
		nodeCount:      d("ipatlas_database_node_count", "Search tree nodes of the served database."),
		generations:    d("ipatlas_database_open_generations", "Versions of the file still open: 1, plus replaced ones whose last requests are running."),
		overload:       d("ipatlas_http_requests_overload_total", "Lookup requests answered 503 because the in-flight or batch limit was reached for the queue wait."),
		faults:         d("ipatlas_database_faults_total", "Requests that hit a memory fault reading the mapped file (truncated or changed in place) and answered 503."),
		damaged:        d("ipatlas_database_damaged_total", "Served versions found damaged: their mapped file changed in place or faulted."),
		state:          d("ipatlas_database_state", "1 for the service's state: ok (serving the file on disk), degraded (serving a good file; the one on disk is missing or bad) or unavailable (the served file is damaged or none is loaded; lookups answer 503).", "state"),
		info:           d("ipatlas_database_info", "The served database: file (base name unless paths are exposed) and database_type, value 1.", "path", "type"),
	}
}

// Describe sends the descriptors of every family.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.duration, c.inFlight, c.addresses, c.reloads, c.reloadFailures,
		c.buildTime, c.loadedTime, c.nodeCount, c.generations, c.overload, c.faults, c.damaged, c.state, c.info} {
		ch <- d
	}
}

// Collect sends the current values.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	m := &c.s.counters
	// No Must*: Collect runs on a goroutine of the registry's, where a
	// panic ends the process. A label value that is not UTF-8 (a file
	// name, or a database_type read from the file: TestMetricsLabelsUTF8)
	// panicked there at the first scrape; it is sanitized, and any other
	// error becomes an invalid metric, which Gather reports.
	send := func(d *prometheus.Desc, m prometheus.Metric, err error) {
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
		send(d, m, err)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...)
		send(d, m, err)
	}
	for e := range numEndpoints {
		for code := range m.requests[e] {
			if n := m.requests[e][code].Load(); n > 0 {
				counter(c.requests, n, e.String(), strconv.Itoa(code))
			}
		}
	}
	for e := range numEndpoints {
		h := &m.latency[e]
		buckets := make(map[float64]uint64, len(latencyBounds))
		var cum uint64
		for i := range h.buckets {
			cum += h.buckets[i].Load()
			if i < len(latencyBounds) {
				buckets[latencyBounds[i]] = cum
			}
		}
		hm, err := prometheus.NewConstHistogram(c.duration, cum, float64(h.sumNanos.Load())/1e9, buckets, e.String())
		send(c.duration, hm, err)
	}
	gauge(c.inFlight, float64(m.inFlight.Load()))
	counter(c.addresses, m.addresses[0].Load(), "false")
	counter(c.addresses, m.addresses[1].Load(), "true")
	counter(c.reloads, m.reloads.Load())
	counter(c.reloadFailures, m.reloadFailures.Load())
	counter(c.overload, m.overload.Load())
	counter(c.faults, m.faults.Load())
	counter(c.damaged, m.damaged.Load())
	gauge(c.generations, float64(c.s.holder.open.Load()))

	g := c.s.holder.acquire()
	st := c.s.stateOf(g)
	for _, s := range []string{"ok", "degraded", "unavailable"} {
		v := 0.0
		if s == st.status {
			v = 1
		}
		gauge(c.state, v, s)
	}
	if g != nil {
		md := g.r.Metadata
		gauge(c.buildTime, float64(md.BuildEpoch))
		gauge(c.loadedTime, float64(g.loaded.UnixMilli())/1e3)
		gauge(c.nodeCount, float64(md.NodeCount))
		gauge(c.info, 1, strings.ToValidUTF8(c.s.name, "\uFFFD"), strings.ToValidUTF8(md.DatabaseType, "\uFFFD"))
		g.release()
	}
}

// runtimeCollectors returns client_golang's Go, process and build-info
// collectors and ipatlas_build_info.
func runtimeCollectors() []prometheus.Collector {
	version, revision := "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "ipatlas_build_info",
		Help:        "The binary: main module version, VCS revision and Go version, value 1.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})
	build.Set(1)
	return []prometheus.Collector{collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewBuildInfoCollector(), build}
}
