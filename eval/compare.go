package eval

import (
	"cmp"
	"fmt"
	"github.com/ipatlas/ipatlas/internal/geo"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/ipatlas/ipatlas/internal/mmdbtree"
	"github.com/ipatlas/ipatlas/reader"
)

// MovedKm are the distances of Space.MovedKm.
var MovedKm = [...]float64{1, 10, 100, 1000}

// Moved are the shares of the addresses where both files give a
// location whose locations are more than 1, 10, 100 and 1000 km apart.
type Moved struct {
	Km1    Num `json:"1"`
	Km10   Num `json:"10"`
	Km100  Num `json:"100"`
	Km1000 Num `json:"1000"`
}

// Space is how two databases disagree over one address family, weighted
// by addresses. Counts are numbers of addresses (exact for IPv4; IPv6
// counts are float64 sums of powers of two).
type Space struct {
	// AddressesA and AddressesB are the addresses each file answers,
	// AddressesBoth those both answer.
	AddressesA    float64 `json:"addresses_a"`
	AddressesB    float64 `json:"addresses_b"`
	AddressesBoth float64 `json:"addresses_both"`
	// CountryDiffers and CityDiffers are shares of AddressesBoth: the
	// country codes differ (one file having none counts), the cities
	// differ (by GeoNames id when both have one, else by the first name,
	// English where there is one, ignoring case; one file having none
	// counts, both having none does not).
	CountryDiffers Num `json:"country_differs"`
	CityDiffers    Num `json:"city_differs"`
	// WithLocationBoth are the addresses where both give coordinates.
	WithLocationBoth float64 `json:"with_location_both"`
	// MovedKm are shares of WithLocationBoth.
	MovedKm Moved `json:"moved_km"`

	countryDiff, cityDiff float64
	moved                 [len(MovedKm)]float64
}

// CountryMoves is how far one country's addresses (A's country) moved.
type CountryMoves struct {
	Country string `json:"country"`
	// Addresses both files answer with a location, A placing them in
	// Country.
	Addresses float64 `json:"addresses"`
	// Moved10Km and Moved100Km are those whose locations are more than 10
	// and 100 km apart; CountryDiffers those B places in another country.
	Moved10Km      float64 `json:"moved_10km"`
	Moved100Km     float64 `json:"moved_100km"`
	CountryDiffers float64 `json:"country_differs"`
}

// Comparison is how database B disagrees with database A.
type Comparison struct {
	A    string `json:"a"`
	B    string `json:"b"`
	IPv4 Space  `json:"ipv4"`
	IPv6 Space  `json:"ipv6"`
	// TopCountries are A's countries with the most addresses moved more
	// than 100 km, most first.
	TopCountries []CountryMoves `json:"top_countries"`
}

// CompareOptions say how to compare.
type CompareOptions struct {
	// LayoutA and LayoutB say where each file keeps location and country.
	LayoutA, LayoutB Layout
	// Top is the number of TopCountries (10 when 0).
	Top int
}

// compareSide is one file of a comparison.
type compareSide struct {
	t      *mmdbtree.Tree
	db     *reader.Reader
	layout *Layout
	memo   map[uint]comparePlace
	flat   bool         // records read as flat
	fast   *fastDecoder // nil unless the layout is the default one
}

// comparePlace is what compare reads of a record, kept small: a
// database like DB-IP City Lite has millions of distinct records.
type comparePlace struct {
	lat, lon float64
	hasLoc   bool
	country  string
	// city is the city's first name (English where there is one) and
	// cityID its GeoNames id, 0 when none.
	city   string
	cityID uint64
}

// compareMemo bounds the records a compareSide keeps decoded.
const compareMemo = 1 << 18

func (s *compareSide) place(off uint) (comparePlace, error) {
	if p, ok := s.memo[off]; ok {
		return p, nil
	}
	var a *answer
	ok := false
	if s.fast != nil && !s.flat {
		a, ok = s.fast.answer(off, compareLevels)
	}
	if !ok {
		var err error
		a, err = decodeAnswer(s.db.LookupOffset(uintptr(off)), s.layout, compareLevels, &s.flat)
		if err != nil {
			return comparePlace{}, fmt.Errorf("%s: record at data offset %d: %w", s.t.Path, off, err)
		}
	}
	c := a.level(levelCity)
	p := comparePlace{lat: a.lat, lon: a.lon, hasLoc: a.hasLoc, country: strings.ToUpper(a.level(levelCountry).code), cityID: c.geonameID}
	if len(c.names) > 0 {
		p.city = c.names[0]
	}
	if len(s.memo) >= compareMemo {
		clear(s.memo)
	}
	s.memo[off] = p
	return p, nil
}

var compareLevels = []string{"country", "subdivision", "city"}

func openSide(path string, layout *Layout) (*compareSide, error) {
	t, err := mmdbtree.Open(path)
	if err != nil {
		return nil, err
	}
	db, err := reader.OpenBytes(t.Bytes(), reader.WithoutIndex())
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &compareSide{t: t, db: db, layout: layout, memo: map[uint]comparePlace{}}
	if layout.defaultPaths() {
		s.fast = newFastDecoder(t.Dec)
	}
	return s, nil
}

