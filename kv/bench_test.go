package kv

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/internal/cputime"
)

// benchValue stands in for an MMDB-encoded city record.
var benchValue = make([]byte, 64)

// seq24 returns the i-th /24 of IPv4 in address order.
func seq24(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 0}), 24)
}

func openBench(b *testing.B) *Store {
	b.Helper()
	return openIn(b, b.TempDir(), Options{})
}

// fill ingests n sequential /24s (starting at the from-th) into layer.
func fill(b *testing.B, s *Store, layer string, mode Mode, from, n int) {
	b.Helper()
	in, err := s.BeginIngest(layer, mode, "")
	if err != nil {
		b.Fatal(err)
	}
	for i := from; i < from+n; i++ {
		if err := in.Put(seq24(i), benchValue); err != nil {
			b.Fatal(err)
		}
	}
	if err := in.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkIngest measures Put of sequential IPv4 /24s with 64-byte records:
// "put" is the cost of one Put in a long ingest (batches flushed as they
// fill, Commit untimed); "file-1M" ingests and commits a whole file of 2^20
// rows per op, replacing the layer.
func BenchmarkIngest(b *testing.B) {
	b.Run("put", func(b *testing.B) {
		s := openBench(b)
		if _, err := s.EnsureLayer("l", 0); err != nil {
			b.Fatal(err)
		}
		in, err := s.BeginIngest("l", Upsert, "")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		n := 0
		cpu := cputime.Process()
		for b.Loop() {
			if err := in.Put(seq24(n&(1<<24-1)), benchValue); err != nil {
				b.Fatal(err)
			}
			n++
		}
		reportCPU(b, cputime.Process()-cpu, n, "row")
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
		if err := in.Commit(); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("file-1M", func(b *testing.B) {
		const rows = 1 << 20
		s := openBench(b)
		if _, err := s.EnsureLayer("l", 0); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		files := 0
		cpu := cputime.Process()
		for b.Loop() {
			fill(b, s, "l", Replace, 0, rows)
			files++
		}
		reportCPU(b, cputime.Process()-cpu, files*rows, "row")
		b.ReportMetric(float64(files*rows)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkScan measures Snapshot.All over 2^20 /24s: in one layer with one
// generation; spread over three overlapping layers; and in one layer made of
// four upserted generations that overlap by half.
func BenchmarkScan(b *testing.B) {
	const rows = 1 << 20
	cases := []struct {
		name  string
		setup func(b *testing.B, s *Store)
	}{
		{"1-layer", func(b *testing.B, s *Store) {
			s.EnsureLayer("l", 0)
			fill(b, s, "l", Replace, 0, rows)
		}},
		{"3-layers", func(b *testing.B, s *Store) {
			for i, name := range []string{"x", "y", "z"} {
				s.EnsureLayer(name, int32(i))
				fill(b, s, name, Replace, i*rows/4, rows/2)
			}
		}},
		{"4-generations", func(b *testing.B, s *Store) {
			s.EnsureLayer("l", 0)
			for i := range 4 {
				fill(b, s, "l", Upsert, i*rows/8, rows/4)
			}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s := openBench(b)
			c.setup(b, s)
			b.ReportAllocs()
			entries := 0
			cpu := cputime.Process()
			for b.Loop() {
				sn, err := s.Snapshot()
				if err != nil {
					b.Fatal(err)
				}
				for _, err := range sn.All() {
					if err != nil {
						b.Fatal(err)
					}
					entries++
				}
				sn.Close()
			}
			reportCPU(b, cputime.Process()-cpu, entries, "entry")
			b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// reportCPU reports the process's CPU time (all goroutines, Pebble's
// background work included) per unit of work, as "cpu-ns/<unit>".
func reportCPU(b *testing.B, cpu time.Duration, n int, unit string) {
	if cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/"+unit)
	}
}
