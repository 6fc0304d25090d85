package main

import (
	"errors"
	"fmt"
	"log"
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
	refs    atomic.Int64 // INVARIANT: > 0 until closed; never rises from 0
	closed  func()       // called once after Close (counts open generations)
}

// release drops one reference and closes the Reader on the last one.
func (d *servedDB) release() {
	switch n := d.refs.Add(-1); {
	case n == 0:
		_ = d.r.Close() // read-only mapping: nothing to flush
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

// dbLoader opens the served file, checks it and installs it. Loads are
// serialized; a file that fails is logged and counted, and the current
// generation keeps serving.
type dbLoader struct {
	path    string
	check   string // checkSample or checkFull
	mmap    bool   // false: read the file into memory
	holder  *dbHolder
	metrics *serveMetrics
	log     *log.Logger

	mu          sync.Mutex
	lastSeen    os.FileInfo // stat of the last file tried, good or bad
	statFailing bool        // the last stat failed (logged once)
	closing     atomic.Bool // shutting down: a load that finishes now is discarded
	lastErr     atomic.Pointer[string]
}

// open opens and checks the file at l.path and returns a new generation
// holding one reference (for the holder).
func (l *dbLoader) open() (*servedDB, error) {
	info, err := os.Stat(l.path)
	if err != nil {
		return nil, err
	}
	var r *reader.Reader
	if l.mmap {
		r, err = reader.Open(l.path)
	} else {
		var b []byte
		b, err = os.ReadFile(l.path)
		if err == nil {
			r, err = reader.OpenBytes(b)
		}
	}
	if err != nil {
		return nil, &dbLoadError{info, fmt.Errorf("%s: %w", l.path, err)}
	}
	switch l.check {
	case checkModeFull:
		err = r.Verify()
	default:
		err = sampleCheck(r)
	}
	if err != nil {
		_ = r.Close()
		return nil, &dbLoadError{info, fmt.Errorf("%s: %w", l.path, err)}
	}
	d := &servedDB{r: r, records: new(serveRecordCache), info: info, loaded: time.Now()}
	d.refs.Store(1)
	return d, nil
}

// dbLoadError is a file that was found but failed to open or check; info
// identifies it so that it is not tried again until it changes.
type dbLoadError struct {
	info os.FileInfo
	err  error
}

func (e *dbLoadError) Error() string { return e.err.Error() }
func (e *dbLoadError) Unwrap() error { return e.err }

// initial loads the file at startup.
func (l *dbLoader) initial() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, err := l.open()
	if err != nil {
		return err
	}
	l.lastSeen = d.info
	l.holder.install(d)
	return nil
}

// reload loads the file again if its stat (inode, size, mtime) differs
// from the last file tried, or always when force is set (SIGHUP). It
// reports whether a new generation was installed.
func (l *dbLoader) reload(force bool, why string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !force {
		info, err := os.Stat(l.path)
		if err != nil {
			// Removed or unreadable: keep serving; say so once.
			if !l.statFailing {
				l.log.Printf("cannot stat the file, still serving the loaded one: %v", err)
				l.statFailing = true
			}
			return false
		}
		l.statFailing = false
		if sameFileVersion(info, l.lastSeen) {
			return false
		}
	}
	start := time.Now()
	d, err := l.open()
	if err != nil {
		var le *dbLoadError
		if errors.As(err, &le) {
			l.lastSeen = le.info
		}
		msg := err.Error()
		l.lastErr.Store(&msg)
		l.metrics.reloadFailures.Add(1)
		l.log.Printf("rejected new file (%s), still serving the loaded one: %v", why, err)
		return false
	}
	if l.closing.Load() {
		_ = d.r.Close()
		l.log.Printf("shutting down: discarded the file loaded meanwhile (%s)", why)
		return false
	}
	l.lastSeen = d.info
	l.lastErr.Store(nil)
	// Count the reload before installing, so that a request answered
	// from the new file never sees a reload count that lacks it.
	l.metrics.reloads.Add(1)
	l.holder.install(d)
	m := d.r.Metadata
	l.log.Printf("reloaded %s (%s): %s, built %s, %d nodes; open+check took %s",
		l.path, why, m.DatabaseType, time.Unix(int64(m.BuildEpoch), 0).UTC().Format(time.RFC3339),
		m.NodeCount, time.Since(start).Round(time.Millisecond))
	return true
}

// lastError returns the error of the last failed load, or "" after a
// successful one.
func (l *dbLoader) lastError() string {
	if p := l.lastErr.Load(); p != nil {
		return *p
	}
	return ""
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
