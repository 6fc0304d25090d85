package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipatlas/ipatlas/reader"
)

// Short classes of what is wrong with the file on disk or the served
// generation: what /healthz, /readyz and /metrics show unless
// Options.ExposePaths asks for the full error.
const (
	problemMissing        = "file missing"
	problemUnreadable     = "file unreadable"
	problemNotRegular     = "not a regular file"
	problemInvalid        = "not a valid MaxMind DB file"
	problemCheckFailed    = "file failed the check"
	problemChanging       = "file changed while loading"
	problemTimedOut       = "reload timed out"
	problemChangedInPlace = "served file changed in place"
	problemFault          = "memory fault reading the served file"
	problemNoDatabase     = "no database loaded"
)

// LoadError is a version of the file that could not be loaded. Class is a
// short description of the problem, the same for every file and free of
// paths ("file missing", "not a valid MaxMind DB file", "file failed the
// check", ...); Err is the full error, with the path.
type LoadError struct {
	Class   string
	Err     error
	info    os.FileInfo // when set: the version tried, not tried again until it changes
	renamed bool        // another file was renamed over the path while this one loaded
}

func (e *LoadError) Error() string { return e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// loadProblem is the state of the file on disk when it is not the one
// served: set after a failed load, cleared by a successful one.
type loadProblem struct {
	class  string // a problem* string
	detail string // the full error, with paths
	since  time.Time
}

// loader opens the served file, checks it and installs it.
//
// Concurrency: loads run on goroutines of their own (attempt), which do
// every piece of file I/O, so that a load blocked in the kernel (a hung
// mount) blocks nothing else; loadSem lets one run at a time. Results
// are applied under applyMu, which is never held across I/O. What
// requests read (problem, counters) is atomic.
type loader struct {
	path    string
	check   Check
	mmap    bool // false: read the file into memory
	holder  *holder
	metrics *counters
	log     *slog.Logger

	openHook func()         // tests: called at the start of every open (to make one block)
	attempts sync.WaitGroup // attempt goroutines still running (tests wait for them)
	loadSem  chan struct{}  // one attempt at a time

	queueMu sync.Mutex
	queued  *queuedLoad // under queueMu: the load without a watcher waiting for loadSem, if any

	applyMu     sync.Mutex
	lastSeen    os.FileInfo // under applyMu: stat of the last file tried, good or bad
	statFailing bool        // under applyMu: the last stat failed (logged once)

	closing atomic.Bool                 // shut down: a load that finishes now is discarded
	problem atomic.Pointer[loadProblem] // nil while the file on disk is the one served
}

// open opens and checks the file at l.path and returns a new generation
// holding one reference (for the holder). It refuses a file whose stat
// changes while it is loaded (a copy still being written). A file
// replaced by a rename meanwhile is whole: it is loaded again at once,
// up to 3 times.
func (l *loader) open() (*generation, error) {
	for i := 0; ; i++ {
		g, err := l.openOnce()
		var le *LoadError
		if i < 3 && errors.As(err, &le) && le.renamed {
			continue
		}
		return g, err
	}
}

func (l *loader) openOnce() (g *generation, err error) {
	if l.openHook != nil {
		l.openHook()
	}
	info, err := os.Stat(l.path)
	if err != nil {
		return nil, statError(err)
	}
	if !info.Mode().IsRegular() {
		return nil, &LoadError{Class: problemNotRegular, Err: fmt.Errorf("%s: %w", l.path, reader.ErrNotRegular), info: info}
	}
	var file *os.File
	if l.mmap {
		// Kept open to watch the version mapped (changedInPlace); its
		// stat is the one the after-load comparison below holds the path
		// to, so the mapped file and this one are the same version.
		if file, err = reader.OpenRegular(l.path); err == nil {
			info, err = file.Stat()
		}
		if err != nil {
			if file != nil {
				_ = file.Close()
			}
			return nil, &LoadError{Class: problemUnreadable, Err: fmt.Errorf("%s: %w", l.path, err), info: info}
		}
	}
	var r *reader.Reader
	class := problemInvalid
	// A file truncated or rewritten while it is read faults; Guard turns
	// that into an error like any other bad file.
	err = reader.Guard(func() error {
		var err error
		if l.mmap {
			r, err = reader.Open(l.path)
		} else {
			r, err = openCopy(l.path)
		}
		if err != nil {
			if errors.Is(err, reader.ErrNotRegular) {
				class = problemNotRegular
			}
			return err
		}
		class = problemCheckFailed
		if l.check == CheckFull {
			return r.Verify()
		}
		return sampleCheck(r)
	})
	var sum uint32
	renamed := false
	if err == nil && file != nil {
		// What a touch is told apart from a write by (changedInPlace).
		sum, err = fileCRC(file)
	}
	if err == nil {
		// The version checked must be the version served: a file still
		// being copied in place has moved on since the stat above.
		after, serr := os.Stat(l.path)
		if serr != nil || !sameFileVersion(info, after) {
			class, err = problemChanging, errors.New("the file changed while it was loaded; trying again when it settles")
			if serr == nil {
				renamed = !os.SameFile(info, after)
				info = after
			}
		}
	}
	if err != nil {
		if r != nil {
			_ = r.Close()
		}
		if file != nil {
			_ = file.Close()
		}
		var fe *reader.FaultError
		if errors.As(err, &fe) {
			class = problemChanging
		}
		return nil, &LoadError{class, fmt.Errorf("%s: %w", l.path, err), info, renamed}
	}
	g = &generation{r: r, owned: true, records: new(recordCache), info: info, loaded: time.Now(), mapped: l.mmap, file: file, sum: sum}
	if file != nil {
		g.stat = newStatFile(file)
	}
	g.mtime.Store(info.ModTime().UnixNano())
	g.refs.Store(1)
	return g, nil
}

// Where the metadata is: its marker in the last maxMetadataSize bytes
// (the spec's bound; reader.OpenBytes looks there too).
var metadataMarker = []byte("\xAB\xCD\xEFMaxMind.com")

const maxMetadataSize = 128 << 10

// openCopy reads the regular file at path into memory (a private copy
// that nothing done to the file can change) and opens it.
//
// Before it allocates the copy it reads the file's tail: a file with no
// metadata marker there is refused without reading the rest (a garbage
// file of gigabytes, a sparse one, was read whole first), and one larger
// than the machine's RAM and swap is refused as well: allocating it was
// a fatal "out of memory" that ended the process, reloads included
// (TestReadIntoMemoryHugeFile).
func openCopy(path string) (*reader.Reader, error) {
	f, err := reader.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read-only
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size == 0 {
		return nil, errors.New("file is empty")
	}
	tail := make([]byte, min(size, maxMetadataSize))
	if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	if !bytes.Contains(tail, metadataMarker) {
		return nil, errors.New("invalid MaxMind DB file: no metadata marker in the last 128 KiB")
	}
	if mem := memoryBytes(); mem > 0 && uint64(size) > mem {
		return nil, fmt.Errorf("the file is %d bytes, more than the machine's memory (%d bytes) to read it into (Options.ReadIntoMemory)", size, mem)
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("the file is %d bytes, too large to read into memory", size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	return reader.OpenBytes(b)
}

// statError classifies a failed stat of the served path.
func statError(err error) *LoadError {
	class := problemUnreadable
	if errors.Is(err, fs.ErrNotExist) {
		class = problemMissing
	}
	return &LoadError{Class: class, Err: err}
}

// initial loads the file when the Server is made.
func (l *loader) initial() (*generation, error) {
	g, err := l.open()
	if err != nil {
		return nil, err
	}
	l.lastSeen = g.info
	l.holder.install(g)
	return g, nil
}

// attemptResult is what one load attempt found.
type attemptResult struct {
	why       string
	start     time.Time
	unchanged bool        // the stat matches the last file tried: nothing loaded
	g         *generation // the new generation, or nil
	err       error
}

// attempt looks at the file and loads it if its stat (inode, size, mtime)
// differs from last, or always when force is set. It does all the file
// I/O of a reload and may block as long as the file system does; it
// touches no state but the served generation's damage. When the served
// generation maps the file and the file has changed in place (same inode,
// another size, or a new mtime and other content: changedInPlace), that
// generation is marked damaged at once: its answers can no longer be
// trusted. A touch only reloads.
func (l *loader) attempt(force bool, why string, last os.FileInfo) attemptResult {
	l.loadSem <- struct{}{}
	defer func() { <-l.loadSem }()
	return l.attemptHolding(force, why, last)
}

// attemptHolding is attempt for a caller that holds loadSem.
func (l *loader) attemptHolding(force bool, why string, last os.FileInfo) attemptResult {
	res := attemptResult{why: why, start: time.Now()}
	info, err := os.Stat(l.path)
	if err != nil {
		res.err = statError(err)
		return res
	}
	if cur := l.holder.acquire(); cur != nil {
		if cur.mapped && os.SameFile(info, cur.info) && cur.damage() == "" && cur.changedInPlace() &&
			cur.damaged.CompareAndSwap(damageNone, damageChangedInPlace) {
			l.metrics.damaged.Add(1)
			l.log.Error("the served file was changed in place (same inode, new size or content): answering 503 until a whole file loads; replace files by renaming a new one over them",
				"file", l.path, "size", info.Size(), "mtime", info.ModTime())
		}
		cur.release()
	}
	if !force && sameFileVersion(info, last) {
		res.unchanged = true
		return res
	}
	res.g, res.err = l.open()
	if res.err == nil && l.closing.Load() {
		res.g.release()
		res.g, res.err = nil, errors.New("shutting down: discarded the file loaded meanwhile")
	}
	return res
}

// apply records the result of an attempt and installs its generation. It
// returns nil when a new generation was installed or the file was
// unchanged, else the load's error.
func (l *loader) apply(res attemptResult) error {
	l.applyMu.Lock()
	defer l.applyMu.Unlock()
	if res.err != nil && l.closing.Load() {
		// After Close: nothing is served, nothing to report (a load
		// discarded at shutdown was logged as an unreadable file).
		return res.err
	}
	if res.err != nil {
		var le *LoadError
		if !errors.As(res.err, &le) {
			le = &LoadError{Class: problemUnreadable, Err: res.err}
		}
		if le.info == nil {
			// No file to remember (missing, unreadable): say so once, and
			// load whatever appears next, even the same file again.
			l.lastSeen = nil
			if !l.statFailing {
				l.statFailing = true
				l.setProblem(le)
				l.log.Warn("cannot read the file; still serving the loaded one", "why", res.why, "problem", le.Class, "err", res.err)
			}
			return le
		}
		l.statFailing = false
		l.lastSeen = le.info
		if le.Class == problemChanging {
			// Not a version to skip: load again at the next look,
			// whatever its stat, until it settles.
			l.lastSeen = nil
		}
		l.setProblem(le)
		l.metrics.reloadFailures.Add(1)
		l.log.Warn("rejected new file; still serving the loaded one", "why", res.why, "problem", le.Class, "err", res.err)
		return le
	}
	l.statFailing = false
	if res.unchanged {
		return nil
	}
	g := res.g
	l.lastSeen = g.info
	l.problem.Store(nil)
	// Count the reload before installing, so that a request answered
	// from the new file never sees a reload count that lacks it.
	l.metrics.reloads.Add(1)
	if !l.holder.install(g) {
		return errors.New("shut down: discarded the file loaded meanwhile")
	}
	m := g.r.Metadata
	l.log.Info("reloaded", "file", l.path, "why", res.why, "database_type", m.DatabaseType,
		"built", m.BuildTime().UTC().Format(time.RFC3339), "nodes", m.NodeCount,
		"took", time.Since(res.start).Round(time.Millisecond).String())
	return nil
}

func (l *loader) setProblem(le *LoadError) {
	l.problem.Store(&loadProblem{class: le.Class, detail: le.Error(), since: time.Now()})
}

// last returns the stat of the last file tried.
func (l *loader) last() os.FileInfo {
	l.applyMu.Lock()
	defer l.applyMu.Unlock()
	return l.lastSeen
}

// queuedLoad is a forced load asked for without a watcher, waiting for
// its turn (loadSem); the requests made meanwhile join it.
type queuedLoad struct {
	why     string
	replies []chan<- error // buffered by the requesters
}

// requestLoad runs a forced load on a goroutine of its own and sends its
// result to reply (if not nil): what Reload and RequestReload do without
// a watcher. A request made while another waits for its turn joins that
// one, which loads the file as it is when it starts: 2,000 RequestReload
// calls during a load made 2,000 goroutines and 2,000 loads, one after
// the other (TestReloadRequestsCoalesce).
func (l *loader) requestLoad(why string, reply chan<- error) {
	l.queueMu.Lock()
	if q := l.queued; q != nil {
		if reply != nil {
			q.replies = append(q.replies, reply)
		}
		l.queueMu.Unlock()
		return
	}
	q := &queuedLoad{why: why}
	if reply != nil {
		q.replies = append(q.replies, reply)
	}
	l.queued = q
	l.queueMu.Unlock()
	l.attempts.Add(1)
	go func() {
		defer l.attempts.Done()
		l.loadSem <- struct{}{}
		l.queueMu.Lock()
		l.queued = nil // from here on, requests queue a load of their own
		replies := q.replies
		l.queueMu.Unlock()
		// Applied before the next load starts, so that results are
		// installed in the order the loads ran.
		err := l.apply(l.attemptHolding(true, q.why, nil))
		<-l.loadSem
		for _, r := range replies {
			r <- err
		}
	}()
}

// reload runs one attempt and applies it, in the calling goroutine.
func (l *loader) reload(force bool, why string) error {
	return l.apply(l.attempt(force, why, l.last()))
}

// reloadRequest asks the watcher for a forced reload; reply, if not nil,
// receives the result.
type reloadRequest struct {
	why   string
	reply chan<- error
}

// watch reloads on a changed stat (every poll), on a request and on wake
// (a request saw a fault), one attempt at a time, until ctx is done. An
// attempt runs on its own goroutine: one that takes longer than timeout
// is reported (degraded health, a reload failure, an error to the
// requests waiting for it) and left to finish on its own; no new attempt
// starts meanwhile, and the end of ctx does not wait for it (what it
// loads then is released, never installed).
func (l *loader) watch(ctx context.Context, poll, timeout time.Duration, reqs <-chan reloadRequest, wake <-chan struct{}) {
	var tick <-chan time.Time
	if poll > 0 {
		t := time.NewTicker(poll)
		defer t.Stop()
		tick = t.C
	}
	// Checks for an attempt that overran even when polling is off.
	overrun := time.NewTicker(max(timeout/4, 10*time.Millisecond))
	defer overrun.Stop()

	results := make(chan attemptResult) // unbuffered: an attempt whose watcher is gone releases what it loaded
	var (
		running  bool
		started  time.Time
		reported bool           // the running attempt's overrun was reported
		overran  error          // its error, once reported
		pending  string         // a forced reload asked for while one ran
		waiting  []chan<- error // replies for the running attempt
		queued   []chan<- error // replies for the pending one
	)
	reply := func(rs []chan<- error, err error) {
		for _, r := range rs {
			r <- err // buffered by the requester
		}
	}
	defer func() {
		err := errors.New("the watcher stopped before the reload finished")
		reply(waiting, err)
		reply(queued, err)
	}()
	begin := func(force bool, why string, r chan<- error) {
		if running {
			if force {
				pending = why
				switch {
				case r == nil:
				case overran != nil:
					r <- overran // the running load is stuck: say so now
				default:
					queued = append(queued, r)
				}
			}
			return
		}
		running, started, reported = true, time.Now(), false
		overran = nil
		if r != nil {
			waiting = append(waiting, r)
		}
		last := l.last()
		l.attempts.Add(1)
		go func() {
			defer l.attempts.Done()
			res := l.attempt(force, why, last)
			select {
			case results <- res:
			case <-ctx.Done():
				if res.g != nil {
					res.g.release()
				}
			}
		}()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			begin(false, "file changed", nil)
		case req := <-reqs:
			begin(true, req.why, req.reply)
		case <-wake:
			begin(true, "memory fault", nil)
		case <-overrun.C:
			if running && !reported && time.Since(started) > timeout {
				reported = true
				le := &LoadError{Class: problemTimedOut,
					Err: fmt.Errorf("%s: loading has taken more than the reload timeout %s (a blocked file system?); still serving the loaded one", l.path, timeout)}
				l.setProblem(le)
				l.metrics.reloadFailures.Add(1)
				l.log.Error("reload timed out; no new attempt until it returns", "file", l.path, "timeout", timeout.String())
				overran = le
				reply(waiting, le)
				reply(queued, le)
				waiting, queued = nil, nil
			}
		case res := <-results:
			running = false
			err := l.apply(res)
			reply(waiting, err)
			waiting = nil
			if pending != "" {
				why, rs := pending, queued
				pending, queued = "", nil
				begin(true, why, nil)
				waiting = rs
			}
		}
	}
}

// sameFileVersion reports whether a and b describe the same version of a file:
// same inode and device, size and modification time.
func sameFileVersion(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) &&
		a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// sampleProbes is how many addresses sampleCheck looks up per family,
// and sampleWalk how many networks it decodes from the start of each of
// its sampleRegions.
const (
	sampleProbes = 4096
	sampleWalk   = 64
)

// sampleRegions are where sampleCheck walks networks: every /4 of IPv4
// and, in IPv6 trees, every /7 of 2000::/3 and the start of ::/0.
func sampleRegions(ipv6 bool) []netip.Prefix {
	var ps []netip.Prefix
	for i := range 16 {
		ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(i << 4)}), 4))
	}
	if ipv6 {
		for i := range 16 {
			ps = append(ps, netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20 | byte(i<<1)}), 7))
		}
		ps = append(ps, netip.PrefixFrom(netip.IPv6Unspecified(), 0))
	}
	return ps
}

