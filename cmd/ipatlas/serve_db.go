package main

import (
	"errors"
	"fmt"
	"hash/crc32"
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

// servedDB is one opened version of the served file: a generation.
//
// Lifetime: refs starts at 1, the reference of the holder while the
// generation is current; every request that uses it adds one for its
// duration. Replacing the generation drops the holder's reference; the
// last release closes the Reader (unmaps the file). Nothing can take a
// new reference once refs has reached 0 (acquire only increments a
// positive count), so a Reader is never unmapped under a running request
// and never used after Close.
type servedDB struct {
	r       *reader.Reader
	records *serveRecordCache // encoded records of this file by data offset
	info    os.FileInfo       // the path's stat taken before it was opened
	loaded  time.Time
	mapped  bool     // r maps the file (else it reads a private copy)
	file    *os.File // mapped: the file r maps, kept open to fstat it (changedInPlace)
	sum     uint32   // mapped: CRC-32C of the file's content when it was checked
	// mtime is the modification time accepted for this version: its
	// stat's, or a later one after a touch left the content as it was.
	mtime    atomic.Pointer[time.Time]
	verifyMu sync.Mutex   // one content check at a time (changedInPlace)
	damaged  atomic.Int32 // a damage* value: the mapped file changed in place or faulted
	refs     atomic.Int64 // INVARIANT: > 0 until closed; never rises from 0
	closed   func()       // called once after Close (counts open generations)
}

// Why a generation no longer answers: its mapped file was rewritten in
// place (seen by stat), or a read of it faulted (seen by a request).
const (
	damageNone int32 = iota
	damageChangedInPlace
	damageFault
)

// changedInPlace reports whether the file d maps has changed since it was
// loaded, from fstat of the open file (whatever is at the path now). A
// request that computed its answer from a mapped file and then finds it
// unchanged knows the answer came from the file that was checked: a write
// in place changes the mtime (and, with cp's truncation, the size) before
// any byte of the mapping changes. It costs one fstat (about a
// microsecond).
//
// Another size is a change. A new mtime with the same size may be a
// write without truncation or only a touch: the content is read again
// and compared with its CRC-32C at load (tens of milliseconds for a
// 60 MB file, once per new mtime; requests meanwhile wait); a touch
// changes nothing.
func (d *servedDB) changedInPlace() bool {
	if d.file == nil {
		return false
	}
	st, err := d.file.Stat()
	if err != nil || st.Size() != d.info.Size() {
		return true
	}
	if st.ModTime().Equal(*d.mtime.Load()) {
		return false
	}
	d.verifyMu.Lock()
	defer d.verifyMu.Unlock()
	if st.ModTime().Equal(*d.mtime.Load()) {
		return false // checked by a request that held the lock before this one
	}
	sum, err := fileCRC(d.file)
	if err != nil || sum != d.sum {
		return true
	}
	// The content is as loaded; keep the newest mtime seen (fstat again:
	// a write after the read above changes it and is checked next time).
	mt := st.ModTime()
	d.mtime.Store(&mt)
	return false
}

// fileCRC returns the CRC-32C (Castagnoli) of the content of f, read with
// pread (never through a mapping, so a truncation cannot fault it).
func fileCRC(f *os.File) (uint32, error) {
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, 1<<62), make([]byte, 1<<20)); err != nil {
		return 0, err
	}
	return h.Sum32(), nil
}

// damage returns what is wrong with d's file, "" when nothing is.
func (d *servedDB) damage() string {
	switch d.damaged.Load() {
	case damageChangedInPlace:
		return problemChangedInPlace
	case damageFault:
		return problemFault
	}
	return ""
}

// release drops one reference and closes the Reader on the last one.
func (d *servedDB) release() {
	switch n := d.refs.Add(-1); {
	case n == 0:
		// Close unmaps a mapped file; a fault is impossible here (munmap
		// reads nothing), and a private copy is left to the collector.
		_ = d.r.Close()
		if d.file != nil {
			_ = d.file.Close()
		}
		if d.closed != nil {
			d.closed()
		}
	case n < 0:
		panic("ipatlas serve: database generation released more often than acquired")
	}
}

