package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/internal/servetest"
	"github.com/ipatlas/ipatlas/internal/testutil"

	dto "github.com/prometheus/client_model/go"
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

// serveProc is a running "ipatlas serve" (the built binary).
type serveProc struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	stderr *servetest.LockedBuffer
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
	p := &serveProc{stderr: &servetest.LockedBuffer{}, done: make(chan struct{})}
	stdout := &servetest.LockedBuffer{}
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

// do sends a request and returns the status, the body and the headers.
func (p *serveProc) do(t *testing.T, method, path, body string) (int, []byte, http.Header) {
	t.Helper()
	return servetest.Do(t, p.base, method, path, body)
}

// country returns the ISO code of the country p answers for ip.
func (p *serveProc) country(t *testing.T, ip string) string {
	t.Helper()
	return servetest.Country(t, p.base, ip)
}

// metrics scrapes /metrics and parses it with Prometheus's own parser.
func (p *serveProc) metrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	return servetest.Scrape(t, p.base)
}

// TestServeAddressInUse: a listening address already taken is an error,
// not a usage error (serve's other usage errors are
// testdata/script/serve_usage.txtar).
func TestServeAddressInUse(t *testing.T) {
	db := serveBuildDB(t, t.TempDir(), "a.mmdb", serveCSVA)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, stderr, code := runCLI(t, "serve", "--addr", busy.Addr().String(), db)
	if code != exitData || !strings.Contains(stderr, "listening") {
		t.Errorf("exit status %d, want %d; stderr:\n%s", code, exitData, stderr)
	}
}

// TestServeSIGHUP: with polling off, a replaced file is served only after
// SIGHUP, which reloads even an unchanged file.
func TestServeSIGHUP(t *testing.T) {
	dir := t.TempDir()
	a := testutil.ReadFile(t, serveBuildDB(t, dir, "a.mmdb", serveCSVA))
	b := testutil.ReadFile(t, serveBuildDB(t, dir, "b.mmdb", serveCSVB))
	served := filepath.Join(dir, "served.mmdb")
	servetest.RenameOver(t, served, a)
	p := startServe(t, served, "--poll", "0")
	servetest.RenameOver(t, served, b)
	time.Sleep(300 * time.Millisecond)
	if got := p.country(t, "1.2.3.4"); got != "CN" {
		t.Fatalf("with polling off, 1.2.3.4 in %q before SIGHUP, want CN", got)
	}
	p.signal(t, syscall.SIGHUP)
	servetest.WaitFor(t, "the answer from b.mmdb after SIGHUP", func() bool { return p.country(t, "1.2.3.4") == "US" })
	p.signal(t, syscall.SIGHUP)
	servetest.WaitFor(t, "a second reload", func() bool {
		return servetest.MetricValue(p.metrics(t), "ipatlas_database_reloads_total") == 2
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
			servetest.WaitFor(t, "the request to be in flight", func() bool {
				return servetest.MetricValue(p.metrics(t), "ipatlas_http_requests_in_flight") == 2 // it and the scrape
			})
			p.signal(t, sig)
			servetest.WaitFor(t, "the listener to close", func() bool {
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
			var got []servetest.Answer
			servetest.DecodeJSON(t, b, &got)
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
	servetest.RenameOver(t, served, testutil.ReadFile(t, a))
	p := startServe(t, served, "--poll", "10ms")

	tally := servetest.StartLoad(p.base, 1)
	cmd := exec.Command(loadgen, "--url", p.base, "-c", "4", "-d", "3s", "--v6", "0.2", "--json",
		"--reload-file", served, "--reload-with", a+","+b, "--reload-every", "100ms")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	statuses, seen, failures := tally.Stop()
	if len(failures) > 0 {
		t.Errorf("asking for 1.2.3.4 during the reloads: %v", failures)
	}
	if err != nil {
		t.Errorf("loadgen: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	var rep loadgenReport
	servetest.DecodeJSON(t, stdout.Bytes(), &rep)
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
