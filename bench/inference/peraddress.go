package inference

import (
	"fmt"
	"io"
	"math"
	"net/netip"

	"github.com/ipatlas/ipatlas/bench/internal/synth"
	"github.com/oschwald/maxminddb-golang/v2"
)

// Per-address rows (Config.PerAddress): what models such as BertGeo
// emit, one row per address, each with its own coordinates, so almost
// every record is distinct.
//
// IPv4 row i is a /32: 64 addresses of each /24, one in each aligned
// group of four (host 4*j + a seeded 0..3), /24s consecutive from
// 1.0.0.0. IPv6 row k is a /64: 16 consecutive /64s from the start of
// each /48, /48s consecutive from 2400::. Locality as in real data: the
// 8 /24s of a /21 (and the 4 /48s of a /46) share a city, a depth and a
// source; each /24 (/48) has its own confidences (two decimals); each
// address its own coordinates, the city's jittered by up to 0.1 degree
// at six decimals, and its own accuracy radius.
const (
	perV4Block   = 64 // rows per /24
	perV4Run     = 8  // /24s per city run
	perV6Block   = 16 // rows (/64s) per /48
	perV6Run     = 4  // /48s per city run
	perJitterMax = 100_000
	perJitterDiv = 1e6
)

// Hash streams of per-address rows.
const (
	streamAddr = iota + 100
	streamAddrRun
	streamAddrBlock
	streamAddrRow
)

// addressPrefix returns row i of the per-address input: IPv4 rows first,
// then IPv6.
func (c Config) addressPrefix(i int) netip.Prefix {
	if i < c.IPv4Count {
		blk := i / perV4Block
		host := 4*(i%perV4Block) + int(synth.Hash(c.Seed, streamAddr, uint64(i))%4)
		a := uint32(1)<<24 + uint32(blk)<<8 + uint32(host)
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), 32)
	}
	k := i - c.IPv4Count
	top := uint64(0x2400)<<32 | uint64(k/perV6Block) // the first 48 bits
	var b [16]byte
	for j := range 6 {
		b[j] = byte(top >> (40 - 8*j))
	}
	b[7] = byte(k % perV6Block)
	return netip.PrefixFrom(netip.AddrFrom16(b), 64)
}

// addressCombo returns what row i of the per-address input says.
func (p *pool) addressCombo(c Config, i int) combo {
	var run, blk uint64
	if i < c.IPv4Count {
		blk = uint64(i / perV4Block)
		run = blk / perV4Run
	} else {
		blk = 1<<40 | uint64((i-c.IPv4Count)/perV6Block)
		run = 1<<40 | (blk&(1<<40-1))/perV6Run
	}
	hRun := func(i uint64) uint64 { return synth.Hash(c.Seed, streamAddrRun, run<<8|i) }
	hBlock := func(i uint64) uint64 { return synth.Hash(c.Seed, streamAddrBlock, blk<<8|i) }
	cb, cityIdx, lat, lon := p.draw(synth.Unit(hRun(1)), synth.Depth(hRun(3)), sources[hRun(2)%uint64(len(sources))], hBlock, func(x float64) float64 { return roundTo(x, 1e2) })
	if cb.depth >= 4 {
		d := hBlock(10) % 8
		key := uint64(cityIdx)<<3 | d
		if cb.district = p.districts[key]; cb.district == "" {
			if p.districts == nil {
				p.districts = map[uint64]string{} // at most 8 a city
			}
			cb.district = districtName(c.Seed, cityIdx, d, cb.country.Script)
			p.districts[key] = cb.district
		}
	}
	cb.lat = roundTo(synth.Clamp(lat+jitter(synth.Hash(c.Seed, streamAddrRow, uint64(i)<<8|1)), -90, 90), 1e6)
	cb.lon = roundTo(synth.WrapLon(lon+jitter(synth.Hash(c.Seed, streamAddrRow, uint64(i)<<8|2))), 1e6)
	cb.accuracy = accuracyKm[min(len(accuracyKm)-1, int(synth.Hash(c.Seed, streamAddrRow, uint64(i)<<8|3)%3))]
	return cb
}