// dbHolder holds the current generation. It does the job of reader.Handle
// (an atomic pointer swapped on reload) and adds reference counting, so
// that an old file is unmapped exactly when its last request finishes
// instead of whenever the garbage collector gets to it.
//
// All methods are safe for concurrent use.
type dbHolder struct {
	cur  atomic.Pointer[servedDB]
	open atomic.Int64 // generations opened and not yet closed
}

// acquire returns the current generation with a reference taken; the
// caller must call release on it when done.
func (h *dbHolder) acquire() *servedDB {
	for {
		d := h.cur.Load()
		n := d.refs.Load()
		// n == 0: d was replaced and its last user is closing it; the
		// holder already points at the new generation, so load again.
		if n > 0 && d.refs.CompareAndSwap(n, n+1) {
			return d
		}
	}
}

// tryAcquire is acquire that returns nil when no generation is held
// (before the first load, after shutdown).
func (h *dbHolder) tryAcquire() *servedDB {
	for {
		d := h.cur.Load()
		if d == nil {
			return nil
		}
		if n := d.refs.Load(); n > 0 && d.refs.CompareAndSwap(n, n+1) {
			return d
		}
	}
}

// install makes d the current generation (holding the reference d was
// made with) and releases the previous one, if any.
func (h *dbHolder) install(d *servedDB) {
	h.open.Add(1)
	d.closed = func() { h.open.Add(-1) }
	if old := h.cur.Swap(d); old != nil {
		old.release()
	}
}

// shutdown releases the current generation; no acquire may follow.
func (h *dbHolder) shutdown() {
	if old := h.cur.Swap(nil); old != nil {
		old.release()
	}
}

// Checks a file must pass before it is served.
const (
	checkModeSample = "sample" // open + look up and decode probe addresses
	checkModeFull   = "full"   // open + Reader.Verify, the full structural check
)

// Short classes of what is wrong with the file on disk or the served
// generation: what /healthz, /readyz and /metrics show unless
// --expose-paths asks for the full error.
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
)

// dbLoadError is a file that could not be loaded: class is one of the
// problem* strings; info, when set, identifies the version tried so that
// it is not tried again until it changes.
type dbLoadError struct {
	class string
	info  os.FileInfo
	err   error
}

func (e *dbLoadError) Error() string { return e.err.Error() }
func (e *dbLoadError) Unwrap() error { return e.err }

// loadProblem is the state of the file on disk when it is not the one
// served: set after a failed load, cleared by a successful one.
type loadProblem struct {
	class  string // a problem* string
	detail string // the full error, with paths
	since  time.Time
}

// dbLoader opens the served file, checks it and installs it.
//
// Concurrency: loads run one at a time on a goroutine of their own
// (attempt), which does every piece of file I/O, so that a load blocked
// in the kernel (a hung mount) blocks nothing else; the watcher goroutine
// alone owns lastSeen and applies results (apply). No lock is held across
// I/O. What requests read (problem, counters) is atomic.
type dbLoader struct {
	path    string
	check   string // checkModeSample or checkModeFull
	mmap    bool   // false: read the file into memory
	holder  *dbHolder
	metrics *serveMetrics
	log     *slog.Logger

	openHook func()         // tests: called at the start of every open (to make one block)
	attempts sync.WaitGroup // attempt goroutines of watch still running (tests wait for them)

	lastSeen    os.FileInfo // stat of the last file tried, good or bad (owned by the watcher)
	statFailing bool        // the last stat failed (logged once)

	closing atomic.Bool                 // shutting down: a load that finishes now is discarded
	problem atomic.Pointer[loadProblem] // nil while the file on disk is the one served
}

