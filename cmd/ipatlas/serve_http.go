package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipatlas/ipatlas/reader"
	"github.com/prometheus/client_golang/prometheus"
	// klauspost's gzip (already linked for .gz inputs) compresses at
	// BestSpeed several times faster than compress/gzip, same format.
	"github.com/klauspost/compress/gzip"
)

// Limits of the batch endpoint.
const (
	maxBatch     = 1000      // addresses in one POST /v1/lookup
	maxBatchBody = 256 << 10 // bytes of its body: 1,000 of the longest addresses with room for whitespace
)

// lookupServer answers the HTTP endpoints from the current generation of
// the served file.
type lookupServer struct {
	holder  *dbHolder
	loader  *dbLoader
	metrics *serveMetrics
	cfg     serveConfig
	log     *slog.Logger
	wake    chan<- struct{} // a fault asks the watcher for a reload; may be nil
	bufs    sync.Pool       // *[]byte for response bodies
	gzips   sync.Pool       // *gzip.Writer
	// Admission: a lookup request takes a slot of inFlight, a batch one of
	// batches first; INVARIANT: a slot taken is given back when its
	// request ends.
	inFlight chan struct{}
	batches  chan struct{}
	runtime  *prometheus.Registry // go_*, process_*, go_build_info for /metrics
}

// newLookupServer returns the service for cfg's limits and options. wake,
// if not nil, is signalled (without blocking) when a request faults.
func newLookupServer(holder *dbHolder, ld *dbLoader, metrics *serveMetrics, cfg serveConfig, logger *slog.Logger, wake chan<- struct{}) *lookupServer {
	return &lookupServer{holder: holder, loader: ld, metrics: metrics, cfg: cfg, log: logger, wake: wake,
		inFlight: make(chan struct{}, max(cfg.maxInFlight, 1)), batches: make(chan struct{}, max(cfg.maxBatches, 1)),
		runtime: newRuntimeRegistry()}
}

// handler routes the endpoints. Each request is counted and timed under
// its endpoint.
func (s *lookupServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/lookup/{ip...}", s.instrument(epLookup, s.lookupOne))
	mux.Handle("/v1/lookup", s.instrument(epBatch, s.lookupBatch))
	mux.Handle("/healthz", s.instrument(epHealthz, s.healthz))
	mux.Handle("/readyz", s.instrument(epReadyz, s.readyz))
	mux.Handle("/metrics", s.instrument(epMetrics, s.serveMetrics))
	mux.Handle("/", s.instrument(epOther, s.notFound))
	return mux
}

// serveStatusWriter remembers the status code and the bytes a handler wrote.
type serveStatusWriter struct {
	http.ResponseWriter
	code  int
	bytes int
}

func (w *serveStatusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *serveStatusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (s *lookupServer) instrument(e serveEndpoint, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.metrics.inFlight.Add(1)
		start := time.Now()
		sw := &serveStatusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.observe(e, sw.code, d)
		s.metrics.inFlight.Add(-1)
		if s.cfg.accessLog && s.log != nil {
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", sw.code),
				slog.Int("bytes", sw.bytes), slog.Float64("seconds", d.Seconds()), slog.String("client", r.RemoteAddr))
		}
	})
}

// admit takes a slot of sem, waiting up to --queue-wait. On false it has
// answered 503 with Retry-After; on true the caller must give the slot back.
func (s *lookupServer) admit(w http.ResponseWriter, r *http.Request, sem chan struct{}, what string) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
	}
	if s.cfg.queueWait > 0 {
		t := time.NewTimer(s.cfg.queueWait)
		defer t.Stop()
		select {
		case sem <- struct{}{}:
			return true
		case <-t.C:
		case <-r.Context().Done():
		}
	}
	s.metrics.overload.Add(1)
	w.Header().Set("Retry-After", "1")
	s.writeError(w, r, http.StatusServiceUnavailable, "busy: more than %d %s at once; try again", cap(sem), what)
	return false
}

