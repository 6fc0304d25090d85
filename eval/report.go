package eval

import (
	"bytes"
	"cmp"
	"fmt"
	"github.com/ipatlas/ipatlas/internal/geo"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ipatlas/ipatlas/internal/atomicfile"
	"github.com/ipatlas/ipatlas/internal/svgplot"
)

// fmtNum formats a figure for tables: "-" when undefined.
func fmtNum(n Num, prec int) string {
	f := float64(n)
	if math.IsNaN(f) {
		return "-"
	}
	return strconv.FormatFloat(f, 'f', prec, 64)
}

func pct(n Num) string {
	if math.IsNaN(float64(n)) {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n), 'f', 1, 64) + "%"
}

// Table returns the figures of results side by side: a header row (the
// databases), then one row per figure, its name first.
func Table(results []*Result) [][]string {
	head := []string{""}
	for _, r := range results {
		head = append(head, r.Database)
	}
	rows := [][]string{head}
	add := func(name string, f func(r *Result) string) {
		row := []string{name}
		for _, r := range results {
			row = append(row, f(r))
		}
		rows = append(rows, row)
	}
	add("rows", func(r *Result) string { return strconv.Itoa(r.Rows) })
	add("found", func(r *Result) string { return fmt.Sprintf("%d (%s)", r.Found, pct(ratio(r.Found, r.Rows))) })
	add("with location", func(r *Result) string {
		return fmt.Sprintf("%d (%s)", r.WithLocation, pct(ratio(r.WithLocation, r.Rows)))
	})
	add("error km mean", func(r *Result) string { return fmtNum(r.ErrorKm.Mean, 1) })
	add("error km median", func(r *Result) string { return fmtNum(r.ErrorKm.Median, 1) })
	add("error km p90", func(r *Result) string { return fmtNum(r.ErrorKm.P90, 1) })
	add("error km max", func(r *Result) string { return fmtNum(r.ErrorKm.Max, 1) })
	for i, k := range WithinKm {
		add(fmt.Sprintf("within %g km", k), func(r *Result) string {
			return pct([...]Num{r.WithinKm.Km1, r.WithinKm.Km10, r.WithinKm.Km20, r.WithinKm.Km40, r.WithinKm.Km100}[i])
		})
	}
	for _, l := range levelNames(results) {
		add("accuracy "+l, func(r *Result) string {
			lv, ok := r.Levels[l]
			if !ok {
				return "-"
			}
			return fmt.Sprintf("%s (%d/%d)", pct(lv.Accuracy), lv.Correct, lv.Rows)
		})
		add("ECE "+l, func(r *Result) string {
			lv, ok := r.Levels[l]
			if !ok {
				return "-"
			}
			return fmtNum(lv.ECE, 3)
		})
	}
	add("radius honesty", func(r *Result) string { return pct(r.RadiusHonesty) })
	return rows
}

// levelNames lists the levels of any result, in hierarchy order.
func levelNames(results []*Result) []string {
	var names []string
	for _, r := range results {
		for _, l := range r.LevelOrder {
			if !slices.Contains(names, l) {
				names = append(names, l)
			}
		}
	}
	return names
}

// ReportCountries is the number of countries in the report's plot of
// error by country: the truth's largest.
const ReportCountries = 12