// sampleCheck is the cheap check of a new file (CheckSample). Open has
// parsed the metadata; this looks up sampleProbes spread-out IPv4
// addresses (one in every /12) and as many IPv6 addresses, walks the
// first sampleWalk networks of each sample region, and decodes every
// record these reach. It catches a truncated, foreign or scrambled file
// in milliseconds, where Verify reads every node and record (seconds on
// a 60 MB file). A file damaged only in a few deep nodes or records can
// pass it; CheckFull runs Verify instead.
func sampleCheck(r *reader.Reader) error {
	m := r.Metadata
	if m.BinaryFormatMajorVersion != 2 {
		return fmt.Errorf("binary format version %d.%d, want 2.x", m.BinaryFormatMajorVersion, m.BinaryFormatMinorVersion)
	}
	if m.NodeCount == 0 {
		return errors.New("search tree has no nodes")
	}
	seen := make(map[uintptr]bool)
	decode := func(res reader.Result) error {
		if !res.Found() || seen[res.Offset()] {
			return nil
		}
		seen[res.Offset()] = true
		var v any
		if err := res.Decode(&v); err != nil {
			return fmt.Errorf("decoding the record of %s (data offset %d): %w", res.Prefix(), res.Offset(), err)
		}
		return nil
	}
	probe := func(a netip.Addr) error {
		res := r.Lookup(a)
		if err := res.Err(); err != nil {
			return fmt.Errorf("looking up %s: %w", a, err)
		}
		return decode(res)
	}

	rng := rand.New(rand.NewPCG(1, 2)) // fixed: the same probes every time
	for i := range uint32(sampleProbes) {
		a := i<<20 | rng.Uint32()&(1<<20-1)
		if err := probe(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})); err != nil {
			return err
		}
	}
	if m.IPVersion == 6 {
		for i := range sampleProbes {
			var b [16]byte
			hi, lo := rng.Uint64(), rng.Uint64()
			if i%4 != 0 {
				hi = hi>>3 | 1<<61 // 2000::/3, where the data is
			}
			for j := range 8 {
				b[j], b[8+j] = byte(hi>>(56-8*j)), byte(lo>>(56-8*j))
			}
			if err := probe(netip.AddrFrom16(b)); err != nil {
				return err
			}
		}
	}
	for _, p := range sampleRegions(m.IPVersion == 6) {
		n := 0
		for res := range r.NetworksWithin(p) {
			if err := res.Err(); err != nil {
				return fmt.Errorf("walking the networks in %s: %w", p, err)
			}
			if err := decode(res); err != nil {
				return err
			}
			if n++; n == sampleWalk {
				break
			}
		}
	}
	return nil
}
