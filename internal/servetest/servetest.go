package servetest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Client is the HTTP client of the tests: no test waits longer than 30 s
// for an answer.
var Client = &http.Client{Timeout: 30 * time.Second}

// RenameOver puts content at dst the way a deployment should: a
// temporary file in dst's directory renamed over dst.
func RenameOver(t testing.TB, dst string, content []byte) {
	t.Helper()
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// OverwriteInPlace rewrites path with content the way cp does: the same
// inode, truncated, then written in chunks of chunk bytes with pause
// between them (chunk 0: at once).
func OverwriteInPlace(t testing.TB, path string, content []byte, chunk int, pause time.Duration) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if chunk <= 0 {
		chunk = max(len(content), 1)
	}
	for len(content) > 0 {
		n := min(chunk, len(content))
		if _, err := f.Write(content[:n]); err != nil {
			t.Fatal(err)
		}
		content = content[n:]
		if pause > 0 {
			time.Sleep(pause)
		}
	}
}

// LockedBuffer is a bytes.Buffer safe for concurrent writes (a log, a
// process's output) while the test reads it.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Do sends a request to base+path and returns the status, the body and
// the headers.
func Do(t testing.TB, base, method, path, body string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp.StatusCode, b, resp.Header
}

// Status returns the status code and the decoded JSON body of GET path.
func Status(t testing.TB, base, path string) (int, map[string]any) {
	t.Helper()
	code, body, _ := Do(t, base, "GET", path, "")
	var v map[string]any
	DecodeJSON(t, body, &v)
	return code, v
}

// Answer is one answer of the lookup endpoints, numbers kept as written.
type Answer struct {
	IP      string         `json:"ip"`
	Network string         `json:"network"`
	Found   bool           `json:"found"`
	Record  map[string]any `json:"record"`
}

// ISO returns the country ISO code of the answer's record.
func (a Answer) ISO() string {
	c, _ := a.Record["country"].(map[string]any)
	iso, _ := c["iso_code"].(string)
	return iso
}

// DecodeJSON decodes b into v, numbers as json.Number, failing the test
// with b when it is not the expected JSON.
func DecodeJSON(t testing.TB, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("response is not the expected JSON (%v):\n%s", err, b)
	}
}

// Country returns the ISO code of the country the service at base
// answers for ip ("" when not found); any status but 200 fails the test.
func Country(t testing.TB, base, ip string) string {
	t.Helper()
	code, body, _ := Do(t, base, "GET", "/v1/lookup/"+ip, "")
	if code != http.StatusOK {
		t.Fatalf("GET /v1/lookup/%s: status %d: %s", ip, code, body)
	}
	var a Answer
	DecodeJSON(t, body, &a)
	return a.ISO()
}

// Scrape gets base/metrics and parses it with Prometheus's own parser.
func Scrape(t testing.TB, base string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, h := Do(t, base, "GET", "/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d: %s", code, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("/metrics Content-Type %q", ct)
	}
	var parser expfmt.TextParser
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not valid Prometheus text (%v):\n%s", err, body)
	}
	return fams
}

// MetricValue returns the value of the sample of family name whose labels
// include all of labels (name=value pairs), or -1 if there is none.
func MetricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// WaitFor polls cond until it holds or 20 s pass.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Load is clients goroutines asking the service for 1.2.3.4 (even
// ones by GET, odd ones in a POST batch with 5.6.7.8) until Stop,
// counting the statuses, the countries of 1.2.3.4 in the 200 answers and
// the failures (transport errors, answers that are not the expected
// JSON; a client stops at its first).
type Load struct {
	halt      chan struct{}
	wg        sync.WaitGroup
	mu        sync.Mutex
	statuses  map[int]int
	countries map[string]int
	failures  []string
}

