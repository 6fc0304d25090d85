package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ipatlas/ipatlas/internal/recordjson"
	"github.com/ipatlas/ipatlas/reader"
	// klauspost's gzip (already linked for .gz inputs) compresses at
	// BestSpeed several times faster than compress/gzip, same format.
	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/common/expfmt"
)

// instrument answers r with the handler of e, counting and timing it.
func (s *Server) instrument(e endpoint, w http.ResponseWriter, r *http.Request) {
	s.counters.inFlight.Add(1)
	start := time.Now()
	sw, _ := s.writers.Get().(*statusWriter)
	if sw == nil {
		sw = new(statusWriter)
	}
	*sw = statusWriter{ResponseWriter: w}
	switch e {
	case epLookup:
		s.lookupOne(sw, r)
	case epBatch:
		s.lookupBatch(sw, r)
	case epHealthz:
		s.healthz(sw, r)
	case epReadyz:
		s.readyz(sw, r)
	case epMetrics:
		s.serveMetrics(sw, r)
	default:
		s.notFound(sw, r)
	}
	code, n := sw.code, sw.bytes
	*sw = statusWriter{}
	s.writers.Put(sw)
	if code == 0 {
		code = http.StatusOK
	}
	d := time.Since(start)
	s.counters.observe(e, code, d)
	s.counters.inFlight.Add(-1)
	if s.opts.AccessLog {
		s.opts.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", code),
			slog.Int("bytes", n), slog.Float64("seconds", d.Seconds()), slog.String("client", r.RemoteAddr))
	}
}

// admit takes a slot of sem, waiting up to the queue wait. On false it
// has answered 503 with Retry-After; on true the caller must give the
// slot back.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, sem chan struct{}, what string) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
	}
	if s.opts.QueueWait > 0 {
		t := time.NewTimer(s.opts.QueueWait)
		defer t.Stop()
		select {
		case sem <- struct{}{}:
			return true
		case <-t.C:
		case <-r.Context().Done():
		}
	}
	s.counters.overload.Add(1)
	w.Header().Set("Retry-After", "1")
	s.writeError(w, r, http.StatusServiceUnavailable, "busy: more than %d %s at once; try again", cap(sem), what)
	return false
}

// acquire returns the current generation with a reference taken, or
// answers 503 and returns nil when there is none or it is damaged. The
// caller must release what it gets.
func (s *Server) acquire(w http.ResponseWriter, r *http.Request) *generation {
	g := s.holder.acquire()
	if g == nil {
		w.Header().Set("Retry-After", "1")
		s.writeError(w, r, http.StatusServiceUnavailable, "database unavailable: %s", problemNoDatabase)
		return nil
	}
	if g.damage() != "" {
		s.unavailable(w, r, g)
		g.release()
		return nil
	}
	return g
}

// guard runs f with faults on the mapped file turned into an error (see
// reader.Guard). A fault marks g damaged, wakes the watcher to load the
// file again and answers 503.
//
// A mapped file that changed in place since it was loaded may have given
// a wrong answer without a fault: after f, g's file is checked
// (changedInPlace) and a changed one is marked damaged and answered 503
// the same way.
func (s *Server) guard(w http.ResponseWriter, r *http.Request, g *generation, f func() error) bool {
	err := reader.Guard(f)
	if err == nil && !g.changedInPlace() {
		return true
	}
	kind, msg := damageChangedInPlace, "the served file was changed in place (same inode, new size or content): answering 503 until a whole file loads; replace files by renaming a new one over them"
	if err != nil {
		kind, msg = damageFault, "memory fault reading the served file: it was truncated or changed in place; answering 503 until a whole file loads"
		s.counters.faults.Add(1)
	}
	if g.damaged.CompareAndSwap(damageNone, kind) {
		s.counters.damaged.Add(1)
		s.opts.Logger.Error(msg, "file", s.name, "err", err)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.unavailable(w, r, g)
	return false
}

// unavailable answers 503 for a request that found g damaged.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, g *generation) {
	w.Header().Set("Retry-After", "1")
	s.writeError(w, r, http.StatusServiceUnavailable, "database unavailable: %s; waiting for a whole new file", g.damage())
}