// writeAddressRows writes the per-address rows to w, CSV or JSONL,
// streaming: nothing is held per row.
func (c Config) writeAddressRows(w io.Writer, jsonl bool) error {
	if !jsonl {
		if _, err := io.WriteString(w, csvHeader); err != nil {
			return err
		}
	}
	p := newPool(c.Seed)
	line := make([]byte, 0, 1024)
	for i := range c.Rows() {
		pre := c.addressPrefix(i)
		cb := p.addressCombo(c, i)
		if jsonl {
			line = append(line[:0], `{"network":"`...)
			line = pre.AppendTo(line)
			line = append(line, '"')
			line = cb.appendJSONPrec(line, 6)
		} else {
			line = pre.AppendTo(line[:0])
			line = cb.appendCSVPrec(line, 6)
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// checkAddressLookups is checkLookups for per-address rows: each sampled
// address must answer its row's record with a network of at most /32
// (/64) that holds it, and an address of the same /24 that no row gives
// (the next one in its group of four; for IPv6 the /64 after the last
// one of its /48) must not be found.
func checkAddressLookups(c Config, db *maxminddb.Reader, samples int) (checkResult, error) {
	var res checkResult
	p := newPool(c.Seed)
	for j := range samples {
		if c.Rows() == 0 {
			break
		}
		h := synth.Hash(c.Seed, streamSample, uint64(j))
		h2 := synth.Hash(c.Seed, streamSample, uint64(j)|1<<40)
		var i int
		switch {
		case c.IPv6 > 0 && (h%5 == 0 || c.IPv4Count == 0):
			i = c.IPv4Count + int(h2%uint64(c.IPv6))
			res.ipv6++
		default:
			i = int(h2 % uint64(c.IPv4Count))
			res.ipv4++
		}
		pre := c.addressPrefix(i)
		addr, gap := pre.Addr(), pre.Addr()
		if addr.Is4() {
			b := addr.As4()
			b[3] = b[3]&^3 | (b[3]+1)&3
			gap = netip.AddrFrom4(b)
		} else {
			addr = randomIn(pre, synth.Hash(c.Seed, streamSample, uint64(j)|2<<40))
			b := gap.As16()
			b[6], b[7] = 0, perV6Block
			gap = netip.AddrFrom16(b)
		}
		res.lookups += 2
		r := db.Lookup(gap)
		if err := r.Err(); err != nil {
			return res, fmt.Errorf("lookup %s: %w", gap, err)
		}
		if r.Found() {
			return res, fmt.Errorf("lookup %s: found (network %s), want no record: no row gives it", gap, r.Prefix())
		}
		res.misses++
		r = db.Lookup(addr)
		if err := r.Err(); err != nil {
			return res, fmt.Errorf("lookup %s: %w", addr, err)
		}
		if !r.Found() {
			return res, fmt.Errorf("lookup %s: not found, want the record of row %d (%s)", addr, i, pre)
		}
		if got := r.Prefix(); !got.Contains(addr) || got.Bits() > pre.Bits() {
			return res, fmt.Errorf("lookup %s: network %s, want one of at most /%d that contains it", addr, got, pre.Bits())
		}
		var got checkRecord
		if err := r.Decode(&got); err != nil {
			return res, fmt.Errorf("lookup %s: decode: %w", addr, err)
		}
		want := p.addressCombo(c, i)
		if err := compareRecord(&got, &want); err != nil {
			return res, fmt.Errorf("lookup %s (network %s, row %d): %w", addr, r.Prefix(), i, err)
		}
	}
	return res, nil
}

// jitter maps h to an offset in degrees, at most perJitterMax/perJitterDiv.
func jitter(h uint64) float64 {
	return float64(int64(h%(2*perJitterMax+1))-perJitterMax) / perJitterDiv
}

// roundTo rounds x to a multiple of 1/scale: the double nearest to a
// decimal of log10(scale) places, which the input file writes exactly
// (fixed does the same through a string, which allocates).
func roundTo(x, scale float64) float64 { return math.Round(x*scale) / scale }