// guard runs f with faults on the mapped file turned into an error (see
// reader.Guard). A fault marks d damaged, wakes the watcher to load the
// file again and answers 503.
//
// A mapped file that changed in place since it was loaded may have given
// a wrong answer without a fault: after f, d's file is checked
// (servedDB.changedInPlace) and a changed one is marked damaged and
// answered 503 the same way.
func (s *lookupServer) guard(w http.ResponseWriter, r *http.Request, d *servedDB, f func() error) bool {
	err := reader.Guard(f)
	if err == nil && !d.changedInPlace() {
		return true
	}
	kind, msg := damageChangedInPlace, "the served file was changed in place (same inode, new size or content): answering 503 until a whole file loads; replace files by renaming a new one over them"
	if err != nil {
		kind, msg = damageFault, "memory fault reading the served file: it was truncated or changed in place; answering 503 until a whole file loads"
		s.metrics.faults.Add(1)
	}
	if d.damaged.CompareAndSwap(damageNone, kind) {
		s.metrics.damaged.Add(1)
		s.log.Error(msg, "file", s.loader.path, "err", err)
	}
	if s.wake != nil {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	s.unavailable(w, r, d)
	return false
}

// unavailable answers 503 for a request that found d damaged.
func (s *lookupServer) unavailable(w http.ResponseWriter, r *http.Request, d *servedDB) {
	w.Header().Set("Retry-After", "1")
	s.writeError(w, r, http.StatusServiceUnavailable, "database unavailable: %s; waiting for a whole new file", d.damage())
}

// acceptsGzip reports whether r accepts a gzipped answer.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// gzipMin is the smallest answer worth compressing: one GeoLite2-City
// record (about 1 KiB) is not (gzip cost 15% of get16 throughput on
// loopback, bench/SERVE.md); a batch of a few is.
const gzipMin = 4096

// writeBody writes b as the body of a response with the given code and
// content type, gzipped when the client accepts it and b is large enough.
func (s *lookupServer) writeBody(w http.ResponseWriter, r *http.Request, code int, ctype string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	if s.cfg.gzip {
		h.Add("Vary", "Accept-Encoding")
	}
	if s.cfg.gzip && len(b) >= gzipMin && r != nil && acceptsGzip(r) {
		bp := s.getBuf()
		defer s.putBuf(bp)
		zb := bytes.NewBuffer((*bp)[:0])
		zw, _ := s.gzips.Get().(*gzip.Writer)
		if zw == nil {
			zw, _ = gzip.NewWriterLevel(zb, gzip.BestSpeed)
		} else {
			zw.Reset(zb)
		}
		_, _ = zw.Write(b) // a bytes.Buffer does not fail
		_ = zw.Close()
		s.gzips.Put(zw)
		*bp = zb.Bytes()
		h.Set("Content-Encoding", "gzip")
		b = *bp
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	if r == nil || r.Method != http.MethodHead {
		_, _ = w.Write(b) // the client went away: nothing to do
	}
}

// writeJSON writes v as the JSON body of a response with the given code.
func (s *lookupServer) writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	buf := new(bytes.Buffer)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		code = http.StatusInternalServerError
		buf.WriteString(`{"error":"encoding the response failed"}` + "\n")
	}
	s.writeBody(w, r, code, "application/json", buf.Bytes())
}

// serveErrorBody is the body of every response that is not a 200.
type serveErrorBody struct {
	Error string `json:"error"`
}

func (s *lookupServer) writeError(w http.ResponseWriter, r *http.Request, code int, format string, args ...any) {
	s.writeJSON(w, r, code, serveErrorBody{fmt.Sprintf(format, args...)})
}

// allow answers 405 and returns false unless the request's method is
// one of methods.
func (s *lookupServer) allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	s.writeError(w, r, http.StatusMethodNotAllowed, "method %s not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(methods, " or "))
	return false
}

// quoteRequestPart quotes a piece of the request for an error message, cut
// short if long.
func quoteRequestPart(q string) string {
	if len(q) > 64 {
		q = q[:64] + "..."
	}
	return strconv.Quote(q)
}

// parseServeAddr parses an address of a request. A zone (fe80::1%eth0)
// is dropped: the database does not depend on it.
func parseServeAddr(q string) (netip.Addr, error) {
	if q == "" {
		return netip.Addr{}, errors.New("no address given")
	}
	a, err := netip.ParseAddr(q)
	if err != nil {
		if _, perr := netip.ParsePrefix(q); perr == nil {
			return netip.Addr{}, fmt.Errorf("%s is a network; give one address", quoteRequestPart(q))
		}
		return netip.Addr{}, fmt.Errorf("%s is not an IP address", quoteRequestPart(q))
	}
	return a.WithZone(""), nil
}

// serveLookupError is an address the database cannot answer; code is the HTTP
// status it gives.
type serveLookupError struct {
	code int
	err  error
}

// lookupAnswer is the answer for one address. record is the record's JSON;
// it may be shared with other answers and must not be modified.
type lookupAnswer struct {
	ip     netip.Addr
	prefix netip.Prefix
	found  bool
	record []byte
}

