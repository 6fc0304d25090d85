//go:build unix

package reader_test

import (
	"runtime"
	"syscall"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/reader"
)

// rusage returns the process's CPU time (user + system, all threads: the
// garbage collector's workers included) in ns and its minor page faults.
func rusage() (cpuNs, faults int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano(), ru.Minflt
}

// BenchmarkDecodeCounters is BenchmarkDecode's cityMaps case on ipatlas
// alone (a fresh Reader per run, as BenchmarkDecode opens one), reporting
// beside the time what explains its spread between runs: CPU ns/op (less
// sensitive than wall time to other processes on the machine), minor page
// faults per op, and the GC cycles of the run. Run it as
//
//	go test -run '^$' -bench DecodeCounters -benchtime 400ms -count 8 ./reader
//
// and with GOGC=off GOMEMLIMIT=4GiB to take the collector out; the
// sub-benchmarks take out the index (noindex) and the decoded-value
// caches (nocache). BENCHMARKS.md has the findings.
func BenchmarkDecodeCounters(b *testing.B) {
	path := testutil.GeoLiteCity(b)
	addrs := publicAddrs(nAddrs, false)
	for _, c := range []struct {
		name string
		opts []reader.ReaderOption
	}{
		{"default", nil},
		{"noindex", []reader.ReaderOption{reader.WithoutIndex()}},
		{"nocache", []reader.ReaderOption{reader.DisableStringCache()}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r, err := reader.Open(path, c.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			for _, a := range addrs { // lookups in steady state; the heap as the caller left it
				var c countryOnly
				_ = r.Lookup(a).Decode(&c)
			}
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			cpu0, f0 := rusage()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var c cityMaps
				if err := r.Lookup(addrs[i&(nAddrs-1)]).Decode(&c); err != nil {
					b.Fatal(err)
				}
				i++
			}
			cpu1, f1 := rusage()
			runtime.ReadMemStats(&m1)
			b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(f1-f0)/float64(b.N), "faults/op")
			b.ReportMetric(float64(m1.NumGC-m0.NumGC), "GCs")
		})
	}
}
