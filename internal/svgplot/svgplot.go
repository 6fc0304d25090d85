package svgplot

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Size of every plot, in SVG user units (pixels), and its margins.
const (
	width, height                 = 720, 420
	left, right, top, bottom      = 70, 170, 40, 60
	plotW, plotH                  = width - left - right, height - top - bottom
	fontSize                      = 12
	legendX                       = width - right + 15
	legendLine, legendLineSpacing = 22, 18
)

// palette colours the series, in order.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

// Series is one line of a line plot.
type Series struct {
	Name string
	X, Y []float64
	// Points marks each point with a dot.
	Points bool
}

// Lines is a line plot.
type Lines struct {
	Title, XLabel, YLabel string
	// XLog makes the x axis logarithmic (x values <= 0 are left out).
	XLog bool
	// XMin, XMax, YMin, YMax bound the axes; equal bounds mean "from the
	// data".
	XMin, XMax, YMin, YMax float64
	// Diagonal draws y = x (a calibration diagram's ideal).
	Diagonal bool
	Series   []Series
}

// Bars is a grouped bar chart: one group of bars per category, one bar
// per series.
type Bars struct {
	Title, YLabel string
	Categories    []string
	Series        []BarSeries
}

// BarSeries is one bar of every category.
type BarSeries struct {
	Name   string
	Values []float64 // per category; NaN for none
}

type canvas struct {
	b strings.Builder
}

func (c *canvas) printf(format string, args ...any) { fmt.Fprintf(&c.b, format, args...) }

func (c *canvas) text(x, y float64, anchor, s string, extra string) {
	c.printf(`<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d"%s>%s</text>`+"\n", x, y, anchor, fontSize, extra, html.EscapeString(s))
}

func (c *canvas) start(title string) {
	c.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">`+"\n", width, height, width, height)
	c.printf(`<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	c.text(left+plotW/2, top-15, "middle", title, ` font-weight="bold"`)
}

func (c *canvas) frame(xlabel, ylabel string) {
	c.printf(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>`+"\n", left, top, plotW, plotH)
	if xlabel != "" {
		c.text(left+plotW/2, height-15, "middle", xlabel, "")
	}
	c.text(18, top+plotH/2, "middle", ylabel, fmt.Sprintf(` transform="rotate(-90 18 %d)"`, top+plotH/2))
}

func (c *canvas) legend(i int, name string) {
	y := float64(top + 10 + i*legendLineSpacing)
	col := palette[i%len(palette)]
	c.printf(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", legendX, y, legendX+legendLine, y, col)
	c.text(float64(legendX+legendLine+5), y+4, "start", shorten(name, 24), "")
}

func (c *canvas) end(w io.Writer) error {
	c.printf("</svg>\n")
	_, err := io.WriteString(w, c.b.String())
	return err
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if !(hi > lo) {
		return []float64{lo}
	}
	step := math.Pow(10, math.Floor(math.Log10((hi-lo)/float64(n))))
	for _, m := range []float64{1, 2, 5, 10} {
		if (hi-lo)/(step*m) <= float64(n) {
			step *= m
			break
		}
	}
	var t []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		t = append(t, math.Round(v/step)*step)
	}
	return t
}

