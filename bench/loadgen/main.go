// Command loadgen puts an ipatlas serve instance under load from a
// separate process: N concurrent keep-alive clients for a duration, each
// asking for seeded random addresses (one per GET /v1/lookup/{ip}, or
// batches with --batch), optionally replacing the served file every
// --reload-every with one of two valid files (hard-linked or copied to a
// temporary name in the same directory, then renamed over it: atomic; a
// hard link gets a new mtime, so the two files' mtimes change), or with
// --swap-mode copy rewriting it in place as cp does (truncate, then write
// in chunks: what a deploy script that breaks the rename rule does). With
// --slow N it also opens N connections that each post a batch and never
// read the answer (slow readers), held open for the run.
//
// It prints requests/s, latency percentiles and failures: any transport
// error, any status but 200 and any body that is not JSON count as a
// failure. Exit status 0 when nothing failed, 1 when something did, 2 on
// a usage error.
//
//	loadgen --url http://127.0.0.1:8080 -c 16 -d 10s
//	loadgen --url http://127.0.0.1:8080 -c 16 -d 10s \
//	    --reload-file served.mmdb --reload-with a.mmdb,b.mmdb --reload-every 1s
//	loadgen --url http://127.0.0.1:8080 -c 4 -d 10s --slow 1000
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

type config struct {
	url         string
	conns       int
	duration    time.Duration
	seed        uint64
	batch       int
	v6Share     float64
	reloadFile  string
	reloadWith  []string
	reloadEvery time.Duration
	jsonOut     bool
	wait        time.Duration
	swapMode    string        // rename (atomic) or copy (in place, as cp does)
	copyChunk   int           // --swap-mode copy: bytes per write
	copyPause   time.Duration // --swap-mode copy: pause between writes
	slow        int           // connections that post a batch and never read
	slowBatch   int           // addresses in each slow connection's batch
}

