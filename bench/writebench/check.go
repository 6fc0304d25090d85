package main

import (
	"fmt"
	"io"
	"net/netip"
	"reflect"

	"github.com/ipatlas/ipatlas/bench/internal/synth"
	"github.com/oschwald/maxminddb-golang/v2"
)

// checker compares the answers of two databases. Records are decoded
// once per pair of data offsets: a pair seen before answered equally.
type checker struct {
	a, b     *maxminddb.Reader
	nameA    string
	nameB    string
	pairs    map[uintptr]uintptr // data offset in a -> in b, for pairs found equal
	expected map[uintptr]bool    // data offsets in a checked against the generator
	lookups  int
	found    int
	teredo   int // misses whose empty network differs because of 2001::/32
}

// teredo is 2001::/32, which mmdbwriter aliases to the IPv4 subtree.
var teredo = netip.MustParsePrefix("2001::/32")

// compare looks addr up in both databases and reports the first
// difference. If want is not nil, a's record must also equal it.
func (c *checker) compare(addr netip.Addr, want map[string]any) error {
	c.lookups++
	ra, rb := c.a.Lookup(addr), c.b.Lookup(addr)
	if err := ra.Err(); err != nil {
		return fmt.Errorf("%s: lookup %s: %w", c.nameA, addr, err)
	}
	if err := rb.Err(); err != nil {
		return fmt.Errorf("%s: lookup %s: %w", c.nameB, addr, err)
	}
	if ra.Found() != rb.Found() {
		return fmt.Errorf("lookup %s: found in %s: %v, in %s: %v", addr, c.nameA, ra.Found(), c.nameB, rb.Found())
	}
	if ra.Prefix() != rb.Prefix() {
		if !ra.Found() && (ra.Prefix().Overlaps(teredo) || rb.Prefix().Overlaps(teredo)) {
			// The empty networks around 2001::/32 differ: mmdbwriter
			// aliases it to IPv4, ipatlas does not.
			c.teredo++
			return nil
		}
		return fmt.Errorf("lookup %s: network in %s: %s, in %s: %s", addr, c.nameA, ra.Prefix(), c.nameB, rb.Prefix())
	}
	if !ra.Found() {
		if want != nil {
			return fmt.Errorf("lookup %s: not found, want record", addr)
		}
		return nil
	}
	c.found++
	oa, ob := ra.Offset(), rb.Offset()
	if seen, ok := c.pairs[oa]; !ok || seen != ob {
		var va, vb any
		if err := ra.Decode(&va); err != nil {
			return fmt.Errorf("%s: decode %s: %w", c.nameA, addr, err)
		}
		if err := rb.Decode(&vb); err != nil {
			return fmt.Errorf("%s: decode %s: %w", c.nameB, addr, err)
		}
		if !reflect.DeepEqual(va, vb) {
			return fmt.Errorf("lookup %s: records differ:\n%s: %v\n%s: %v", addr, c.nameA, va, c.nameB, vb)
		}
		c.pairs[oa] = ob
	}
	if want != nil && !c.expected[oa] {
		var va any
		if err := ra.Decode(&va); err != nil {
			return fmt.Errorf("%s: decode %s: %w", c.nameA, addr, err)
		}
		if w := decoded(want); !reflect.DeepEqual(va, w) {
			return fmt.Errorf("lookup %s: record differs from the generated one:\ngot  %v\nwant %v", addr, va, w)
		}
		c.expected[oa] = true
	}
	return nil
}

// runCheck verifies both files and compares their answers.
func runCheck(cfg config, pathA, pathB string, samples int, stdout io.Writer) error {
	a, err := maxminddb.Open(pathA)
	if err != nil {
		return fmt.Errorf("open %s: %w", pathA, err)
	}
	defer a.Close()
	b, err := maxminddb.Open(pathB)
	if err != nil {
		return fmt.Errorf("open %s: %w", pathB, err)
	}
	defer b.Close()
	for _, r := range []struct {
		path string
		r    *maxminddb.Reader
	}{{pathA, a}, {pathB, b}} {
		if err := r.r.Verify(); err != nil {
			return fmt.Errorf("verify %s: %w", r.path, err)
		}
		md := r.r.Metadata
		fmt.Fprintf(stdout, "verified %s: node_count=%d record_size=%d ip_version=%d\n", r.path, md.NodeCount, md.RecordSize, md.IPVersion)
	}
	c := &checker{
		a: a, b: b, nameA: pathA, nameB: pathB,
		pairs:    make(map[uintptr]uintptr),
		expected: make(map[uintptr]bool),
	}
	recs := cfg.generate()
	err = cfg.eachNetwork(func(p netip.Prefix, rec int) error {
		return c.compare(p.Addr(), recs[rec])
	})
	if err != nil {
		return err
	}
	nets := c.lookups
	for i := range samples {
		if err := c.compare(sampleAddr(cfg, uint64(i)), nil); err != nil {
			return fmt.Errorf("sample %d: %w", i, err)
		}
	}
	fmt.Fprintf(stdout, "check ok: %d network first addresses and %d random addresses answer identically (%d found, %d distinct records; %d misses next to 2001::/32 with a different empty network, by design)\n",
		nets, c.lookups-nets, c.found, len(c.pairs), c.teredo)
	return nil
}

// sampleAddr is the i-th random address to compare: half anywhere in
// IPv4, a quarter anywhere in 2000::/3 except 2001::/32 (which mmdbwriter
// aliases to IPv4 and ipatlas does not) and a quarter inside the IPv6
// networks.
func sampleAddr(cfg config, i uint64) netip.Addr {
	h := synth.Hash(cfg.seed, streamSample, i)
	x, y := synth.Hash(cfg.seed, streamSample, i|1<<40), synth.Hash(cfg.seed, streamSample, i|2<<40)
	switch h % 4 {
	case 0, 1:
		return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
	case 2:
		if cfg.ipv6 > 0 {
			p := ipv6Prefix(cfg.seed, int(x%uint64(cfg.ipv6)), cfg.ipv6).Addr().As16()
			for j := 6; j < 16; j++ {
				p[j] = byte(y >> (8 * (j % 8)))
			}
			return netip.AddrFrom16(p)
		}
	}
	var b [16]byte
	for j := range 8 {
		b[j], b[8+j] = byte(x>>(56-8*j)), byte(y>>(56-8*j))
	}
	b[0] = 0x20 | b[0]&0x1f
	if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0 {
		b[2] = 1 // out of 2001::/32
	}
	return netip.AddrFrom16(b)
}