// acceptsGzip reports whether r accepts a gzipped answer: gzip is named
// without a q of zero (RFC 9110 12.5.3: "q=0", "Q=0.0", "q = 0.000" all
// mean not acceptable).
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header["Accept-Encoding"] {
		for part := range strings.SplitSeq(v, ",") {
			enc, params, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(enc), "gzip") && !zeroQ(params) {
				return true
			}
		}
	}
	return false
}

// zeroQ reports whether the parameters of a coding (after its first ';')
// give it a q of zero.
func zeroQ(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		name, val, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		val = strings.TrimSpace(val)
		if val == "" || val[0] != '0' {
			return false
		}
		return strings.Trim(val[1:], ".0") == "" // 0, 0., 0.0, 0.000
	}
	return false
}

// lengthCacheSize bounds the Content-Length values a Server keeps made:
// answers shorter than this set the header without allocating.
const lengthCacheSize = 1 << 14

// contentLength returns the Content-Length header value for n bytes.
func (s *Server) contentLength(n int) []string {
	if n >= lengthCacheSize {
		return []string{strconv.Itoa(n)}
	}
	if p := s.lengths[n].Load(); p != nil {
		return *p
	}
	v := []string{strconv.Itoa(n)}
	s.lengths[n].Store(&v)
	return v
}

// writeBody writes b as the body of a response with the given code and
// content type, gzipped when the client accepts it and b is large enough.
func (s *Server) writeBody(w http.ResponseWriter, r *http.Request, code int, ctype []string, b []byte) {
	h := w.Header()
	h["Content-Type"] = ctype
	gz := !s.opts.DisableGzip
	if gz {
		if len(h["Vary"]) == 0 {
			h["Vary"] = s.varyGzip
		} else {
			h.Add("Vary", "Accept-Encoding")
		}
	}
	if gz && len(b) >= GzipMin && acceptsGzip(r) {
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
	h["Content-Length"] = s.contentLength(len(b))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b) // the client went away: nothing to do
	}
}

// writeJSON writes v as the JSON body of a response with the given code.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	buf := new(bytes.Buffer)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		code = http.StatusInternalServerError
		buf.WriteString(`{"error":"encoding the response failed"}` + "\n")
	}
	s.writeBody(w, r, code, s.ctJSON, buf.Bytes())
}

// errorBody is the body of every response that is not a 200.
type errorBody struct {
	Error string `json:"error"`
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, code int, format string, args ...any) {
	s.writeJSON(w, r, code, errorBody{fmt.Sprintf(format, args...)})
}

// allow answers 405 and returns false unless the request's method is
// one of methods.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	s.writeError(w, r, http.StatusMethodNotAllowed, "method %s not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(methods, " or "))
	return false
}

// allowGet is allow for GET and HEAD, without building the list.
func (s *Server) allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	return s.allow(w, r, http.MethodGet, http.MethodHead)
}

// quoteRequestPart quotes a piece of the request for an error message, cut
// short if long.
func quoteRequestPart(q string) string {
	if len(q) > 64 {
		q = q[:64] + "..."
	}
	return strconv.Quote(q)
}

