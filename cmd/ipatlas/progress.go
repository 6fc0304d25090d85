package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// progress is the progress line of a long command on a terminal: what,
// a count of units, units per second and, when the total is known, an
// ETA, rewritten in place about once a second on standard error; nothing
// when standard error is not a terminal. IPATLAS_PROGRESS_EVERY (a Go
// duration) sets the interval, for tests.
type progress struct {
	w           io.Writer // nil: quiet
	what, unit  string
	total       int64 // 0: unknown
	start       time.Time
	every       time.Duration
	n           atomic.Int64
	mu          sync.Mutex // guards shown, source, what and the writes
	shown       bool
	source      func() int64 // when not nil, the count
	stop, ended chan struct{}
	once        sync.Once
}

// newProgress starts a progress line for what on stderr, if it is a
// terminal: a goroutine prints the count set with add or set.
func newProgress(stderr io.Writer, what, unit string, total int64) *progress {
	p := &progress{what: what, unit: unit, total: total, start: time.Now(), every: time.Second}
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		p.w = f
	}
	if d, err := time.ParseDuration(os.Getenv("IPATLAS_PROGRESS_EVERY")); err == nil && d > 0 {
		p.every = d
	}
	if p.w == nil {
		return p
	}
	p.stop, p.ended = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.ended)
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.print("")
			}
		}
	}()
	return p
}

// watch makes f the source of the count (f must be safe to call from
// another goroutine).
func (p *progress) watch(f func() int64) {
	p.mu.Lock()
	p.source = f
	p.mu.Unlock()
}

// setWhat changes the line's label (a phase of the work).
func (p *progress) setWhat(what string) {
	p.mu.Lock()
	p.what = what
	p.mu.Unlock()
}

// add counts n more units.
func (p *progress) add(n int64) { p.n.Add(n) }

// set sets the count.
func (p *progress) set(n int64) { p.n.Store(n) }

func (p *progress) print(end string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.n.Load()
	if p.source != nil {
		n = p.source()
	}
	el := time.Since(p.start).Seconds()
	s := fmt.Sprintf("\r%s: %d %s", p.what, n, p.unit)
	if el > 0 {
		s += fmt.Sprintf(", %.0f %s/s", float64(n)/el, p.unit)
	}
	if p.total > 0 && n > 0 && n < p.total && end == "" {
		eta := time.Duration(el * float64(p.total-n) / float64(n) * float64(time.Second))
		s += ", ETA " + eta.Round(time.Second).String()
	}
	fmt.Fprint(p.w, s+end+"\x1b[K")
	p.shown = true
}

// done ends the line ("done") if one was shown.
// It may be called more than once.
func (p *progress) done() {
	if p.w == nil {
		return
	}
	p.once.Do(func() {
		close(p.stop)
		<-p.ended
		if p.shown {
			p.print(", done\n")
		}
	})
}
