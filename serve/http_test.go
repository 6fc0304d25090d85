package serve

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/internal/servetest"
	"github.com/ipatlas/ipatlas/internal/testutil"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/reader"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestHTTP checks every endpoint's status codes, content type and error
// bodies on small databases whose answers are known by hand, in an
// httptest server: found and not found (the network of a miss from
// maxminddb-golang v2), IPv6, the IPv4 aliases, a zone, HEAD, bad
// addresses and networks, an IPv6 address in an IPv4 database (read into
// memory), wrong methods, batches (order, 1,000 and 1,001, malformed,
// too large) and unknown paths.
func TestHTTP(t *testing.T) {
	dir := t.TempDir()
	a := writeDB(t, dir, "a.mmdb", 6, countriesA)
	p := startServer(t, Options{Path: a})
	p4 := startServer(t, Options{Path: writeDB(t, dir, "a4.mmdb", 4, countriesA[:1]), ReadIntoMemory: true})
	peer := openPeer(t, a)
	miss := peerAnswer(t, peer, netip.MustParseAddr("9.9.9.9"))
	if miss.Found {
		t.Fatal("9.9.9.9 is in a.mmdb for maxminddb-golang v2")
	}
	many := make([]string, MaxBatch+1)
	for i := range many {
		many[i] = "1.2.3.4"
	}
	tooMany, _ := json.Marshal(many)
	cases := []struct {
		name         string
		ts           *testServer
		method, path string
		body         string
		code         int
		want         string // a part of the body
		allow        string // the Allow header of a 405
	}{
		{"found", p, "GET", "/v1/lookup/1.2.3.4", "", 200, `{"ip":"1.2.3.4","network":"1.2.3.0/24","found":true,"record":{`, ""},
		{"found v6", p, "GET", "/v1/lookup/2001:db8::1", "", 200, `"network":"2001:db8::/32","found":true`, ""},
		{"found v4-mapped", p, "GET", "/v1/lookup/::ffff:1.2.3.4", "", 200, `"network":"::ffff:1.2.3.0/120","found":true`, ""},
		{"found 6to4", p, "GET", "/v1/lookup/2002:102:304::1", "", 200, `"network":"2002:102:300::/40","found":true`, ""},
		{"zone dropped", p, "GET", "/v1/lookup/2001:db8::1%25eth0", "", 200, `{"ip":"2001:db8::1","network":"2001:db8::/32"`, ""},
		{"not found", p, "GET", "/v1/lookup/9.9.9.9", "", 200, `{"ip":"9.9.9.9","network":"` + miss.Network + `","found":false}`, ""},
		{"head", p, "HEAD", "/v1/lookup/1.2.3.4", "", 200, "", ""},
		{"bad address", p, "GET", "/v1/lookup/1.2.3.256", "", 400, `{"error":"\"1.2.3.256\" is not an IP address"}`, ""},
		{"network", p, "GET", "/v1/lookup/1.2.3.0/24", "", 400, `is a network`, ""},
		{"no address", p, "GET", "/v1/lookup/", "", 400, `no address`, ""},
		{"v6 in v4 database", p4, "GET", "/v1/lookup/2001:db8::1", "", 400, `IPv4-only`, ""},
		{"v4 in v4 database", p4, "GET", "/v1/lookup/1.2.3.4", "", 200, `"network":"1.2.3.0/24","found":true`, ""},
		{"wrong method", p, "PUT", "/v1/lookup/1.2.3.4", "", 405, `method PUT not allowed`, "GET, HEAD"},
		{"batch", p, "POST", "/v1/lookup", `["1.2.3.4", "9.9.9.9"]`, 200, `[{"ip":"1.2.3.4","network":"1.2.3.0/24","found":true,"record":{`, ""},
		{"batch order", p, "POST", "/v1/lookup", `["9.9.9.9","1.2.3.4"]`, 200, `[{"ip":"9.9.9.9","network":"` + miss.Network + `","found":false},{"ip":"1.2.3.4"`, ""},
		{"empty batch", p, "POST", "/v1/lookup", `[]`, 200, "[]\n", ""},
		{"batch of 1000", p, "POST", "/v1/lookup", string(tooMany[:len(tooMany)-len(`,"1.2.3.4"]`)]) + "]", 200, `"found":true`, ""},
		{"batch of 1001", p, "POST", "/v1/lookup", string(tooMany), 400, `1001 addresses in one batch; the limit is 1000`, ""},
		{"batch not JSON", p, "POST", "/v1/lookup", `["1.2.3.4",`, 400, `not a JSON array`, ""},
		{"batch object", p, "POST", "/v1/lookup", `{"ip":"1.2.3.4"}`, 400, `not a JSON array`, ""},
		{"batch null", p, "POST", "/v1/lookup", `null`, 400, `not a JSON array`, ""},
		{"batch trailing data", p, "POST", "/v1/lookup", `["1.2.3.4"] x`, 400, `more after the JSON array`, ""},
		{"batch number", p, "POST", "/v1/lookup", `["1.2.3.4", 7]`, 400, `element 1 is not a string: \"7\"`, ""},
		{"batch bad address", p, "POST", "/v1/lookup", `["1.2.3.4","nope"]`, 400, `element 1: \"nope\" is not an IP address`, ""},
		{"batch too large", p, "POST", "/v1/lookup", `["` + strings.Repeat(" ", MaxBatchBody) + `"]`, 413, `request body larger than`, ""},
		{"batch by GET", p, "GET", "/v1/lookup", "", 405, `use POST`, "POST"},
		{"healthz", p, "GET", "/healthz", "", 200, `"status":"ok"`, ""},
		{"readyz", p, "GET", "/readyz", "", 200, `{"status":"ready"}`, ""},
		{"healthz by POST", p, "POST", "/healthz", "", 405, `method POST not allowed`, "GET, HEAD"},
		{"unknown path", p, "GET", "/v2/lookup/1.2.3.4", "", 404, `no endpoint \"/v2/lookup/1.2.3.4\"`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body, h := c.ts.do(t, c.method, c.path, c.body)
			if code != c.code {
				t.Errorf("status %d, want %d: %s", code, c.code, body)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if !strings.Contains(string(body), c.want) {
				t.Errorf("body does not contain %s:\n%.500s", c.want, body)
			}
			if got := h.Get("Allow"); got != c.allow {
				t.Errorf("Allow %q, want %q", got, c.allow)
			}
			if c.method == "HEAD" {
				if len(body) != 0 || h.Get("Content-Length") == "" {
					t.Errorf("HEAD: body %q, Content-Length %q", body, h.Get("Content-Length"))
				}
				return
			}
			var v any
			servetest.DecodeJSON(t, body, &v)
			if code != http.StatusOK {
				var e map[string]any
				servetest.DecodeJSON(t, body, &e)
				if msg, _ := e["error"].(string); len(e) != 1 || msg == "" {
					t.Errorf("error body is not {\"error\": \"...\"}: %s", body)
				}
			}
		})
	}
	// Every record is the one maxminddb-golang v2 reads from the same file.
	for _, ip := range []string{"1.2.3.4", "5.6.7.8", "2001:db8::1", "::ffff:1.2.3.4", "9.9.9.9"} {
		var got servetest.Answer
		_, body, _ := p.do(t, "GET", "/v1/lookup/"+ip, "")
		servetest.DecodeJSON(t, body, &got)
		if want := peerAnswer(t, peer, netip.MustParseAddr(ip)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", ip, got, want)
		}
	}
	if got := p.country(t, "1.2.3.4"); got != "CN" {
		t.Errorf("1.2.3.4 in %q, want CN", got)
	}
}