// open opens and checks the file at l.path and returns a new generation
// holding one reference (for the holder). It refuses a file whose stat
// changes while it is loaded (a copy still being written).
func (l *dbLoader) open() (d *servedDB, err error) {
	if l.openHook != nil {
		l.openHook()
	}
	info, err := os.Stat(l.path)
	if err != nil {
		return nil, statError(err)
	}
	if !info.Mode().IsRegular() {
		return nil, &dbLoadError{problemNotRegular, info, fmt.Errorf("%s: %w", l.path, reader.ErrNotRegular)}
	}
	var file *os.File
	if l.mmap {
		// Kept open to watch the version mapped (servedDB.changedInPlace);
		// its stat is the one the after-load comparison below holds the
		// path to, so the mapped file and this one are the same version.
		if file, err = reader.OpenRegular(l.path); err == nil {
			info, err = file.Stat()
		}
		if err != nil {
			if file != nil {
				_ = file.Close()
			}
			return nil, &dbLoadError{problemUnreadable, info, fmt.Errorf("%s: %w", l.path, err)}
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
		switch l.check {
		case checkModeFull:
			return r.Verify()
		default:
			return sampleCheck(r)
		}
	})
	var sum uint32
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
		return nil, &dbLoadError{class, info, fmt.Errorf("%s: %w", l.path, err)}
	}
	d = &servedDB{r: r, records: new(serveRecordCache), info: info, loaded: time.Now(), mapped: l.mmap, file: file, sum: sum}
	mt := info.ModTime()
	d.mtime.Store(&mt)
	d.refs.Store(1)
	return d, nil
}

// openCopy reads the regular file at path into memory (a private copy
// that nothing done to the file can change) and opens it.
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
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	return reader.OpenBytes(b)
}

// statError classifies a failed stat of the served path.
func statError(err error) *dbLoadError {
	class := problemUnreadable
	if errors.Is(err, fs.ErrNotExist) {
		class = problemMissing
	}
	return &dbLoadError{class: class, err: err}
}

// initial loads the file at startup.
func (l *dbLoader) initial() error {
	d, err := l.open()
	if err != nil {
		return err
	}
	l.lastSeen = d.info
	l.holder.install(d)
	return nil
}

// attemptResult is what one load attempt found.
type attemptResult struct {
	why       string
	start     time.Time
	unchanged bool      // the stat matches the last file tried: nothing loaded
	d         *servedDB // the new generation, or nil
	err       error
}