// appendJSON appends a's JSON object, the same object ipatlas lookup
// prints: {"ip":...,"network":...,"found":...,"record":...}, record
// absent when not found. Addresses and prefixes need no escaping.
func (a *lookupAnswer) appendJSON(b []byte) []byte {
	b = append(b, `{"ip":"`...)
	b = a.ip.AppendTo(b)
	b = append(b, `","network":"`...)
	b = a.prefix.AppendTo(b)
	if !a.found {
		return append(b, `","found":false}`...)
	}
	b = append(b, `","found":true,"record":`...)
	b = append(b, a.record...)
	return append(b, '}')
}

// lookup looks a up in d and returns its answer, the record's JSON from
// d's cache or decoded and encoded now.
func (s *lookupServer) lookup(d *servedDB, a netip.Addr) (lookupAnswer, *serveLookupError) {
	if a.Is6() && d.r.Metadata.IPVersion == 4 {
		return lookupAnswer{}, &serveLookupError{http.StatusBadRequest, fmt.Errorf("%s is an IPv6 address and the database is IPv4-only", a)}
	}
	res := d.r.Lookup(a)
	if err := res.Err(); err != nil {
		return lookupAnswer{}, &serveLookupError{http.StatusInternalServerError, fmt.Errorf("looking up %s: %w", a, err)}
	}
	ans := lookupAnswer{ip: a, prefix: res.Prefix(), found: res.Found()}
	if !ans.found {
		s.metrics.addresses[0].Add(1)
		return ans, nil
	}
	s.metrics.addresses[1].Add(1)
	off := res.Offset()
	if ans.record = d.records.get(off); ans.record != nil {
		return ans, nil
	}
	var v any
	if err := res.Decode(&v); err != nil {
		return lookupAnswer{}, &serveLookupError{http.StatusInternalServerError, fmt.Errorf("decoding the record of %s: %w", ans.prefix, err)}
	}
	b, err := encodeRecordJSON(v)
	if err != nil {
		return lookupAnswer{}, &serveLookupError{http.StatusInternalServerError, fmt.Errorf("encoding the record of %s: %w", ans.prefix, err)}
	}
	ans.record = b
	d.records.put(off, ans.record)
	return ans, nil
}

// encodeRecordJSON encodes a decoded record as ipatlas lookup prints it: no
// HTML escaping, and NaN and infinities (which JSON has no number for) as
// the strings "NaN", "+Inf" and "-Inf" (jsonSafe, lookup's rule).
func encodeRecordJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	var uv *json.UnsupportedValueError
	if errors.As(err, &uv) {
		buf.Reset()
		err = enc.Encode(jsonSafe(v))
	}
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// recordCacheBits sets the size of a generation's record cache: 2^14
// slots. Uniformly random IPv4 lookups in GeoLite2-City (51,000 distinct
// records among 257,000 found addresses) hit it 74% of the time; real
// traffic is more skewed. It holds at most 2^14 encoded records (about
// 1 KiB each for GeoLite2-City's eight languages).
const recordCacheBits = 14

// serveRecordCache maps data offsets to encoded records: direct-mapped, a new
// entry replaces the one in its slot. Lock-free; entries are immutable.
type serveRecordCache struct {
	slots [1 << recordCacheBits]atomic.Pointer[serveCachedRecord]
}

type serveCachedRecord struct {
	offset uintptr
	json   []byte
}

func recordSlot(off uintptr) uint64 {
	return uint64(off) * 0x9E3779B97F4A7C15 >> (64 - recordCacheBits) // Fibonacci hashing
}

func (c *serveRecordCache) get(off uintptr) []byte {
	if e := c.slots[recordSlot(off)].Load(); e != nil && e.offset == off {
		return e.json
	}
	return nil
}

func (c *serveRecordCache) put(off uintptr, json []byte) {
	c.slots[recordSlot(off)].Store(&serveCachedRecord{off, json})
}

func (s *lookupServer) getBuf() *[]byte {
	if bp, _ := s.bufs.Get().(*[]byte); bp != nil {
		return bp
	}
	b := make([]byte, 0, 2048)
	return &b
}

// putBuf returns a buffer to the pool unless it has grown large: the pool
// would otherwise keep a batch-sized buffer per request that ever ran
// (the memory after a burst of batches stayed high).
func (s *lookupServer) putBuf(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		s.bufs.Put(bp)
	}
}

