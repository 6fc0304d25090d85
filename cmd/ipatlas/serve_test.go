package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Small databases for the serve tests, built with ipatlas build: the
// answer for 1.2.3.4 tells which one is served.
const (
	serveCSVHeader = "network,country,country_code,latitude,longitude\n"
	serveCSVA      = serveCSVHeader + "1.2.3.0/24,China,CN,31.2,121.4\n5.6.0.0/16,France,FR,48.9,2.3\n2001:db8::/32,Germany,DE,52.5,13.4\n"
	serveCSVB      = serveCSVHeader + "1.2.3.0/24,United States,US,37.8,-122.4\n5.6.0.0/16,France,FR,48.9,2.3\n"
	serveCSVC      = serveCSVHeader + "1.2.3.0/24,Japan,JP,35.7,139.7\n"
)

// serveBuildDB builds dir/name from CSV rows with the built command.
func serveBuildDB(t *testing.T, dir, name, csv string, flags ...string) string {
	t.Helper()
	in := filepath.Join(dir, name+".csv")
	if err := os.WriteFile(in, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	args := append(append([]string{"build", "--out", out}, flags...), in)
	if _, stderr, code := runCLI(t, args...); code != 0 {
		t.Fatalf("ipatlas build %s: exit %d\n%s", name, code, stderr)
	}
	return out
}

// serveGeoLite returns the real GeoLite2-City database, skipping the test
// when it is missing (failing under CI=true).
func serveGeoLite(t *testing.T) string {
	t.Helper()
	const path = "../../data/GeoLite2-City.mmdb"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing in CI: run scripts/fetch-data.sh (%v)", path, err)
		}
		t.Skipf("%s missing: run scripts/fetch-data.sh", path)
	}
	return path
}

// serveRenameOver puts a copy of src at dst the way a deployment should: write
// a temporary file in dst's directory, then rename it over dst.
func serveRenameOver(t *testing.T, dst string, content []byte) {
	t.Helper()
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

func serveReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveLockedBuffer is a bytes.Buffer safe to write from the process's copier
// while the test reads it.
type serveLockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *serveLockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *serveLockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveProc is a running "ipatlas serve" (the built binary).
type serveProc struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	stderr *serveLockedBuffer
	done   chan struct{} // closed when the process has exited
	code   int           // exit status, once done
}

// startServe runs "ipatlas serve --addr 127.0.0.1:0 ARGS..." and waits
// for it to print the address it listens on.
func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	return startServeEnv(t, nil, args...)
}