// report is what a run measured; --json prints it as one JSON object.
type report struct {
	URL           string             `json:"url"`
	Conns         int                `json:"conns"`
	Batch         int                `json:"batch"`
	Seconds       float64            `json:"seconds"`
	Requests      int                `json:"requests"`
	Addresses     int                `json:"addresses"`
	Failures      int                `json:"failures"`
	FailureKinds  map[string]int     `json:"failure_kinds,omitempty"`
	RequestsPerS  float64            `json:"requests_per_second"`
	AddressesPerS float64            `json:"addresses_per_second"`
	LatencyMs     map[string]float64 `json:"latency_ms"`
	FileSwaps     int                `json:"file_swaps"`
	SwapErrors    int                `json:"swap_errors"`
	ServerReloads *float64           `json:"server_reloads,omitempty"` // delta of ipatlas_database_reloads_total
	ServerRejects *float64           `json:"server_rejects,omitempty"` // delta of ipatlas_database_reload_failures_total
	SlowConns     int                `json:"slow_conns,omitempty"`     // slow connections that sent their batch
	SlowErrors    int                `json:"slow_errors,omitempty"`    // slow connections that failed to connect or send
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\nRun 'loadgen --help' for usage.\n", err)
		return 2
	}
	rep, err := load(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 1
	}
	if cfg.jsonOut {
		enc := json.NewEncoder(stdout)
		_ = enc.Encode(rep)
	} else {
		printReport(stdout, rep)
	}
	if rep.Failures > 0 || rep.SwapErrors > 0 {
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: loadgen --url http://HOST:PORT [flags]\n\n"+
			"Loads an ipatlas serve instance with N keep-alive clients asking for random addresses,\n"+
			"optionally replacing the served file every --reload-every; prints requests/s, latency\n"+
			"percentiles and failures (transport errors, non-200, non-JSON bodies). Exit status 1\n"+
			"if anything failed.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "base `URL` of the service")
	fs.IntVar(&cfg.conns, "c", 16, "concurrent clients (one keep-alive connection each)")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "how long to run")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the random addresses (client i uses seed, i)")
	fs.IntVar(&cfg.batch, "batch", 0, "0: one GET /v1/lookup/{ip} per request; N: POST /v1/lookup with N addresses")
	fs.Float64Var(&cfg.v6Share, "v6", 0.1, "share of IPv6 addresses (from 2000::/3); the rest are any IPv4 address")
	fs.StringVar(&cfg.reloadFile, "reload-file", "", "the file the service serves; replaced every --reload-every during the run")
	with := fs.String("reload-with", "", "two comma-separated valid .mmdb files, renamed over --reload-file in turn")
	fs.DurationVar(&cfg.reloadEvery, "reload-every", time.Second, "interval between replacements")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the report as one JSON object")
	fs.DurationVar(&cfg.wait, "wait", 10*time.Second, "how long to wait for /healthz to answer 200 before starting")
	fs.StringVar(&cfg.swapMode, "swap-mode", "rename", "how --reload-file is replaced: rename (a new file renamed over it, atomic) or copy\n(truncated and rewritten in place, as cp does: what a server must survive)")
	fs.IntVar(&cfg.copyChunk, "copy-chunk", 64<<10, "--swap-mode copy: bytes per write")
	fs.DurationVar(&cfg.copyPause, "copy-pause", 0, "--swap-mode copy: pause between writes (a slow copy)")
	fs.IntVar(&cfg.slow, "slow", 0, "also open N connections that each POST a batch of --slow-batch addresses and never\nread the answer, held open for the run (slow readers)")
	fs.IntVar(&cfg.slowBatch, "slow-batch", 1000, "addresses in each slow connection's batch")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.conns < 1:
		return cfg, fmt.Errorf("-c must be at least 1, got %d", cfg.conns)
	case cfg.duration <= 0:
		return cfg, fmt.Errorf("-d must be positive, got %s", cfg.duration)
	case cfg.batch < 0 || cfg.batch > 1000:
		return cfg, fmt.Errorf("--batch must be 0 to 1000, got %d", cfg.batch)
	case cfg.v6Share < 0 || cfg.v6Share > 1:
		return cfg, fmt.Errorf("--v6 must be in [0,1], got %g", cfg.v6Share)
	case cfg.reloadEvery <= 0:
		return cfg, fmt.Errorf("--reload-every must be positive, got %s", cfg.reloadEvery)
	case cfg.swapMode != "rename" && cfg.swapMode != "copy":
		return cfg, fmt.Errorf("--swap-mode must be rename or copy, got %q", cfg.swapMode)
	case cfg.copyChunk < 1:
		return cfg, fmt.Errorf("--copy-chunk must be positive, got %d", cfg.copyChunk)
	case cfg.slow < 0 || cfg.slowBatch < 1 || cfg.slowBatch > 1000:
		return cfg, fmt.Errorf("--slow must be 0 or more and --slow-batch 1 to 1000, got %d and %d", cfg.slow, cfg.slowBatch)
	}
	if *with != "" {
		cfg.reloadWith = strings.Split(*with, ",")
	}
	if (cfg.reloadFile == "") != (len(cfg.reloadWith) == 0) {
		return cfg, errors.New("--reload-file and --reload-with go together")
	}
	if cfg.reloadFile != "" && len(cfg.reloadWith) != 2 {
		return cfg, fmt.Errorf("--reload-with takes two files, got %d", len(cfg.reloadWith))
	}
	cfg.url = strings.TrimRight(cfg.url, "/")
	return cfg, nil
}

