package inference

import (
	"fmt"
	"io"
	"net/netip"
	"slices"

	"github.com/ipatlas/ipatlas/bench/internal/synth"
	"github.com/oschwald/maxminddb-golang/v2"
)

// checkRecord is the part of a compiled record that check compares with
// the generated row.
type checkRecord struct {
	Country struct {
		ISOCode    string            `maxminddb:"iso_code"`
		Names      map[string]string `maxminddb:"names"`
		Confidence uint16            `maxminddb:"confidence"`
	} `maxminddb:"country"`
	City struct {
		Names      map[string]string `maxminddb:"names"`
		Confidence uint16            `maxminddb:"confidence"`
	} `maxminddb:"city"`
	Location struct {
		Latitude       float64 `maxminddb:"latitude"`
		Longitude      float64 `maxminddb:"longitude"`
		AccuracyRadius uint16  `maxminddb:"accuracy_radius"`
	} `maxminddb:"location"`
	IPAtlas struct {
		Confidence float64 `maxminddb:"confidence"`
		Source     string  `maxminddb:"source"`
		Regions    []struct {
			Level      string  `maxminddb:"level"`
			Code       string  `maxminddb:"code"`
			Name       string  `maxminddb:"name"`
			Confidence float64 `maxminddb:"confidence"`
		} `maxminddb:"regions"`
	} `maxminddb:"ipatlas"`
}

// checkResult counts what check looked at.
type checkResult struct {
	lookups, ipv4, ipv6, misses int
}

// RunCheck opens the .mmdb at path with maxminddb-golang v2, runs Verify,
// and looks up samples seeded addresses: each must answer the record of
// the row generated for its /24 (or /48), and the /48 after a sampled
// IPv6 one, when no row gives it, must not be found. It prints the
// number of networks in the file (after compile merged equal neighbours;
// aliases not counted).
func RunCheck(c Config, path string, samples int, stdout io.Writer) error {
	db, err := maxminddb.Open(path)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer db.Close()
	if err := db.Verify(); err != nil {
		return fmt.Errorf("check: %s: Verify: %w", path, err)
	}
	if v := db.Metadata.IPVersion; v != 6 {
		return fmt.Errorf("check: %s: ip_version %d, want 6", path, v)
	}
	check := checkLookups
	if c.PerAddress {
		check = checkAddressLookups
	}
	res, err := check(c, db, samples)
	if err != nil {
		return fmt.Errorf("check: %s: %w", path, err)
	}
	networks := 0
	for r := range db.Networks() {
		if err := r.Err(); err != nil {
			return fmt.Errorf("check: %s: iterating the networks: %w", path, err)
		}
		networks++
	}
	fmt.Fprintf(stdout, "check ok: Verify passed; %d lookups (%d IPv4, %d IPv6 answered their generated rows, %d gaps not found); networks_in_file=%d node_count=%d record_size=%d\n",
		res.lookups, res.ipv4, res.ipv6, res.misses, networks, db.Metadata.NodeCount, db.Metadata.RecordSize)
	return nil
}

// checkLookups looks up samples seeded addresses in db (see RunCheck).
func checkLookups(c Config, db *maxminddb.Reader, samples int) (checkResult, error) {
	var res checkResult
	p := newPool(c.Seed)
	for j := range samples {
		h := synth.Hash(c.Seed, streamSample, uint64(j))
		h2 := synth.Hash(c.Seed, streamSample, uint64(j)|1<<40)
		var addr netip.Addr
		var want combo
		var maxBits int
		switch {
		case c.IPv6 > 0 && (h%5 == 0 || c.IPv4Count == 0):
			k := int(h2 % uint64(c.IPv6))
			pre := c.ipv6Prefix(k)
			addr = randomIn(pre, synth.Hash(c.Seed, streamSample, uint64(j)|2<<40))
			want, maxBits = p.combo(c.Seed, c.ipv6Combo(k)), 48
			res.ipv6++
			gap := nextPrefix(pre)
			if k+1 < c.IPv6 && gap == c.ipv6Prefix(k+1) || gap.Addr().As16()[1] == 0x02 && gap.Addr().As16()[0] == 0x20 {
				break // the next /48 is a row, or inside 2002::/16
			}
			res.lookups++
			r := db.Lookup(gap.Addr())
			if err := r.Err(); err != nil {
				return res, fmt.Errorf("lookup %s: %w", gap.Addr(), err)
			}
			if r.Found() {
				return res, fmt.Errorf("lookup %s: found (network %s), want no record: no row gives %s", gap.Addr(), r.Prefix(), gap)
			}
			res.misses++
		case c.IPv4Count > 0:
			i := int(h2 % uint64(c.IPv4Count))
			a := ipv4Prefix(i).Addr().As4()
			a[3] = byte(h >> 8)
			addr = netip.AddrFrom4(a)
			want, maxBits = p.combo(c.Seed, c.ipv4Combo(i)), 24
			res.ipv4++
		default:
			return res, nil
		}
		res.lookups++
		r := db.Lookup(addr)
		if err := r.Err(); err != nil {
			return res, fmt.Errorf("lookup %s: %w", addr, err)
		}
		if !r.Found() {
			return res, fmt.Errorf("lookup %s: not found, want the generated row's record", addr)
		}
		if pre := r.Prefix(); !pre.Contains(addr) || pre.Bits() > maxBits {
			return res, fmt.Errorf("lookup %s: network %s, want one of at most /%d that contains it", addr, pre, maxBits)
		}
		var got checkRecord
		if err := r.Decode(&got); err != nil {
			return res, fmt.Errorf("lookup %s: decode: %w", addr, err)
		}
		if err := compareRecord(&got, &want); err != nil {
			return res, fmt.Errorf("lookup %s (network %s): %w", addr, r.Prefix(), err)
		}
	}
	return res, nil
}