// parseAddr parses an address of a request. A zone (fe80::1%eth0) is
// dropped: the database does not depend on it.
func parseAddr(q string) (netip.Addr, error) {
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

// lookupError is an address the database cannot answer; code is the HTTP
// status it gives.
type lookupError struct {
	code int
	err  error
}

// answer is the answer for one address. record is the record's JSON; it
// may be shared with other answers and must not be modified.
type answer struct {
	ip     netip.Addr
	prefix netip.Prefix
	found  bool
	record []byte
}

// appendJSON appends a's JSON object, the same object ipatlas lookup
// prints: {"ip":...,"network":...,"found":...,"record":...}, record
// absent when not found. Addresses and prefixes need no escaping.
func (a *answer) appendJSON(b []byte) []byte {
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

// lookup looks a up in g and returns its answer, the record's JSON from
// g's cache or decoded and encoded now (recordjson, as ipatlas lookup
// prints it).
func (s *Server) lookup(g *generation, a netip.Addr) (answer, *lookupError) {
	if a.Is6() && g.r.Metadata.IPVersion == 4 {
		return answer{}, &lookupError{http.StatusBadRequest, fmt.Errorf("%s is an IPv6 address and the database is IPv4-only", a)}
	}
	res := g.r.Lookup(a)
	if err := res.Err(); err != nil {
		return answer{}, &lookupError{http.StatusInternalServerError, fmt.Errorf("looking up %s: %w", a, err)}
	}
	ans := answer{ip: a, prefix: res.Prefix(), found: res.Found()}
	if !ans.found {
		s.counters.addresses[0].Add(1)
		return ans, nil
	}
	s.counters.addresses[1].Add(1)
	off := res.Offset()
	if ans.record = g.records.get(off); ans.record != nil {
		return ans, nil
	}
	var v any
	if err := res.Decode(&v); err != nil {
		return answer{}, &lookupError{http.StatusInternalServerError, fmt.Errorf("decoding the record of %s: %w", ans.prefix, err)}
	}
	b, err := recordjson.Encode(v)
	if err != nil {
		return answer{}, &lookupError{http.StatusInternalServerError, fmt.Errorf("encoding the record of %s: %w", ans.prefix, err)}
	}
	ans.record = b
	if len(b) <= maxCachedRecord {
		g.records.put(off, ans.record)
	}
	return ans, nil
}

// maxCachedRecord is the largest encoded record the cache keeps: with
// it the cache holds at most 2^recordCacheBits * 64 KiB = 1 GiB. A
// record can expand to 64 MiB of JSON through pointers (format's
// MaxPayloadBytes); a file of many such records grew the cache without
// bound (TestRecordCacheBound).
const maxCachedRecord = 64 << 10

// recordCacheBits sets the size of a generation's record cache: 2^14
// slots. Uniformly random IPv4 lookups in GeoLite2-City (51,000 distinct
// records among 257,000 found addresses) hit it 74% of the time; real
// traffic is more skewed. It holds at most 2^14 encoded records (about
// 1 KiB each for GeoLite2-City's eight languages), none larger than
// maxCachedRecord.
const recordCacheBits = 14

// recordCache maps data offsets to encoded records: direct-mapped, a new
// entry replaces the one in its slot. Lock-free; entries are immutable.
type recordCache struct {
	slots [1 << recordCacheBits]atomic.Pointer[cachedRecord]
}

type cachedRecord struct {
	offset uintptr
	json   []byte
}

func recordSlot(off uintptr) uint64 {
	return uint64(off) * 0x9E3779B97F4A7C15 >> (64 - recordCacheBits) // Fibonacci hashing
}

func (c *recordCache) get(off uintptr) []byte {
	if e := c.slots[recordSlot(off)].Load(); e != nil && e.offset == off {
		return e.json
	}
	return nil
}

func (c *recordCache) put(off uintptr, json []byte) {
	c.slots[recordSlot(off)].Store(&cachedRecord{off, json})
}

func (s *Server) getBuf() *[]byte {
	if bp, _ := s.bufs.Get().(*[]byte); bp != nil {
		return bp
	}
	b := make([]byte, 0, 2048)
	return &b
}

// putBuf returns a buffer to the pool unless it has grown large: the pool
// would otherwise keep a batch-sized buffer per request that ever ran
// (the memory after a burst of batches stayed high).
func (s *Server) putBuf(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		s.bufs.Put(bp)
	}
}

// lookupOne answers GET /v1/lookup/{ip}. A cached record is answered
// without allocating (BenchmarkHandlerLookup).
func (s *Server) lookupOne(w http.ResponseWriter, r *http.Request) {
	if !s.allowGet(w, r) {
		return
	}
	a, err := parseAddr(r.URL.Path[len(lookupPrefix):])
	if err != nil {
		s.writeError(w, r, http.StatusBadRequest, "%v", err)
		return
	}
	if !s.admit(w, r, s.inFlight, "requests") {
		return
	}
	defer func() { <-s.inFlight }()
	g := s.acquire(w, r)
	if g == nil {
		return
	}
	defer g.release()
	var ans answer
	var lerr *lookupError
	if !s.guard(w, r, g, func() error { ans, lerr = s.lookup(g, a); return nil }) {
		return
	}
	if lerr != nil {
		s.writeError(w, r, lerr.code, "%v", lerr.err)
		return
	}
	bp := s.getBuf()
	defer s.putBuf(bp)
	*bp = append(ans.appendJSON((*bp)[:0]), '\n')
	s.writeBody(w, r, http.StatusOK, s.ctJSON, *bp)
}

// batchItem is one element of a batch: an address, or why it is not one.
type batchItem struct {
	a   netip.Addr
	q   string // the element as given (for per-item errors)
	err error
}

// appendItemError appends the per-item error object of a batch element:
// {"ip":"<as given>","error":"..."}. Both are JSON strings (control
// characters escaped, invalid UTF-8 as U+FFFD): strconv.Quote's \a, \v,
// \xNN and \UNNNNNNNN escapes are not JSON (TestBatchItemErrorsJSON).
func appendItemError(b []byte, q string, err error) []byte {
	b = append(b, `{"ip":`...)
	b = appendJSONString(b, q)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, err.Error())
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, as recordjson writes it.
func appendJSONString(b []byte, s string) []byte {
	j, err := recordjson.Encode(s)
	if err != nil { // a string always encodes
		return append(b, `""`...)
	}
	return append(b, j...)
}

// lookupBatch answers POST /v1/lookup: a JSON array of up to MaxBatch
// addresses in, an array of answers in the same order out, all from the
// same generation.
func (s *Server) lookupBatch(w http.ResponseWriter, r *http.Request) {
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
	body := http.MaxBytesReader(w, r.Body, MaxBatchBody)
	dec := json.NewDecoder(body)
	var raw []json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeError(w, r, http.StatusRequestEntityTooLarge, "request body larger than %d bytes", MaxBatchBody)
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
	if len(raw) > MaxBatch {
		s.writeError(w, r, http.StatusBadRequest, "%d addresses in one batch; the limit is %d", len(raw), MaxBatch)
		return
	}
	items := make([]batchItem, len(raw))
	for i, m := range raw {
		it := &items[i]
		if err := json.Unmarshal(m, &it.q); err != nil {
			it.q, it.err = string(m), fmt.Errorf("is not a string: %s", quoteRequestPart(string(m)))
		} else {
			it.a, it.err = parseAddr(it.q)
		}
		if it.err != nil && !s.opts.BatchItemErrors {
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
	g := s.acquire(w, r)
	if g == nil {
		return
	}
	defer g.release()
	var failed *lookupError
	failedAt := 0
	ok := s.guard(w, r, g, func() error {
		b := append((*bp)[:0], '[')
		for i, it := range items {
			if i > 0 {
				b = append(b, ',')
			}
			if it.err != nil {
				b = appendItemError(b, it.q, it.err)
				continue
			}
			ans, lerr := s.lookup(g, it.a)
			if lerr != nil {
				if !s.opts.BatchItemErrors {
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
	s.writeBody(w, r, http.StatusOK, s.ctJSON, *bp)
}

// Health is the body of GET /healthz.
type Health struct {
	Status          string `json:"status"`            // ok, degraded or unavailable
	Problem         string `json:"problem,omitempty"` // what is wrong, a short class
	Database        string `json:"database"`          // Options.Name: the file's base name by default
	DatabaseType    string `json:"database_type"`
	BuildEpoch      uint   `json:"build_epoch"`
	NodeCount       uint   `json:"node_count"`
	Loaded          string `json:"loaded"`
	Reloads         uint64 `json:"reloads"`
	ReloadFailures  uint64 `json:"reload_failures"`
	LastReloadError string `json:"last_reload_error,omitempty"` // class, or the full error with ExposePaths
}

// state is what the service can say about itself: status ok (the
// served file is good and is the one on disk), degraded (the served file
// is good; the one on disk is missing or bad) or unavailable (the served
// file is damaged or there is none: lookups answer 503).
type state struct {
	status, problem, detail string
}

func (s *Server) state() state {
	g := s.holder.acquire()
	if g != nil {
		defer g.release()
	}
	return s.stateOf(g)
}

// stateOf is state with g the served generation (nil: none).
func (s *Server) stateOf(g *generation) state {
	var lp *loadProblem
	if s.loader != nil {
		lp = s.loader.problem.Load()
	}
	if g == nil {
		return state{"unavailable", problemNoDatabase, problemNoDatabase}
	}
	if p := g.damage(); p != "" {
		st := state{"unavailable", p, p}
		if lp != nil {
			st.detail = lp.detail
		}
		return st
	}
	if lp != nil {
		return state{"degraded", lp.class, lp.detail}
	}
	return state{status: "ok"}
}

// healthz answers GET /healthz: 200 while the process runs (a liveness
// check), with what is served, the reload state and whether anything is
// wrong.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if !s.allowGet(w, r) {
		return
	}
	g := s.holder.acquire()
	st := s.stateOf(g)
	h := Health{
		Status:         st.status,
		Problem:        st.problem,
		Database:       s.name,
		Reloads:        s.counters.reloads.Load(),
		ReloadFailures: s.counters.reloadFailures.Load(),
	}
	if g != nil {
		m := g.r.Metadata
		h.DatabaseType, h.BuildEpoch, h.NodeCount = m.DatabaseType, m.BuildEpoch, m.NodeCount
		h.Loaded = g.loaded.UTC().Format(time.RFC3339Nano)
		g.release()
	}
	if s.loader != nil {
		if lp := s.loader.problem.Load(); lp != nil {
			h.LastReloadError = lp.class
			if s.opts.ExposePaths {
				h.LastReloadError = lp.detail
			}
		}
	}
	s.writeJSON(w, r, http.StatusOK, h)
}

// Ready is the body of GET /readyz.
type Ready struct {
	Status  string `json:"status"` // ready, degraded or not ready
	Problem string `json:"problem,omitempty"`
	Detail  string `json:"detail,omitempty"` // the full error, with ExposePaths
}

// readyz answers GET /readyz: 200 "ready" while a valid file is served
// and is the one on disk, 200 "degraded" while a valid file is served and
// the one on disk is missing or bad, 503 "not ready" while no valid file
// is served (lookups answer 503).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.allowGet(w, r) {
		return
	}
	st := s.state()
	body, code := Ready{Status: "ready"}, http.StatusOK
	switch st.status {
	case "degraded":
		body.Status = "degraded"
	case "unavailable":
		body.Status, code = "not ready", http.StatusServiceUnavailable
	}
	body.Problem = st.problem
	if s.opts.ExposePaths {
		body.Detail = st.detail
	}
	s.writeJSON(w, r, code, body)
}

// serveMetrics answers GET /metrics in the Prometheus text format: what
// the Gatherer gathers.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if s.gatherer == nil {
		s.notFound(w, r)
		return
	}
	if !s.allowGet(w, r) {
		return
	}
	mfs, err := s.gatherer.Gather()
	if err != nil {
		s.opts.Logger.Warn("gathering the metrics", "err", err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			s.opts.Logger.Warn("writing the metrics", "err", err)
			break
		}
	}
	s.writeBody(w, r, http.StatusOK, s.ctText, buf.Bytes())
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, http.StatusNotFound, "no endpoint %s; the endpoints are GET /v1/lookup/{ip}, POST /v1/lookup, GET /healthz, GET /readyz, GET /metrics", quoteRequestPart(r.URL.Path))
}
