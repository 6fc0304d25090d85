package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
