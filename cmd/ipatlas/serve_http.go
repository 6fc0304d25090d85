package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
	bufs    sync.Pool // *[]byte for response bodies
}

// handler routes the endpoints. Each request is counted and timed under
// its endpoint.
func (s *lookupServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/lookup/{ip...}", s.instrument(epLookup, s.lookupOne))
	mux.Handle("/v1/lookup", s.instrument(epBatch, s.lookupBatch))
	mux.Handle("/healthz", s.instrument(epHealthz, s.healthz))
	mux.Handle("/metrics", s.instrument(epMetrics, s.serveMetrics))
	mux.Handle("/", s.instrument(epOther, s.notFound))
	return mux
}

// serveStatusWriter remembers the status code a handler wrote.
type serveStatusWriter struct {
	http.ResponseWriter
	code int
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
	return w.ResponseWriter.Write(b)
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
		s.metrics.observe(e, sw.code, time.Since(start))
		s.metrics.inFlight.Add(-1)
	})
}

// writeJSON writes v as the JSON body of a response with the given code.
func (s *lookupServer) writeJSON(w http.ResponseWriter, code int, v any) {
	buf := new(bytes.Buffer)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		code = http.StatusInternalServerError
		buf.WriteString(`{"error":"encoding the response failed"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes()) // the client went away: nothing to do
}

// serveErrorBody is the body of every response that is not a 200.
type serveErrorBody struct {
	Error string `json:"error"`
}

func (s *lookupServer) writeError(w http.ResponseWriter, code int, format string, args ...any) {
	s.writeJSON(w, code, serveErrorBody{fmt.Sprintf(format, args...)})
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
	s.writeError(w, http.StatusMethodNotAllowed, "method %s not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(methods, " or "))
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
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return lookupAnswer{}, &serveLookupError{http.StatusInternalServerError, fmt.Errorf("encoding the record of %s: %w", ans.prefix, err)}
	}
	ans.record = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	d.records.put(off, ans.record)
	return ans, nil
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

// writeJSONBody writes b as the body of a 200 response of JSON.
func writeJSONBody(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b) // the client went away: nothing to do
}

// lookupOne answers GET /v1/lookup/{ip}.
func (s *lookupServer) lookupOne(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	a, err := parseServeAddr(r.PathValue("ip"))
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	d := s.holder.acquire()
	ans, lerr := s.lookup(d, a)
	d.release() // ans holds copies only: nothing points into the file
	if lerr != nil {
		s.writeError(w, lerr.code, "%v", lerr.err)
		return
	}
	bp := s.getBuf()
	defer s.bufs.Put(bp)
	*bp = append(ans.appendJSON((*bp)[:0]), '\n')
	writeJSONBody(w, *bp)
}

func (s *lookupServer) getBuf() *[]byte {
	if bp, _ := s.bufs.Get().(*[]byte); bp != nil {
		return bp
	}
	b := make([]byte, 0, 2048)
	return &b
}

// lookupBatch answers POST /v1/lookup: a JSON array of up to maxBatch
// addresses in, an array of answers in the same order out, all from the
// same version of the file.
func (s *lookupServer) lookupBatch(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, http.MethodPost) {
		return
	}
	body := http.MaxBytesReader(w, r.Body, maxBatchBody)
	dec := json.NewDecoder(body)
	var raw []json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeError(w, http.StatusRequestEntityTooLarge, "request body larger than %d bytes", maxBatchBody)
			return
		}
		s.writeError(w, http.StatusBadRequest, "request body is not a JSON array of addresses: %v", err)
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		s.writeError(w, http.StatusBadRequest, "request body has more after the JSON array")
		return
	}
	if raw == nil {
		s.writeError(w, http.StatusBadRequest, "request body is not a JSON array of addresses: null")
		return
	}
	if len(raw) > maxBatch {
		s.writeError(w, http.StatusBadRequest, "%d addresses in one batch; the limit is %d", len(raw), maxBatch)
		return
	}
	addrs := make([]netip.Addr, len(raw))
	for i, m := range raw {
		var q string
		if err := json.Unmarshal(m, &q); err != nil {
			s.writeError(w, http.StatusBadRequest, "element %d is not a string: %s", i, quoteRequestPart(string(m)))
			return
		}
		a, err := parseServeAddr(q)
		if err != nil {
			s.writeError(w, http.StatusBadRequest, "element %d: %v", i, err)
			return
		}
		addrs[i] = a
	}
	bp := s.getBuf()
	defer s.bufs.Put(bp)
	b := append((*bp)[:0], '[')
	d := s.holder.acquire()
	for i, a := range addrs {
		ans, lerr := s.lookup(d, a)
		if lerr != nil {
			d.release()
			s.writeError(w, lerr.code, "element %d: %v", i, lerr.err)
			return
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = ans.appendJSON(b)
	}
	d.release()
	*bp = append(b, "]\n"...)
	writeJSONBody(w, *bp)
}

// serveHealth is the body of GET /healthz.
type serveHealth struct {
	Status          string `json:"status"`
	Database        string `json:"database"`
	DatabaseType    string `json:"database_type"`
	BuildEpoch      uint   `json:"build_epoch"`
	NodeCount       uint   `json:"node_count"`
	Loaded          string `json:"loaded"`
	Reloads         uint64 `json:"reloads"`
	ReloadFailures  uint64 `json:"reload_failures"`
	LastReloadError string `json:"last_reload_error,omitempty"`
}

// healthz answers GET /healthz: 200 while a database is served (always,
// once the server listens), with what is served and the reload state.
func (s *lookupServer) healthz(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	d := s.holder.acquire()
	m := d.r.Metadata
	h := serveHealth{
		Status:          "ok",
		Database:        s.loader.path,
		DatabaseType:    m.DatabaseType,
		BuildEpoch:      m.BuildEpoch,
		NodeCount:       m.NodeCount,
		Loaded:          d.loaded.UTC().Format(time.RFC3339Nano),
		Reloads:         s.metrics.reloads.Load(),
		ReloadFailures:  s.metrics.reloadFailures.Load(),
		LastReloadError: s.loader.lastError(),
	}
	d.release()
	s.writeJSON(w, http.StatusOK, h)
}

// serveMetrics answers GET /metrics in the Prometheus text format.
func (s *lookupServer) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	d := s.holder.acquire()
	g := dbGauges{
		buildEpoch:  d.r.Metadata.BuildEpoch,
		nodeCount:   d.r.Metadata.NodeCount,
		loaded:      d.loaded,
		generations: s.holder.open.Load(),
		path:        s.loader.path,
		typ:         d.r.Metadata.DatabaseType,
	}
	d.release()
	var buf bytes.Buffer
	_ = s.metrics.write(&buf, g) // a bytes.Buffer does not fail
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

func (s *lookupServer) notFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, http.StatusNotFound, "no endpoint %s; the endpoints are GET /v1/lookup/{ip}, POST /v1/lookup, GET /healthz, GET /metrics", quoteRequestPart(r.URL.Path))
}
