package serve

// The operators' scenarios of issue 14, run in process: the Server in an
// httptest server, the files replaced, rewritten in place, removed or
// turned into a FIFO under it while client goroutines load it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/internal/servetest"
	"github.com/ipatlas/ipatlas/internal/testutil"

	"github.com/ipatlas/ipatlas/format"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// TestReload replaces the served file while the Server runs and Watch
// polls: a good new file (renamed over it) changes the answers and the
// old generation is closed; corrupt ones are refused, logged and counted,
// and the old file keeps answering; a removed file is logged once and the
// loaded one keeps answering; a file put back is taken.
func TestReload(t *testing.T) {
	p, served, a, b := servedAB(t, Options{})
	c := testutil.ReadFile(t, writeDB(t, t.TempDir(), "c.mmdb", 6, countriesC))
	p.watch(t, 10*time.Millisecond)
	if got := p.country(t, "1.2.3.4"); got != "CN" {
		t.Fatalf("1.2.3.4 in %q, want CN", got)
	}
	servetest.RenameOver(t, served, b)
	servetest.WaitFor(t, "the answer from b.mmdb", func() bool { return p.country(t, "1.2.3.4") == "US" })
	if got := p.metric(t, "ipatlas_database_reloads_total"); got != 1 {
		t.Errorf("%g reloads, want 1", got)
	}
	servetest.WaitFor(t, "the old file to be closed", func() bool { return p.metric(t, "ipatlas_database_open_generations") == 1 })

	bad := corruptions(t, c)
	for i, bad := range bad {
		servetest.RenameOver(t, served, bad.data)
		servetest.WaitFor(t, "the rejection of the "+bad.name+" file", func() bool {
			return p.metric(t, "ipatlas_database_reload_failures_total") == float64(i+1)
		})
		if got := p.country(t, "1.2.3.4"); got != "US" {
			t.Errorf("after the %s file, 1.2.3.4 in %q, want US (the old file)", bad.name, got)
		}
		var h Health
		_, body, _ := p.do(t, "GET", "/healthz", "")
		servetest.DecodeJSON(t, body, &h)
		if h.LastReloadError == "" || h.ReloadFailures != uint64(i+1) || h.Status != "degraded" {
			t.Errorf("healthz after the %s file: %s", bad.name, body)
		}
	}
	if n := strings.Count(p.log.String(), "rejected new file"); n != len(bad) {
		t.Errorf("%d rejections logged, want one per corrupt file:\n%s", n, p.log)
	}
	servetest.RenameOver(t, served, c)
	servetest.WaitFor(t, "the answer from c.mmdb", func() bool { return p.country(t, "1.2.3.4") == "JP" })
	var h Health
	_, body, _ := p.do(t, "GET", "/healthz", "")
	servetest.DecodeJSON(t, body, &h)
	if h.LastReloadError != "" || h.Reloads != 2 || h.Status != "ok" {
		t.Errorf("healthz after a good file: %s", body)
	}

	if err := os.Remove(served); err != nil {
		t.Fatal(err)
	}
	servetest.WaitFor(t, "the missing file to be logged", func() bool { return strings.Contains(p.log.String(), "cannot read the file") })
	time.Sleep(100 * time.Millisecond) // more polls
	if got := p.country(t, "1.2.3.4"); got != "JP" {
		t.Errorf("with the file removed, 1.2.3.4 in %q, want JP", got)
	}
	if c, v := p.status(t, "/readyz"); c != 200 || v["status"] != "degraded" || v["problem"] != problemMissing {
		t.Errorf("/readyz with the file removed: %d %v; want 200 degraded, %q", c, v, problemMissing)
	}
	if n := strings.Count(p.log.String(), "cannot read the file"); n != 1 {
		t.Errorf("the missing file was logged %d times, want once:\n%s", n, p.log)
	}
	servetest.RenameOver(t, served, a)
	servetest.WaitFor(t, "the answer from a.mmdb", func() bool { return p.country(t, "1.2.3.4") == "CN" })
}

