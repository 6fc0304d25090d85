package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/ipatlas/ipatlas/eval"
)

const compareHelp = `Measures how two databases disagree, weighted by addresses rather than networks: of the
IPv4 space (and of the IPv6 space) both files answer, the share whose country differs,
whose city differs, and, of the addresses both locate, the share whose location moved
more than 1, 10, 100 and 1000 km; then the countries (A's) with the most addresses moved
more than 100 km. One walk over both search trees, both files memory-mapped.

IPv4 is counted once: the aliases of the IPv4 data inside IPv6 (::ffff:0:0/96,
2002::/16, 2001::/32) count as nothing. An IPv4-only file answers nothing in IPv6.
Records may be GeoIP2-style or flat (DB-IP style), as for 'ipatlas eval'.

--json prints one JSON object with the keys a, b, ipv4 and ipv6 {addresses_a,
addresses_b, addresses_both, country_differs, city_differs, with_location_both,
moved_km {1, 10, 100, 1000}} and top_countries [{country, addresses, moved_10km,
moved_100km, country_differs}]; shares are fractions, undefined ones null.`

func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", "A.mmdb B.mmdb [--json] [--top N]", compareHelp, stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of the tables")
	top := fs.Int("top", 10, "list the `N` countries with the most moved addresses")
	lf := addLayoutFlags(fs)
	pathA, pathB, err := parseTwoDatabases(fs, args)
	if err != nil {
		return err
	}
	if *top < 1 {
		return usagef("--top %d: want at least 1", *top)
	}
	layout, err := lf.layout()
	if err != nil {
		return err
	}
	c, err := eval.Compare(pathA, pathB, eval.CompareOptions{LayoutA: layout, LayoutB: layout, Top: *top})
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	if *asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(c); err != nil {
			return err
		}
		return w.Flush()
	}
	fmt.Fprintf(w, "A: %s\nB: %s\n\n", c.A, c.B)
	count := func(f float64) string {
		if f < 1e15 {
			return strconv.FormatFloat(f, 'f', 0, 64)
		}
		return strconv.FormatFloat(f, 'e', 3, 64)
	}
	share := func(n eval.Num) string {
		if n != n {
			return "-"
		}
		return strconv.FormatFloat(100*float64(n), 'f', 2, 64) + "%"
	}
	rows := [][]string{{"", "IPv4", "IPv6"}}
	add := func(name string, f func(s *eval.Space) string) {
		rows = append(rows, []string{name, f(&c.IPv4), f(&c.IPv6)})
	}
	add("addresses A answers", func(s *eval.Space) string { return count(s.AddressesA) })
	add("addresses B answers", func(s *eval.Space) string { return count(s.AddressesB) })
	add("addresses both answer", func(s *eval.Space) string { return count(s.AddressesBoth) })
	add("country differs", func(s *eval.Space) string { return share(s.CountryDiffers) })
	add("city differs", func(s *eval.Space) string { return share(s.CityDiffers) })
	add("both locate", func(s *eval.Space) string { return count(s.WithLocationBoth) })
	add("moved > 1 km", func(s *eval.Space) string { return share(s.MovedKm.Km1) })
	add("moved > 10 km", func(s *eval.Space) string { return share(s.MovedKm.Km10) })
	add("moved > 100 km", func(s *eval.Space) string { return share(s.MovedKm.Km100) })
	add("moved > 1000 km", func(s *eval.Space) string { return share(s.MovedKm.Km1000) })
	printTable(w, rows)
	fmt.Fprintln(w)
	rows = [][]string{{"country (A)", "addresses", "moved > 10 km", "moved > 100 km", "country differs"}}
	for _, m := range c.TopCountries {
		rows = append(rows, []string{m.Country, count(m.Addresses), count(m.Moved10Km), count(m.Moved100Km), count(m.CountryDiffers)})
	}
	printTable(w, rows)
	return w.Flush()
}