// Compare walks the search trees of the files a and b once, side by side
// (both memory-mapped; memory bounded by the decoded records kept, at
// most 2^18 a file), and measures how their answers differ, weighted by
// addresses. Aliases of the IPv4 data inside IPv6 (::ffff:0:0/96,
// 2002::/16, 2001::/32) count as nothing: IPv4 is counted once, as IPv4.
// An IPv4-only file answers nothing in IPv6.
func Compare(a, b string, opts CompareOptions) (*Comparison, error) {
	sa, err := openSide(a, &opts.LayoutA)
	if err != nil {
		return nil, err
	}
	defer sa.t.Close()
	sb, err := openSide(b, &opts.LayoutB)
	if err != nil {
		return nil, err
	}
	defer sb.t.Close()
	c := &Comparison{A: a, B: b}
	byCountry := map[string]*CountryMoves{}
	w := mmdbtree.PairWalk[[2]mmdbtree.Leaf]{A: sa.t, B: sb.t, IgnoreAliases: true,
		Cell: func(a, b mmdbtree.Leaf) ([2]mmdbtree.Leaf, error) { return [2]mmdbtree.Leaf{a, b}, nil },
		Same: func(x, y *[2]mmdbtree.Leaf) bool { return *x == *y },
		Skip: func(x *[2]mmdbtree.Leaf) bool { return !x[0].Has && !x[1].Has },
	}
	w.Emit = func(p netip.Prefix, cell [2]mmdbtree.Leaf) error {
		n4, n6 := addresses(p)
		if n4 > 0 {
			if err := c.IPv4.add(n4, cell, sa, sb, byCountry); err != nil {
				return err
			}
		}
		if n6 > 0 {
			return c.IPv6.add(n6, cell, sa, sb, byCountry)
		}
		return nil
	}
	if err := w.Run(); err != nil {
		return nil, err
	}
	c.IPv4.finish()
	c.IPv6.finish()
	top := opts.Top
	if top <= 0 {
		top = 10
	}
	for _, m := range byCountry {
		c.TopCountries = append(c.TopCountries, *m)
	}
	slices.SortFunc(c.TopCountries, func(x, y CountryMoves) int {
		return cmp.Or(cmp.Compare(y.Moved100Km, x.Moved100Km), cmp.Compare(y.Addresses, x.Addresses), strings.Compare(x.Country, y.Country))
	})
	c.TopCountries = c.TopCountries[:min(top, len(c.TopCountries))]
	return c, nil
}

// addresses returns the number of IPv4 and IPv6 addresses in p, where an
// IPv6 prefix that holds ::/96 (the IPv4 data of an IPv6 tree) counts
// those 2^32 addresses as IPv4.
func addresses(p netip.Prefix) (n4, n6 float64) {
	if p.Addr().Is4() {
		return math.Ldexp(1, 32-p.Bits()), 0
	}
	n6 = math.Ldexp(1, 128-p.Bits())
	if p.Bits() <= 96 && p.Contains(netip.IPv6Unspecified()) {
		return math.Ldexp(1, 32), n6 - math.Ldexp(1, 32)
	}
	return 0, n6
}

func (s *Space) add(n float64, cell [2]mmdbtree.Leaf, sa, sb *compareSide, byCountry map[string]*CountryMoves) error {
	if cell[0].Has {
		s.AddressesA += n
	}
	if cell[1].Has {
		s.AddressesB += n
	}
	if !cell[0].Has || !cell[1].Has {
		return nil
	}
	s.AddressesBoth += n
	a, err := sa.place(cell[0].Off)
	if err != nil {
		return err
	}
	b, err := sb.place(cell[1].Off)
	if err != nil {
		return err
	}
	countryDiffers := a.country != b.country
	if countryDiffers {
		s.countryDiff += n
	}
	if !sameCity(&a, &b) {
		s.cityDiff += n
	}
	if !a.hasLoc || !b.hasLoc {
		return nil
	}
	s.WithLocationBoth += n
	d := geo.Distance(a.lat, a.lon, b.lat, b.lon)
	for i, k := range MovedKm {
		if d > k {
			s.moved[i] += n
		}
	}
	key := a.country
	if key == "" {
		key = "-"
	}
	m := byCountry[key]
	if m == nil {
		m = &CountryMoves{Country: key}
		byCountry[key] = m
	}
	m.Addresses += n
	if d > 10 {
		m.Moved10Km += n
	}
	if d > 100 {
		m.Moved100Km += n
	}
	if countryDiffers {
		m.CountryDiffers += n
	}
	return nil
}

// sameCity compares two records' cities: by GeoNames id when both have
// one, else by name, ignoring case (no city on both sides is the same).
func sameCity(a, b *comparePlace) bool {
	if a.cityID != 0 && b.cityID != 0 {
		return a.cityID == b.cityID
	}
	return strings.EqualFold(a.city, b.city)
}

func fraction(a, b float64) Num {
	if b == 0 {
		return Num(math.NaN())
	}
	return Num(a / b)
}

func (s *Space) finish() {
	s.CountryDiffers = fraction(s.countryDiff, s.AddressesBoth)
	s.CityDiffers = fraction(s.cityDiff, s.AddressesBoth)
	s.MovedKm = Moved{fraction(s.moved[0], s.WithLocationBoth), fraction(s.moved[1], s.WithLocationBoth),
		fraction(s.moved[2], s.WithLocationBoth), fraction(s.moved[3], s.WithLocationBoth)}
}