// randomIn returns the address of p whose host bits are taken from h.
func randomIn(p netip.Prefix, h uint64) netip.Addr {
	b := p.Addr().As16()
	for i := p.Bits(); i < 128; i++ {
		if h>>(i%64)&1 == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	return netip.AddrFrom16(b)
}

// nextPrefix returns the prefix of p's length right after p (p is not the
// last one).
func nextPrefix(p netip.Prefix) netip.Prefix {
	b := p.Addr().As16()
	i := (p.Bits() - 1) / 8
	carry := uint16(0x80 >> ((p.Bits() - 1) % 8))
	for ; i >= 0 && carry != 0; i-- {
		s := uint16(b[i]) + carry
		b[i], carry = byte(s), s>>8
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), p.Bits())
}

// compareRecord compares a decoded record with the combination its row
// was generated from: names, codes, confidences, location and source.
func compareRecord(got *checkRecord, want *combo) error {
	pct := func(c float64) uint16 { return uint16(c*100 + 0.5) }
	if got.Country.ISOCode != want.country.Code || got.Country.Names["en"] != want.country.Native || got.Country.Confidence != pct(want.conf[0]) {
		return fmt.Errorf("country %s %q %d, want %s %q %d", got.Country.ISOCode, got.Country.Names["en"], got.Country.Confidence,
			want.country.Code, want.country.Native, pct(want.conf[0]))
	}
	wantCity := ""
	var wantCityConf uint16
	if want.city != nil {
		wantCity, wantCityConf = want.city.name, pct(want.conf[2])
	}
	if got.City.Names["en"] != wantCity || got.City.Confidence != wantCityConf {
		return fmt.Errorf("city %q confidence %d, want %q confidence %d", got.City.Names["en"], got.City.Confidence, wantCity, wantCityConf)
	}
	if got.IPAtlas.Confidence != want.confidence() {
		return fmt.Errorf("ipatlas.confidence %v, want %v", got.IPAtlas.Confidence, want.confidence())
	}
	if got.IPAtlas.Source != want.source {
		return fmt.Errorf("ipatlas.source %q, want %q", got.IPAtlas.Source, want.source)
	}
	if got.Location.Latitude != want.lat || got.Location.Longitude != want.lon || int(got.Location.AccuracyRadius) != want.accuracy {
		return fmt.Errorf("location %v,%v radius %d, want %v,%v radius %d", got.Location.Latitude, got.Location.Longitude,
			got.Location.AccuracyRadius, want.lat, want.lon, want.accuracy)
	}
	type region struct {
		level, code, name string
		conf              float64
	}
	wantRegions := []region{{"country", want.country.Code, want.country.Native, want.conf[0]}}
	if want.province != nil {
		wantRegions = append(wantRegions, region{"province", want.province.code, want.province.name, want.conf[1]})
	}
	if want.city != nil {
		wantRegions = append(wantRegions, region{"city", "", want.city.name, want.conf[2]})
	}
	if want.district != "" {
		wantRegions = append(wantRegions, region{"district", "", want.district, want.conf[3]})
	}
	var gotRegions []region
	for _, r := range got.IPAtlas.Regions {
		gotRegions = append(gotRegions, region{r.Level, r.Code, r.Name, r.Confidence})
	}
	if !slices.Equal(gotRegions, wantRegions) {
		return fmt.Errorf("ipatlas.regions %v, want %v", gotRegions, wantRegions)
	}
	return nil
}
