package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/testutil"
)

// TestBatchItemErrorsJSON: with BatchItemErrors, a batch whose bad
// elements hold control characters, non-printable runes or invalid UTF-8
// is answered with valid JSON, each "ip" the element as given (strconv's
// \a, \v, \x00 and \U000e0001 escapes were sent, which no JSON parser
// reads).
func TestBatchItemErrorsJSON(t *testing.T) {
	db := writeDB(t, t.TempDir(), "a.mmdb", 6, countriesA)
	s := newServer(t, Options{Path: db, BatchItemErrors: true})
	given := []string{"\a1.2.3.4", "\x00", "\v", "1.2.3.4\U000e0001", "\u0085", "a\"b\\c", "1.2.3.4"}
	body, _ := json.Marshal(given)
	// Non-string elements are given back as their JSON text, invalid
	// UTF-8 (allowed inside a JSON string by encoding/json) included.
	raw := strings.TrimSuffix(string(body), "]") + ",{\"\xff\":1},true]"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/lookup", strings.NewReader(raw)))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Fatalf("the answer is not JSON: %q", w.Body)
	}
	var answers []struct {
		IP    string `json:"ip"`
		Error string `json:"error"`
		Found *bool  `json:"found"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &answers); err != nil {
		t.Fatal(err)
	}
	want := append(given, "{\"\ufffd\":1}", "true")
	if len(answers) != len(want) {
		t.Fatalf("%d answers for %d elements", len(answers), len(want))
	}
	for i, a := range answers {
		last := i == len(given)-1
		switch {
		case last && (a.Found == nil || a.Error != ""):
			t.Errorf("element %d (%q): %+v, want an answer", i, want[i], a)
		case !last && a.Error == "":
			t.Errorf("element %d (%q): no error", i, want[i])
		}
		if a.IP != want[i] {
			t.Errorf("element %d: ip %q, want %q", i, a.IP, want[i])
		}
	}
}

// TestAcceptsGzipQZero: a q of zero in any spelling RFC 9110 allows
// refuses gzip; "q=0" was the only one recognised.
func TestAcceptsGzipQZero(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{
		{"gzip", true}, {"GZIP", true}, {" gzip ", true}, {"br, gzip", true}, {", ,gzip", true},
		{"gzip;q=1", true}, {"gzip;q=0.5", true}, {"gzip;q=0.001", true}, {"gzip; q=1.0", true},
		{"gzip;q=0", false}, {"gzip;q=0.0", false}, {"gzip; q=0.000", false}, {"gzip;Q=0", false},
		{"gzip ; q = 0", false}, {"gzip;q=0.", false}, {"gzip;level=1;q=0", false},
		{"br, gzip;q=0", false}, {"x-gzip", false}, {"", false}, {"deflate", false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", c.header)
		if got := acceptsGzip(r); got != c.want {
			t.Errorf("Accept-Encoding %q: acceptsGzip %v, want %v", c.header, got, c.want)
		}
	}
}

// TestReadIntoMemoryHugeFile: with ReadIntoMemory, a file renamed over
// the served one that is larger than the machine's RAM and swap (a
// sparse file: it takes no room on disk) is refused and the old version
// keeps serving; allocating its copy was a fatal "out of memory" that
// ended the process. A large file without a metadata marker in its tail
// is refused before anything else is read.
func TestReadIntoMemoryHugeFile(t *testing.T) {
	dir := t.TempDir()
	path := writeDB(t, dir, "a.mmdb", 6, countriesA)
	good := testutil.ReadFile(t, path)
	s := newServer(t, Options{Path: path, ReadIntoMemory: true})

	sparse := func(size int64, tail []byte) {
		t.Helper()
		tmp := filepath.Join(dir, "new.mmdb")
		f, err := os.Create(tmp)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Skipf("cannot make a sparse file of %d bytes here: %v", size, err)
		}
		if _, err := f.WriteAt(tail, size-int64(len(tail))); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what, wantErr string) {
		t.Helper()
		err := s.Reload(context.Background())
		var le *LoadError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: Reload: %v, want a LoadError saying %q", what, err, wantErr)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/lookup/1.2.3.4", nil))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"CN"`) {
			t.Errorf("%s: the old version does not answer: %d %s", what, w.Code, w.Body)
		}
	}

	sparse(1<<30, []byte("no marker"))
	check("1 GiB without a metadata marker", "no metadata marker")

	mem := memoryBytes()
	if mem == 0 {
		t.Skip("the machine's memory is not known on this platform")
	}
	sparse(int64(mem)+1<<30, good) // the good file's bytes at its end: a marker in the tail
	check("RAM + swap + 1 GiB", "more than the machine's memory")

	sparse(int64(len(good)), good)
	if err := s.Reload(context.Background()); err != nil {
		t.Errorf("the good file again: %v", err)
	}
}