// WriteReport writes report.md and its SVG plots (error-cdf.svg,
// calibration.svg, error-by-country.svg) into dir, creating it. Each file
// is written to a temporary name and renamed into place.
func WriteReport(dir, truth string, results []*Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{}
	var md bytes.Buffer
	fmt.Fprintf(&md, "# ipatlas eval\n\nTruth: `%s`. Errors are great-circle distances (sphere of radius %.4f km) between the truth's point and the record's location; accuracy counts a truth row naming the level as correct when the database answers its address with the same code (ISO 3166-2 prefixes ignored) or name (any language, case ignored; a city may be a GeoNames id).\n\n", truth, geo.EarthRadiusKm)
	t := Table(results)
	md.WriteString("| " + strings.Join(t[0], " | ") + " |\n|" + strings.Repeat("---|", len(t[0])) + "\n")
	for _, row := range t[1:] {
		md.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}

	// Error CDF.
	cdf := svgplot.Lines{Title: "Error CDF", XLabel: "error (km, log scale)", YLabel: "share of rows with a location", XLog: true, XMin: 0.1, XMax: 20000, YMin: 0, YMax: 1}
	for _, r := range results {
		xs, ys := cdfPoints(r.Errors, 0.1, 20000)
		cdf.Series = append(cdf.Series, svgplot.Series{Name: filepath.Base(r.Database), X: xs, Y: ys})
	}
	var b bytes.Buffer
	if err := cdf.WriteLines(&b); err != nil {
		return err
	}
	files["error-cdf.svg"] = bytes.Clone(b.Bytes())
	md.WriteString("\n## Error distribution\n\n![error CDF](error-cdf.svg)\n")

	// Calibration.
	md.WriteString("\n## Confidence calibration\n\nRows bucketed by the confidence the record states at each level: share correct against mean confidence (the dashed line is perfect calibration). Rows without a stated confidence are left out.\n\n")
	cal := svgplot.Lines{Title: "Calibration", XLabel: "stated confidence", YLabel: "share correct", XMin: 0, XMax: 1, YMin: 0, YMax: 1, Diagonal: true}
	var calRows bytes.Buffer
	for _, r := range results {
		for _, l := range r.LevelOrder {
			lv := r.Levels[l]
			var xs, ys []float64
			for _, bk := range lv.Buckets {
				if bk.Rows == 0 {
					continue
				}
				acc := float64(bk.Correct) / float64(bk.Rows)
				xs, ys = append(xs, bk.MeanConf), append(ys, acc)
				fmt.Fprintf(&calRows, "| %s | %s | [%.1f,%.1f%s | %d | %d | %.3f | %.3f |\n", filepath.Base(r.Database), l, bk.Lo, bk.Hi, map[bool]string{true: "]", false: ")"}[bk.Hi == 1], bk.Rows, bk.Correct, bk.MeanConf, acc)
			}
			if len(xs) > 0 {
				cal.Series = append(cal.Series, svgplot.Series{Name: filepath.Base(r.Database) + " " + l, X: xs, Y: ys, Points: true})
			}
		}
	}
	if calRows.Len() == 0 {
		md.WriteString("No record states a confidence.\n")
	} else {
		md.WriteString("| database | level | bucket | rows | correct | mean confidence | share correct |\n|---|---|---|---|---|---|---|\n")
		md.Write(calRows.Bytes())
	}
	b.Reset()
	if err := cal.WriteLines(&b); err != nil {
		return err
	}
	files["calibration.svg"] = bytes.Clone(b.Bytes())
	md.WriteString("\n![calibration](calibration.svg)\n")

	// Error by country.
	type cc struct {
		code string
		n    int
	}
	var countries []cc
	if len(results) > 0 {
		// The truth's largest countries: the rows of the first database
		// with a location are as good a measure as any.
		seen := map[string]int{}
		for _, r := range results {
			for c, e := range r.ByCountry {
				seen[c] = max(seen[c], len(e))
			}
		}
		for c, n := range seen {
			countries = append(countries, cc{c, n})
		}
		slices.SortFunc(countries, func(a, b cc) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.code, b.code)) })
		countries = countries[:min(len(countries), ReportCountries)]
	}
	bars := svgplot.Bars{Title: "Median error by country (largest countries of the truth)", YLabel: "median error (km)"}
	md.WriteString("\n## Error by country\n\nMedian error (km) of the rows with a location, by the truth's country code, for its largest countries.\n\n| country |")
	for _, r := range results {
		md.WriteString(" " + filepath.Base(r.Database) + " |")
	}
	md.WriteString("\n|---|" + strings.Repeat("---|", len(results)) + "\n")
	for _, c := range countries {
		bars.Categories = append(bars.Categories, c.code)
	}
	for _, r := range results {
		s := svgplot.BarSeries{Name: filepath.Base(r.Database)}
		for _, c := range countries {
			e := slices.Clone(r.ByCountry[c.code])
			slices.Sort(e)
			s.Values = append(s.Values, Median(e))
		}
		bars.Series = append(bars.Series, s)
	}
	for j, c := range countries {
		md.WriteString("| " + c.code + " |")
		for _, s := range bars.Series {
			md.WriteString(" " + fmtNum(Num(s.Values[j]), 1) + " |")
		}
		md.WriteString("\n")
	}
	b.Reset()
	if err := bars.WriteBars(&b); err != nil {
		return err
	}
	files["error-by-country.svg"] = bytes.Clone(b.Bytes())
	md.WriteString("\n![error by country](error-by-country.svg)\n")
	files["report.md"] = md.Bytes()

	for _, name := range []string{"error-cdf.svg", "calibration.svg", "error-by-country.svg", "report.md"} {
		if err := atomicfile.WriteFile(filepath.Join(dir, name), files[name]); err != nil {
			return err
		}
	}
	return nil
}

// cdfPoints samples the CDF of sorted errors at log-spaced distances.
func cdfPoints(sorted []float64, lo, hi float64) (xs, ys []float64) {
	if len(sorted) == 0 {
		return nil, nil
	}
	const steps = 200
	for i := 0; i <= steps; i++ {
		x := lo * math.Pow(hi/lo, float64(i)/steps)
		n, _ := slices.BinarySearchFunc(sorted, x, func(e, k float64) int {
			if e <= k {
				return -1
			}
			return 1
		})
		xs, ys = append(xs, x), append(ys, float64(n)/float64(len(sorted)))
	}
	return xs, ys
}