// TestMatchesPeer checks the service's answers for 2,000 random
// addresses on GeoLite2-City, one by one and in batches, against
// maxminddb-golang v2 reading the same file: network, found and the whole
// record.
func TestMatchesPeer(t *testing.T) {
	path := testutil.GeoLiteCity(t)
	peer := openPeer(t, path)
	p := startServer(t, Options{Path: path})
	addrs := probeAddrs(1600, 400)
	want := make([]servetest.Answer, len(addrs))
	found := 0
	for i, a := range addrs {
		want[i] = peerAnswer(t, peer, a)
		if want[i].Found {
			found++
		}
	}
	if found < len(addrs)/2 {
		t.Fatalf("only %d of %d addresses found: the sample does not exercise records", found, len(addrs))
	}
	check := func(how string, i int, got servetest.Answer) {
		t.Helper()
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("%s %s:\n got %+v\nwant %+v", how, addrs[i], got, want[i])
		}
	}
	// One by one for the first 300, twice (the second time from the
	// record cache).
	for range 2 {
		for i, a := range addrs[:300] {
			code, body, h := p.do(t, "GET", "/v1/lookup/"+a.String(), "")
			if code != http.StatusOK || h.Get("Content-Type") != "application/json" {
				t.Fatalf("GET %s: status %d, Content-Type %q: %s", a, code, h.Get("Content-Type"), body)
			}
			var got servetest.Answer
			servetest.DecodeJSON(t, body, &got)
			check("GET", i, got)
		}
	}
	// All of them in batches of at most 1,000, in order.
	for lo := 0; lo < len(addrs); lo += MaxBatch {
		hi := min(lo+MaxBatch, len(addrs))
		qs := make([]string, 0, hi-lo)
		for _, a := range addrs[lo:hi] {
			qs = append(qs, a.String())
		}
		req, _ := json.Marshal(qs)
		code, body, h := p.do(t, "POST", "/v1/lookup", string(req))
		if code != http.StatusOK || h.Get("Content-Type") != "application/json" {
			t.Fatalf("POST batch: status %d, Content-Type %q: %.300s", code, h.Get("Content-Type"), body)
		}
		var got []servetest.Answer
		servetest.DecodeJSON(t, body, &got)
		if len(got) != hi-lo {
			t.Fatalf("batch of %d got %d answers", hi-lo, len(got))
		}
		for i := range got {
			check("batch", lo+i, got[i])
		}
	}
}

