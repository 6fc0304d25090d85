package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipatlas/ipatlas/reader"
	"github.com/prometheus/client_golang/prometheus"
)

// Server is the lookup service: an http.Handler answering the endpoints
// of the package documentation from the current generation of one
// database. Make it with New; all its methods are safe for concurrent
// use.
type Server struct {
	opts     Options
	name     string  // what the endpoints call the database
	holder   *holder // the current generation
	loader   *loader // nil with Options.Handle
	counters counters

	registerer prometheus.Registerer
	registered []prometheus.Collector // unregistered by Close
	gatherer   prometheus.Gatherer    // what /metrics serves; nil: 404

	// Admission: a lookup request takes a slot of inFlight, a batch one of
	// batches first; INVARIANT: a slot taken is given back when its
	// request ends.
	inFlight chan struct{}
	batches  chan struct{}

	bufs    sync.Pool // *[]byte for response bodies
	gzips   sync.Pool // *gzip.Writer
	writers sync.Pool // *statusWriter

	// Header values set on every answer, shared by all of them (net/http
	// never writes into a value slice; an Add appends to a copy).
	ctJSON, ctText, varyGzip []string
	lengths                  [lengthCacheSize]atomic.Pointer[[]string] // Content-Length values by length, made on first use

	wake     chan struct{}      // a fault asks the watcher for a reload
	reqs     chan reloadRequest // Reload and RequestReload, to the watcher
	watchMu  sync.Mutex
	watching bool // under watchMu: Watch runs and takes reqs
}

// New returns the Server of opts. With Options.Path it opens and checks
// the file first (which may take as long as the file system does; call it
// on a goroutine of its own to bound the wait) and returns the error of a
// file that does not load, a *LoadError. With Options.Handle it serves
// whatever Reader the Handle holds at each request (none: 503).
func New(opts Options) (*Server, error) {
	if (opts.Path == "") == (opts.Handle == nil) {
		return nil, errors.New("serve: set exactly one of Options.Path and Options.Handle")
	}
	if opts.Check != "" && opts.Check != CheckSample && opts.Check != CheckFull {
		return nil, fmt.Errorf("serve: Options.Check is %q; want %q or %q", opts.Check, CheckSample, CheckFull)
	}
	o := opts.withDefaults()
	s := &Server{opts: o, name: o.Name,
		inFlight: make(chan struct{}, o.MaxInFlight), batches: make(chan struct{}, o.MaxBatches),
		ctJSON: []string{"application/json"}, ctText: []string{"text/plain; version=0.0.4; charset=utf-8"},
		varyGzip: []string{"Accept-Encoding"},
		wake:     make(chan struct{}, 1), reqs: make(chan reloadRequest, 64)}
	switch {
	case s.name != "":
	case o.Path == "":
		s.name = "database"
	case o.ExposePaths:
		s.name = o.Path
	default:
		s.name = filepath.Base(o.Path)
	}
	s.holder = &holder{handle: o.Handle}
	if o.Path != "" {
		s.holder.handle = reader.NewHandle(nil)
		s.loader = &loader{path: o.Path, check: o.Check, mmap: !o.ReadIntoMemory, holder: s.holder,
			metrics: &s.counters, log: o.Logger, loadSem: make(chan struct{}, 1)}
		start := time.Now()
		g, err := s.loader.initial()
		if err != nil {
			return nil, err
		}
		m := g.r.Metadata
		o.Logger.Info("loaded", "file", o.Path, "database_type", m.DatabaseType,
			"built", m.BuildTime().UTC().Format(time.RFC3339), "nodes", m.NodeCount,
			"ip_version", m.IPVersion, "check", string(o.Check), "took", time.Since(start).Round(time.Millisecond).String())
	}

	s.registerer, s.gatherer = o.Registerer, o.Gatherer
	if s.registerer == nil {
		reg := prometheus.NewRegistry()
		s.registerer = reg
	}
	if s.gatherer == nil {
		s.gatherer, _ = s.registerer.(prometheus.Gatherer)
	}
	if err := s.register(newCollector(s)); err != nil {
		s.Close()
		return nil, fmt.Errorf("serve: registering the metrics: %w", err)
	}
	if o.RuntimeMetrics {
		for _, c := range runtimeCollectors() {
			if err := s.register(c); err != nil {
				s.Close()
				return nil, fmt.Errorf("serve: registering the runtime metrics: %w", err)
			}
		}
	}
	return s, nil
}