// startServeEnv is startServe with env (NAME=value) added to the
// process's environment.
func startServeEnv(t *testing.T, env []string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{stderr: &serveLockedBuffer{}, done: make(chan struct{})}
	stdout := &serveLockedBuffer{}
	p.cmd = exec.Command(ipatlasBin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.After(60 * time.Second)
	for {
		if out := stdout.String(); strings.Contains(out, "\n") {
			addr, ok := strings.CutPrefix(strings.TrimSpace(out), "listening on ")
			if !ok {
				t.Fatalf("serve printed %q, want \"listening on ADDR\"", out)
			}
			p.base = "http://" + addr
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("serve exited with status %d before listening:\n%s", p.code, p.stderr)
		case <-deadline:
			t.Fatalf("serve did not listen within 60s:\n%s", p.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (p *serveProc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the process to exit and returns its status.
func (p *serveProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not exit within 30s:\n%s", p.stderr)
		return -1
	}
}

var serveClient = &http.Client{Timeout: 30 * time.Second}

// do sends a request and returns the status, the body and the headers.
func (p *serveProc) do(t *testing.T, method, path, body string) (int, []byte, http.Header) {
	t.Helper()
	return serveDo(t, p.base, method, path, body)
}

func serveDo(t *testing.T, base, method, path, body string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := serveClient.Do(req)
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

// serveAnswer is one answer of the lookup endpoints, numbers kept as
// written.
type serveAnswer struct {
	IP      string         `json:"ip"`
	Network string         `json:"network"`
	Found   bool           `json:"found"`
	Record  map[string]any `json:"record"`
}

func serveDecodeJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("response is not the expected JSON (%v):\n%s", err, b)
	}
}

// country returns the ISO code of the country p answers for ip.
func (p *serveProc) country(t *testing.T, ip string) string {
	t.Helper()
	return serveCountry(t, p.base, ip)
}

func serveCountry(t *testing.T, base, ip string) string {
	t.Helper()
	code, body, _ := serveDo(t, base, "GET", "/v1/lookup/"+ip, "")
	if code != http.StatusOK {
		t.Fatalf("GET /v1/lookup/%s: status %d: %s", ip, code, body)
	}
	var a serveAnswer
	serveDecodeJSON(t, body, &a)
	if !a.Found {
		return ""
	}
	c, _ := a.Record["country"].(map[string]any)
	iso, _ := c["iso_code"].(string)
	return iso
}

// metrics scrapes /metrics and parses it with Prometheus's own parser.
func (p *serveProc) metrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	return serveScrape(t, p.base)
}

func serveScrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, h := serveDo(t, base, "GET", "/metrics", "")
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

// serveMetricValue returns the value of the sample of family name whose labels
// include all of labels (name=value pairs), or -1 if there is none.
func serveMetricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
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

// serveWaitFor polls cond until it holds or 20 s pass.
func serveWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeUsage(t *testing.T) {
	dir := t.TempDir()
	db := serveBuildDB(t, dir, "a.mmdb", serveCSVA)
	notDB := filepath.Join(dir, "a.mmdb.csv")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"help", []string{"serve", "--help"}, exitOK, "Usage: ipatlas serve"},
		{"no file", []string{"serve"}, exitUsage, "no FILE.mmdb"},
		{"two files", []string{"serve", db, db}, exitUsage, "one FILE.mmdb"},
		{"bad check", []string{"serve", "--check", "most", db}, exitUsage, "--check must be sample or full"},
		{"negative poll", []string{"serve", "--poll", "-1s", db}, exitUsage, "--poll"},
		{"bad poll", []string{"serve", "--poll", "often", db}, exitUsage, "poll"},
		{"bad addr", []string{"serve", "--addr", "localhost", db}, exitUsage, "--addr"},
		{"zero shutdown timeout", []string{"serve", "--shutdown-timeout", "0s", db}, exitUsage, "--shutdown-timeout"},
		{"missing file", []string{"serve", filepath.Join(dir, "none.mmdb")}, exitData, "none.mmdb"},
		{"not a database", []string{"serve", notDB}, exitData, "a.mmdb.csv"},
		{"address in use", []string{"serve", "--addr", busy.Addr().String(), db}, exitData, "listening"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, c.args...)
			if code != c.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr does not say %q:\n%s", c.stderr, stderr)
			}
		})
	}
}

// serveProbeAddrs returns seeded random addresses spread over the address
// space where GeoLite2 has data, plus edge cases.
func serveProbeAddrs(n4, n6 int) []netip.Addr {
	rng := rand.New(rand.NewPCG(5, 5))
	var addrs []netip.Addr
	for _, s := range []string{"0.0.0.0", "255.255.255.255", "10.1.2.3", "8.8.8.8", "1.1.1.1", "::", "::1",
		"::ffff:8.8.8.8", "2002:808:808::1", "2001:4860:4860::8888", "fe80::1"} {
		addrs = append(addrs, netip.MustParseAddr(s))
	}
	for range n4 {
		v := rng.Uint32()
		addrs = append(addrs, netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}))
	}
	for range n6 {
		var b [16]byte
		hi, lo := rng.Uint64()>>3|1<<61, rng.Uint64()
		for j := range 8 {
			b[j], b[8+j] = byte(hi>>(56-8*j)), byte(lo>>(56-8*j))
		}
		addrs = append(addrs, netip.AddrFrom16(b))
	}
	return addrs
}