// lookupOne answers GET /v1/lookup/{ip}.
func (s *lookupServer) lookupOne(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	a, err := parseServeAddr(r.PathValue("ip"))
	if err != nil {
		s.writeError(w, r, http.StatusBadRequest, "%v", err)
		return
	}
	if !s.admit(w, r, s.inFlight, "requests") {
		return
	}
	defer func() { <-s.inFlight }()
	d := s.holder.acquire()
	defer d.release()
	if d.damage() != "" {
		s.unavailable(w, r, d)
		return
	}
	var ans lookupAnswer
	var lerr *serveLookupError
	if !s.guard(w, r, d, func() error { ans, lerr = s.lookup(d, a); return nil }) {
		return
	}
	if lerr != nil {
		s.writeError(w, r, lerr.code, "%v", lerr.err)
		return
	}
	bp := s.getBuf()
	defer s.putBuf(bp)
	*bp = append(ans.appendJSON((*bp)[:0]), '\n')
	s.writeBody(w, r, http.StatusOK, "application/json", *bp)
}

// batchItem is one element of a batch: an address, or why it is not one.
type batchItem struct {
	a   netip.Addr
	q   string // the element as given (for per-item errors)
	err error
}

// appendItemError appends the per-item error object of a batch element:
// {"ip":"<as given>","error":"..."}.
func appendItemError(b []byte, q string, err error) []byte {
	b = append(b, `{"ip":`...)
	b = strconv.AppendQuote(b, q)
	b = append(b, `,"error":`...)
	b = strconv.AppendQuote(b, err.Error())
	return append(b, '}')
}

// lookupBatch answers POST /v1/lookup: a JSON array of up to maxBatch
// addresses in, an array of answers in the same order out, all from the
// same version of the file.
func (s *lookupServer) lookupBatch(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, http.MethodPost) {
		return
	}
	// Admission before the body is read: a request waiting for its turn
	// holds no more than its connection.
	if !s.admit(w, r, s.batches, "batches") {
		return
	}
	defer func() { <-s.batches }()
	if !s.admit(w, r, s.inFlight, "requests") {
		return
	}
	defer func() { <-s.inFlight }()
	body := http.MaxBytesReader(w, r.Body, maxBatchBody)
	dec := json.NewDecoder(body)
	var raw []json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeError(w, r, http.StatusRequestEntityTooLarge, "request body larger than %d bytes", maxBatchBody)
			return
		}
		s.writeError(w, r, http.StatusBadRequest, "request body is not a JSON array of addresses: %v", err)
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		s.writeError(w, r, http.StatusBadRequest, "request body has more after the JSON array")
		return
	}
	if raw == nil {
		s.writeError(w, r, http.StatusBadRequest, "request body is not a JSON array of addresses: null")
		return
	}
	if len(raw) > maxBatch {
		s.writeError(w, r, http.StatusBadRequest, "%d addresses in one batch; the limit is %d", len(raw), maxBatch)
		return
	}
	items := make([]batchItem, len(raw))
	for i, m := range raw {
		it := &items[i]
		if err := json.Unmarshal(m, &it.q); err != nil {
			it.q, it.err = string(m), fmt.Errorf("is not a string: %s", quoteRequestPart(string(m)))
		} else {
			it.a, it.err = parseServeAddr(it.q)
		}
		if it.err != nil && !s.cfg.perItem {
			sep := ": "
			if strings.HasPrefix(it.err.Error(), "is not") {
				sep = " "
			}
			s.writeError(w, r, http.StatusBadRequest, "element %d%s%v", i, sep, it.err)
			return
		}
	}
	bp := s.getBuf()
	defer s.putBuf(bp)
	d := s.holder.acquire()
	defer d.release()
	if d.damage() != "" {
		s.unavailable(w, r, d)
		return
	}
	var failed *serveLookupError
	failedAt := 0
	ok := s.guard(w, r, d, func() error {
		b := append((*bp)[:0], '[')
		for i, it := range items {
			if i > 0 {
				b = append(b, ',')
			}
			if it.err != nil {
				b = appendItemError(b, it.q, it.err)
				continue
			}
			ans, lerr := s.lookup(d, it.a)
			if lerr != nil {
				if !s.cfg.perItem {
					failed, failedAt = lerr, i
					return nil
				}
				b = appendItemError(b, it.q, lerr.err)
				continue
			}
			b = ans.appendJSON(b)
		}
		*bp = append(b, "]\n"...)
		return nil
	})
	if !ok {
		return
	}
	if failed != nil {
		s.writeError(w, r, failed.code, "element %d: %v", failedAt, failed.err)
		return
	}
	s.writeBody(w, r, http.StatusOK, "application/json", *bp)
}

