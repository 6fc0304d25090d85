package report

import (
	"fmt"
	"image/color"
	"math"

	"github.com/ipatlas/ipatlas/bench/suite"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot size.
const (
	plotWidth  = 8 * vg.Inch
	plotHeight = 5 * vg.Inch
)

// palette has a distinct colour for each of the lookup paths (Tableau 10).
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
}

func colorOf(i int) color.Color { return palette[i%len(palette)] }

// style gives each lookup path a colour and ipatlas's paths solid lines,
// the peers dashed ones.
func style(i int, ours bool) draw.LineStyle {
	ls := draw.LineStyle{Color: colorOf(i), Width: vg.Points(1.5)}
	if !ours {
		ls.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	return ls
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	return p
}

// latencyPlot draws the distribution of per-batch ns per lookup of every
// path on one workload: the fraction of batches at or below each time
// (log scale), from the quantiles.
func latencyPlot(w suite.WorkloadResult, path string) error {
	p := newPlot(fmt.Sprintf("Lookup latency, %s (per batch, 1 goroutine)", w.Kind), "ns per lookup (log scale)", "fraction of batches at or below")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs = 0
	for i, pr := range w.Paths {
		pts := make(plotter.XYs, 0, len(pr.Quantiles))
		for q, v := range pr.Quantiles {
			if v > 0 {
				pts = append(pts, plotter.XY{X: v, Y: float64(q) / 100})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.LineStyle = style(i, pr.Ours)
		p.Add(l)
		p.Legend.Add(pr.Name, l)
	}
	return p.Save(plotWidth, plotHeight, path)
}

// throughputPlot draws lookups per second by goroutines sharing the
// reader, for every path on one workload (median, with min–max bars).
func throughputPlot(w suite.WorkloadResult, path string) error {
	p := newPlot(fmt.Sprintf("Throughput by goroutines, %s", w.Kind), "goroutines sharing one reader", "million lookups/s (log scale; median, bars: min–max)")
	p.Legend.Left = true
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	lo, hi := math.Inf(1), 0.0
	maxProcs := 1
	for i, pr := range w.Paths {
		pts := make(plotter.XYs, len(pr.ByProcs))
		errs := make(plotter.YErrors, len(pr.ByProcs))
		for j, s := range pr.ByProcs {
			pts[j] = plotter.XY{X: float64(j + 1), Y: s.Median / 1e6}
			errs[j].Low, errs[j].High = (s.Median-s.Min)/1e6, (s.Max-s.Median)/1e6
			if s.Min > 0 {
				lo = math.Min(lo, s.Min/1e6)
			}
			hi = math.Max(hi, s.Max/1e6)
		}
		maxProcs = max(maxProcs, len(pr.ByProcs))
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		l.LineStyle = style(i, pr.Ours)
		sc.Color = colorOf(i)
		sc.Shape = plotutil.Shape(i)
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYer
			plotter.YErrorer
		}{pts, errs})
		if err != nil {
			return err
		}
		eb.LineStyle.Color = colorOf(i)
		p.Add(l, sc, eb)
		p.Legend.Add(pr.Name, l, sc)
	}
	p.X.Min, p.X.Max = 0.8, float64(maxProcs)+0.2
	p.X.Tick.Marker = integerTicks{}
	if !(lo > 0 && hi >= lo) {
		return fmt.Errorf("no throughput to plot")
	}
	// Headroom above the data for the legend: the top 40% of the log axis.
	p.Y.Min = lo / 1.5
	p.Y.Max = math.Exp(math.Log(p.Y.Min) + (math.Log(hi*1.2)-math.Log(p.Y.Min))/0.6)
	return p.Save(plotWidth, plotHeight, path)
}

// integerTicks marks whole numbers only.
type integerTicks struct{}

func (integerTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	step := math.Max(1, math.Ceil((max-min)/10))
	for v := math.Ceil(min); v <= max; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: fmt.Sprint(v)})
	}
	return ts
}

