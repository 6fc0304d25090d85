package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "FILE.mmdb [--addr HOST:PORT] [flags]",
		"Serves lookups in FILE.mmdb (any MaxMind DB file) over HTTP:\n\n"+
			"  GET  /v1/lookup/{ip}   {\"ip\":..., \"network\":..., \"found\":bool, \"record\":{...}}\n"+
			"                         (record absent when found is false)\n"+
			"  POST /v1/lookup        body: a JSON array of up to 1000 addresses; answers: an array\n"+
			"                         of the same objects in the same order, all from one version of the file\n"+
			"  GET  /healthz          what is served, reload count and the last reload error\n"+
			"  GET  /metrics          Prometheus text format: requests by endpoint and status,\n"+
			"                         latency histogram, database build epoch, reloads, reload failures\n\n"+
			"A bad address, malformed JSON or a batch over 1000 gets 400 with {\"error\": \"...\"}; a wrong\n"+
			"method 405. The file is reloaded when its inode, size or mtime changes (checked every --poll)\n"+
			"and on SIGHUP: the new file is opened and checked (--check) while the old one keeps serving,\n"+
			"then swapped in atomically; the old one is closed when its last request finishes. A file\n"+
			"that fails is logged and the old one keeps serving. Replace the file by renaming a new\n"+
			"one over it (as build and compile do); overwriting a memory-mapped file in place can\n"+
			"crash the process (use --mmap=false if something must). SIGTERM or SIGINT stops accepting\n"+
			"connections, finishes the requests in flight (up to --shutdown-timeout) and exits 0.\n"+
			"The bound address is logged as \"listening on HOST:PORT\" (use --addr 127.0.0.1:0 for any free port).", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "`HOST:PORT` to listen on")
	poll := fs.Duration("poll", time.Second, "how often to check the file for a new version; 0: only on SIGHUP")
	check := fs.String("check", checkModeSample, "what a new file must pass before it is served: sample (open, look up 8,192 spread-out\n"+
		"addresses and walk the first networks of 49 regions, decoding every record reached: about\n"+
		"0.1 s on GeoLite2-City) or full (Reader.Verify, every node and record: 13-16 s on\n"+
		"GeoLite2-City on a shared 2-core machine; old answers are served meanwhile)")
	useMmap := fs.Bool("mmap", true, "memory-map the file; false reads it into memory (no crash if the file is overwritten in place)")
	grace := fs.Duration("shutdown-timeout", 10*time.Second, "how long to wait for requests in flight on SIGTERM/SIGINT")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) == 0:
		return usagef("no FILE.mmdb")
	case len(rest) > 1:
		return usagef("serve takes one FILE.mmdb, got %d arguments", len(rest))
	case *poll < 0:
		return usagef("--poll must be 0 or more, got %s", *poll)
	case *check != checkModeSample && *check != checkModeFull:
		return usagef("--check must be sample or full, got %q", *check)
	case *grace <= 0:
		return usagef("--shutdown-timeout must be positive, got %s", *grace)
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return usagef("--addr %q: %v", *addr, err)
	}

	if os.Getenv("GOGC") == "" {
		// main raises GOGC for the batch jobs; a long-running server that
		// swaps in a new 32 MiB lookup index per reload keeps its memory
		// closer to the live heap with the default.
		debug.SetGCPercent(100)
	}
	logger := log.New(stderr, "ipatlas serve: ", log.LstdFlags|log.Lmsgprefix)
	metrics := &serveMetrics{}
	holder := &dbHolder{}
	ld := &dbLoader{path: rest[0], check: *check, mmap: *useMmap, holder: holder, metrics: metrics, log: logger}
	start := time.Now()
	if err := ld.initial(); err != nil {
		return err
	}
	defer holder.shutdown()
	cur := holder.acquire()
	m := cur.r.Metadata
	logger.Printf("loaded %s: %s, built %s, %d nodes, IPv%d; open+check (%s) took %s", ld.path, m.DatabaseType,
		time.Unix(int64(m.BuildEpoch), 0).UTC().Format(time.RFC3339), m.NodeCount, m.IPVersion, *check,
		time.Since(start).Round(time.Millisecond))
	cur.release()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	srv := &http.Server{
		Handler:           (&lookupServer{holder: holder, loader: ld, metrics: metrics}).handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          logger,
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	// The watcher reloads on a changed stat and on SIGHUP, one load at a
	// time, until stop is closed.
	hup := make(chan struct{}, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var tick <-chan time.Time
		if *poll > 0 {
			t := time.NewTicker(*poll)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-stop:
				return
			case <-tick:
				ld.reload(false, "file changed")
			case <-hup:
				ld.reload(true, "SIGHUP")
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Printf("listening on %s", ln.Addr())
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())

	for {
		select {
		case err := <-served:
			return fmt.Errorf("serving: %w", err)
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				select {
				case hup <- struct{}{}:
				default: // a reload is already pending
				}
				continue
			}
			ld.closing.Store(true) // no reload from here on
			return shutdownServer(srv, sigs, *grace, sig, logger)
		}
	}
}

// shutdownServer stops srv gracefully: no new connections, requests in flight
// finish within grace. A second SIGTERM/SIGINT cuts the wait short.
func shutdownServer(srv *http.Server, sigs <-chan os.Signal, grace time.Duration, sig os.Signal, logger *log.Logger) error {
	logger.Printf("%s: shutting down; finishing requests in flight (up to %s)", sig, grace)
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-sigs:
				if s != syscall.SIGHUP {
					logger.Printf("%s again: closing connections now", s)
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
	logger.Printf("shut down cleanly")
	return nil
}