// randomAddr returns a uniformly random IPv4 address, or with probability
// v6Share an IPv6 address in 2000::/3.
func randomAddr(rng *rand.Rand, v6Share float64) netip.Addr {
	if rng.Float64() < v6Share {
		var b [16]byte
		hi, lo := rng.Uint64()>>3|1<<61, rng.Uint64()
		for j := range 8 {
			b[j], b[8+j] = byte(hi>>(56-8*j)), byte(lo>>(56-8*j))
		}
		return netip.AddrFrom16(b)
	}
	v := rng.Uint32()
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// result is one client's tally.
type result struct {
	latencies []time.Duration
	addresses int
	failures  map[string]int
}

func (r *result) fail(kind string) {
	if r.failures == nil {
		r.failures = make(map[string]int)
	}
	r.failures[kind]++
}

func load(cfg config, stderr io.Writer) (*report, error) {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.conns,
		MaxIdleConnsPerHost: cfg.conns,
		MaxConnsPerHost:     cfg.conns,
		IdleConnTimeout:     90 * time.Second,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	if err := waitHealthy(client, cfg.url, cfg.wait); err != nil {
		return nil, err
	}
	before, _ := scrape(client, cfg.url)

	ctx, cancel := context.WithTimeout(context.Background(), cfg.duration)
	defer cancel()
	var swaps, swapErrs int
	var swapWG sync.WaitGroup
	if cfg.reloadFile != "" {
		swapWG.Add(1)
		go func() {
			defer swapWG.Done()
			swaps, swapErrs = swapLoop(ctx, cfg, stderr)
		}()
	}

	var slowConns, slowErrs int
	if cfg.slow > 0 {
		swapWG.Add(1)
		go func() {
			defer swapWG.Done()
			slowConns, slowErrs = slowReaders(ctx, cfg)
		}()
	}

	results := make([]result, cfg.conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = client1(ctx, client, cfg, uint64(i))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	swapWG.Wait()

	rep := &report{URL: cfg.url, Conns: cfg.conns, Batch: cfg.batch, Seconds: elapsed.Seconds(),
		FileSwaps: swaps, SwapErrors: swapErrs, FailureKinds: map[string]int{}, SlowConns: slowConns, SlowErrors: slowErrs}
	var all []time.Duration
	for _, r := range results {
		all = append(all, r.latencies...)
		rep.Addresses += r.addresses
		for k, n := range r.failures {
			rep.FailureKinds[k] += n
			rep.Failures += n
		}
	}
	rep.Requests = len(all)
	rep.RequestsPerS = float64(rep.Requests) / elapsed.Seconds()
	rep.AddressesPerS = float64(rep.Addresses) / elapsed.Seconds()
	slices.Sort(all)
	rep.LatencyMs = map[string]float64{}
	if len(all) > 0 {
		for _, p := range []struct {
			name string
			q    float64
		}{{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"max", 1}} {
			i := min(int(p.q*float64(len(all))), len(all)-1)
			rep.LatencyMs[p.name] = float64(all[i].Microseconds()) / 1e3
		}
	}
	if after, err := scrape(client, cfg.url); err == nil && before != nil {
		for name, dst := range map[string]**float64{
			"ipatlas_database_reloads_total":         &rep.ServerReloads,
			"ipatlas_database_reload_failures_total": &rep.ServerRejects,
		} {
			a, ok1 := after[name]
			b, ok2 := before[name]
			if ok1 && ok2 {
				d := a - b
				*dst = &d
			}
		}
	}
	return rep, nil
}

// client1 runs one client until ctx ends. Latency counts from sending the
// request to the last byte of the body; requests cut short by the end of
// the run are not counted.
func client1(ctx context.Context, client *http.Client, cfg config, id uint64) result {
	rng := rand.New(rand.NewPCG(cfg.seed, id))
	var res result
	var body bytes.Buffer
	for ctx.Err() == nil {
		var req *http.Request
		var err error
		n := 1
		if cfg.batch == 0 {
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, cfg.url+"/v1/lookup/"+randomAddr(rng, cfg.v6Share).String(), nil)
		} else {
			n = cfg.batch
			body.Reset()
			body.WriteByte('[')
			for i := range n {
				if i > 0 {
					body.WriteByte(',')
				}
				body.WriteString(strconv.Quote(randomAddr(rng, cfg.v6Share).String()))
			}
			body.WriteByte(']')
			req, err = http.NewRequestWithContext(ctx, http.MethodPost, cfg.url+"/v1/lookup", bytes.NewReader(body.Bytes()))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
			}
		}
		if err != nil {
			res.fail("request: " + err.Error())
			return res
		}
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				break // the run ended mid-request
			}
			res.fail("transport")
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			res.fail("reading body")
			continue
		}
		res.latencies = append(res.latencies, d)
		switch {
		case resp.StatusCode != http.StatusOK:
			res.fail("status " + strconv.Itoa(resp.StatusCode))
		case !json.Valid(b):
			res.fail("body not JSON")
		default:
			res.addresses += n
		}
	}
	return res
}

// swapLoop replaces cfg.reloadFile every cfg.reloadEvery, alternating the
// two files, until ctx ends.
func swapLoop(ctx context.Context, cfg config, stderr io.Writer) (swaps, errs int) {
	t := time.NewTicker(cfg.reloadEvery)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return swaps, errs
		case <-t.C:
		}
		replaceFn := replace
		if cfg.swapMode == "copy" {
			replaceFn = func(dst, src string) error { return overwrite(ctx, dst, src, cfg.copyChunk, cfg.copyPause) }
		}
		if err := replaceFn(cfg.reloadFile, cfg.reloadWith[i%2]); err != nil {
			fmt.Fprintf(stderr, "loadgen: replacing %s: %v\n", cfg.reloadFile, err)
			errs++
			continue
		}
		swaps++
	}
}