// TestMetrics makes a known set of requests and checks the counts
// /metrics reports, parsed with Prometheus's own text parser; the
// runtime collectors are there only when asked for.
func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	db := writeDB(t, dir, "a.mmdb", 6, countriesA)
	peer := openPeer(t, db)
	p := startServer(t, Options{Path: db})
	requests := []struct {
		method, path, body string
		code               int
	}{
		{"GET", "/v1/lookup/1.2.3.4", "", 200},
		{"GET", "/v1/lookup/1.2.3.5", "", 200},
		{"GET", "/v1/lookup/5.6.7.8", "", 200},
		{"GET", "/v1/lookup/9.9.9.9", "", 200}, // not found
		{"GET", "/v1/lookup/bad", "", 400},
		{"DELETE", "/v1/lookup/1.2.3.4", "", 405},
		{"POST", "/v1/lookup", `["1.2.3.4","2001:db8::1","7.7.7.7"]`, 200}, // 2 found, 1 not
		{"POST", "/v1/lookup", `[1]`, 400},
		{"GET", "/healthz", "", 200},
		{"GET", "/healthz", "", 200},
		{"GET", "/nothing", "", 404},
	}
	for _, r := range requests {
		if code, body, _ := p.do(t, r.method, r.path, r.body); code != r.code {
			t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, code, r.code, body)
		}
	}
	fams := p.metrics(t)
	counts := []struct {
		endpoint, code string
		want           float64
	}{
		{"lookup", "200", 4}, {"lookup", "400", 1}, {"lookup", "405", 1},
		{"batch", "200", 1}, {"batch", "400", 1},
		{"healthz", "200", 2}, {"other", "404", 1},
		{"metrics", "200", -1}, // this scrape is counted after it is written
	}
	perEndpoint := map[string]float64{}
	for _, c := range counts {
		got := servetest.MetricValue(fams, "ipatlas_http_requests_total", "endpoint", c.endpoint, "code", c.code)
		if got != c.want {
			t.Errorf("ipatlas_http_requests_total{endpoint=%q,code=%q} = %g, want %g", c.endpoint, c.code, got, c.want)
		}
		perEndpoint[c.endpoint] += max(c.want, 0)
	}
	if n := len(fams["ipatlas_http_requests_total"].GetMetric()); n != len(counts)-1 {
		t.Errorf("%d request counters, want %d", n, len(counts)-1)
	}
	hist := fams["ipatlas_http_request_duration_seconds"]
	if hist.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("latency is a %s, want a histogram", hist.GetType())
	}
	for _, m := range hist.GetMetric() {
		ep := m.GetLabel()[0].GetValue()
		h := m.GetHistogram()
		if got := float64(h.GetSampleCount()); got != perEndpoint[ep] {
			t.Errorf("latency histogram of %s counts %g requests, want %g", ep, got, perEndpoint[ep])
		}
		if h.GetSampleCount() > 0 && (h.GetSampleSum() <= 0 || h.GetSampleSum() > 60) {
			t.Errorf("latency histogram of %s: implausible sum %gs", ep, h.GetSampleSum())
		}
		var prev uint64
		for _, b := range h.GetBucket() {
			if b.GetCumulativeCount() < prev {
				t.Errorf("latency histogram of %s: bucket le=%g count %d below the previous %d", ep, b.GetUpperBound(), b.GetCumulativeCount(), prev)
			}
			prev = b.GetCumulativeCount()
		}
		if prev > h.GetSampleCount() {
			t.Errorf("latency histogram of %s: finite buckets count %d of %d", ep, prev, h.GetSampleCount())
		}
	}
	gauges := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ipatlas_lookup_addresses_total", []string{"found", "true"}, 3 + 2},
		{"ipatlas_lookup_addresses_total", []string{"found", "false"}, 1 + 1},
		{"ipatlas_database_reloads_total", nil, 0},
		{"ipatlas_database_reload_failures_total", nil, 0},
		{"ipatlas_database_build_timestamp_seconds", nil, float64(peer.Metadata.BuildEpoch)},
		{"ipatlas_database_node_count", nil, float64(peer.Metadata.NodeCount)},
		{"ipatlas_database_open_generations", nil, 1},
		{"ipatlas_http_requests_in_flight", nil, 1}, // the scrape itself
		{"ipatlas_database_info", []string{"path", filepath.Base(db), "type", peer.Metadata.DatabaseType}, 1},
		{"ipatlas_database_state", []string{"state", "ok"}, 1},
		{"ipatlas_database_state", []string{"state", "degraded"}, 0},
	}
	for _, g := range gauges {
		if got := servetest.MetricValue(fams, g.name, g.labels...); got != g.want {
			t.Errorf("%s%v = %g, want %g", g.name, g.labels, got, g.want)
		}
	}
	if got := float64(testBuildTime.Unix()); got != float64(peer.Metadata.BuildEpoch) {
		t.Errorf("build_epoch %d, written %g", peer.Metadata.BuildEpoch, got)
	}
	if got := servetest.MetricValue(fams, "ipatlas_database_loaded_timestamp_seconds"); got < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("ipatlas_database_loaded_timestamp_seconds = %g", got)
	}
	// The first scrape shows up in the second.
	if got := p.metric(t, "ipatlas_http_requests_total", "endpoint", "metrics", "code", "200"); got != 1 {
		t.Errorf("second scrape counts %g scrapes, want 1", got)
	}
	// No runtime collectors unless asked for.
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "go_build_info", "ipatlas_build_info"} {
		if _, ok := fams[name]; ok {
			t.Errorf("%s without RuntimeMetrics", name)
		}
	}
}