// servePeerAnswer is maxminddb-golang v2's answer for a, in the form the
// service answers (record decoded by the peer, then through JSON).
func servePeerAnswer(t *testing.T, db *maxminddb.Reader, a netip.Addr) serveAnswer {
	t.Helper()
	res := db.Lookup(a)
	if err := res.Err(); err != nil {
		t.Fatalf("maxminddb-golang: %s: %v", a, err)
	}
	ans := serveAnswer{IP: a.String(), Network: res.Prefix().String(), Found: res.Found()}
	if res.Found() {
		var v any
		if err := res.Decode(&v); err != nil {
			t.Fatalf("maxminddb-golang: %s: %v", a, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		serveDecodeJSON(t, b, &ans.Record)
	}
	return ans
}

// TestServeMatchesPeer checks the service's answers for 2,000 random
// addresses on GeoLite2-City, one by one and in batches, against
// maxminddb-golang v2 reading the same file: network, found and the whole
// record.
func TestServeMatchesPeer(t *testing.T) {
	path := serveGeoLite(t)
	peer, err := maxminddb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	p := startServe(t, path)
	addrs := serveProbeAddrs(1600, 400)
	want := make([]serveAnswer, len(addrs))
	found := 0
	for i, a := range addrs {
		want[i] = servePeerAnswer(t, peer, a)
		if want[i].Found {
			found++
		}
	}
	if found < len(addrs)/2 {
		t.Fatalf("only %d of %d addresses found: the sample does not exercise records", found, len(addrs))
	}
	check := func(how string, i int, got serveAnswer) {
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
			var got serveAnswer
			serveDecodeJSON(t, body, &got)
			check("GET", i, got)
		}
	}
	// All of them in batches of at most 1,000, in order.
	for lo := 0; lo < len(addrs); lo += maxBatch {
		hi := min(lo+maxBatch, len(addrs))
		qs := make([]string, 0, hi-lo)
		for _, a := range addrs[lo:hi] {
			qs = append(qs, a.String())
		}
		req, _ := json.Marshal(qs)
		code, body, h := p.do(t, "POST", "/v1/lookup", string(req))
		if code != http.StatusOK || h.Get("Content-Type") != "application/json" {
			t.Fatalf("POST batch: status %d, Content-Type %q: %.300s", code, h.Get("Content-Type"), body)
		}
		var got []serveAnswer
		serveDecodeJSON(t, body, &got)
		if len(got) != hi-lo {
			t.Fatalf("batch of %d got %d answers", hi-lo, len(got))
		}
		for i := range got {
			check("batch", lo+i, got[i])
		}
	}
	if p.signal(t, syscall.SIGTERM); p.wait(t) != 0 {
		t.Errorf("exit status %d after SIGTERM:\n%s", p.code, p.stderr)
	}
}

// TestServeHTTP checks every endpoint's status codes, content type and
// error bodies on a small database whose answers are known by hand.
func TestServeHTTP(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, serveBuildDB(t, dir, "a.mmdb", serveCSVA))
	p4 := startServe(t, serveBuildDB(t, dir, "a4.mmdb", serveCSVHeader+"1.2.3.0/24,China,CN,31.2,121.4\n", "--ip-version", "4"), "--mmap=false")
	many := make([]string, maxBatch+1)
	for i := range many {
		many[i] = "1.2.3.4"
	}
	tooMany, _ := json.Marshal(many)
	cases := []struct {
		name         string
		proc         *serveProc
		method, path string
		body         string
		code         int
		want         string // a part of the body
		allow        string // the Allow header of a 405
	}{
		{"found", p, "GET", "/v1/lookup/1.2.3.4", "", 200, `{"ip":"1.2.3.4","network":"1.2.3.0/24","found":true,"record":{`, ""},
		{"found v6", p, "GET", "/v1/lookup/2001:db8::1", "", 200, `"network":"2001:db8::/32","found":true`, ""},
		{"found v4-mapped", p, "GET", "/v1/lookup/::ffff:1.2.3.4", "", 200, `"network":"::ffff:1.2.3.0/120","found":true`, ""},
		{"zone dropped", p, "GET", "/v1/lookup/2001:db8::1%25eth0", "", 200, `{"ip":"2001:db8::1","network":"2001:db8::/32"`, ""},
		{"not found", p, "GET", "/v1/lookup/9.9.9.9", "", 200, `{"ip":"9.9.9.9","network":"8.0.0.0/5","found":false}`, ""},
		{"head", p, "HEAD", "/v1/lookup/1.2.3.4", "", 200, "", ""},
		{"bad address", p, "GET", "/v1/lookup/1.2.3.256", "", 400, `{"error":"\"1.2.3.256\" is not an IP address"}`, ""},
		{"network", p, "GET", "/v1/lookup/1.2.3.0/24", "", 400, `is a network`, ""},
		{"no address", p, "GET", "/v1/lookup/", "", 400, `no address`, ""},
		{"v6 in v4 database", p4, "GET", "/v1/lookup/2001:db8::1", "", 400, `IPv4-only`, ""},
		{"v4 in v4 database", p4, "GET", "/v1/lookup/1.2.3.4", "", 200, `"network":"1.2.3.0/24","found":true`, ""},
		{"wrong method", p, "PUT", "/v1/lookup/1.2.3.4", "", 405, `method PUT not allowed`, "GET, HEAD"},
		{"batch", p, "POST", "/v1/lookup", `["1.2.3.4", "9.9.9.9"]`, 200, `[{"ip":"1.2.3.4","network":"1.2.3.0/24","found":true,"record":{`, ""},
		{"batch order", p, "POST", "/v1/lookup", `["9.9.9.9","1.2.3.4"]`, 200, `[{"ip":"9.9.9.9","network":"8.0.0.0/5","found":false},{"ip":"1.2.3.4"`, ""},
		{"empty batch", p, "POST", "/v1/lookup", `[]`, 200, "[]\n", ""},
		{"batch of 1000", p, "POST", "/v1/lookup", string(tooMany[:len(tooMany)-len(`,"1.2.3.4"]`)]) + "]", 200, `"found":true`, ""},
		{"batch of 1001", p, "POST", "/v1/lookup", string(tooMany), 400, `1001 addresses in one batch; the limit is 1000`, ""},
		{"batch not JSON", p, "POST", "/v1/lookup", `["1.2.3.4",`, 400, `not a JSON array`, ""},
		{"batch object", p, "POST", "/v1/lookup", `{"ip":"1.2.3.4"}`, 400, `not a JSON array`, ""},
		{"batch null", p, "POST", "/v1/lookup", `null`, 400, `not a JSON array`, ""},
		{"batch trailing data", p, "POST", "/v1/lookup", `["1.2.3.4"] x`, 400, `more after the JSON array`, ""},
		{"batch number", p, "POST", "/v1/lookup", `["1.2.3.4", 7]`, 400, `element 1 is not a string: \"7\"`, ""},
		{"batch bad address", p, "POST", "/v1/lookup", `["1.2.3.4","nope"]`, 400, `element 1: \"nope\" is not an IP address`, ""},
		{"batch too large", p, "POST", "/v1/lookup", `["` + strings.Repeat(" ", maxBatchBody) + `"]`, 413, `request body larger than`, ""},
		{"batch by GET", p, "GET", "/v1/lookup", "", 405, `use POST`, "POST"},
		{"healthz", p, "GET", "/healthz", "", 200, `"status":"ok"`, ""},
		{"healthz by POST", p, "POST", "/healthz", "", 405, `method POST not allowed`, "GET, HEAD"},
		{"unknown path", p, "GET", "/v2/lookup/1.2.3.4", "", 404, `no endpoint \"/v2/lookup/1.2.3.4\"`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body, h := c.proc.do(t, c.method, c.path, c.body)
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
				return
			}
			var v any
			serveDecodeJSON(t, body, &v)
			if code != http.StatusOK {
				var e map[string]any
				serveDecodeJSON(t, body, &e)
				if msg, _ := e["error"].(string); len(e) != 1 || msg == "" {
					t.Errorf("error body is not {\"error\": \"...\"}: %s", body)
				}
			}
		})
	}
	// The record is the one maxminddb-golang v2 reads from the same file.
	peer, err := maxminddb.Open(filepath.Join(dir, "a.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	var got serveAnswer
	_, body, _ := p.do(t, "GET", "/v1/lookup/1.2.3.4", "")
	serveDecodeJSON(t, body, &got)
	if want := servePeerAnswer(t, peer, netip.MustParseAddr("1.2.3.4")); !reflect.DeepEqual(got, want) {
		t.Errorf("1.2.3.4:\n got %+v\nwant %+v", got, want)
	}
	if got := p.country(t, "1.2.3.4"); got != "CN" {
		t.Errorf("1.2.3.4 in %q, want CN", got)
	}
}

// TestServeMetrics makes a known set of requests and checks the counts
// /metrics reports, parsed with Prometheus's own text parser.
func TestServeMetrics(t *testing.T) {
	dir := t.TempDir()
	db := serveBuildDB(t, dir, "a.mmdb", serveCSVA)
	peer, err := maxminddb.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	p := startServe(t, db)
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
		got := serveMetricValue(fams, "ipatlas_http_requests_total", "endpoint", c.endpoint, "code", c.code)
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
	}
	for _, g := range gauges {
		if got := serveMetricValue(fams, g.name, g.labels...); got != g.want {
			t.Errorf("%s%v = %g, want %g", g.name, g.labels, got, g.want)
		}
	}
	if got := serveMetricValue(fams, "ipatlas_database_loaded_timestamp_seconds"); got < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("ipatlas_database_loaded_timestamp_seconds = %g", got)
	}
	// The first scrape shows up in the second.
	if got := serveMetricValue(p.metrics(t), "ipatlas_http_requests_total", "endpoint", "metrics", "code", "200"); got != 1 {
		t.Errorf("second scrape counts %g scrapes, want 1", got)
	}
}

