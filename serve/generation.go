package serve

import (
	"hash/crc32"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipatlas/ipatlas/reader"
)

// generation is one opened version of the database: a Reader and what
// the Server keeps beside it.
//
// Lifetime: refs starts at 1, the holder's reference while the generation
// is current; every request that uses it adds one for its duration.
// Replacing the generation drops the holder's reference; the last release
// closes the Reader (unmaps the file) if the Server opened it (owned).
// Nothing can take a new reference once refs has reached 0 (acquire only
// increments a positive count), so a Reader is never unmapped under a
// running request and never used after Close.
type generation struct {
	r       *reader.Reader
	owned   bool         // opened by the Server from Options.Path: closed on the last release
	records *recordCache // encoded records of this file by data offset
	info    os.FileInfo  // owned: the path's stat taken before it was opened
	loaded  time.Time
	mapped  bool     // owned and r maps the file (else it reads a private copy)
	file    *os.File // mapped: the file r maps, kept open to fstat it (changedInPlace)
	stat    statFile // mapped: file, for fstat
	sum     uint32   // mapped: CRC-32C of the file's content when it was checked
	// mtime is the modification time accepted for this version: its
	// stat's, or a later one after a touch left the content as it was.
	mtime    atomic.Int64 // Unix nanoseconds
	verifyMu sync.Mutex   // one content check at a time (changedInPlace)
	damaged  atomic.Int32 // a damage* value: the mapped file changed in place or faulted
	refs     atomic.Int64 // INVARIANT: > 0 until released for good; never rises from 0
	closed   func()       // called once after the last release (counts open generations)
}

// Why a generation no longer answers: its mapped file was rewritten in
// place (seen by stat), or a read of it faulted (seen by a request).
const (
	damageNone int32 = iota
	damageChangedInPlace
	damageFault
)

// changedInPlace reports whether the file g maps has changed since it was
// loaded, from fstat of the open file (whatever is at the path now). A
// request that computed its answer from a mapped file and then finds it
// unchanged knows the answer came from the file that was checked: a write
// in place changes the mtime (and, with cp's truncation, the size) before
// any byte of the mapping changes. It costs one fstat (about a
// microsecond) and does not allocate.
//
// Another size is a change. A new mtime with the same size may be a
// write without truncation or only a touch: the content is read again
// and compared with its CRC-32C at load (tens of milliseconds for a
// 60 MB file, once per new mtime; requests meanwhile wait); a touch
// changes nothing.
func (g *generation) changedInPlace() bool {
	if g.file == nil {
		return false
	}
	size, mtime, err := g.stat.fstat()
	if err != nil || size != g.info.Size() {
		return true
	}
	if mtime == g.mtime.Load() {
		return false
	}
	g.verifyMu.Lock()
	defer g.verifyMu.Unlock()
	if mtime == g.mtime.Load() {
		return false // checked by a request that held the lock before this one
	}
	sum, err := fileCRC(g.file)
	if err != nil || sum != g.sum {
		return true
	}
	// The content is as loaded; keep the newest mtime seen (a write after
	// the read above changes it again and is checked next time).
	g.mtime.Store(mtime)
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

// damage returns what is wrong with g's file, "" when nothing is.
func (g *generation) damage() string {
	switch g.damaged.Load() {
	case damageChangedInPlace:
		return problemChangedInPlace
	case damageFault:
		return problemFault
	}
	return ""
}

// release drops one reference; the last one closes an owned Reader.
func (g *generation) release() {
	switch n := g.refs.Add(-1); {
	case n == 0:
		if g.owned {
			// Close unmaps a mapped file; a fault is impossible here
			// (munmap reads nothing), and a private copy is left to the
			// collector.
			_ = g.r.Close()
			if g.file != nil {
				_ = g.file.Close()
			}
		}
		if g.closed != nil {
			g.closed()
		}
	case n < 0:
		panic("serve: database generation released more often than acquired")
	}
}

// holder holds the current generation, in step with a reader.Handle: the
// Handle holds the current Reader (the caller's, with Options.Handle; a
// private one the Server swaps on reload, with Options.Path) and the
// holder the generation made for it, with reference counting, so that a
// version replaced is unmapped exactly when its last request finishes
// rather than whenever the garbage collector gets to it.
//
// All methods are safe for concurrent use.
type holder struct {
	handle *reader.Handle
	cur    atomic.Pointer[generation] // INVARIANT: outside mu, nil or made for a Reader the handle held
	mu     sync.Mutex                 // install and adopt, one at a time
	open   atomic.Int64               // generations made and not yet released for good
	closed bool                       // under mu: shut down, no generation from here on
}

// acquire returns the generation of the Handle's current Reader with a
// reference taken, or nil when there is none (no Reader yet, after
// shutdown). The caller must call release on what it gets.
func (h *holder) acquire() *generation {
	for {
		g := h.cur.Load()
		if g == nil {
			if !h.adopt() {
				return nil
			}
			continue
		}
		n := g.refs.Load()
		// n == 0: g was replaced and its last user is closing it; the
		// holder already points at the next generation, so load again.
		if n > 0 && g.refs.CompareAndSwap(n, n+1) {
			if g.r == h.handle.Reader() {
				return g
			}
			// The caller swapped the Handle's Reader (or a reload is
			// between its two steps): catch up.
			g.release()
			if !h.adopt() {
				return nil
			}
		}
	}
}

// adopt makes the current generation the one of the Handle's current
// Reader, made now if need be (a Reader the caller put in the Handle:
// not owned). It reports whether there is a generation to acquire.
func (h *holder) adopt() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	r := h.handle.Reader()
	if r == nil {
		if old := h.cur.Swap(nil); old != nil {
			old.release()
		}
		return false
	}
	if g := h.cur.Load(); g != nil && g.r == r {
		return true
	}
	h.installLocked(&generation{r: r, records: new(recordCache), loaded: time.Now()})
	return true
}

// install makes g (an owned generation holding its first reference) the
// current one: the Handle's Reader and the holder's generation change
// together, and the previous generation is released. After shutdown g is
// released at once and install reports false.
func (h *holder) install(g *generation) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		h.open.Add(1)
		g.closed = func() { h.open.Add(-1) }
		g.release()
		return false
	}
	h.handle.Swap(g.r)
	h.installLocked(g)
	return true
}

func (h *holder) installLocked(g *generation) {
	h.open.Add(1)
	g.closed = func() { h.open.Add(-1) }
	if g.refs.Load() == 0 {
		g.refs.Store(1)
	}
	if old := h.cur.Swap(g); old != nil {
		old.release()
	}
}

// shutdown releases the current generation; acquire returns nil from
// here on. With an owned Handle (Options.Path) the Handle is emptied too.
func (h *holder) shutdown(owned bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if owned {
		h.handle.Swap(nil)
	}
	if old := h.cur.Swap(nil); old != nil {
		old.release()
	}
}
