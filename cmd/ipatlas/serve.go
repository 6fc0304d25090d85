package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	servepkg "github.com/ipatlas/ipatlas/serve"
	"github.com/prometheus/client_golang/prometheus"
)

// serveConfig is what the flags of serve set.
type serveConfig struct {
	addr, check, logFormat                   string
	poll, grace, reloadTimeout, queueWait    time.Duration
	readHeaderTimeout, readTimeout           time.Duration
	writeTimeout, idleTimeout                time.Duration
	maxInFlight, maxBatches                  int
	useMmap, exposePaths, accessLog, perItem bool
	gzip                                     bool
}

func runServe(args []string, stdout, stderr io.Writer) error {
	var c serveConfig
	fs := newFlags("serve", "FILE.mmdb [--addr HOST:PORT] [flags]",
		"Serves lookups in FILE.mmdb (any MaxMind DB file) over HTTP:\n\n"+
			"  GET  /v1/lookup/{ip}   {\"ip\":..., \"network\":..., \"found\":bool, \"record\":{...}}\n"+
			"                         (record absent when found is false)\n"+
			"  POST /v1/lookup        body: a JSON array of up to 1000 addresses; answers: an array\n"+
			"                         of the same objects in the same order, all from one version of the file\n"+
			"  GET  /healthz          200 while the process runs: status ok, degraded (the file on disk\n"+
			"                         is bad, the loaded one serves) or unavailable (the served file was\n"+
			"                         damaged in place), what is served, reload count and what is wrong\n"+
			"                         with the file on disk, if anything\n"+
			"  GET  /readyz           200 {\"status\":\"ready\"} while a valid file is served (\"degraded\" when\n"+
			"                         the file on disk is missing or bad and the loaded one serves);\n"+
			"                         503 while no valid file is served\n"+
			"  GET  /metrics          Prometheus text format: requests by endpoint and status,\n"+
			"                         latency histogram, database build time, reloads, reload failures,\n"+
			"                         state, faults, overload; go_*, process_*, go_build_info (client_golang)\n"+
			"                         and ipatlas_build_info\n\n"+
			"A bad address, malformed JSON or a batch over 1000 gets 400 with {\"error\": \"...\"} (with\n"+
			"--batch-item-errors a bad address in a batch gets {\"ip\":...,\"error\":...} in its place and the\n"+
			"rest are answered); a wrong method 405; more requests than the limits below 503 with\n"+
			"Retry-After. Answers are gzipped when the client accepts gzip (--gzip=false: never).\n\n"+
			"The file is reloaded when its inode, size or mtime changes (checked every --poll)\n"+
			"and on SIGHUP: the new file is opened and checked (--check) while the old one keeps serving,\n"+
			"then swapped in atomically; the old one is closed when its last request finishes. A file\n"+
			"that fails is logged and the old one keeps serving (health degraded). A load that takes\n"+
			"longer than --reload-timeout (a hung mount) is reported and abandoned; FIFOs, devices and\n"+
			"directories are refused.\n\n"+
			"Replace the file by renaming a new one over it (as build and compile do). A file\n"+
			"overwritten in place (cp over it, truncate) does not crash the server: with --mmap (the\n"+
			"default) the mapped file is damaged, so lookups answer 503 and /readyz 503 until the\n"+
			"new file is whole and passes the check (seconds at most); with --mmap=false the server\n"+
			"serves its private copy meanwhile and never fails a lookup (it costs the file's size in\n"+
			"memory per version).\n\n"+
			"Every flag can also be set by the environment variable IPATLAS_<FLAG> (upper case, - as _:\n"+
			"IPATLAS_ADDR, IPATLAS_MAX_IN_FLIGHT, ...); a flag on the command line wins.\n"+
			"SIGTERM or SIGINT stops accepting connections, finishes the requests in flight (up to\n"+
			"--shutdown-timeout) and exits 0; a second signal closes connections at once, and the\n"+
			"process exits within --shutdown-timeout + 5s whatever is still running.\n"+
			"The bound address is logged as \"listening on HOST:PORT\" (use --addr 127.0.0.1:0 for any free port).", stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "`HOST:PORT` to listen on")
	fs.DurationVar(&c.poll, "poll", servepkg.DefaultPoll, "how often to check the file for a new version; 0: only on SIGHUP")
	fs.StringVar(&c.check, "check", string(servepkg.CheckSample), "what a new file must pass before it is served: sample (open, look up 8,192 spread-out\n"+
		"addresses and walk the first networks of 49 regions, decoding every record reached: about\n"+
		"0.1 s on GeoLite2-City) or full (Reader.Verify, every node and record: 13-16 s on\n"+
		"GeoLite2-City on a shared 2-core machine; old answers are served meanwhile)")
	fs.BoolVar(&c.useMmap, "mmap", true, "memory-map the file; false reads each version into memory, a private copy that a\nwrite in place cannot damage")
	fs.DurationVar(&c.reloadTimeout, "reload-timeout", time.Minute, "longest a load (open + check) may take before it is reported as failed; at startup, exit")
	fs.DurationVar(&c.grace, "shutdown-timeout", 10*time.Second, "how long to wait for requests in flight on SIGTERM/SIGINT")
	fs.IntVar(&c.maxInFlight, "max-in-flight", 256, "lookup requests answered at once; more wait up to --queue-wait, then get 503")
	fs.IntVar(&c.maxBatches, "max-batches", max(8, 4*runtime.GOMAXPROCS(0)), "POST /v1/lookup requests answered at once (each holds up to ~1 MB); more wait up to\n--queue-wait, then get 503")
	fs.DurationVar(&c.queueWait, "queue-wait", 500*time.Millisecond, "how long a request over --max-in-flight or --max-batches waits for its turn")
	fs.DurationVar(&c.readHeaderTimeout, "read-header-timeout", 5*time.Second, "time to read a request's headers")
	fs.DurationVar(&c.readTimeout, "read-timeout", 10*time.Second, "time to read a whole request, body included")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 10*time.Second, "time from the end of reading a request to the end of writing its answer; a client\nthat does not read is cut off after it")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", time.Minute, "how long a keep-alive connection may wait for its next request")
	fs.BoolVar(&c.exposePaths, "expose-paths", false, "show the file's full path and full reload errors in /healthz, /readyz and /metrics\n(default: its base name and a short error class)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format on stderr: text or json (log/slog)")
	fs.BoolVar(&c.accessLog, "access-log", false, "log every request (method, path, status, bytes, duration, client)")
	fs.BoolVar(&c.perItem, "batch-item-errors", false, "answer a bad address in a batch with {\"ip\":...,\"error\":...} in its place instead of\nfailing the whole batch with 400")
	fs.BoolVar(&c.gzip, "gzip", true, "gzip answers of 4 KiB or more when the request accepts gzip")
	if err := flagsFromEnv(fs, "IPATLAS_"); err != nil {
		return err
	}
	path, err := parseOneDatabase(fs, args)
	if err != nil {
		return err
	}
	switch {
	case c.poll < 0:
		return usagef("--poll must be 0 or more, got %s", c.poll)
	case c.check != string(servepkg.CheckSample) && c.check != string(servepkg.CheckFull):
		return usagef("--check must be sample or full, got %q", c.check)
	case c.grace <= 0:
		return usagef("--shutdown-timeout must be positive, got %s", c.grace)
	case c.reloadTimeout <= 0:
		return usagef("--reload-timeout must be positive, got %s", c.reloadTimeout)
	case c.maxInFlight < 1 || c.maxBatches < 1:
		return usagef("--max-in-flight and --max-batches must be at least 1, got %d and %d", c.maxInFlight, c.maxBatches)
	case c.queueWait < 0:
		return usagef("--queue-wait must be 0 or more, got %s", c.queueWait)
	case c.readHeaderTimeout <= 0 || c.readTimeout <= 0 || c.writeTimeout <= 0 || c.idleTimeout <= 0:
		return usagef("--read-header-timeout, --read-timeout, --write-timeout and --idle-timeout must be positive")
	case c.logFormat != "text" && c.logFormat != "json":
		return usagef("--log-format must be text or json, got %q", c.logFormat)
	}
	if _, _, err := net.SplitHostPort(c.addr); err != nil {
		return usagef("--addr %q: %v", c.addr, err)
	}
	return serve(path, c, stdout, stderr)
}