// serveCorruptions are replacement files the service must refuse, with a
// check that the file really is bad for an independent reader
// (maxminddb-golang v2): it fails to open it, or to look up or decode
// 1.2.3.4 in it.
func serveCorruptions(t *testing.T, good []byte) []struct {
	name string
	data []byte
} {
	// Locate the data section of good: after the tree and 16 zero bytes,
	// before the metadata marker.
	peer, err := maxminddb.OpenBytes(good)
	if err != nil {
		t.Fatal(err)
	}
	treeSize := int(peer.Metadata.NodeCount * peer.Metadata.RecordSize / 4)
	meta := bytes.LastIndex(good, []byte("\xAB\xCD\xEFMaxMind.com"))
	if meta < treeSize+16 {
		t.Fatalf("cannot find the data section (tree %d bytes, metadata at %d)", treeSize, meta)
	}
	fill := func(lo, hi int) []byte {
		b := bytes.Clone(good)
		for i := lo; i < hi; i++ {
			b[i] = 0xFF
		}
		return b
	}
	garbage := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	return []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", garbage},
		{"truncated", good[:len(good)/2]},
		{"scrambled tree", fill(0, treeSize)},
		{"scrambled data section", fill(treeSize+16, meta)},
	}
}

func servePeerRejects(data []byte) bool {
	db, err := maxminddb.OpenBytes(data)
	if err != nil {
		return true
	}
	var v any
	return db.Lookup(netip.MustParseAddr("1.2.3.4")).Decode(&v) != nil || db.Verify() != nil
}