// replace puts a copy of src at dst atomically: a hard link (or, across
// file systems, a copy) under a temporary name in dst's directory, renamed
// over dst.
func replace(dst, src string) error {
	tmp := filepath.Join(filepath.Dir(dst), fmt.Sprintf(".%s.loadgen-%d", filepath.Base(dst), os.Getpid()))
	_ = os.Remove(tmp)
	if err := os.Link(src, tmp); err == nil {
		// The link shares src's inode, which dst held two swaps ago: a
		// new mtime makes this swap a new version for a stat watcher.
		now := time.Now()
		if err := os.Chtimes(tmp, now, now); err != nil {
			_ = os.Remove(tmp)
			return err
		}
	} else if err := copyFile(tmp, src); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// overwrite rewrites dst in place with src's content, as cp does:
// truncate, then write chunk bytes at a time with pause between writes.
// A server that maps dst sees it shrink to nothing and grow again under
// its mapping.
func overwrite(ctx context.Context, dst, src string, chunk int, pause time.Duration) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	for len(b) > 0 {
		n := min(chunk, len(b))
		if _, err := f.Write(b[:n]); err != nil {
			f.Close()
			return err
		}
		b = b[n:]
		if pause > 0 && len(b) > 0 {
			select {
			case <-ctx.Done(): // finish the copy quickly, never leave it half-written
				pause = 0
			case <-time.After(pause):
			}
		}
	}
	return f.Close()
}

// slowReaders opens cfg.slow connections, each sending one POST /v1/lookup
// of cfg.slowBatch random addresses and then reading nothing, and holds
// them open until ctx ends. It returns how many sent their request and how
// many failed to connect or send.
func slowReaders(ctx context.Context, cfg config) (sent, failed int) {
	host := strings.TrimPrefix(strings.TrimPrefix(cfg.url, "http://"), "https://")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	rng := rand.New(rand.NewPCG(cfg.seed, 1<<32))
	d := net.Dialer{Timeout: 5 * time.Second, Control: smallReceiveBuffer}
	for range cfg.slow {
		if ctx.Err() != nil {
			break
		}
		var body bytes.Buffer
		body.WriteByte('[')
		for i := range cfg.slowBatch {
			if i > 0 {
				body.WriteByte(',')
			}
			body.WriteString(strconv.Quote(randomAddr(rng, cfg.v6Share).String()))
		}
		body.WriteByte(']')
		c, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			failed++
			continue
		}
		conns = append(conns, c)
		req := fmt.Sprintf("POST /v1/lookup HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", host, body.Len())
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, req+body.String()); err != nil {
			failed++
			continue
		}
		sent++
	}
	<-ctx.Done()
	return sent, failed
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// waitHealthy polls /healthz until it answers 200 or wait passes.
func waitHealthy(client *http.Client, base string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/healthz did not answer 200 within %s: %w", base, wait, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrape reads the unlabelled samples of /metrics.
func scrape(client *http.Client, base string) (map[string]float64, error) {
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: status %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.Contains(line, "{") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

func printReport(w io.Writer, r *report) {
	fmt.Fprintf(w, "%s: %d clients, batch %d, %.1fs\n", r.URL, r.Conns, r.Batch, r.Seconds)
	fmt.Fprintf(w, "requests:  %d (%.0f/s), addresses %d (%.0f/s)\n", r.Requests, r.RequestsPerS, r.Addresses, r.AddressesPerS)
	fmt.Fprintf(w, "latency:   p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
		r.LatencyMs["p50"], r.LatencyMs["p90"], r.LatencyMs["p99"], r.LatencyMs["max"])
	fmt.Fprintf(w, "failures:  %d", r.Failures)
	if len(r.FailureKinds) > 0 {
		kinds := make([]string, 0, len(r.FailureKinds))
		for k, n := range r.FailureKinds {
			kinds = append(kinds, fmt.Sprintf("%s: %d", k, n))
		}
		slices.Sort(kinds)
		fmt.Fprintf(w, " (%s)", strings.Join(kinds, ", "))
	}
	fmt.Fprintln(w)
	if r.SlowConns > 0 || r.SlowErrors > 0 {
		fmt.Fprintf(w, "slow readers: %d connections sent a batch and read nothing (%d failed to)\n", r.SlowConns, r.SlowErrors)
	}
	if r.FileSwaps > 0 || r.SwapErrors > 0 {
		fmt.Fprintf(w, "file swaps: %d (%d failed)", r.FileSwaps, r.SwapErrors)
		if r.ServerReloads != nil && r.ServerRejects != nil {
			fmt.Fprintf(w, "; server reloads %.0f, rejected %.0f", *r.ServerReloads, *r.ServerRejects)
		}
		fmt.Fprintln(w)
	}
}