// serveHealth is the body of GET /healthz.
type serveHealth struct {
	Status          string `json:"status"`            // ok, degraded or unavailable
	Problem         string `json:"problem,omitempty"` // what is wrong, a short class
	Database        string `json:"database"`          // the file's base name (full path with --expose-paths)
	DatabaseType    string `json:"database_type"`
	BuildEpoch      uint   `json:"build_epoch"`
	NodeCount       uint   `json:"node_count"`
	Loaded          string `json:"loaded"`
	Reloads         uint64 `json:"reloads"`
	ReloadFailures  uint64 `json:"reload_failures"`
	LastReloadError string `json:"last_reload_error,omitempty"` // class, or the full error with --expose-paths
}

// serveState is what the service can say about itself: status ok (the
// served file is good and is the one on disk), degraded (the served file
// is good; the one on disk is missing or bad) or unavailable (the served
// file is damaged: lookups answer 503).
type serveState struct {
	status, problem, detail string
}

func (s *lookupServer) state(d *servedDB) serveState {
	if p := d.damage(); p != "" {
		st := serveState{"unavailable", p, p}
		if lp := s.loader.problem.Load(); lp != nil {
			st.detail = lp.detail
		}
		return st
	}
	if lp := s.loader.problem.Load(); lp != nil {
		return serveState{"degraded", lp.class, lp.detail}
	}
	return serveState{status: "ok"}
}

// shownPath is the served file's name as the endpoints show it.
func (s *lookupServer) shownPath() string {
	if s.cfg.exposePaths {
		return s.loader.path
	}
	return filepath.Base(s.loader.path)
}

// healthz answers GET /healthz: 200 while the process runs (a liveness
// check), with what is served, the reload state and whether anything is
// wrong.
func (s *lookupServer) healthz(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	d := s.holder.acquire()
	st := s.state(d)
	m := d.r.Metadata
	h := serveHealth{
		Status:         st.status,
		Problem:        st.problem,
		Database:       s.shownPath(),
		DatabaseType:   m.DatabaseType,
		BuildEpoch:     m.BuildEpoch,
		NodeCount:      m.NodeCount,
		Loaded:         d.loaded.UTC().Format(time.RFC3339Nano),
		Reloads:        s.metrics.reloads.Load(),
		ReloadFailures: s.metrics.reloadFailures.Load(),
	}
	if lp := s.loader.problem.Load(); lp != nil {
		h.LastReloadError = lp.class
		if s.cfg.exposePaths {
			h.LastReloadError = lp.detail
		}
	}
	d.release()
	s.writeJSON(w, r, http.StatusOK, h)
}

// serveReady is the body of GET /readyz.
type serveReady struct {
	Status  string `json:"status"` // ready, degraded or not ready
	Problem string `json:"problem,omitempty"`
	Detail  string `json:"detail,omitempty"` // the full error, with --expose-paths
}

// readyz answers GET /readyz: 200 "ready" while a valid file is served
// and is the one on disk, 200 "degraded" while a valid file is served and
// the one on disk is missing or bad, 503 "not ready" while the served
// file is damaged (lookups answer 503).
func (s *lookupServer) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	d := s.holder.acquire()
	st := s.state(d)
	d.release()
	body, code := serveReady{Status: "ready"}, http.StatusOK
	switch st.status {
	case "degraded":
		body.Status = "degraded"
	case "unavailable":
		body.Status, code = "not ready", http.StatusServiceUnavailable
	}
	body.Problem = st.problem
	if s.cfg.exposePaths {
		body.Detail = st.detail
	}
	s.writeJSON(w, r, code, body)
}

// serveMetrics answers GET /metrics in the Prometheus text format.
func (s *lookupServer) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	d := s.holder.acquire()
	st := s.state(d)
	g := dbGauges{
		buildEpoch:  d.r.Metadata.BuildEpoch,
		nodeCount:   d.r.Metadata.NodeCount,
		loaded:      d.loaded,
		generations: s.holder.open.Load(),
		path:        s.shownPath(),
		typ:         d.r.Metadata.DatabaseType,
		state:       st.status,
	}
	d.release()
	var buf bytes.Buffer
	_ = s.metrics.write(&buf, g) // a bytes.Buffer does not fail
	if err := writeRuntimeMetrics(&buf, s.runtime); err != nil {
		s.log.Warn("gathering the runtime metrics", "err", err)
	}
	s.writeBody(w, r, http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", buf.Bytes())
}

func (s *lookupServer) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, http.StatusNotFound, "no endpoint %s; the endpoints are GET /v1/lookup/{ip}, POST /v1/lookup, GET /healthz, GET /readyz, GET /metrics", quoteRequestPart(r.URL.Path))
}