// TestServeReload replaces the served file while the service runs: a good
// new file (renamed over it) changes the answers; corrupt ones are
// refused, logged and counted, and the old file keeps answering; a good
// file after them is taken again.
func TestServeReload(t *testing.T) {
	dir := t.TempDir()
	a := serveReadFile(t, serveBuildDB(t, dir, "a.mmdb", serveCSVA))
	b := serveReadFile(t, serveBuildDB(t, dir, "b.mmdb", serveCSVB))
	c := serveReadFile(t, serveBuildDB(t, dir, "c.mmdb", serveCSVC))
	served := filepath.Join(dir, "served.mmdb")
	serveRenameOver(t, served, a)
	p := startServe(t, served, "--poll", "20ms")
	if got := p.country(t, "1.2.3.4"); got != "CN" {
		t.Fatalf("1.2.3.4 in %q, want CN", got)
	}
	reloads := func() float64 { return serveMetricValue(p.metrics(t), "ipatlas_database_reloads_total") }
	failures := func() float64 { return serveMetricValue(p.metrics(t), "ipatlas_database_reload_failures_total") }

	serveRenameOver(t, served, b)
	serveWaitFor(t, "the answer from b.mmdb", func() bool { return p.country(t, "1.2.3.4") == "US" })
	if got := reloads(); got != 1 {
		t.Errorf("%g reloads, want 1", got)
	}
	serveWaitFor(t, "the old file to be closed", func() bool {
		return serveMetricValue(p.metrics(t), "ipatlas_database_open_generations") == 1
	})

	for i, bad := range serveCorruptions(t, c) {
		t.Run(bad.name, func(t *testing.T) {
			if !servePeerRejects(bad.data) {
				t.Fatalf("maxminddb-golang v2 accepts the %s file: not a corruption", bad.name)
			}
			serveRenameOver(t, served, bad.data)
			serveWaitFor(t, "the rejection", func() bool { return failures() == float64(i+1) })
			if got := p.country(t, "1.2.3.4"); got != "US" {
				t.Errorf("after the %s file, 1.2.3.4 in %q, want US (the old file)", bad.name, got)
			}
			_, body, _ := p.do(t, "GET", "/healthz", "")
			var h serveHealth
			serveDecodeJSON(t, body, &h)
			if h.LastReloadError == "" || h.ReloadFailures != uint64(i+1) {
				t.Errorf("healthz after the %s file: %s", bad.name, body)
			}
		})
	}
	if got := reloads(); got != 1 {
		t.Errorf("%g reloads after the corrupt files, want 1", got)
	}
	if n := strings.Count(p.stderr.String(), "rejected new file"); n != len(serveCorruptions(t, c)) {
		t.Errorf("%d rejections logged, want one per corrupt file:\n%s", n, p.stderr)
	}

	serveRenameOver(t, served, c)
	serveWaitFor(t, "the answer from c.mmdb", func() bool { return p.country(t, "1.2.3.4") == "JP" })
	_, body, _ := p.do(t, "GET", "/healthz", "")
	var h serveHealth
	serveDecodeJSON(t, body, &h)
	if h.LastReloadError != "" || h.Reloads != 2 {
		t.Errorf("healthz after a good file: %s", body)
	}

	// A removed file: logged once, the loaded one keeps answering; a file
	// put back is taken.
	if err := os.Remove(served); err != nil {
		t.Fatal(err)
	}
	serveWaitFor(t, "the missing file to be logged", func() bool { return strings.Contains(p.stderr.String(), "cannot read the file") })
	time.Sleep(100 * time.Millisecond) // a few more polls
	if got := p.country(t, "1.2.3.4"); got != "JP" {
		t.Errorf("with the file removed, 1.2.3.4 in %q, want JP", got)
	}
	if n := strings.Count(p.stderr.String(), "cannot read the file"); n != 1 {
		t.Errorf("the missing file was logged %d times, want once:\n%s", n, p.stderr)
	}
	serveRenameOver(t, served, a)
	serveWaitFor(t, "the answer from a.mmdb", func() bool { return p.country(t, "1.2.3.4") == "CN" })
	if p.signal(t, syscall.SIGTERM); p.wait(t) != 0 {
		t.Errorf("exit status %d after SIGTERM:\n%s", p.code, p.stderr)
	}
}