func label(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

// WriteLines writes p as SVG.
func (p *Lines) WriteLines(w io.Writer) error {
	xmin, xmax, ymin, ymax := p.XMin, p.XMax, p.YMin, p.YMax
	if xmin == xmax {
		xmin, xmax = math.Inf(1), math.Inf(-1)
		for _, s := range p.Series {
			for _, x := range s.X {
				if p.XLog && x <= 0 {
					continue
				}
				xmin, xmax = min(xmin, x), max(xmax, x)
			}
		}
		if math.IsInf(xmin, 0) {
			xmin, xmax = 1, 10
		}
	}
	if ymin == ymax {
		ymin, ymax = math.Inf(1), math.Inf(-1)
		for _, s := range p.Series {
			for _, y := range s.Y {
				ymin, ymax = min(ymin, y), max(ymax, y)
			}
		}
		if math.IsInf(ymin, 0) || ymin == ymax {
			ymin, ymax = 0, 1
		}
	}
	fx := func(x float64) float64 {
		if p.XLog {
			return left + (math.Log10(x)-math.Log10(xmin))/(math.Log10(xmax)-math.Log10(xmin))*plotW
		}
		return left + (x-xmin)/(xmax-xmin)*plotW
	}
	fy := func(y float64) float64 { return top + plotH - (y-ymin)/(ymax-ymin)*plotH }
	var c canvas
	c.start(p.Title)
	// Grid and ticks.
	var xt []float64
	if p.XLog {
		for e := math.Floor(math.Log10(xmin)); e <= math.Ceil(math.Log10(xmax)); e++ {
			if v := math.Pow(10, e); v >= xmin*(1-1e-9) && v <= xmax*(1+1e-9) {
				xt = append(xt, v)
			}
		}
	} else {
		xt = niceTicks(xmin, xmax, 8)
	}
	for _, x := range xt {
		X := fx(x)
		c.printf(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`+"\n", X, top, X, top+plotH)
		c.text(X, top+plotH+16, "middle", label(x), "")
	}
	for _, y := range niceTicks(ymin, ymax, 5) {
		Y := fy(y)
		c.printf(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, Y, left+plotW, Y)
		c.text(left-6, Y+4, "end", label(y), "")
	}
	c.frame(p.XLabel, p.YLabel)
	if p.Diagonal {
		lo, hi := max(xmin, ymin), min(xmax, ymax)
		c.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="4 4"/>`+"\n", fx(lo), fy(lo), fx(hi), fy(hi))
	}
	for i, s := range p.Series {
		col := palette[i%len(palette)]
		var pts []string
		for j := range min(len(s.X), len(s.Y)) {
			x, y := s.X[j], s.Y[j]
			if p.XLog && x <= 0 || math.IsNaN(x) || math.IsNaN(y) {
				continue
			}
			x, y = min(max(x, xmin), xmax), min(max(y, ymin), ymax)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", fx(x), fy(y)))
			if s.Points {
				c.printf(`<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", fx(x), fy(y), col)
			}
		}
		if len(pts) > 1 {
			c.printf(`<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", col, strings.Join(pts, " "))
		}
		c.legend(i, s.Name)
	}
	return c.end(w)
}

// WriteBars writes p as SVG.
func (p *Bars) WriteBars(w io.Writer) error {
	ymax := 0.0
	for _, s := range p.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				ymax = max(ymax, v)
			}
		}
	}
	if ymax == 0 {
		ymax = 1
	}
	ticks := niceTicks(0, ymax, 5)
	ymax = max(ymax, ticks[len(ticks)-1])
	fy := func(y float64) float64 { return top + plotH - y/ymax*plotH }
	var c canvas
	c.start(p.Title)
	for _, y := range ticks {
		Y := fy(y)
		c.printf(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, Y, left+plotW, Y)
		c.text(left-6, Y+4, "end", label(y), "")
	}
	c.frame("", p.YLabel)
	n := len(p.Categories)
	if n > 0 {
		gw := float64(plotW) / float64(n)
		bw := gw * 0.8 / float64(max(len(p.Series), 1))
		for j, cat := range p.Categories {
			gx := left + gw*float64(j) + gw*0.1
			c.text(left+gw*(float64(j)+0.5), top+plotH+16, "middle", cat, "")
			for i, s := range p.Series {
				if j >= len(s.Values) || math.IsNaN(s.Values[j]) {
					continue
				}
				v := s.Values[j]
				c.printf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", gx+bw*float64(i), fy(v), bw, fy(0)-fy(v), palette[i%len(palette)])
			}
		}
	}
	for i, s := range p.Series {
		c.legend(i, s.Name)
	}
	return c.end(w)
}
