package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/ipatlas/ipatlas/builder"
	"github.com/ipatlas/ipatlas/compile"
	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/kv"
)

// profiler runs a CPU profile and keeps a heap profile taken near the
// peak of the live heap: a goroutine samples the heap every 250 ms and
// rewrites the heap profile whenever the live heap grew by 10% over the
// largest seen.
type profiler struct {
	cpu            *os.File
	memPath        string
	stop, finished chan struct{}
	mu             sync.Mutex
	peakHeap       uint64
	err            error
}

// startProfiler starts the profiles; empty paths leave them out.
func startProfiler(cpuPath, memPath string) (*profiler, error) {
	p := &profiler{memPath: memPath, stop: make(chan struct{}), finished: make(chan struct{})}
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		p.cpu = f
	}
	go p.watch()
	return p, nil
}

// heapBytes is the live heap now (objects, including not yet swept).
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func (p *profiler) watch() {
	defer close(p.finished)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var written uint64
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		h := heapBytes()
		p.mu.Lock()
		p.peakHeap = max(p.peakHeap, h)
		p.mu.Unlock()
		if p.memPath != "" && h > written+written/10 {
			written = h
			if err := writeHeapProfile(p.memPath); err != nil {
				p.mu.Lock()
				p.err = err
				p.mu.Unlock()
				return
			}
		}
	}
}

// writeHeapProfile writes the heap profile (as of the last GC) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}

// finish stops the profiles and returns the largest live heap seen.
func (p *profiler) finish() (uint64, error) {
	close(p.stop)
	<-p.finished
	if p.cpu != nil {
		pprof.StopCPUProfile()
		if err := p.cpu.Close(); err != nil {
			return 0, fmt.Errorf("cpu profile: %w", err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peakHeap, p.err
}

// peakRSS returns the process's peak resident set size (VmHWM) in bytes.
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

// profileReport prints the figures of a profiled step.
func profileReport(w io.Writer, step string, items int, unit string, wall time.Duration, peakHeap uint64) {
	rss, err := peakRSS()
	rssText := fmt.Sprintf("%.0f MiB", float64(rss)/(1<<20))
	if err != nil {
		rssText = "unknown (" + err.Error() + ")"
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(w, "%s: %d %s in %.2fs = %.0f %s/s; peak RSS %s, peak live heap %.0f MiB, heap from OS %.0f MiB, GCs %d\n",
		step, items, unit, wall.Seconds(), float64(items)/wall.Seconds(), unit, rssText,
		float64(peakHeap)/(1<<20), float64(ms.HeapSys)/(1<<20), ms.NumGC)
}

// profileIngest ingests path into the layer source of the store at db
// (created if missing) as `ipatlas ingest` does, under the profiles.
func profileIngest(db, source, path, cpuPath, memPath string, stdout io.Writer) error {
	st, err := kv.Open(db, kv.Options{})
	if err != nil {
		return fmt.Errorf("profile-ingest: %w", err)
	}
	defer st.Close()
	if _, err := st.EnsureLayer(source, 0); err != nil {
		return fmt.Errorf("profile-ingest: %w", err)
	}
	prof, err := startProfiler(cpuPath, memPath)
	if err != nil {
		return fmt.Errorf("profile-ingest: %w", err)
	}
	t0 := time.Now()
	stats, err := builder.IngestFile(context.Background(), st, source, 0, kv.Upsert, path, builder.Options{Source: source})
	wall := time.Since(t0)
	peak, perr := prof.finish()
	if err != nil {
		return fmt.Errorf("profile-ingest: %s: %w", path, err)
	}
	if perr != nil {
		return fmt.Errorf("profile-ingest: %w", perr)
	}
	fmt.Fprintf(stdout, "%s: %d rows, %d networks\n", path, stats.Rows, stats.Networks)
	profileReport(stdout, "ingest", stats.Rows, "rows", wall, peak)
	return nil
}

// profileCompile compiles the store at db into out as `ipatlas compile`
// does (IPv6 with IPv4 aliases, record size auto), under the profiles.
func profileCompile(db, out, cpuPath, memPath string, stdout io.Writer) error {
	st, err := kv.Open(db, kv.Options{})
	if err != nil {
		return fmt.Errorf("profile-compile: %w", err)
	}
	defer st.Close()
	snap, err := st.Snapshot()
	if err != nil {
		return fmt.Errorf("profile-compile: %w", err)
	}
	defer snap.Close()
	prof, err := startProfiler(cpuPath, memPath)
	if err != nil {
		return fmt.Errorf("profile-compile: %w", err)
	}
	t0 := time.Now()
	stats, err := compile.Compile(snap, out, compile.Options{WriterOptions: format.WriterOptions{IPVersion: 6, DatabaseType: "ipatlas-City"}})
	wall := time.Since(t0)
	peak, perr := prof.finish()
	if err != nil {
		return fmt.Errorf("profile-compile: %w", err)
	}
	if perr != nil {
		return fmt.Errorf("profile-compile: %w", perr)
	}
	fmt.Fprintf(stdout, "%s: %d networks from %d stored (%d skipped), %d distinct records, %d bytes\n",
		out, stats.Networks, stats.Entries, stats.Skipped, stats.Records, stats.Bytes)
	profileReport(stdout, "compile", stats.Entries, "networks", wall, peak)
	return nil
}