// StartLoad starts a Load on the service at base.
func StartLoad(base string, clients int) *Load {
	l := &Load{halt: make(chan struct{}), statuses: map[int]int{}, countries: map[string]int{}}
	for i := range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.halt:
					return
				default:
				}
				var resp *http.Response
				var err error
				if i%2 == 0 {
					resp, err = Client.Get(base + "/v1/lookup/1.2.3.4")
				} else {
					resp, err = Client.Post(base+"/v1/lookup", "application/json", strings.NewReader(`["1.2.3.4","5.6.7.8"]`))
				}
				if err != nil {
					l.fail(err.Error())
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				l.mu.Lock()
				l.statuses[resp.StatusCode]++
				l.mu.Unlock()
				if resp.StatusCode != 200 {
					continue
				}
				var ans Answer
				if err == nil {
					if i%2 == 0 {
						err = json.Unmarshal(body, &ans)
					} else {
						var all []Answer
						if err = json.Unmarshal(body, &all); err == nil && len(all) == 2 {
							ans = all[0]
						}
					}
				}
				if err != nil {
					l.fail(fmt.Sprintf("answer (%v): %s", err, body))
					return
				}
				l.mu.Lock()
				l.countries[ans.ISO()]++
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *Load) fail(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures = append(l.failures, s)
}

// Stop ends the load and returns its counts.
func (l *Load) Stop() (statuses map[int]int, countries map[string]int, failures []string) {
	close(l.halt)
	l.wg.Wait()
	return l.statuses, l.countries, l.failures
}

// WaitCountry waits until the service at base answers iso for 1.2.3.4.
func WaitCountry(t testing.TB, base, what, iso string) {
	t.Helper()
	WaitFor(t, what, func() bool {
		code, body, _ := Do(t, base, "GET", "/v1/lookup/1.2.3.4", "")
		return code == 200 && bytes.Contains(body, []byte(`"`+iso+`"`))
	})
}

// InPlaceAftermath is the end of the in-place-write scenario (issue 14
// point 1) on the service at base serving the file served, a and b
// being whole databases answering CN and US for 1.2.3.4: a whole file
// written in place is picked up; a truncation left in place answers 503
// with Retry-After and /readyz 503 when the file is mapped, and the
// private copy with /readyz "degraded" when it is not; a whole file
// written in place again is picked up and the service is ready.
func InPlaceAftermath(t testing.TB, base, served string, a, b []byte, mapped bool) {
	t.Helper()
	OverwriteInPlace(t, served, a, 0, 0)
	WaitCountry(t, base, "a whole file written in place to be served", "CN")
	WaitFor(t, "ready", func() bool { c, v := Status(t, base, "/readyz"); return c == 200 && v["status"] == "ready" })
	if err := os.Truncate(served, 0); err != nil {
		t.Fatal(err)
	}
	if mapped {
		WaitFor(t, "/readyz 503", func() bool { c, _ := Status(t, base, "/readyz"); return c == 503 })
		code, body, h := Do(t, base, "GET", "/v1/lookup/1.2.3.4", "")
		if code != 503 || h.Get("Retry-After") == "" || !bytes.Contains(body, []byte("changed in place")) && !bytes.Contains(body, []byte("memory fault")) {
			t.Errorf("lookup in the truncated file: %d %s; want 503 saying why, with Retry-After", code, body)
		}
		if c, v := Status(t, base, "/healthz"); c != 200 || v["status"] != "unavailable" {
			t.Errorf("/healthz of a truncated mapped file: %d %v; want 200, status unavailable", c, v)
		}
	} else {
		WaitFor(t, "/readyz degraded, the file invalid", func() bool {
			_, v := Status(t, base, "/readyz")
			return v["status"] == "degraded" && v["problem"] == "not a valid MaxMind DB file"
		})
		if c, v := Status(t, base, "/readyz"); c != 200 || v["problem"] != "not a valid MaxMind DB file" {
			t.Errorf("/readyz with the copy serving and the file truncated: %d %v; want 200, problem \"not a valid MaxMind DB file\"", c, v)
		}
		if got := Country(t, base, "1.2.3.4"); got != "CN" {
			t.Errorf("with the file truncated, the copy answered %q for 1.2.3.4, want CN", got)
		}
		if c, v := Status(t, base, "/healthz"); c != 200 || v["status"] != "degraded" {
			t.Errorf("/healthz: %d %v; want 200, status degraded", c, v)
		}
	}
	OverwriteInPlace(t, served, b, 0, 0)
	WaitCountry(t, base, "b written in place to be served", "US")
	if c, v := Status(t, base, "/readyz"); c != 200 || v["status"] != "ready" {
		t.Errorf("/readyz after a whole file: %d %v; want 200 ready", c, v)
	}
}