// TestRuntimeMetrics: with RuntimeMetrics the Go, process and build-info
// collectors join the Server's families on the caller's registry; Close
// unregisters them all, so that a new Server can register again.
func TestRuntimeMetrics(t *testing.T) {
	db := writeDB(t, t.TempDir(), "a.mmdb", 6, countriesA)
	reg := prometheus.NewRegistry()
	for range 2 {
		s, err := New(Options{Path: db, Registerer: reg, RuntimeMetrics: true})
		if err != nil {
			t.Fatal(err)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, mf := range mfs {
			have[mf.GetName()] = true
		}
		for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "go_build_info", "ipatlas_build_info", "ipatlas_database_state"} {
			if !have[name] {
				t.Errorf("no %s on the registry", name)
			}
		}
		if _, err := New(Options{Path: db, Registerer: reg}); err == nil {
			t.Error("a second Server registered the same families on one registry")
		}
		s.Close()
	}
}

// TestNaN (issue 13): a record holding NaN and -Inf is answered 200 with
// the strings "NaN" and "-Inf", as ipatlas lookup prints them; at e9db24f
// serve answered 500.
func TestNaN(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nan.mmdb")
	w, err := format.Create(path, format.WriterOptions{IPVersion: 6})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.InsertValue(netip.MustParsePrefix("1.2.5.0/24"), format.Map{"nan": format.Float64(math.NaN()), "inf": format.Float32(float32(math.Inf(-1))), "x": format.String("<&>")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := startServer(t, Options{Path: path})
	code, body, _ := p.do(t, "GET", "/v1/lookup/1.2.5.1", "")
	const want = `{"ip":"1.2.5.1","network":"1.2.5.0/24","found":true,"record":{"inf":"-Inf","nan":"NaN","x":"<&>"}}` + "\n"
	if code != 200 || string(body) != want {
		t.Errorf("got %d %s\nwant 200 %s", code, body, want)
	}
}

// TestOptions: gzip when the client accepts it (and not for a small
// answer, nor with DisableGzip), per-item errors in a batch with
// BatchItemErrors, and one JSON access-log line per request.
func TestOptions(t *testing.T) {
	db := writeDB(t, t.TempDir(), "a.mmdb", 6, countriesA)
	log := &servetest.LockedBuffer{}
	p := startServer(t, Options{Path: db, BatchItemErrors: true, AccessLog: true, Logger: slog.New(slog.NewJSONHandler(log, nil))})
	plainSrv := startServer(t, Options{Path: db, DisableGzip: true})

	servetest.CheckItemErrors(t, p.base)
	batch, plain := servetest.CheckGzip(t, p.base, GzipMin)
	req, _ := http.NewRequest("POST", plainSrv.base+"/v1/lookup", strings.NewReader(batch))
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := servetest.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(b, plain) {
		t.Errorf("with DisableGzip: Content-Encoding %q, %d bytes against %d plain", resp.Header.Get("Content-Encoding"), len(b), len(plain))
	}

	access := servetest.CountAccessLines(t, log.String(), "POST", "/v1/lookup", 200)
	if access != 3 {
		t.Errorf("%d access log lines for the 3 batches:\n%s", access, log)
	}
}

// TestRecordCache: answers served from the cache equal freshly decoded
// ones, also when two offsets share a slot.
func TestRecordCache(t *testing.T) {
	var c recordCache
	o1 := uintptr(100)
	o2 := o1 + 1
	for recordSlot(o2) != recordSlot(o1) {
		o2++
	}
	c.put(o1, []byte("one"))
	if got := c.get(o1); string(got) != "one" {
		t.Errorf("get(o1) = %q", got)
	}
	if got := c.get(o2); got != nil {
		t.Errorf("get(o2) before put = %q, want nil", got)
	}
	c.put(o2, []byte("two"))
	if got := c.get(o1); got != nil {
		t.Errorf("get(o1) after its slot was taken = %q, want nil", got)
	}
	if got := c.get(o2); string(got) != "two" {
		t.Errorf("get(o2) = %q", got)
	}
}

// discardWriter is a ResponseWriter that keeps one header map and drops
// the body, so that what a handler allocates is what is measured.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// TestLookupAllocs holds the hot path to its promise: a GET of an address
// whose record is cached allocates nothing in the Server, from a mapped
// file (fstat included) and from a copy in memory.
func TestLookupAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	db := writeDB(t, t.TempDir(), "a.mmdb", 6, countriesA)
	for _, mem := range []bool{false, true} {
		s := newServer(t, Options{Path: db, ReadIntoMemory: mem})
		for _, ip := range []string{"1.2.3.4", "2001:db8::1", "9.9.9.9"} {
			r := httptest.NewRequest("GET", "/v1/lookup/"+ip, nil)
			w := &discardWriter{h: http.Header{}}
			s.ServeHTTP(w, r)
			if w.code != 200 {
				t.Fatalf("%s: status %d", ip, w.code)
			}
			if n := testing.AllocsPerRun(200, func() { clear(w.h); s.ServeHTTP(w, r) }); n != 0 {
				t.Errorf("GET %s (in memory %v): %g allocations per request, want 0", ip, mem, n)
			}
		}
	}
}

// TestHandle: a Server over the caller's reader.Handle answers from the
// Handle's current Reader, follows Swap at the next request, answers 503
// (and /readyz 503) while the Handle holds none, and never closes the
// caller's Readers: one swapped out still answers the caller.
func TestHandle(t *testing.T) {
	dir := t.TempDir()
	ra, err := reader.Open(writeDB(t, dir, "a.mmdb", 6, countriesA))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := reader.Open(writeDB(t, dir, "b.mmdb", 6, countriesB))
	if err != nil {
		t.Fatal(err)
	}
	h := reader.NewHandle(nil)
	p := startServer(t, Options{Handle: h, Name: "geo"})
	if code, body, _ := p.do(t, "GET", "/v1/lookup/1.2.3.4", ""); code != 503 || !strings.Contains(string(body), problemNoDatabase) {
		t.Errorf("empty Handle: %d %s; want 503 %q", code, body, problemNoDatabase)
	}
	if c, v := p.status(t, "/readyz"); c != 503 || v["status"] != "not ready" {
		t.Errorf("/readyz with an empty Handle: %d %v", c, v)
	}
	h.Swap(ra)
	if got := p.country(t, "1.2.3.4"); got != "CN" {
		t.Errorf("after Swap(a): %q, want CN", got)
	}
	if old := h.Swap(rb); old != ra {
		t.Fatal("Swap returned another Reader")
	}
	if got := p.country(t, "1.2.3.4"); got != "US" {
		t.Errorf("after Swap(b): %q, want US", got)
	}
	var v any
	if err := ra.Lookup(netip.MustParseAddr("1.2.3.4")).Decode(&v); err != nil {
		t.Errorf("the caller's old Reader after the Server moved on: %v", err)
	}
	if c, v := p.status(t, "/healthz"); c != 200 || v["status"] != "ok" || v["database"] != "geo" {
		t.Errorf("/healthz: %d %v", c, v)
	}
	if err := p.Reload(t.Context()); err == nil {
		t.Error("Reload with a Handle did not say it cannot")
	}
	if got := p.holder.open.Load(); got != 1 {
		t.Errorf("%d generations open, want 1", got)
	}
	p.Close()
	if code, _, _ := p.do(t, "GET", "/v1/lookup/1.2.3.4", ""); code != 503 {
		t.Errorf("after Close: status %d, want 503", code)
	}
	if err := rb.Lookup(netip.MustParseAddr("1.2.3.4")).Decode(&v); err != nil {
		t.Errorf("the caller's Reader after Close: %v", err)
	}
}

// TestHidesPaths is issue 14 point 4: /healthz, /readyz and /metrics
// name the file by its base name and a reload error by its class; with
// ExposePaths they show the path and the full error.
func TestHidesPaths(t *testing.T) {
	a := testutil.ReadFile(t, writeDB(t, t.TempDir(), "a.mmdb", 6, countriesA))
	for _, expose := range []bool{false, true} {
		sub := t.TempDir()
		served := filepath.Join(sub, "served.mmdb")
		servetest.RenameOver(t, served, a)
		p := startServer(t, Options{Path: served, ExposePaths: expose})
		servetest.RenameOver(t, served, []byte("not a database"))
		if err := p.Reload(t.Context()); err == nil {
			t.Fatal("Reload took a file that is not a database")
		}
		_, health, _ := p.do(t, "GET", "/healthz", "")
		_, ready, _ := p.do(t, "GET", "/readyz", "")
		_, metrics, _ := p.do(t, "GET", "/metrics", "")
		var h Health
		servetest.DecodeJSON(t, health, &h)
		for name, body := range map[string][]byte{"/healthz": health, "/readyz": ready, "/metrics": metrics} {
			if got := bytes.Contains(body, []byte(sub)); got != expose {
				t.Errorf("expose %v: %s shows the directory %s: %v:\n%s", expose, name, sub, got, body)
			}
		}
		if expose {
			if h.Database != served || !strings.Contains(h.LastReloadError, served) || h.LastReloadError == problemInvalid {
				t.Errorf("/healthz with ExposePaths: database %q, error %q; want the path and the full error", h.Database, h.LastReloadError)
			}
		} else if h.Database != "served.mmdb" || h.LastReloadError != problemInvalid || h.Status != "degraded" {
			t.Errorf("/healthz: database %q, error %q, status %q; want served.mmdb, %q, degraded", h.Database, h.LastReloadError, h.Status, problemInvalid)
		}
		if !bytes.Contains(metrics, []byte(`ipatlas_database_info{path="`+h.Database+`"`)) {
			t.Errorf("/metrics does not name the file as /healthz does (%q)", h.Database)
		}
	}
}