// TestReloadMethod: without Watch, Reload loads the file at once (changed
// or not) and returns a *LoadError for a bad one; RequestReload does the
// same in the background; with Watch running, Reload goes through the
// watcher and returns its result.
func TestReloadMethod(t *testing.T) {
	p, served, a, b := servedAB(t, Options{})
	servetest.RenameOver(t, served, b)
	time.Sleep(50 * time.Millisecond)
	if got := p.country(t, "1.2.3.4"); got != "CN" {
		t.Fatalf("without Watch or Reload, 1.2.3.4 in %q, want CN", got)
	}
	if err := p.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := p.country(t, "1.2.3.4"); got != "US" {
		t.Errorf("after Reload, 1.2.3.4 in %q, want US", got)
	}
	servetest.RenameOver(t, served, []byte("junk"))
	var le *LoadError
	if err := p.Reload(t.Context()); !errors.As(err, &le) || le.Class != problemInvalid {
		t.Errorf("Reload of junk: %v; want a *LoadError of class %q", err, problemInvalid)
	}
	servetest.RenameOver(t, served, a)
	p.RequestReload("test")
	servetest.WaitFor(t, "RequestReload", func() bool { return p.country(t, "1.2.3.4") == "CN" })

	p.watch(t, 0)
	servetest.WaitFor(t, "Watch to run", func() bool { p.watchMu.Lock(); defer p.watchMu.Unlock(); return p.watching })
	servetest.RenameOver(t, served, b)
	if err := p.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := p.country(t, "1.2.3.4"); got != "US" {
		t.Errorf("after Reload through Watch, 1.2.3.4 in %q, want US", got)
	}
	if n := strings.Count(p.log.String(), "why=Reload"); n != 3 {
		t.Errorf("%d reloads by Reload logged, want 3:\n%s", n, p.log)
	}
	if got := p.metric(t, "ipatlas_database_reloads_total"); got != 3 {
		t.Errorf("%g reloads, want 3", got)
	}
}

// TestCheckModes shows what each check refuses: a file whose only damage
// is one record that no probe reaches (behind the first networks of its
// region) passes CheckSample, and the service then answers 500 for that
// record alone; CheckFull (Verify) refuses it and the old file keeps
// answering.
func TestCheckModes(t *testing.T) {
	var rows []country
	for k := range 2 * sampleWalk {
		rows = append(rows, country{fmt.Sprintf("1.0.%d.0/24", 2*k), "China", "CN", 31.2, 121.4}) // not adjacent: not merged
	}
	rows = append(rows, country{"1.9.9.0/24", "Tanzania", "TZ", -6.8, 39.3})
	good := testutil.ReadFile(t, writeDB(t, t.TempDir(), "good.mmdb", 4, rows))
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
	for _, c := range []struct {
		check             Check
		reloads, failures float64
		code              int // for 1.9.9.9 afterwards
	}{
		{CheckSample, 1, 0, http.StatusInternalServerError},
		{CheckFull, 0, 1, http.StatusOK},
	} {
		served := filepath.Join(t.TempDir(), "served.mmdb")
		servetest.RenameOver(t, served, good)
		p := startServer(t, Options{Path: served, Check: c.check})
		servetest.RenameOver(t, served, bad)
		_ = p.Reload(t.Context())
		fams := p.metrics(t)
		if got := servetest.MetricValue(fams, "ipatlas_database_reloads_total"); got != c.reloads {
			t.Errorf("%s: %g reloads, want %g", c.check, got, c.reloads)
		}
		if got := servetest.MetricValue(fams, "ipatlas_database_reload_failures_total"); got != c.failures {
			t.Errorf("%s: %g reload failures, want %g", c.check, got, c.failures)
		}
		if code, body, _ := p.do(t, "GET", "/v1/lookup/1.9.9.9", ""); code != c.code {
			t.Errorf("%s: 1.9.9.9: status %d, want %d: %s", c.check, code, c.code, body)
		}
		if got := p.country(t, "1.0.2.1"); got != "CN" {
			t.Errorf("%s: 1.0.2.1 in %q, want CN", c.check, got)
		}
	}
}