// CheckItemErrors posts a batch with a bad address and a number to the
// service at base, which answers bad elements in place
// ({"ip":...,"error":...}) and the others as usual.
func CheckItemErrors(t testing.TB, base string) {
	t.Helper()
	code, body, _ := Do(t, base, "POST", "/v1/lookup", `["1.2.3.4","bogus",7,"5.6.7.8"]`)
	var items []map[string]any
	DecodeJSON(t, body, &items)
	if code != 200 || len(items) != 4 || items[0]["found"] != true || items[3]["found"] != true ||
		items[1]["ip"] != "bogus" || !strings.Contains(fmt.Sprint(items[1]["error"]), "not an IP address") ||
		items[2]["ip"] != "7" || items[2]["error"] == nil {
		t.Errorf("batch with per-item errors: %d %s", code, body)
	}
}

// CheckGzip checks that the service at base gzips a batch answer of
// gzipMin bytes or more for a client that accepts gzip (the same JSON
// once unzipped, and smaller) and not a single small answer, and returns
// the batch and its plain answer.
func CheckGzip(t testing.TB, base string, gzipMin int) (batch string, plain []byte) {
	t.Helper()
	batch = "[" + strings.Repeat(`"1.2.3.4","5.6.7.8","2001:db8::1",`, 20) + `"1.2.3.4"]`
	plainCode, plain, _ := Do(t, base, "POST", "/v1/lookup", batch)
	req, _ := http.NewRequest("POST", base+"/v1/lookup", strings.NewReader(batch))
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	zipped, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || len(zipped) >= len(plain) || plainCode != 200 || len(plain) < gzipMin {
		t.Errorf("Accept-Encoding gzip: Content-Encoding %q, %d bytes against %d plain", resp.Header.Get("Content-Encoding"), len(zipped), len(plain))
	} else if zr, err := gzip.NewReader(bytes.NewReader(zipped)); err != nil {
		t.Errorf("gzip answer: %v", err)
	} else if unz, err := io.ReadAll(zr); err != nil || !bytes.Equal(unz, plain) {
		t.Errorf("gzip answer unzipped (%v) differs from the plain one", err)
	}
	req, _ = http.NewRequest("GET", base+"/v1/lookup/1.2.3.4", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	if resp, err := Client.Do(req); err != nil {
		t.Error(err)
	} else if resp.Body.Close(); resp.Header.Get("Content-Encoding") != "" || resp.StatusCode != 200 || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("a small answer: status %d, Content-Encoding %q, Vary %q; want 200, no gzip, Vary Accept-Encoding", resp.StatusCode, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
	}
	return batch, plain
}

// CountAccessLines checks that every line of log is a JSON object and
// returns how many are access-log lines ("msg":"request") of method and
// path answered with status.
func CountAccessLines(t testing.TB, log, method, path string, status int) int {
	t.Helper()
	n := 0
	for line := range strings.Lines(log) {
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Errorf("log line is not JSON: %s", line)
			continue
		}
		if v["msg"] == "request" && v["path"] == path && v["method"] == method && v["status"] == float64(status) {
			n++
		}
	}
	return n
}
