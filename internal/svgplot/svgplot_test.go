package svgplot

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

// wellFormed parses b as XML and counts the elements by name.
func wellFormed(t *testing.T, b []byte) map[string]int {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	n := map[string]int{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		if s, ok := tok.(xml.StartElement); ok {
			n[s.Name.Local]++
		}
	}
}

func TestLines(t *testing.T) {
	p := Lines{Title: "a <b> & c", XLabel: "x", YLabel: "y", XLog: true, Diagonal: true, Series: []Series{
		{Name: "one", X: []float64{0, 0.5, 1, 10, 100}, Y: []float64{0, 0.1, 0.2, 0.5, 1}},
		{Name: "two & more", X: []float64{1, 2}, Y: []float64{math.NaN(), 1}, Points: true},
	}}
	var a, b bytes.Buffer
	if err := p.WriteLines(&a); err != nil {
		t.Fatal(err)
	}
	p.WriteLines(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("output not deterministic")
	}
	n := wellFormed(t, a.Bytes())
	// One polyline for "one" (x <= 0 left out); "two" has one point left.
	if n["polyline"] != 1 || n["circle"] != 1 || n["svg"] != 1 {
		t.Errorf("elements %v", n)
	}
	if !strings.Contains(a.String(), "a &lt;b&gt; &amp; c") {
		t.Error("title not escaped")
	}
}

func TestBars(t *testing.T) {
	p := Bars{Title: "t", YLabel: "km", Categories: []string{"US", "CN", "DE"}, Series: []BarSeries{
		{Name: "a", Values: []float64{10, 20, math.NaN()}},
		{Name: "b", Values: []float64{5, 0, 30}},
	}}
	var w bytes.Buffer
	if err := p.WriteBars(&w); err != nil {
		t.Fatal(err)
	}
	n := wellFormed(t, w.Bytes())
	// Two background/frame rects, five bars (NaN left out).
	if n["rect"] != 2+5 {
		t.Errorf("elements %v", n)
	}
	// Empty plots are still whole, well-formed SVG documents.
	for name, write := range map[string]func(io.Writer) error{"bars": (&Bars{}).WriteBars, "lines": (&Lines{}).WriteLines} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("empty %s: %v", name, err)
		}
		if n := wellFormed(t, b.Bytes()); n["svg"] != 1 {
			t.Errorf("empty %s: elements %v", name, n)
		}
	}
}