// TestGenerations swaps generations as fast as they load while clients
// post batches (the race detector watching): every answer comes from one
// whole file, and every replaced file is closed exactly once, after its
// last request.
func TestGenerations(t *testing.T) {
	p, served, a, b := servedAB(t, Options{QueueWait: time.Second})
	l := servetest.StartLoad(p.base, 4)
	const swaps = 60
	for i := range swaps {
		servetest.RenameOver(t, served, [][]byte{b, a}[i%2])
		if err := p.loader.reload(false, "test"); err != nil {
			t.Fatalf("swap %d: %v", i, err)
		}
	}
	statuses, countries, failures := l.Stop()
	if len(failures) > 0 || len(statuses) != 1 || statuses[200] == 0 {
		t.Errorf("statuses %v, failures %v; want 200 only", statuses, failures)
	}
	for iso := range countries {
		if iso != "CN" && iso != "US" {
			t.Errorf("1.2.3.4 answered %q: want CN or US (%v)", iso, countries)
		}
	}
	if got := p.counters.reloads.Load(); got != swaps {
		t.Errorf("%d reloads, want %d", got, swaps)
	}
	if got := p.holder.open.Load(); got != 1 {
		t.Errorf("%d generations open with no request running, want 1", got)
	}
	p.Close()
	if got := p.holder.open.Load(); got != 0 {
		t.Errorf("%d generations open after Close, want 0", got)
	}
}

// TestReloadUnderLoad: files renamed over the served one every 250 ms
// for 3 s while 4 clients ask, Watch polling every 10 ms: no request fails,
// every answer comes from one of the two files, and both are seen.
func TestReloadUnderLoad(t *testing.T) {
	p, served, a, b := servedAB(t, Options{})
	p.watch(t, 10*time.Millisecond)
	l := servetest.StartLoad(p.base, 4)
	for i := range 12 {
		servetest.RenameOver(t, served, [][]byte{b, a}[i%2])
		time.Sleep(250 * time.Millisecond)
	}
	statuses, countries, failures := l.Stop()
	t.Logf("statuses %v, countries %v, reloads %d", statuses, countries, p.counters.reloads.Load())
	if len(failures) > 0 || len(statuses) != 1 || statuses[200] < 100 {
		t.Errorf("statuses %v, failures %v; want at least 100 answers, all 200", statuses, failures)
	}
	if countries["CN"] == 0 || countries["US"] == 0 || len(countries) != 2 {
		t.Errorf("answers for 1.2.3.4: %v; want both CN and US, nothing else", countries)
	}
	want := uint64(8)
	if raceEnabled {
		want = 3 // loads take about as long as the renames come
	}
	if r := p.counters.reloads.Load(); r < want {
		t.Errorf("%d reloads; want at least %d", r, want)
	}
	// A file renamed over the path while another loads is loaded again at
	// once (it is whole), up to 3 times; only when loads take as long as
	// the renames come (the race detector) may one be refused as
	// changing, and taken at the next look. Nothing else is refused.
	for line := range strings.Lines(p.log.String()) {
		if strings.Contains(line, "rejected new file") && !strings.Contains(line, problemChanging) {
			t.Errorf("a whole file was refused: %s", line)
		}
	}
}

// TestInPlaceWriteUnderLoad is issue 14 point 1, in process: the served
// file is rewritten in place (truncated, then written in small chunks,
// as cp does) every 100 ms while 4 clients ask. At e9db24f the process
// died of SIGBUS. Now: with the default mapping, a damaged file's
// requests answer 503 (never a crash, never a wrong country); read into
// memory, no request fails at all. Then a whole file written in place is
// picked up; a truncation left in place gives 503 and /readyz 503 when
// mapped, the copy serving and /readyz "degraded" in memory; and a whole
// file written in place is picked up again.
func TestInPlaceWriteUnderLoad(t *testing.T) {
	dir := t.TempDir()
	a := testutil.ReadFile(t, writeDB(t, dir, "a.mmdb", 6, countriesA))
	b := testutil.ReadFile(t, writeDB(t, dir, "b.mmdb", 6, countriesB))
	for _, mode := range []struct {
		name string
		mem  bool
	}{{"mmap", false}, {"copy", true}} {
		t.Run(mode.name, func(t *testing.T) {
			served := filepath.Join(t.TempDir(), "served.mmdb")
			servetest.RenameOver(t, served, a)
			p := startServer(t, Options{Path: served, ReadIntoMemory: mode.mem})
			p.watch(t, 10*time.Millisecond)
			l := servetest.StartLoad(p.base, 4)
			for i := range 15 {
				servetest.OverwriteInPlace(t, served, [][]byte{b, a}[i%2], 256, time.Millisecond)
				time.Sleep(100 * time.Millisecond)
			}
			statuses, countries, failures := l.Stop()
			t.Logf("statuses %v, countries %v, failures %v", statuses, countries, failures)
			if len(failures) > 0 {
				t.Errorf("transport or decoding failures: %v", failures)
			}
			for iso := range countries {
				if iso != "CN" && iso != "US" {
					t.Errorf("1.2.3.4 answered %q during the writes: want CN or US only (%v)", iso, countries)
				}
			}
			if n := statuses[200] + statuses[503]; n < 100 {
				t.Errorf("only %d answers", n)
			}
			for code := range statuses {
				if code != 200 && (mode.mem || code != 503) {
					t.Errorf("status %d during the writes (%v): want 200 only in memory, 200 or 503 mapped", code, statuses)
				}
			}

			servetest.InPlaceAftermath(t, p.base, served, a, b, !mode.mem)
		})
	}
}