// TestServeCheckModes shows what each --check mode refuses: a file whose
// only damage is one record that no probe reaches (behind the first
// networks of its region) passes the sample check, and the service then
// answers 500 for that record alone; --check full (Verify) refuses it and
// the old file keeps answering.
func TestServeCheckModes(t *testing.T) {
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString(serveCSVHeader)
	for k := range 2 * sampleWalk {
		fmt.Fprintf(&csv, "1.0.%d.0/24,China,CN,31.2,121.4\n", 2*k) // not adjacent: not merged
	}
	csv.WriteString("1.9.9.0/24,Tanzania,TZ,-6.8,39.3\n")
	good := serveReadFile(t, serveBuildDB(t, dir, "good.mmdb", csv.String(), "--ip-version", "4"))
	bad := bytes.Clone(good)
	i := bytes.Index(bad, []byte("Tanzania"))
	if i < 1 {
		t.Fatal("no \"Tanzania\" in good.mmdb")
	}
	bad[i-1] = 0xFF // the string's control byte becomes a map too large for the file
	db, err := maxminddb.OpenBytes(bad)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if db.Lookup(netip.MustParseAddr("1.9.9.9")).Decode(&v) == nil || db.Verify() == nil {
		t.Fatal("maxminddb-golang v2 reads the damaged record: not a corruption")
	}
	cases := []struct {
		check             string
		reloads, failures float64
		code              int // for 1.9.9.9 afterwards
	}{
		{checkModeSample, 1, 0, http.StatusInternalServerError},
		{checkModeFull, 0, 1, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.check, func(t *testing.T) {
			served := filepath.Join(t.TempDir(), "served.mmdb")
			serveRenameOver(t, served, good)
			p := startServe(t, served, "--poll", "20ms", "--check", c.check)
			serveRenameOver(t, served, bad)
			serveWaitFor(t, "the new file to be loaded or refused", func() bool {
				fams := p.metrics(t)
				return serveMetricValue(fams, "ipatlas_database_reloads_total")+serveMetricValue(fams, "ipatlas_database_reload_failures_total") == 1
			})
			fams := p.metrics(t)
			if got := serveMetricValue(fams, "ipatlas_database_reloads_total"); got != c.reloads {
				t.Errorf("%g reloads, want %g", got, c.reloads)
			}
			if got := serveMetricValue(fams, "ipatlas_database_reload_failures_total"); got != c.failures {
				t.Errorf("%g reload failures, want %g", got, c.failures)
			}
			code, body, _ := p.do(t, "GET", "/v1/lookup/1.9.9.9", "")
			if code != c.code {
				t.Errorf("1.9.9.9: status %d, want %d: %s", code, c.code, body)
			}
			if got := p.country(t, "1.0.2.1"); got != "CN" {
				t.Errorf("1.0.2.1 in %q, want CN", got)
			}
		})
	}
}

