package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ipatlas/ipatlas/eval"
	"github.com/ipatlas/ipatlas/internal/recordpath"
	"github.com/ipatlas/ipatlas/schema"
)

const evalHelp = `Measures databases against ground truth, as the geolocation papers report their models:
per database, side by side, the truth rows it answers and those with a location; the
error in km (great-circle, sphere of the WGS84 mean radius) mean, median, p90 and max;
the share of rows within 1, 10, 20, 40 and 100 km; the accuracy at every level the
truth names (country, subdivision, city, deeper ipatlas.regions levels); the calibration
of the confidences the records state (expected calibration error); and the share of
rows whose truth lies within the record's accuracy_radius.

TRUTH is CSV, TSV or JSONL (plain, .gz or .zst) with the columns ip, latitude,
longitude, and optionally country_code (or country), subdivision_code (or subdivision),
city (a name or a GeoNames id), and L or L_code for each deeper level L of --levels.
A bad row is an error naming file:line:field; then nothing is printed or written.

Databases may be GeoIP2-style (location.latitude, country.iso_code, ...) or flat
(DB-IP style: latitude, longitude, country_code, city, state1 at the top level), read
as such when the record has no location map; --lat-path, --lon-path and --country-path
name other places, in the path syntax of 'ipatlas lookup --path'. An IPv4-only
database answers no IPv6 address (DB-IP and ip-location-db ship IPv4 and IPv6 apart).

--json prints one JSON object per database, one a line, with the keys database, rows,
found, with_location, error_km {mean, median, p90, max}, within_km {1, 10, 20, 40,
100} (shares of the rows with a location), levels {LEVEL: {rows, correct, accuracy,
ece}} and radius_honesty; undefined figures are null. --out DIR writes report.md with
SVG plots: the error CDF of every database, a calibration diagram, the median error of
the truth's largest countries.`

// layoutFlags are the --*-path flags of eval and compare.
type layoutFlags struct {
	lat, lon, country *string
	fs                *flag.FlagSet
}

func addLayoutFlags(fs *flag.FlagSet) *layoutFlags {
	return &layoutFlags{fs: fs,
		lat:     fs.String("lat-path", "", "`path` of the latitude in each record (default location.latitude, or latitude in flat records)"),
		lon:     fs.String("lon-path", "", "`path` of the longitude in each record (default location.longitude, or longitude in flat records)"),
		country: fs.String("country-path", "", "`path` of the country code in each record (default country.iso_code, or country_code in flat records)"),
	}
}

func (l *layoutFlags) layout() (eval.Layout, error) {
	var out eval.Layout
	for _, f := range []struct {
		name string
		val  *string
		dst  *[]string
	}{{"lat-path", l.lat, &out.LatPath}, {"lon-path", l.lon, &out.LonPath}, {"country-path", l.country, &out.CountryPath}} {
		if !hasFlag(l.fs, f.name) {
			continue
		}
		p, err := recordpath.Parse(*f.val)
		if err != nil {
			return out, usagef("--%s %q: %v", f.name, *f.val, err)
		}
		*f.dst = p
	}
	return out, nil
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", "--truth TRUTH [--json] [--out DIR] DB.mmdb [DB2.mmdb ...]", evalHelp, stderr)
	truth := fs.String("truth", "", "the ground-truth `file` (required)")
	asJSON := fs.Bool("json", false, "print one JSON object per database instead of the table")
	out := fs.String("out", "", "write report.md and SVG plots into `dir`")
	levels := fs.String("levels", "", "the region hierarchy of the truth's level columns, outermost first (default "+strings.Join(schema.DefaultLevels, ",")+")")
	formatName := fs.String("format", "", "truth format: csv, tsv or jsonl (default: by extension)")
	compression := fs.String("compression", "", "truth compression: none, gzip or zstd (default: by extension)")
	lf := addLayoutFlags(fs)
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *truth == "" {
		return usagef("--truth is required")
	}
	if len(rest) == 0 {
		return usagef("no DB.mmdb")
	}
	layout, err := lf.layout()
	if err != nil {
		return err
	}
	opts := eval.Options{Format: *formatName, Compression: *compression, Layout: layout}
	if *levels != "" {
		opts.Levels = strings.Split(*levels, ",")
	}
	results, err := eval.Evaluate(*truth, rest, opts)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := eval.WriteReport(*out, *truth, results); err != nil {
			return err
		}
	}
	w := bufio.NewWriter(stdout)
	if *asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	} else {
		printTable(w, eval.Table(results))
	}
	if *out != "" && !*asJSON {
		fmt.Fprintf(w, "\nreport: %s/report.md\n", strings.TrimSuffix(*out, "/"))
	}
	return w.Flush()
}

// printTable prints rows as aligned columns, the first left-aligned, the
// others right-aligned.
func printTable(w io.Writer, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