// TestTouchAndSameSizeWrite: a touch of the mapped file (new mtime, same
// content) fails no request; a write in place of a file of the same size
// without truncation (new mtime, other content) is answered 503 until it
// is loaded whole, never from the old tree over the new bytes.
func TestTouchAndSameSizeWrite(t *testing.T) {
	dir := t.TempDir()
	a := testutil.ReadFile(t, writeDB(t, dir, "a.mmdb", 6, countriesC))
	// The same networks with another country of the same length.
	b := testutil.ReadFile(t, writeDB(t, dir, "b.mmdb", 6, []country{{"1.2.3.0/24", "China", "CN", 35.7, 139.7}}))
	if len(a) != len(b) || bytes.Equal(a, b) {
		t.Fatalf("want two files of the same size and other content: %d and %d bytes", len(a), len(b))
	}
	served := filepath.Join(dir, "served.mmdb")
	servetest.RenameOver(t, served, a)
	p := startServer(t, Options{Path: served}) // no Watch: only requests look at the file
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(served, later, later); err != nil {
		t.Fatal(err)
	}
	if got := p.country(t, "1.2.3.4"); got != "JP" {
		t.Errorf("after a touch: %q, want JP", got)
	}
	f, err := os.OpenFile(served, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if code, body, _ := p.do(t, "GET", "/v1/lookup/1.2.3.4", ""); code != 503 {
		t.Errorf("after a same-size write in place: %d %s; want 503", code, body)
	}
	if err := p.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := p.country(t, "1.2.3.4"); got != "CN" {
		t.Errorf("after Reload of the rewritten file: %q, want CN", got)
	}
}

// TestFIFO is issue 14 point 2, in process: a FIFO renamed over the
// served path is refused at once as not a regular file (the old file
// keeps serving; no request of the load fails), also by Reload, and a
// good file renamed over it afterwards is served. At e9db24f the reload
// blocked in open() for good.
func TestFIFO(t *testing.T) {
	p, served, _, b := servedAB(t, Options{})
	p.watch(t, 10*time.Millisecond)
	l := servetest.StartLoad(p.base, 4)
	servetest.PutFIFO(t, p.base, served)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var le *LoadError
	if err := p.Reload(ctx); !errors.As(err, &le) || le.Class != problemNotRegular {
		t.Errorf("Reload of a FIFO: %v; want a *LoadError of class %q", err, problemNotRegular)
	}
	if got := p.country(t, "1.2.3.4"); got != "CN" {
		t.Errorf("with a FIFO at the path, 1.2.3.4 in %q, want CN (the loaded file)", got)
	}
	servetest.RenameOver(t, served, b)
	servetest.WaitFor(t, "b.mmdb after the FIFO", func() bool { return p.country(t, "1.2.3.4") == "US" })
	statuses, _, failures := l.Stop()
	if len(failures) > 0 || len(statuses) != 1 || statuses[200] == 0 {
		t.Errorf("statuses %v, failures %v; want 200 only", statuses, failures)
	}
}

// TestReloadTimeout: a load that blocks (as open() does on a hung network
// mount) is reported after the reload timeout as degraded health, a
// reload failure and an error to the Reload waiting for it; no second
// load starts meanwhile, lookups go on, and the end of Watch's context
// does not wait for it. At e9db24f the loader held its lock across the
// open, so nothing else could proceed.
func TestReloadTimeout(t *testing.T) {
	p, served, _, b := servedAB(t, Options{ReloadTimeout: 100 * time.Millisecond})
	block := make(chan struct{})
	var opens atomic.Int32
	p.loader.openHook = func() { opens.Add(1); <-block }
	ctx, cancel := context.WithCancel(t.Context())
	watched := make(chan struct{})
	go func() { _ = p.Watch(ctx, 10*time.Millisecond); close(watched) }()
	servetest.RenameOver(t, served, b)
	servetest.WaitFor(t, "the blocked load to be reported", func() bool {
		lp := p.loader.problem.Load()
		return lp != nil && lp.class == problemTimedOut
	})
	var le *LoadError
	if err := p.Reload(t.Context()); !errors.As(err, &le) || le.Class != problemTimedOut {
		t.Errorf("Reload while a load is blocked: %v; want a *LoadError of class %q", err, problemTimedOut)
	}
	time.Sleep(200 * time.Millisecond) // more polls: none may start a second load
	if got := p.counters.reloadFailures.Load(); got < 1 {
		t.Errorf("%d reload failures, want the timed-out load counted", got)
	}
	if n := opens.Load(); n != 1 {
		t.Errorf("%d loads started while one was blocked, want 1", n)
	}
	if got := p.country(t, "1.2.3.4"); got != "CN" {
		t.Errorf("with a load blocked, 1.2.3.4 in %q, want CN", got)
	}
	if c, v := p.status(t, "/readyz"); c != 200 || v["status"] != "degraded" || v["problem"] != problemTimedOut {
		t.Errorf("/readyz with a load blocked: %d %v", c, v)
	}
	cancel()
	select {
	case <-watched:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return while a load was blocked")
	}
	close(block)
	p.loader.attempts.Wait()
	if got := p.country(t, "1.2.3.4"); got != "CN" {
		t.Errorf("the load that finished after Watch ended was installed: 1.2.3.4 in %q, want CN", got)
	}
	if got := p.holder.open.Load(); got != 1 {
		t.Errorf("%d generations open, want 1 (the late load released)", got)
	}
}

// TestSlowReaders is issue 14 point 3, in process: 64 connections each
// post a batch whose answer (about 2 MB) they never read, while 4
// ordinary clients ask. Batches are admitted MaxBatches at a time, so the
// slow ones hold at most that many answers in memory and are turned away
// (503) beyond; the ordinary single lookups see no failure. The RSS
// measurement is the CLI's test (TestServeSlowReaders), on the process.
func TestSlowReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.mmdb")
	w, err := format.Create(path, format.WriterOptions{IPVersion: 6})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		rec := format.Map{"i": format.Uint32(i), "pad": format.String(strings.Repeat(fmt.Sprint(i%10), 2000))}
		if err := w.InsertValue(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24), rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := startServer(t, Options{Path: path, MaxBatches: 4, QueueWait: 50 * time.Millisecond, DisableGzip: true})
	var qs []string
	for i := range 1000 {
		qs = append(qs, fmt.Sprintf("10.%d.%d.1", i>>8, i&255))
	}
	batch, _ := json.Marshal(qs)
	host := strings.TrimPrefix(p.base, "http://")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 64 {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		fmt.Fprintf(c, "POST /v1/lookup HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", host, len(batch), batch)
		conns = append(conns, c)
	}
	l := servetest.StartLoad(p.base, 4)
	time.Sleep(time.Second)
	statuses, _, failures := l.Stop()
	batches := p.metric(t, "ipatlas_http_requests_total", "endpoint", "batch", "code", "200")
	t.Logf("ordinary clients: %v; batches answered 200 (ordinary and slow): %g, turned away: %g", statuses, batches, p.metric(t, "ipatlas_http_requests_overload_total"))
	// The ordinary POSTs of the load are batches too: they may be turned
	// away while the slow ones hold every slot, never fail otherwise.
	for code := range statuses {
		if code != 200 && code != 503 {
			t.Errorf("ordinary clients got status %d (%v)", code, statuses)
		}
	}
	if len(failures) > 0 {
		t.Errorf("ordinary clients failed: %v", failures)
	}
	if got := p.metric(t, "ipatlas_http_requests_overload_total"); got < 1 {
		t.Errorf("no batch turned away with 64 slow readers and 4 batch slots")
	}
	if c, _ := p.status(t, "/healthz"); c != 200 {
		t.Errorf("/healthz %d under slow readers", c)
	}
	if code, _, _ := p.do(t, "GET", "/v1/lookup/10.0.1.1", ""); code != 200 {
		t.Errorf("a single lookup under slow readers: %d", code)
	}
}