// TestServeSIGHUP: with polling off, a replaced file is served only after
// SIGHUP, which reloads even an unchanged file.
func TestServeSIGHUP(t *testing.T) {
	dir := t.TempDir()
	a := serveReadFile(t, serveBuildDB(t, dir, "a.mmdb", serveCSVA))
	b := serveReadFile(t, serveBuildDB(t, dir, "b.mmdb", serveCSVB))
	served := filepath.Join(dir, "served.mmdb")
	serveRenameOver(t, served, a)
	p := startServe(t, served, "--poll", "0")
	serveRenameOver(t, served, b)
	time.Sleep(300 * time.Millisecond)
	if got := p.country(t, "1.2.3.4"); got != "CN" {
		t.Fatalf("with polling off, 1.2.3.4 in %q before SIGHUP, want CN", got)
	}
	p.signal(t, syscall.SIGHUP)
	serveWaitFor(t, "the answer from b.mmdb after SIGHUP", func() bool { return p.country(t, "1.2.3.4") == "US" })
	p.signal(t, syscall.SIGHUP)
	serveWaitFor(t, "a second reload", func() bool {
		return serveMetricValue(p.metrics(t), "ipatlas_database_reloads_total") == 2
	})
	if got := p.country(t, "1.2.3.4"); got != "US" {
		t.Errorf("1.2.3.4 in %q, want US", got)
	}
	if n := strings.Count(p.stderr.String(), "why=SIGHUP"); n != 2 {
		t.Errorf("%d reloads on SIGHUP logged, want 2:\n%s", n, p.stderr)
	}
	if p.signal(t, syscall.SIGTERM); p.wait(t) != 0 {
		t.Errorf("exit status %d after SIGTERM:\n%s", p.code, p.stderr)
	}
}

// TestServeGracefulShutdown sends SIGTERM (or SIGINT) while a batch
// request is half sent: the service stops accepting connections, answers
// the request in full once the rest arrives, and exits 0.
func TestServeGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	db := serveBuildDB(t, dir, "a.mmdb", serveCSVA)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startServe(t, db)
			if got := p.country(t, "1.2.3.4"); got != "CN" {
				t.Fatalf("1.2.3.4 in %q, want CN", got)
			}
			host := strings.TrimPrefix(p.base, "http://")
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			body := `["1.2.3.4","9.9.9.9"]`
			fmt.Fprintf(conn, "POST /v1/lookup HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", host, len(body), body[:10])
			serveWaitFor(t, "the request to be in flight", func() bool {
				return serveMetricValue(p.metrics(t), "ipatlas_http_requests_in_flight") == 2 // it and the scrape
			})
			p.signal(t, sig)
			serveWaitFor(t, "the listener to close", func() bool {
				c, err := net.DialTimeout("tcp", host, time.Second)
				if err == nil {
					c.Close()
				}
				return err != nil
			})
			select {
			case <-p.done:
				t.Fatalf("serve exited (status %d) with a request in flight:\n%s", p.code, p.stderr)
			default:
			}
			if _, err := io.WriteString(conn, body[10:]); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("reading the answer to the request in flight: %v\n%s", err, p.stderr)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var got []serveAnswer
			serveDecodeJSON(t, b, &got)
			if resp.StatusCode != 200 || len(got) != 2 || !got[0].Found || got[1].Found {
				t.Errorf("answer to the request in flight: %s %s", resp.Status, b)
			}
			if code := p.wait(t); code != 0 {
				t.Errorf("exit status %d, want 0:\n%s", code, p.stderr)
			}
			if log := p.stderr.String(); !strings.Contains(log, "shutting down") || !strings.Contains(log, "shut down cleanly") {
				t.Errorf("stderr does not tell the shutdown:\n%s", log)
			}
		})
	}
}

// loadgenReport is the part of bench/loadgen's --json report the test
// reads.
type loadgenReport struct {
	Requests      int            `json:"requests"`
	Failures      int            `json:"failures"`
	FailureKinds  map[string]int `json:"failure_kinds"`
	FileSwaps     int            `json:"file_swaps"`
	ServerReloads *float64       `json:"server_reloads"`
	ServerRejects *float64       `json:"server_rejects"`
}