// TestReloadRequestsCoalesce: without Watch, requests made while a load
// waits for its turn join it: 2,000 RequestReload calls during a load
// make at most 2 more loads, and a Reload among them gets the result of
// the load it joined. Each call made a goroutine and a load of its own.
func TestReloadRequestsCoalesce(t *testing.T) {
	path := writeDB(t, t.TempDir(), "a.mmdb", 6, countriesA)
	s := newServer(t, Options{Path: path})
	// Hold the load semaphore, as a load in progress does.
	s.loader.loadSem <- struct{}{}
	for range 1000 {
		s.RequestReload("flood")
	}
	done := make(chan error, 1)
	go func() { done <- s.Reload(context.Background()) }()
	for range 1000 {
		s.RequestReload("flood")
	}
	<-s.loader.loadSem
	if err := <-done; err != nil {
		t.Errorf("Reload: %v", err)
	}
	s.loader.attempts.Wait()
	if n := s.counters.reloads.Load(); n < 1 || n > 2 {
		t.Errorf("%d reloads for 2,001 requests made while a load ran, want 1 or 2", n)
	}
}

// TestAfterClose: Close twice is fine; Reload and RequestReload after
// Close load nothing into service, report no problem with the file
// (the discarded load was logged and shown as "file unreadable") and
// lookups answer 503.
func TestAfterClose(t *testing.T) {
	path := writeDB(t, t.TempDir(), "a.mmdb", 6, countriesA)
	ts := startServer(t, Options{Path: path})
	for range 2 {
		if err := ts.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.Reload(context.Background()); err == nil {
		t.Error("Reload after Close: no error")
	}
	ts.RequestReload("after Close")
	ts.loader.attempts.Wait()
	if code, _, _ := ts.do(t, "GET", "/v1/lookup/1.2.3.4", ""); code != http.StatusServiceUnavailable {
		t.Errorf("lookup after Close: %d, want 503", code)
	}
	_, h := ts.status(t, "/healthz")
	if h["last_reload_error"] != nil || h["problem"] != "no database loaded" {
		t.Errorf("healthz after Close: %v", h)
	}
	if strings.Contains(ts.log.String(), "cannot read the file") || ts.holder.open.Load() != 0 {
		t.Errorf("after Close: %d generations open; log:\n%s", ts.holder.open.Load(), ts.log.String())
	}
}

// TestMetricsLabelsUTF8: a database whose database_type is not UTF-8,
// served under a name that is not either (a file name can be any
// bytes), is scraped without a crash, the labels with U+FFFD in place of
// the bad bytes. client_golang's MustNewConstMetric panicked on a
// goroutine of the registry and ended the process at the first scrape.
func TestMetricsLabelsUTF8(t *testing.T) {
	dir := t.TempDir()
	path := writeDB(t, dir, "a.mmdb", 6, countriesA)
	b := testutil.ReadFile(t, path)
	i := bytes.LastIndex(b, []byte("ipatlas-City"))
	if i < 0 {
		t.Fatal("no database_type ipatlas-City in the test database")
	}
	b[i+len("ipatlas-City")-1] = 0xff
	bad := filepath.Join(dir, "bad.mmdb")
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, Options{Path: bad, Name: "bad\xffname"})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	want := `ipatlas_database_info{path="bad` + "\ufffd" + `name",type="ipatlas-Cit` + "\ufffd" + `"} 1`
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
		t.Errorf("/metrics: %d, no line %s in:\n%s", w.Code, want, w.Body)
	}
}

// TestRecordCacheBound: a record whose JSON is larger than
// maxCachedRecord is answered whole every time and not kept in the
// record cache; a small one is kept.
func TestRecordCacheBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.mmdb")
	w, err := format.Create(path, format.WriterOptions{IPVersion: 6, BuildTime: testBuildTime})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	big := strings.Repeat("x", maxCachedRecord+1)
	for _, r := range []struct {
		net string
		v   string
	}{{"1.2.3.0/24", big}, {"5.6.7.0/24", "small"}} {
		if err := w.InsertValue(netip.MustParsePrefix(r.net), format.Map{"v": format.String(r.v)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, Options{Path: path})
	for _, c := range []struct {
		ip     string
		v      string
		cached bool
	}{{"1.2.3.4", big, false}, {"5.6.7.8", "small", true}} {
		for range 2 {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/lookup/"+c.ip, nil))
			var ans struct {
				Record struct{ V string } `json:"record"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil || ans.Record.V != c.v {
				t.Fatalf("%s: %d, record of %d bytes (%v)", c.ip, w.Code, len(ans.Record.V), err)
			}
		}
		g := s.holder.acquire()
		res := g.r.Lookup(netip.MustParseAddr(c.ip))
		cached := g.records.get(res.Offset()) != nil
		g.release()
		if cached != c.cached {
			t.Errorf("%s: in the cache %v, want %v", c.ip, cached, c.cached)
		}
	}
}