// attempt looks at the file and loads it if its stat (inode, size, mtime)
// differs from last, or always when force is set (SIGHUP, a fault). It
// does all the file I/O of a reload and may block as long as the file
// system does; it touches no watcher state. When the served generation
// maps the file and the file has changed in place (same inode, another
// size, or a new mtime and other content: servedDB.changedInPlace), that
// generation is marked damaged at once: its answers can no longer be
// trusted. A touch only reloads.
func (l *dbLoader) attempt(force bool, why string, last os.FileInfo) attemptResult {
	res := attemptResult{why: why, start: time.Now()}
	info, err := os.Stat(l.path)
	if err != nil {
		res.err = statError(err)
		return res
	}
	if cur := l.holder.tryAcquire(); cur != nil {
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
	res.d, res.err = l.open()
	if res.err == nil && l.closing.Load() {
		res.d.release()
		res.d, res.err = nil, errors.New("shutting down: discarded the file loaded meanwhile")
	}
	return res
}

// apply records the result of an attempt and installs its generation. It
// reports whether a new generation was installed. Only the watcher (or a
// test standing in for it) calls it.
func (l *dbLoader) apply(res attemptResult) bool {
	if res.err != nil {
		var le *dbLoadError
		if !errors.As(res.err, &le) {
			le = &dbLoadError{class: problemUnreadable, err: res.err}
		}
		if le.info == nil {
			// No file to remember (missing, unreadable): say so once, and
			// load whatever appears next, even the same file again.
			l.lastSeen = nil
			if !l.statFailing {
				l.statFailing = true
				l.setProblem(le)
				l.log.Warn("cannot read the file; still serving the loaded one", "why", res.why, "problem", le.class, "err", res.err)
			}
			return false
		}
		l.statFailing = false
		l.lastSeen = le.info
		l.setProblem(le)
		l.metrics.reloadFailures.Add(1)
		l.log.Warn("rejected new file; still serving the loaded one", "why", res.why, "problem", le.class, "err", res.err)
		return false
	}
	l.statFailing = false
	if res.unchanged {
		return false
	}
	d := res.d
	l.lastSeen = d.info
	l.problem.Store(nil)
	// Count the reload before installing, so that a request answered
	// from the new file never sees a reload count that lacks it.
	l.metrics.reloads.Add(1)
	l.holder.install(d)
	m := d.r.Metadata
	l.log.Info("reloaded", "file", l.path, "why", res.why, "database_type", m.DatabaseType,
		"built", time.Unix(int64(m.BuildEpoch), 0).UTC().Format(time.RFC3339), "nodes", m.NodeCount,
		"took", time.Since(res.start).Round(time.Millisecond).String())
	return true
}

func (l *dbLoader) setProblem(le *dbLoadError) {
	l.problem.Store(&loadProblem{class: le.class, detail: le.Error(), since: time.Now()})
}

// reload runs one attempt and applies it, in the calling goroutine.
func (l *dbLoader) reload(force bool, why string) bool {
	return l.apply(l.attempt(force, why, l.lastSeen))
}

// watch reloads on a changed stat (every poll), on hup and on wake (a
// request saw a fault), one attempt at a time, until stop is closed. An
// attempt runs on its own goroutine: one that takes longer than timeout
// is reported (degraded health, a reload failure) and left to finish on
// its own; no new attempt starts meanwhile, and stop does not wait for it.
func (l *dbLoader) watch(poll, timeout time.Duration, hup, wake <-chan struct{}, stop <-chan struct{}) {
	var tick <-chan time.Time
	if poll > 0 {
		t := time.NewTicker(poll)
		defer t.Stop()
		tick = t.C
	}
	// Checks for an attempt that overran even when polling is off.
	overrun := time.NewTicker(max(timeout/4, 10*time.Millisecond))
	defer overrun.Stop()

	results := make(chan attemptResult, 1) // at most one attempt in flight: never blocks
	var (
		running  bool
		started  time.Time
		reported bool   // the running attempt's overrun was reported
		pending  string // a forced reload asked for while one ran
	)
	begin := func(force bool, why string) {
		if running {
			if force {
				pending = why
			}
			return
		}
		running, started, reported = true, time.Now(), false
		last := l.lastSeen
		l.attempts.Add(1)
		go func() {
			defer l.attempts.Done()
			results <- l.attempt(force, why, last)
		}()
	}
	for {
		select {
		case <-stop:
			return
		case <-tick:
			begin(false, "file changed")
		case <-hup:
			begin(true, "SIGHUP")
		case <-wake:
			begin(true, "memory fault")
		case <-overrun.C:
			if running && !reported && time.Since(started) > timeout {
				reported = true
				le := &dbLoadError{class: problemTimedOut,
					err: fmt.Errorf("%s: loading has taken more than --reload-timeout %s (a blocked file system?); still serving the loaded one", l.path, timeout)}
				l.setProblem(le)
				l.metrics.reloadFailures.Add(1)
				l.log.Error("reload timed out; no new attempt until it returns", "file", l.path, "timeout", timeout.String())
			}
		case res := <-results:
			running = false
			l.apply(res)
			if pending != "" {
				why := pending
				pending = ""
				begin(true, why)
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

// sampleCheck is the cheap check of a new file. Open has parsed the
// metadata and (with the acceleration index) walked the top 23 levels of
// the IPv4 tree; this looks up sampleProbes spread-out IPv4 addresses (one
// in every /12) and as many IPv6 addresses, walks the first sampleWalk
// networks of each sample region, and decodes every record these reach.
// It catches a truncated, foreign or scrambled file in milliseconds,
// where Verify reads every node and record (seconds on a 60 MB file). A
// file damaged only in a few deep nodes or records can pass it; --check
// full runs Verify instead.
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