func serve(path string, c serveConfig, stdout, stderr io.Writer) error {
	if os.Getenv("GOGC") == "" {
		// main raises GOGC for the batch jobs; a long-running server that
		// swaps in a new 32 MiB lookup index per reload keeps its memory
		// closer to the live heap with the default.
		debug.SetGCPercent(100)
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if c.logFormat == "json" {
		h = slog.NewJSONHandler(stderr, nil)
	}
	logger := slog.New(h).With("cmd", "serve")

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	queueWait := c.queueWait
	if queueWait == 0 {
		queueWait = -1 // serve.Options: negative is no wait, zero the default
	}
	opts := servepkg.Options{
		Path: path, Check: servepkg.Check(c.check), ReadIntoMemory: !c.useMmap, ReloadTimeout: c.reloadTimeout,
		MaxInFlight: c.maxInFlight, MaxBatches: c.maxBatches, QueueWait: queueWait,
		DisableGzip: !c.gzip, BatchItemErrors: c.perItem, ExposePaths: c.exposePaths, AccessLog: c.accessLog,
		Logger: logger, Registerer: prometheus.NewRegistry(), RuntimeMetrics: true,
	}
	// The first load runs on its own goroutine, so that a blocked file
	// system or a signal cannot keep the process from exiting.
	type made struct {
		s   *servepkg.Server
		err error
	}
	loaded := make(chan made, 1)
	go func() { s, err := servepkg.New(opts); loaded <- made{s, err} }()
	timeout := time.NewTimer(c.reloadTimeout)
	defer timeout.Stop()
	var ls *servepkg.Server
wait:
	for {
		select {
		case m := <-loaded:
			if m.err != nil {
				return m.err
			}
			ls = m.s
			break wait
		case <-timeout.C:
			return fmt.Errorf("%s: loading took more than --reload-timeout %s (a blocked file system?)", path, c.reloadTimeout)
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				return fmt.Errorf("%s while loading %s", sig, path)
			}
		}
	}
	defer ls.Close()

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	srv := &http.Server{
		Handler:           ls,
		ReadHeaderTimeout: c.readHeaderTimeout,
		ReadTimeout:       c.readTimeout,
		WriteTimeout:      c.writeTimeout,
		IdleTimeout:       c.idleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(h, slog.LevelWarn),
	}

	// The watcher reloads on a changed stat, on SIGHUP and on a fault,
	// one load at a time, until the context ends; it never waits on I/O.
	ctx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go func() { _ = ls.Watch(ctx, c.poll) }()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("listening on "+ln.Addr().String(), "addr", ln.Addr().String())
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())

	for {
		select {
		case err := <-served:
			return fmt.Errorf("serving: %w", err)
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				ls.RequestReload("SIGHUP")
				continue
			}
			stopWatch() // no reload from here on
			// Whatever blocks from here on (a handler stuck in a faulting
			// read, a hung file system), the process ends.
			time.AfterFunc(c.grace+5*time.Second, func() {
				logger.Error("still running 5s after --shutdown-timeout: exiting now")
				os.Exit(1)
			})
			return shutdownServer(srv, sigs, c.grace, sig, logger)
		}
	}
}

// shutdownServer stops srv gracefully: no new connections, requests in flight
// finish within grace. A second SIGTERM/SIGINT cuts the wait short.
func shutdownServer(srv *http.Server, sigs <-chan os.Signal, grace time.Duration, sig os.Signal, logger *slog.Logger) error {
	logger.Info("shutting down; finishing requests in flight", "signal", sig.String(), "grace", grace.String())
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigs:
				if s != syscall.SIGHUP {
					logger.Warn("signal again: closing connections now", "signal", s.String())
					cancel()
					return
				}
			}
		}
	}()
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("requests still running after --shutdown-timeout %s; connections closed", grace)
		}
		return fmt.Errorf("requests still running at the second signal; connections closed")
	}
	logger.Info("shut down cleanly")
	return nil
}