// TestServeReloadUnderLoad is the short form of bench/SERVE.md's reload
// run: bench/loadgen (built and run as its own process) loads the service
// for 3 s with 4 clients while replacing the served file every 100 ms,
// alternating two databases; no request may fail. Meanwhile the test
// checks that every answer for 1.2.3.4 comes from one of the two files
// and that both are seen.
func TestServeReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	loadgen := filepath.Join(dir, "loadgen")
	if out, err := exec.Command("go", "build", "-o", loadgen, "../../bench/loadgen").CombinedOutput(); err != nil {
		t.Fatalf("building bench/loadgen: %v\n%s", err, out)
	}
	a := serveBuildDB(t, dir, "a.mmdb", serveCSVA)
	b := serveBuildDB(t, dir, "b.mmdb", serveCSVB)
	served := filepath.Join(dir, "served.mmdb")
	serveRenameOver(t, served, serveReadFile(t, a))
	p := startServe(t, served, "--poll", "10ms")

	tally := startServeTally(t, p.base)
	cmd := exec.Command(loadgen, "--url", p.base, "-c", "4", "-d", "3s", "--v6", "0.2", "--json",
		"--reload-file", served, "--reload-with", a+","+b, "--reload-every", "100ms")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	statuses, seen := tally.stop()
	if err != nil {
		t.Errorf("loadgen: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	var rep loadgenReport
	serveDecodeJSON(t, stdout.Bytes(), &rep)
	t.Logf("loadgen: %s", bytes.TrimSpace(stdout.Bytes()))
	if rep.Failures != 0 || rep.Requests < 100 {
		t.Errorf("%d of %d requests failed (%v); want none of at least 100", rep.Failures, rep.Requests, rep.FailureKinds)
	}
	if rep.FileSwaps < 10 || rep.ServerReloads == nil || *rep.ServerReloads < float64(rep.FileSwaps)/2 || *rep.ServerRejects != 0 {
		t.Errorf("%d file swaps, server reloads %v, rejects %v: want at least 10 swaps, most reloaded, none rejected",
			rep.FileSwaps, rep.ServerReloads, rep.ServerRejects)
	}
	if seen["CN"] == 0 || seen["US"] == 0 || len(seen) != 2 || len(statuses) != 1 {
		t.Errorf("answers for 1.2.3.4 during the reloads: %v, statuses %v; want both CN and US, nothing else, all 200", seen, statuses)
	}
	if p.signal(t, syscall.SIGTERM); p.wait(t) != 0 {
		t.Errorf("exit status %d after SIGTERM:\n%s", p.code, p.stderr)
	}
}

// TestServeGenerations runs the handler in this process (so that the race
// detector watches it) while generations are swapped as fast as they
// load: every request gets an answer from one whole file, and every
// replaced file is closed exactly once, after its last request.
func TestServeGenerations(t *testing.T) {
	ld, served, a, b := serveTestLoader(t)
	metrics, holder := ld.metrics, ld.holder
	srv := httptest.NewServer(newLookupServer(holder, ld, metrics, serveConfig{maxInFlight: 256, maxBatches: 8, queueWait: time.Second}, ld.log, nil).handler())
	defer srv.Close()

	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				resp, err := http.Post(srv.URL+"/v1/lookup", "application/json", strings.NewReader(`["1.2.3.4","5.6.7.8"]`))
				if err != nil {
					errs <- err.Error()
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var got []serveAnswer
				if resp.StatusCode != 200 || json.Unmarshal(body, &got) != nil || len(got) != 2 {
					errs <- fmt.Sprintf("status %d: %s", resp.StatusCode, body)
					return
				}
				c, _ := got[0].Record["country"].(map[string]any)
				if iso := c["iso_code"]; iso != "CN" && iso != "US" {
					errs <- fmt.Sprintf("1.2.3.4 in %v", iso)
					return
				}
			}
		}()
	}
	const swaps = 60
	for i := range swaps {
		serveRenameOver(t, served, [][]byte{b, a}[i%2])
		if !ld.reload(false, "test") {
			t.Fatalf("swap %d: no reload", i)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := metrics.reloads.Load(); got != swaps {
		t.Errorf("%d reloads, want %d", got, swaps)
	}
	if got := holder.open.Load(); got != 1 {
		t.Errorf("%d generations open with no request running, want 1", got)
	}
	holder.shutdown()
	if got := holder.open.Load(); got != 0 {
		t.Errorf("%d generations open after shutdown, want 0", got)
	}
}

// TestServeRecordCache: answers served from the cache equal freshly
// decoded ones, also when two offsets share a slot.
func TestServeRecordCache(t *testing.T) {
	var c serveRecordCache
	// Find two offsets in the same slot.
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