// register registers c and remembers it for Close.
func (s *Server) register(c prometheus.Collector) error {
	if err := s.registerer.Register(c); err != nil {
		return err
	}
	s.registered = append(s.registered, c)
	return nil
}

// Close releases the current generation (an owned file is unmapped when
// its last request ends), discards loads still running and unregisters
// the Server's metrics. Requests after Close answer 503. Close does not
// stop Watch: cancel its context.
func (s *Server) Close() error {
	if s.loader != nil {
		s.loader.closing.Store(true)
	}
	s.holder.shutdown(s.loader != nil)
	for _, c := range s.registered {
		s.registerer.Unregister(c)
	}
	s.registered = nil
	return nil
}

var errNoPath = errors.New("serve: no Options.Path to reload; with Options.Handle, reload the Handle")

// Reload loads the file again now, whether or not it changed, checks it
// and swaps it in; the old generation keeps answering the requests that
// hold it. It returns nil once the new version serves, else why it was
// refused (a *LoadError; the old version keeps serving). With Watch
// running, the load is the watcher's, one at a time with the others; if
// ctx ends first, Reload returns its error and the load goes on.
func (s *Server) Reload(ctx context.Context) error {
	if s.loader == nil {
		return errNoPath
	}
	reply := make(chan error, 1)
	if !s.enqueue(reloadRequest{why: "Reload", reply: reply}) {
		s.loader.requestLoad("Reload", reply)
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RequestReload asks for a reload (of the file as it is, changed or not)
// and returns at once; why is logged with it (ipatlas serve says SIGHUP).
// Requests made while a load runs are served by one more load after it.
// Without Watch running, the load runs on a goroutine of its own.
func (s *Server) RequestReload(why string) {
	if s.loader == nil {
		return
	}
	if !s.enqueue(reloadRequest{why: why}) {
		s.loader.requestLoad(why, nil)
	}
}

// enqueue hands req to a running watcher; false if none runs (or too
// many requests wait).
func (s *Server) enqueue(req reloadRequest) bool {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if !s.watching {
		return false
	}
	select {
	case s.reqs <- req:
		return true
	default:
		return false
	}
}

// Watch reloads the file until ctx is done: when its inode, size or mtime
// changes (looked at every poll; 0: never), on Reload and RequestReload,
// and when a request faults on the mapped file. A new version is opened
// and checked while the old one serves, then swapped in; one that fails
// is logged and counted and the old one keeps serving (health degraded).
// A load that takes longer than Options.ReloadTimeout (a hung mount) is
// reported as failed and left to finish on its own; no other starts
// meanwhile, and the end of ctx does not wait for it. Loads run one at a
// time. Watch returns ctx's error; with Options.Handle, or when a Watch
// already runs, it returns an error at once.
func (s *Server) Watch(ctx context.Context, poll time.Duration) error {
	if s.loader == nil {
		return errNoPath
	}
	s.watchMu.Lock()
	if s.watching {
		s.watchMu.Unlock()
		return errors.New("serve: Watch is already running")
	}
	s.watching = true
	s.watchMu.Unlock()
	defer func() {
		s.watchMu.Lock()
		defer s.watchMu.Unlock()
		s.watching = false
		for {
			select {
			case req := <-s.reqs:
				if req.reply != nil {
					req.reply <- errors.New("serve: Watch stopped before the reload ran")
				}
			default:
				return
			}
		}
	}()
	s.loader.watch(ctx, poll, s.opts.ReloadTimeout, s.reqs, s.wake)
	return ctx.Err()
}

// ServeHTTP routes a request to its endpoint; each request is counted
// and timed under it. Paths are matched as they are, so that the Server
// can be mounted under a prefix with http.StripPrefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/v1/lookup":
		s.instrument(epBatch, w, r)
	case strings.HasPrefix(p, lookupPrefix):
		s.instrument(epLookup, w, r)
	case p == "/healthz":
		s.instrument(epHealthz, w, r)
	case p == "/readyz":
		s.instrument(epReadyz, w, r)
	case p == "/metrics":
		s.instrument(epMetrics, w, r)
	default:
		s.instrument(epOther, w, r)
	}
}

const lookupPrefix = "/v1/lookup/"

// statusWriter remembers the status code and the bytes a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}
