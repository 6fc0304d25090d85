package builder

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ipatlas/ipatlas/internal/cputime"
	"github.com/ipatlas/ipatlas/internal/testutil"
	"github.com/ipatlas/ipatlas/kv"
)

// writeBenchCSV writes n /24 rows with a three-level hierarchy.
func writeBenchCSV(b *testing.B, n int) string {
	return testutil.WriteFileWith(b, filepath.Join(b.TempDir(), "bench.csv"), func(w *bufio.Writer) {
		w.WriteString("network,country,country_code,country_confidence,province,province_code,province_confidence,city,city_confidence,latitude,longitude,accuracy_radius_km,source\n")
		for i := range n {
			fmt.Fprintf(w, "%d.%d.%d.0/24,China,CN,0.98,Shanghai,CN-SH,0.91,上海%d,0.9,31.22,121.54,5,bertgeo\n", 1+i>>16, i>>8&255, i&255, i%1000)
		}
	})
}

// BenchmarkReadFile parses a CSV file without a store.
func BenchmarkReadFile(b *testing.B) {
	const n = 50_000
	path := writeBenchCSV(b, n)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadFile(path, Options{}, func(netip.Prefix, []byte, int) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkIngestFile ingests a CSV file into a fresh layer each time.
func BenchmarkIngestFile(b *testing.B) {
	const n = 50_000
	benchIngest(b, writeBenchCSV(b, n), n, Options{})
}

// benchIngest ingests the file at path (n rows) with opts into a fresh
// layer of one store each op, and reports rows/s and rows/cpu-s.
func benchIngest(b *testing.B, path string, n int, opts Options) {
	st, err := kv.Open(b.TempDir(), kv.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ReportAllocs()
	i := 0
	cpu := cputime.Process()
	for b.Loop() {
		i++
		if _, err := IngestFile(context.Background(), st, fmt.Sprint("l", i), 0, kv.Replace, path, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	if d := cputime.Process() - cpu; d > 0 {
		b.ReportMetric(float64(n*b.N)/d.Seconds(), "rows/cpu-s")
	}
}