// buildPlots draws wall time and peak memory by scale, for ipatlas
// (ingest + compile) and mmdbwriter; runs that did not finish are left
// out of the lines.
func buildPlots(b *suite.BuildResult, dir string) ([]string, error) {
	type series struct {
		name string
		pts  plotter.XYs
		ours bool
	}
	timeS := []series{{name: "ipatlas ingest + compile", ours: true}, {name: "ipatlas ingest", ours: true}, {name: "ipatlas compile", ours: true}, {name: "mmdbwriter"}}
	memS := []series{{name: "ipatlas ingest", ours: true}, {name: "ipatlas compile", ours: true}, {name: "mmdbwriter"}}
	for _, s := range b.Scales {
		x := float64(s.Rows) / 1e6
		if s.Ingest.Ran && !s.Ingest.TimedOut && s.Compile.Ran && !s.Compile.TimedOut {
			timeS[0].pts = append(timeS[0].pts, plotter.XY{X: x, Y: s.Ingest.WallSeconds + s.Compile.WallSeconds})
			timeS[1].pts = append(timeS[1].pts, plotter.XY{X: x, Y: s.Ingest.WallSeconds})
			timeS[2].pts = append(timeS[2].pts, plotter.XY{X: x, Y: s.Compile.WallSeconds})
			memS[0].pts = append(memS[0].pts, plotter.XY{X: x, Y: s.Ingest.PeakMiB})
			memS[1].pts = append(memS[1].pts, plotter.XY{X: x, Y: s.Compile.PeakMiB})
		}
		if s.MMDBWriter.Ran && !s.MMDBWriter.TimedOut {
			timeS[3].pts = append(timeS[3].pts, plotter.XY{X: x, Y: s.MMDBWriter.WallSeconds})
			memS[2].pts = append(memS[2].pts, plotter.XY{X: x, Y: s.MMDBWriter.PeakMiB})
		}
	}
	var files []string
	for _, pl := range []struct {
		file, title, y string
		s              []series
	}{
		{"build-time.svg", "Build wall time by scale", "seconds (log scale)", timeS},
		{"build-memory.svg", "Build peak resident memory by scale", "peak RSS, MiB (log scale)", memS},
	} {
		xl := "rows (millions, log scale; IPv4 /24s + IPv6 /48s)"
		if b.Options.PerAddress {
			xl = "rows (millions, log scale; IPv4 /32s + IPv6 /64s, distinct records)"
		}
		p := newPlot(pl.title, xl, pl.y)
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
		p.Legend.Left = true
		n := 0
		// Explicit ranges: a log axis must not reach 0, which gonum's
		// padding of a single point would.
		p.X.Min, p.Y.Min = math.Inf(1), math.Inf(1)
		for _, s := range pl.s {
			for _, pt := range s.pts {
				p.X.Min, p.X.Max = math.Min(p.X.Min, pt.X/1.5), math.Max(p.X.Max, pt.X*1.5)
				p.Y.Min, p.Y.Max = math.Min(p.Y.Min, pt.Y/1.5), math.Max(p.Y.Max, pt.Y*1.5)
			}
		}
		for i, s := range pl.s {
			if len(s.pts) == 0 {
				continue
			}
			l, sc, err := plotter.NewLinePoints(s.pts)
			if err != nil {
				return nil, err
			}
			l.LineStyle = style(i, s.ours)
			sc.Color = colorOf(i)
			sc.Shape = plotutil.Shape(i)
			p.Add(l, sc)
			p.Legend.Add(s.name, l, sc)
			n++
		}
		if n == 0 || !(p.X.Min > 0 && p.Y.Min > 0) {
			continue
		}
		if err := savePlot(dir, pl.file, func(path string) error { return p.Save(plotWidth, plotHeight, path) }); err != nil {
			return nil, err
		}
		files = append(files, pl.file)
	}
	return files, nil
}
