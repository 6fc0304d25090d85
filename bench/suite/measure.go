package suite

import (
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Stat is a figure over repeated runs: the median, the smallest and the
// largest.
type Stat struct {
	Median, Min, Max float64
}

// statOf summarizes xs (not modified).
func statOf(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return Stat{Median: quantile(s, 0.5), Min: s[0], Max: s[len(s)-1]}
}

// quantile is the q-quantile of sorted s, interpolated between ranks.
func quantile(s []float64, q float64) float64 {
	if len(s) == 0 {
		return 0
	}
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i]*(1-f) + s[i+1]*f
}

// measurement is one timed run of one path on one workload with some
// goroutines.
type measurement struct {
	ops     int
	elapsed time.Duration
	// batchNs holds the time per lookup of every batch of goroutine 0.
	batchNs       []float64
	allocs, bytes uint64 // during the run, all goroutines
	sink          int
}

func (m measurement) nsPerOp() float64 { return float64(m.elapsed.Nanoseconds()) / float64(m.ops) }

// perSecond is the throughput of all goroutines together.
func (m measurement) perSecond() float64 { return float64(m.ops) / m.elapsed.Seconds() }

// measure runs procs goroutines, each with its own worker from o over the
// n addresses (goroutine g starts at g*n/procs and wraps around), in
// batches of batch lookups, until minTime has passed (at least one batch
// each). Allocations are counted with runtime.MemStats around the run.
func measure(o opened, addrs []netip.Addr, ips []net.IP, n, procs, batch int, minTime time.Duration) measurement {
	workers := make([]worker, procs)
	for g := range workers {
		workers[g] = o.newWorker(addrs, ips)
	}
	perG := make([]measurement, procs)
	// Room for every batch of goroutine 0 at 10 ns a lookup, so that
	// growing the slice does not count as the path's allocations.
	perG[0].batchNs = make([]float64, 0, int(minTime/(time.Duration(batch)*10*time.Nanosecond))+16)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(procs)
	done.Add(procs)
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for g := range procs {
		go func() {
			defer done.Done()
			w := workers[g]
			me := &perG[g]
			i := g * n / procs
			sink := 0
			ready.Done()
			<-start
			t0 := time.Now()
			for {
				b0 := time.Now()
				for range batch {
					sink += w(i)
					i++
					if i == n {
						i = 0
					}
				}
				now := time.Now()
				if g == 0 {
					me.batchNs = append(me.batchNs, float64(now.Sub(b0).Nanoseconds())/float64(batch))
				}
				me.ops += batch
				if me.elapsed = now.Sub(t0); me.elapsed >= minTime {
					break
				}
			}
			me.sink = sink
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	runtime.ReadMemStats(&m1)
	res := measurement{batchNs: perG[0].batchNs, allocs: m1.Mallocs - m0.Mallocs, bytes: m1.TotalAlloc - m0.TotalAlloc}
	for _, g := range perG {
		res.ops += g.ops
		res.elapsed = max(res.elapsed, g.elapsed)
		res.sink += g.sink
	}
	return res
}
