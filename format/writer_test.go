package format

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipatlas/ipatlas/internal/testutil"
	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// ---- round trip against a brute-force oracle and three outside readers ----

// rtNet is one network of a round-trip input.
type rtNet struct {
	p   netip.Prefix // in the tree's space: IPv4 for an IPv4 database, 16 bytes (IPv4 at ::/96) for IPv6
	in  netip.Prefix // as given to Insert
	rec int          // index into the record pool
}

// rtAliases are the IPv4 aliases of an IPv6 database, written out from
// SPEC.md independently of the writer's own table.
var rtAliases = []netip.Prefix{
	netip.MustParsePrefix("::ffff:0:0/96"),
	netip.MustParsePrefix("2002::/16"),
}

var rtV4Space = netip.MustParsePrefix("::/96")

// rtOracle answers lookups by a linear scan over the input.
type rtOracle struct {
	version int
	aliases bool
	nets    []rtNet
}

// space maps a query to the address the oracle scans for: an IPv4
// address of an IPv6 database is ::a.b.c.d, and with aliases an address
// in ::ffff:0:0/96 is its low 32 bits and one in 2002::/16 its bits 16-47.
func (o *rtOracle) space(q netip.Addr) netip.Addr {
	if o.version == 4 {
		return q.Unmap()
	}
	if q.Is4() {
		return rtTo16(q)
	}
	b := q.As16()
	if o.aliases && rtAliases[0].Contains(q) {
		return rtTo16(netip.AddrFrom4([4]byte(b[12:16])))
	}
	if o.aliases && rtAliases[1].Contains(q) {
		return rtTo16(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return q
}

// lookup returns the record index for q, or -1.
func (o *rtOracle) lookup(q netip.Addr) int {
	k := o.space(q)
	best, bits := -1, -1
	for i := range o.nets {
		if p := o.nets[i].p; p.Bits() > bits && p.Contains(k) {
			best, bits = o.nets[i].rec, p.Bits()
		}
	}
	return best
}

// rtTo16 returns ::a.b.c.d for an IPv4 address.
func rtTo16(a netip.Addr) netip.Addr {
	b4 := a.As4()
	var b [16]byte
	copy(b[12:], b4[:])
	return netip.AddrFrom16(b)
}

// rtToTree maps a reader's prefix to the tree's space.
func rtToTree(p netip.Prefix, version int) netip.Prefix {
	if version == 6 && p.Addr().Is4() {
		return netip.PrefixFrom(rtTo16(p.Addr()), p.Bits()+96)
	}
	return p
}

// rtHalves splits p into its two halves.
func rtHalves(p netip.Prefix) (netip.Prefix, netip.Prefix) {
	l := p.Bits()
	b := p.Addr().AsSlice()
	b[l/8] |= 0x80 >> (l % 8)
	hi, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(p.Addr(), l+1), netip.PrefixFrom(hi, l+1)
}

func rtHalvesList(p netip.Prefix) []netip.Prefix {
	a, b := rtHalves(p)
	return []netip.Prefix{a, b}
}

// rtLast is the last address of p.
func rtLast(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Values of a uniform block in the minimal-set computation.
const (
	rtNone  = -1 // no data
	rtAlias = -2 // an IPv4 alias: its own leaf, never merged, not listed
)

// minimal returns the minimal set of networks that answers every lookup
// as the oracle does: the maximal blocks of the address space where
// every address has the same record. IPv4 aliases are fixed leaves of
// the tree, and the root is a node, so a block is at least one bit long.
func (o *rtOracle) minimal() []rtNet {
	root := netip.MustParsePrefix("0.0.0.0/0")
	if o.version == 6 {
		root = netip.MustParsePrefix("::/0")
	}
	hasV4 := false
	for _, n := range o.nets {
		if o.version == 6 && n.p.Overlaps(rtV4Space) {
			hasV4 = true
		}
	}
	var out []rtNet
	emit := func(p netip.Prefix, v int) {
		if v >= 0 {
			out = append(out, rtNet{p: p, rec: v})
		}
	}
	var walk func(p netip.Prefix, nets []rtNet) (uniform bool, v int)
	walk = func(p netip.Prefix, nets []rtNet) (bool, int) {
		if o.version == 6 && o.aliases {
			for _, a := range rtAliases {
				if a == p {
					if hasV4 {
						return true, rtAlias
					}
					return true, rtNone
				}
			}
		}
		var in []rtNet
		for _, n := range nets {
			if n.p.Overlaps(p) {
				in = append(in, n)
			}
		}
		containsAlias := false
		if o.version == 6 && o.aliases {
			for _, a := range rtAliases {
				if p.Bits() < a.Bits() && p.Contains(a.Addr()) {
					containsAlias = true
				}
			}
		}
		if !containsAlias {
			if len(in) == 0 {
				return true, rtNone
			}
			if len(in) == 1 && in[0].p.Bits() <= p.Bits() {
				return true, in[0].rec
			}
		}
		l, r := rtHalves(p)
		lu, lv := walk(l, in)
		ru, rv := walk(r, in)
		if lu && ru && lv == rv && lv != rtAlias {
			return true, lv
		}
		if lu {
			emit(l, lv)
		}
		if ru {
			emit(r, rv)
		}
		return false, 0
	}
	// The root is a node: its halves are the largest possible blocks.
	for _, h := range rtHalvesList(root) {
		if u, v := walk(h, o.nets); u {
			emit(h, v)
		}
	}
	slices.SortFunc(out, func(a, b rtNet) int { return a.p.Addr().Compare(b.p.Addr()) })
	return out
}

// rtPool returns the records of a round trip: a few city-like records
// with names in several scripts and every value kind, and random ones.
// No NaN (readers print it differently) and no newline in a string
// (mmdblookup prints strings raw, one value a line).
func rtPool(r *rand.Rand) []Value {
	names := func(i int) Map {
		return Map{
			"en":    String([]string{"Beijing", "Moscow", "Cairo", "New Delhi", "Tokyo"}[i%5]),
			"zh-CN": String([]string{"北京市", "莫斯科", "开罗", "新德里", "东京"}[i%5]),
			"ru":    String([]string{"Пекин", "Москва", "Каир", "Нью-Дели", "Токио"}[i%5]),
			"ar":    String([]string{"بكين", "موسكو", "القاهرة", "نيودلهي", "طوكيو"}[i%5]),
			"hi":    String([]string{"बीजिंग", "मॉस्को", "काहिरा", "नई दिल्ली", "तोक्यो"}[i%5]),
			"emoji": String([]string{"🇨🇳", "🇷🇺", "🇪🇬", "🇮🇳", "🗼👨‍👩‍👧"}[i%5]),
		}
	}
	continent := Map{"code": String("AS"), "names": Map{"en": String("Asia"), "ja": String("アジア")}}
	var pool []Value
	for i := range 5 {
		pool = append(pool, Map{
			"city":      Map{"geoname_id": Uint32(1816670 + i*1000), "names": names(i)},
			"continent": continent,
			"location": Map{
				"latitude":        Float64(39.9075 - float64(i)*7.25),
				"longitude":       Float64(116.39723 + float64(i)),
				"accuracy_radius": Uint16(i * 100),
			},
			"kinds": Map{
				"uint16":  Uint16(65535 - i),
				"uint32":  Uint32(1<<31 + i),
				"int32":   Slice{Int32(-1 - i), Int32(128 + i), Int32(math.MinInt32), Int32(math.MaxInt32)},
				"uint64":  Uint64(1<<63 + uint64(i)),
				"uint128": Uint128{Hi: 1<<63 | uint64(i), Lo: 42},
				"bool":    Bool(i%2 == 0),
				"float":   Float32(1.1 + float32(i)),
				"double":  Float64(-0.1 * float64(i+1)),
				"inf":     Float64(math.Inf(1 - 2*(i%2))),
				"bytes":   Bytes{0, 0x2a, byte(i), 0xff},
				"empty":   Slice{Map{}, Slice{}, String(""), Bytes{}, Uint128{}, Uint64(0)},
			},
		})
	}
	for range 3 {
		pool = append(pool, rtSanitize(randValue(r, 3, pool[:5])))
	}
	pool = append(pool, Map{}, String("just a string"), Uint32(7))
	// Keep distinct records only, so an index names a record. Distinct as
	// the loosest reader sees them: Python reads every integer type as int
	// and both float types as float, so Int32(7) and Uint32(7) would be
	// one record to it (and to maxminddb-golang's decode into any).
	var out []Value
	var seen []any
	for _, v := range pool {
		py := rtPyWant(v)
		if !slices.ContainsFunc(seen, func(w any) bool { return reflect.DeepEqual(py, w) }) {
			out, seen = append(out, v), append(seen, py)
		}
	}
	return out
}

// rtSanitize replaces NaN and newlines, which outside readers print in
// their own ways.
func rtSanitize(v Value) Value {
	switch v := v.(type) {
	case Float64:
		if math.IsNaN(float64(v)) {
			return Float64(0.5)
		}
	case Float32:
		if math.IsNaN(float64(v)) {
			return Float32(0.25)
		}
	case String:
		return String(strings.NewReplacer("\n", " ", "\r", " ").Replace(string(v)))
	case Map:
		m := Map{}
		for k, e := range v {
			m[string(rtSanitize(String(k)).(String))] = rtSanitize(e)
		}
		return m
	case Slice:
		s := make(Slice, len(v))
		for i, e := range v {
			s[i] = rtSanitize(e)
		}
		return s
	}
	return v
}

// rtAddr returns a random address of the tree's space near anchor: the
// top bits of anchor, the rest random.
func rtAddr(r *rand.Rand, anchor netip.Addr, keep int) netip.Addr {
	b := anchor.AsSlice()
	for i := keep; i < len(b)*8; i++ {
		if r.IntN(2) == 0 {
			b[i/8] ^= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// rtInput returns sorted, non-overlapping networks with records from a
// pool of n, in runs of equal records so that siblings merge. style
// "regions" scatters partitioned regions over interesting places;
// "root" partitions the whole space, deeper towards a few focus points.
func rtInput(r *rand.Rand, version int, aliases bool, style string, n int) []rtNet {
	bits := 32
	if version == 6 {
		bits = 128
	}
	insideAlias := func(p netip.Prefix) bool {
		if version != 6 {
			return false
		}
		for _, a := range rtAliases {
			if p.Bits() >= a.Bits() && a.Contains(p.Addr()) {
				return aliases || a.Bits() == 96 // ::ffff:a.b.c.d is IPv4 either way
			}
		}
		return false
	}
	var leaves []rtNet
	var part func(p netip.Prefix, rec int, depth int, focus []netip.Addr)
	part = func(p netip.Prefix, rec int, depth int, focus []netip.Addr) {
		if r.IntN(10) < 3 {
			rec = r.IntN(n)
		}
		near := slices.ContainsFunc(focus, p.Contains)
		stop := 35
		if near {
			stop = 0
		}
		if p.Bits() == bits || depth == 0 || (p.Bits() > 0 && r.IntN(100) < stop) {
			if insideAlias(p) {
				return
			}
			if r.IntN(6) > 0 || p.Bits() == 0 {
				leaves = append(leaves, rtNet{p: p, rec: rec})
			}
			return
		}
		a, b := rtHalves(p)
		for _, h := range []netip.Prefix{a, b} {
			switch {
			case slices.ContainsFunc(focus, h.Contains):
				part(h, rec, depth, focus) // follow the focus down
			case near:
				part(h, rec, r.IntN(3), nil) // a small side tree
			default:
				part(h, rec, depth-1, focus)
			}
		}
	}
	if style == "root" {
		root := netip.MustParsePrefix("0.0.0.0/0")
		focus := []netip.Addr{rtAddr(r, netip.MustParseAddr("0.0.0.0"), 0), netip.MustParseAddr("255.255.255.255")}
		if version == 6 {
			root = netip.MustParsePrefix("::/0")
			focus = []netip.Addr{
				netip.MustParseAddr("::ffff:0:0").Prev(), netip.MustParseAddr("::1.2.3.4"),
				netip.MustParseAddr("2002::").Prev(), netip.MustParseAddr("2003::"),
				rtAddr(r, netip.MustParseAddr("::"), 0),
			}
		}
		part(root, r.IntN(n), 6, focus)
		return leaves
	}
	// Regions: random prefixes near anchors, kept if they do not overlap.
	var regions []netip.Prefix
	for range 60 {
		var p netip.Prefix
		if version == 4 {
			switch r.IntN(4) {
			case 0:
				p = netip.PrefixFrom(rtAddr(r, netip.MustParseAddr("0.0.0.0"), 8), 8+r.IntN(25))
			case 1:
				p = netip.PrefixFrom(rtAddr(r, netip.MustParseAddr("255.255.255.255"), 8), 8+r.IntN(25))
			default:
				p = netip.PrefixFrom(rtAddr(r, netip.MustParseAddr("0.0.0.0"), 0), 6+r.IntN(27))
			}
		} else {
			switch r.IntN(8) {
			case 0, 1: // IPv4
				p = netip.PrefixFrom(rtAddr(r, netip.MustParseAddr("::"), 96), 97+r.IntN(32))
			case 2: // around ::/96 and ::ffff:0:0/96
				p = netip.PrefixFrom(netip.MustParseAddr("::"), 64+r.IntN(32))
			case 3: // near the IPv4-mapped alias, not inside it
				p = netip.PrefixFrom(rtAddr(r, netip.MustParseAddr("::ffff:0:0"), 64), 64+r.IntN(65))
			case 4: // around and inside 2002::/16
				p = netip.PrefixFrom(rtAddr(r, netip.MustParseAddr("2002::"), 3+r.IntN(14)), 3+r.IntN(40))
			case 5: // global unicast
				p = netip.PrefixFrom(rtAddr(r, netip.MustParseAddr("2000::"), 3), 16+r.IntN(49))
			case 6: // the end of the space
				p = netip.PrefixFrom(rtAddr(r, netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 96), 96+r.IntN(33))
			default:
				p = netip.PrefixFrom(rtAddr(r, netip.MustParseAddr("::"), 0), 1+r.IntN(128))
				if r.IntN(4) > 0 {
					p = netip.PrefixFrom(p.Addr(), 24+r.IntN(105))
				}
			}
		}
		p = p.Masked()
		if !insideAlias(p) {
			regions = append(regions, p)
		}
	}
	slices.SortFunc(regions, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	var kept []netip.Prefix
	for _, p := range regions {
		if len(kept) == 0 || !kept[len(kept)-1].Overlaps(p) {
			kept = append(kept, p)
		}
	}
	for _, p := range kept {
		part(p, r.IntN(n), 4+r.IntN(4), nil)
	}
	return leaves
}

// rtPresent picks how a network is given to Insert: IPv4 networks of the
// tree as IPv4, as IPv4-mapped IPv6 or (IPv6 databases) as ::a.b.c.d.
func rtPresent(r *rand.Rand, version int, nets []rtNet) {
	for i := range nets {
		p := nets[i].p
		nets[i].in = p
		switch {
		case version == 4:
			if r.IntN(5) == 0 {
				b := p.Addr().As4()
				nets[i].in = netip.PrefixFrom(netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: b[0], 13: b[1], 14: b[2], 15: b[3]}), p.Bits()+96)
			}
		case p.Bits() >= 96 && rtV4Space.Contains(p.Addr()):
			b := p.Addr().As16()
			v4 := netip.AddrFrom4([4]byte(b[12:]))
			switch r.IntN(5) {
			case 0:
				nets[i].in = netip.PrefixFrom(netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: b[12], 13: b[13], 14: b[14], 15: b[15]}), p.Bits())
			case 1: // as it is: ::a.b.c.d/n
			default:
				nets[i].in = netip.PrefixFrom(v4, p.Bits()-96)
			}
		}
	}
}

// rtQueries returns the addresses to look up: the first and last address
// of every network, the ones just outside it and one inside, random
// addresses, fixed edges and, in an IPv6 database, every IPv4 address
// also as IPv4, IPv4-mapped and 6to4.
func rtQueries(r *rand.Rand, o *rtOracle) []netip.Addr {
	var qs []netip.Addr
	add := func(a netip.Addr) {
		if a.IsValid() {
			qs = append(qs, a)
		}
	}
	for _, n := range o.nets {
		first, last := n.p.Addr(), rtLast(n.p)
		add(first)
		add(last)
		add(first.Prev())
		add(last.Next())
		add(rtAddr(r, first, n.p.Bits()))
	}
	if o.version == 4 {
		for range 300 {
			add(rtAddr(r, netip.MustParseAddr("0.0.0.0"), 0))
		}
		for _, s := range []string{"0.0.0.0", "255.255.255.255", "127.0.0.1", "1.2.3.4"} {
			add(netip.MustParseAddr(s))
		}
		return rtDedup(qs)
	}
	for range 200 {
		add(rtAddr(r, netip.MustParseAddr("::"), 0))
		add(rtAddr(r, netip.MustParseAddr("::"), 96))
		add(rtAddr(r, netip.MustParseAddr("::"), 64))
		add(rtAddr(r, netip.MustParseAddr("2002::"), 16))
		add(rtAddr(r, netip.MustParseAddr("2000::"), 8))
	}
	for _, s := range []string{"::", "::1", "::ffff:0:0", "::ffff:255.255.255.255", "::fffe:ffff:ffff", "::1:0:0:0",
		"2002::", "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2003::",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0.0.0.0", "255.255.255.255", "1.2.3.4"} {
		add(netip.MustParseAddr(s))
	}
	for _, q := range qs {
		if q.Is6() && rtV4Space.Contains(q) {
			b := q.As16()
			add(netip.AddrFrom4([4]byte(b[12:])))
			add(netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: b[12], 13: b[13], 14: b[14], 15: b[15]}))
			s := rtAddr(r, netip.MustParseAddr("2002::"), 48).As16()
			copy(s[2:6], b[12:])
			add(netip.AddrFrom16(s))
		}
	}
	return rtDedup(qs)
}

func rtDedup(qs []netip.Addr) []netip.Addr {
	slices.SortFunc(qs, func(a, b netip.Addr) int {
		if a.Is4() != b.Is4() {
			if a.Is4() {
				return -1
			}
			return 1
		}
		return a.Compare(b)
	})
	return slices.Compact(qs)
}

// rtWrite writes nets with the Writer, alternating Intern+Insert and
// InsertValue.
func rtWrite(t *testing.T, path string, opts WriterOptions, nets []rtNet, pool []Value) {
	t.Helper()
	w, err := Create(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]RecordID, len(pool))
	for i, v := range pool {
		if ids[i], err = w.Intern(v); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range nets {
		if i%2 == 0 {
			err = w.Insert(n.in, ids[n.rec])
		} else {
			err = w.InsertValue(n.in, pool[n.rec])
		}
		if err != nil {
			w.Abort()
			t.Fatalf("network %d %s (%s): %v", i, n.in, n.p, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// rtTree rebuilds v's maps and slices as map[string]any and []any, with
// leaf applied to every other value.
func rtTree(v Value, leaf func(Value) any) any {
	switch v := v.(type) {
	case Map:
		m := map[string]any{}
		for k, e := range v {
			m[k] = rtTree(e, leaf)
		}
		return m
	case Slice:
		s := []any{}
		for _, e := range v {
			s = append(s, rtTree(e, leaf))
		}
		return s
	}
	return leaf(v)
}

// rtV2Want is how maxminddb-golang decodes v into an any: integers by
// value, float and double kept apart.
func rtV2Want(v Value) any { return rtTree(v, rtV2Leaf) }

func rtV2Leaf(v Value) any {
	switch v := v.(type) {
	case String:
		return "s:" + string(v)
	case Bytes:
		return "b:" + hex.EncodeToString(v)
	case Bool:
		return "t:" + strconv.FormatBool(bool(v))
	case Float32:
		return "f32:" + strconv.FormatFloat(float64(v), 'x', -1, 32)
	case Float64:
		return "f64:" + strconv.FormatFloat(float64(v), 'x', -1, 64)
	case Uint16:
		return "i:" + strconv.FormatUint(uint64(v), 10)
	case Uint32:
		return "i:" + strconv.FormatUint(uint64(v), 10)
	case Uint64:
		return "i:" + strconv.FormatUint(uint64(v), 10)
	case Int32:
		return "i:" + strconv.FormatInt(int64(v), 10)
	case Uint128:
		return "i:" + v.Big().String()
	}
	return fmt.Sprintf("unexpected %T", v)
}

// rtV2Got normalizes what maxminddb-golang decoded like rtV2Want.
func rtV2Got(x any) any {
	switch x := x.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = rtV2Got(e)
		}
		return m
	case []any:
		s := []any{}
		for _, e := range x {
			s = append(s, rtV2Got(e))
		}
		return s
	case string:
		return "s:" + x
	case []byte:
		return "b:" + hex.EncodeToString(x)
	case bool:
		return "t:" + strconv.FormatBool(x)
	case float32:
		return "f32:" + strconv.FormatFloat(float64(x), 'x', -1, 32)
	case float64:
		return "f64:" + strconv.FormatFloat(x, 'x', -1, 64)
	case *big.Int:
		return "i:" + x.String()
	case big.Int:
		return "i:" + x.String()
	}
	rv := reflect.ValueOf(x)
	switch {
	case rv.CanInt():
		return "i:" + strconv.FormatInt(rv.Int(), 10)
	case rv.CanUint():
		return "i:" + strconv.FormatUint(rv.Uint(), 10)
	}
	return fmt.Sprintf("unexpected %T", x)
}

// rtPyWant is how the Python reader's record looks once tagged by
// rtPyScript: integers by value, floats as doubles.
func rtPyWant(v Value) any {
	return rtTree(v, func(v Value) any {
		switch v := v.(type) {
		case Float32:
			return "f:" + strconv.FormatFloat(float64(v), 'x', -1, 64)
		case Float64:
			return "f:" + strconv.FormatFloat(float64(v), 'x', -1, 64)
		}
		return rtV2Leaf(v)
	})
}

// rtPyGot turns rtPyScript's tagged JSON ([tag, payload]) into the form
// of rtPyWant.
func rtPyGot(x any) (any, error) {
	pair, ok := x.([]any)
	if !ok || len(pair) != 2 {
		return nil, fmt.Errorf("not a [tag, value] pair: %v", x)
	}
	tag, _ := pair[0].(string)
	switch tag {
	case "m":
		in, ok := pair[1].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("map payload %T", pair[1])
		}
		m := map[string]any{}
		for k, e := range in {
			g, err := rtPyGot(e)
			if err != nil {
				return nil, err
			}
			m[k] = g
		}
		return m, nil
	case "a":
		in, ok := pair[1].([]any)
		if !ok {
			return nil, fmt.Errorf("array payload %T", pair[1])
		}
		s := []any{}
		for _, e := range in {
			g, err := rtPyGot(e)
			if err != nil {
				return nil, err
			}
			s = append(s, g)
		}
		return s, nil
	case "t":
		b, ok := pair[1].(bool)
		if !ok {
			return nil, fmt.Errorf("bool payload %T", pair[1])
		}
		return "t:" + strconv.FormatBool(b), nil
	}
	s, ok := pair[1].(string)
	if !ok {
		return nil, fmt.Errorf("%q payload %T", tag, pair[1])
	}
	switch tag {
	case "s", "b", "i":
		return tag + ":" + s, nil
	case "f":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, err
		}
		return "f:" + strconv.FormatFloat(f, 'x', -1, 64), nil
	}
	return nil, fmt.Errorf("unknown tag %q", tag)
}

// rtMLWant is how mmdblookup prints v (libmaxminddb's dump: "text <type>"
// a value; doubles and floats with printf's %f).
func rtMLWant(v Value) any {
	cf := func(f float64) string {
		switch {
		case math.IsInf(f, 1):
			return "inf"
		case math.IsInf(f, -1):
			return "-inf"
		}
		return strconv.FormatFloat(f, 'f', 6, 64)
	}
	return rtTree(v, func(v Value) any { return rtMLLeaf(v, cf) })
}

func rtMLLeaf(v Value, cf func(float64) string) any {
	switch v := v.(type) {
	case String:
		return `"` + string(v) + `" <utf8_string>`
	case Bytes:
		return strings.ToUpper(hex.EncodeToString(v)) + " <bytes>"
	case Bool:
		return strconv.FormatBool(bool(v)) + " <boolean>"
	case Float32:
		return cf(float64(v)) + " <float>"
	case Float64:
		return cf(float64(v)) + " <double>"
	case Uint16:
		return fmt.Sprintf("%d <uint16>", v)
	case Uint32:
		return fmt.Sprintf("%d <uint32>", v)
	case Uint64:
		return fmt.Sprintf("%d <uint64>", v)
	case Int32:
		return fmt.Sprintf("%d <int32>", v)
	case Uint128:
		return fmt.Sprintf("0x%016X%016X <uint128>", v.Hi, v.Lo)
	}
	return fmt.Sprintf("unexpected %T", v)
}

// rtPyScript reads addresses (one a line, on stdin) from the
// database argv[1] with the pure-Python reader and, when present, the C
// extension (libmaxminddb), and prints a JSON line each: records tagged
// [kind, value] so that bytes, integers and floats keep what they are.
const rtPyScript = `
import json, sys
import maxminddb

def tag(v):
    if isinstance(v, bool): return ["t", v]
    if isinstance(v, int): return ["i", str(v)]
    if isinstance(v, float): return ["f", v.hex()]
    if isinstance(v, str): return ["s", v]
    if isinstance(v, (bytes, bytearray)): return ["b", v.hex()]
    if isinstance(v, list): return ["a", [tag(x) for x in v]]
    if isinstance(v, dict): return ["m", {k: tag(x) for k, x in v.items()}]
    return ["?", repr(v)]

readers = [("py", maxminddb.open_database(sys.argv[1], maxminddb.MODE_MMAP))]
ext = ""
try:
    readers.append(("c", maxminddb.open_database(sys.argv[1], maxminddb.MODE_MMAP_EXT)))
except Exception as e:
    ext = repr(e)
m = readers[0][1].metadata()
print(json.dumps({"ext": ext, "node_count": m.node_count, "record_size": m.record_size, "ip_version": m.ip_version}))
out = []
for line in sys.stdin:
    a = line.strip()
    row = {}
    for name, r in readers:
        try:
            rec, plen = r.get_with_prefix_len(a)
            row[name] = None if rec is None else tag(rec)
            row[name + "len"] = plen
        except Exception as e:
            row[name + "err"] = repr(e)
    out.append(json.dumps(row))
print("\n".join(out))
`

// TestWriterRoundTrip writes seeded random inputs with every IP version,
// alias setting and record size, and checks lookups of thousands of
// addresses against a brute-force oracle through maxminddb-golang v2
// (with Verify), this package's Database, libmaxminddb (mmdblookup on a
// sample, and every address through the Python C extension) and the
// pure-Python reader; and that the networks the database lists are the
// minimal merged set the oracle computes.
func TestWriterRoundTrip(t *testing.T) {
	seed := testutil.Seed(t)
	inputs := []struct {
		name    string
		version int
		aliases bool
		style   string
	}{
		{"ipv4/regions", 4, false, "regions"},
		{"ipv4/root", 4, false, "root"},
		{"ipv6/aliases/regions", 6, true, "regions"},
		{"ipv6/aliases/root", 6, true, "root"},
		{"ipv6/noaliases/regions", 6, false, "regions"},
		{"ipv6/noaliases/root", 6, false, "root"},
	}
	for i, in := range inputs {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		pool := rtPool(r)
		nets := rtInput(r, in.version, in.aliases, in.style, len(pool))
		rtPresent(r, in.version, nets)
		o := &rtOracle{version: in.version, aliases: in.aliases, nets: nets}
		queries := rtQueries(r, o)
		want := make([]int, len(queries))
		for j, q := range queries {
			want[j] = o.lookup(q)
		}
		minimal := o.minimal()
		var data []byte // data section, the same for every record size
		for _, rs := range []int{0, 24, 28, 32} {
			t.Run(fmt.Sprintf("%s/record%d", in.name, rs), func(t *testing.T) {
				t.Logf("%d networks, %d after merging, %d queries", len(nets), len(minimal), len(queries))
				path := filepath.Join(t.TempDir(), "rt.mmdb")
				opts := WriterOptions{IPVersion: in.version, RecordSize: rs, DisableIPv4Aliases: !in.aliases,
					Languages: []string{"en", "zh-CN"}, BuildTime: time.Unix(1700000000, 0)}
				rtWrite(t, path, opts, nets, pool)
				file := testutil.ReadFile(t, path)
				db := mustParse(t, file)
				wantRS := uint(rs)
				if rs == 0 {
					wantRS = 24
				}
				if md := db.Metadata; md.RecordSize != wantRS || md.IPVersion != uint(in.version) || md.BuildEpoch != 1700000000 {
					t.Fatalf("metadata %+v", md)
				}
				if data == nil {
					data = db.Data
				} else if !bytes.Equal(data, db.Data) {
					t.Errorf("data section differs between record sizes")
				}
				t.Run("maxminddb-golang", func(t *testing.T) {
					rtCheckV2(t, path, o, queries, want, minimal, pool)
				})
				t.Run("Database", func(t *testing.T) {
					rtCheckDatabase(t, db, queries, want, minimal, pool, in.version, in.aliases)
				})
				// The outside readers run as processes, slow next to the Go
				// ones: every address with one record size per input (a
				// different one for each input), a sample with the others.
				full := rs == []int{0, 24, 28, 32}[i%4]
				sr := rand.New(rand.NewPCG(seed, uint64(100*i+rs)))
				t.Run("python", func(t *testing.T) {
					qs, ws := queries, want
					if !full {
						qs, ws = rtSample(sr, queries, want, 300)
					}
					rtCheckPython(t, path, db, qs, ws, pool)
				})
				t.Run("mmdblookup", func(t *testing.T) {
					n := 8
					if full {
						n = 32
					}
					qs, ws := rtSample(sr, queries, want, n)
					rtCheckMmdblookup(t, path, qs, ws, pool)
				})
			})
		}
	}
}

// rtSample returns up to n of the queries, at most a quarter of them
// misses, with their oracle records.
func rtSample(r *rand.Rand, queries []netip.Addr, want []int, n int) ([]netip.Addr, []int) {
	var qs []netip.Addr
	var ws []int
	misses := 0
	for _, j := range r.Perm(len(queries)) {
		if len(qs) == n {
			break
		}
		if want[j] < 0 {
			if misses++; misses > n/4 {
				continue
			}
		}
		qs, ws = append(qs, queries[j]), append(ws, want[j])
	}
	return qs, ws
}

// rtInAlias reports whether q is looked up through an IPv4 alias.
func rtInAlias(q netip.Addr, version int, aliases bool) bool {
	return version == 6 && aliases && (rtAliases[0].Contains(q) || rtAliases[1].Contains(q))
}

// rtContaining returns the network of the minimal set that holds k.
func rtContaining(minimal []rtNet, k netip.Addr) (netip.Prefix, bool) {
	for _, n := range minimal {
		if n.p.Contains(k) {
			return n.p, true
		}
	}
	return netip.Prefix{}, false
}

// rtListed compares the networks a reader lists with the minimal set:
// aliased copies of IPv4 are left out.
func rtListed(t *testing.T, reader string, got []rtNet, minimal []rtNet, o *rtOracle) {
	t.Helper()
	var kept []rtNet
	for _, n := range got {
		if rtInAlias(n.p.Addr(), o.version, o.aliases) {
			continue
		}
		kept = append(kept, n)
	}
	slices.SortFunc(kept, func(a, b rtNet) int { return a.p.Addr().Compare(b.p.Addr()) })
	bad := 0
	for i := 0; i < max(len(kept), len(minimal)) && bad < 10; i++ {
		var g, w rtNet
		g.rec, w.rec = -1, -1
		if i < len(kept) {
			g = kept[i]
		}
		if i < len(minimal) {
			w = minimal[i]
		}
		if g != w {
			t.Errorf("%s network %d: got %s record %d, minimal set has %s record %d", reader, i, g.p, g.rec, w.p, w.rec)
			bad++
		}
	}
	if len(kept) != len(minimal) {
		t.Errorf("%s lists %d networks, the minimal merged set has %d", reader, len(kept), len(minimal))
	}
}

func rtCheckV2(t *testing.T, path string, o *rtOracle, queries []netip.Addr, want []int, minimal []rtNet, pool []Value) {
	rd := testutil.OpenV2(t, path)
	if err := rd.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	poolV2 := make([]any, len(pool))
	for i, v := range pool {
		poolV2[i] = rtV2Want(v)
	}
	recOf := func(x any) int {
		g := rtV2Got(x)
		for i, w := range poolV2 {
			if reflect.DeepEqual(g, w) {
				return i
			}
		}
		return -2
	}
	bad := 0
	seen := map[uintptr]int{}
	for j, q := range queries {
		res := rd.Lookup(q)
		if res.Err() != nil {
			t.Fatalf("Lookup(%s): %v", q, res.Err())
		}
		got := -1
		if res.Found() {
			var ok bool
			// Decoded once per offset: the same offset is the same bytes.
			if got, ok = seen[res.Offset()]; !ok {
				var x any
				if err := res.Decode(&x); err != nil {
					t.Fatalf("Decode(%s): %v", q, err)
				}
				if got = recOf(x); got == -2 {
					t.Errorf("Lookup(%s) = %v: not a record of the input", q, x)
				}
				seen[res.Offset()] = got
			}
		}
		if got != want[j] {
			t.Errorf("Lookup(%s) = record %d, oracle says %d", q, got, want[j])
			bad++
		} else if got >= 0 && !rtInAlias(q, o.version, o.aliases) {
			p := rtToTree(res.Prefix(), o.version)
			if m, _ := rtContaining(minimal, o.space(q)); p != m {
				t.Errorf("Lookup(%s) prefix %s, the minimal network is %s", q, p, m)
				bad++
			}
		}
		if bad >= 10 {
			t.Fatal("too many errors")
		}
	}
	var listed []rtNet
	for res := range rd.Networks(maxminddb.IncludeAliasedNetworks()) {
		if res.Err() != nil {
			t.Fatalf("Networks: %v", res.Err())
		}
		var x any
		if err := res.Decode(&x); err != nil {
			t.Fatalf("Networks: Decode: %v", err)
		}
		listed = append(listed, rtNet{p: rtToTree(res.Prefix(), o.version), rec: recOf(x)})
	}
	rtListed(t, "Networks()", listed, minimal, o)
}

func rtCheckDatabase(t *testing.T, db *Database, queries []netip.Addr, want []int, minimal []rtNet, pool []Value, version int, aliases bool) {
	d := db.Decoder()
	seen := map[uint]int{}
	recAt := func(off uint) int {
		if rec, ok := seen[off]; ok {
			return rec // decoded once per offset: the same offset is the same bytes
		}
		v, _, err := d.Value(off)
		if err != nil {
			t.Fatalf("Value(%d): %v", off, err)
		}
		seen[off] = -2
		for i, w := range pool {
			if Equal(v, normalizeNil(w)) {
				seen[off] = i
				return i
			}
		}
		t.Errorf("record at %d is not in the input: %v", off, v)
		return -2
	}
	bad := 0
	for j, q := range queries {
		off, _, found, err := db.Lookup(q)
		if err != nil {
			t.Fatalf("Lookup(%s): %v", q, err)
		}
		got := -1
		if found {
			got = recAt(off)
		}
		if got != want[j] {
			t.Errorf("Lookup(%s) = record %d, oracle says %d", q, got, want[j])
			if bad++; bad >= 10 {
				t.Fatal("too many errors")
			}
		}
	}
	var listed []rtNet
	err := db.Walk(func(p netip.Prefix, off uint) error {
		listed = append(listed, rtNet{p: rtToTree(p, version), rec: recAt(off)})
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	rtListed(t, "Walk", listed, minimal, &rtOracle{version: version, aliases: aliases})
}

// rtCheckOutside checks every query with python3-maxminddb and
// mmdblookup, in subtests that skip (or fail under CI) when the reader is
// missing.
func rtCheckOutside(t *testing.T, path string, db *Database, queries []netip.Addr, want []int, pool []Value) {
	t.Run("python", func(t *testing.T) {
		rtCheckPython(t, path, db, queries, want, pool)
	})
	t.Run("mmdblookup", func(t *testing.T) {
		rtCheckMmdblookup(t, path, queries, want, pool)
	})
}

func rtCheckPython(t *testing.T, path string, db *Database, queries []netip.Addr, want []int, pool []Value) {
	var qs strings.Builder
	for _, q := range queries {
		qs.WriteString(q.String() + "\n")
	}
	out := testutil.RunPython(t, rtPyScript, qs.String(), path)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(queries)+1 {
		t.Fatalf("python printed %d lines for %d queries", len(lines), len(queries))
	}
	var head struct {
		Ext        string `json:"ext"`
		NodeCount  uint   `json:"node_count"`
		RecordSize uint   `json:"record_size"`
		IPVersion  uint   `json:"ip_version"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &head); err != nil {
		t.Fatal(err)
	}
	if head.NodeCount != db.Metadata.NodeCount || head.RecordSize != db.Metadata.RecordSize || head.IPVersion != db.Metadata.IPVersion {
		t.Errorf("python metadata %+v, file has %+v", head, db.Metadata)
	}
	readers := []string{"py"}
	if head.Ext != "" {
		if testutil.InCI() {
			t.Errorf("python's C extension (libmaxminddb) is missing: %s", head.Ext)
		}
		t.Logf("python's C extension (libmaxminddb) is missing, checking the pure-Python reader only: %s", head.Ext)
	} else {
		readers = append(readers, "c")
	}
	poolPy := make([]any, len(pool))
	for i, v := range pool {
		poolPy[i] = rtPyWant(v)
	}
	bad := 0
	for j, q := range queries {
		var row map[string]any
		if err := json.Unmarshal([]byte(lines[j+1]), &row); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for _, rd := range readers {
			if e, ok := row[rd+"err"]; ok {
				t.Fatalf("%s reader, %s: %v", rd, q, e)
			}
			got := -1
			if x := row[rd]; x != nil {
				g, err := rtPyGot(x)
				if err != nil {
					t.Fatalf("%s reader, %s: %v", rd, q, err)
				}
				got = slices.IndexFunc(poolPy, func(w any) bool { return reflect.DeepEqual(g, w) })
				if got < 0 {
					t.Errorf("%s reader, %s = %v: not a record of the input", rd, q, g)
					got = -2
				}
			}
			if got != want[j] {
				t.Errorf("%s reader, %s = record %d, oracle says %d", rd, q, got, want[j])
				if bad++; bad >= 10 {
					t.Fatal("too many errors")
				}
			}
		}
	}
}

// rtCheckMmdblookup runs mmdblookup for each query (a process per
// address, two at a time) and compares the record it prints.
func rtCheckMmdblookup(t *testing.T, path string, queries []netip.Addr, want []int, pool []Value) {
	results := testutil.MmdblookupAll(t, testutil.Mmdblookup(t), path, queries)
	for j, res := range results {
		q, w := queries[j], want[j]
		if w < 0 {
			if res.Found {
				t.Errorf("mmdblookup %s: found, want not found (exit 6):\n%s", q, res.Out)
			}
			continue
		}
		if !res.Found {
			t.Errorf("mmdblookup %s: not found, oracle has record %d", q, w)
			continue
		}
		v, err := testutil.ParseMmdblookup(res.Out)
		if err != nil {
			t.Fatalf("mmdblookup %s: %v\n%s", q, err, res.Out)
		}
		if got, exp := v.Tagged(), rtMLWant(pool[w]); !reflect.DeepEqual(got, exp) {
			t.Errorf("mmdblookup %s:\n got %v\nwant %v (record %d)", q, got, exp, w)
		}
	}
}

// ---- errors and the file's life cycle ----

// wtLookup returns the record found for addr in the database at path
// (through maxminddb-golang), or nil.
func wtLookup(t *testing.T, path, addr string) any {
	t.Helper()
	rd := testutil.OpenV2(t, path)
	if err := rd.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return testutil.LookupV2(t, rd, netip.MustParseAddr(addr))
}

func TestWriterInsertErrors(t *testing.T) {
	type step struct {
		prefix string
		rec    int // index into recs; -1 for an id never interned
	}
	tests := []struct {
		name    string
		opts    WriterOptions
		before  []step // accepted
		bad     step   // rejected
		wantErr string
		after   []step // accepted after the error: the writer is unchanged
	}{
		{"out of order", WriterOptions{IPVersion: 4}, []step{{"10.0.0.0/8", 0}}, step{"9.0.0.0/8", 1}, "out of order", []step{{"11.0.0.0/8", 1}}},
		{"same network twice", WriterOptions{IPVersion: 4}, []step{{"10.0.0.0/8", 0}}, step{"10.0.0.0/8", 1}, "overlaps", []step{{"11.0.0.0/8", 1}}},
		{"overlap inside", WriterOptions{IPVersion: 4}, []step{{"10.0.0.0/8", 0}}, step{"10.1.0.0/16", 1}, "overlaps", []step{{"11.0.0.0/8", 1}}},
		{"overlap around", WriterOptions{IPVersion: 4}, []step{{"10.1.0.0/16", 0}}, step{"10.0.0.0/8", 1}, "overlaps", []step{{"10.2.0.0/16", 1}}},
		{"overlap IPv4-mapped", WriterOptions{}, []step{{"10.0.0.0/8", 0}}, step{"::ffff:10.1.0.0/112", 1}, "overlaps", []step{{"11.0.0.0/8", 1}}},
		{"IPv4 after IPv6", WriterOptions{}, []step{{"2001:db8::/32", 0}}, step{"1.0.0.0/8", 1}, "out of order", []step{{"2001:db9::/32", 1}}},
		{"after the last address", WriterOptions{IPVersion: 4}, []step{{"255.255.255.255/32", 0}}, step{"255.255.255.255/32", 1}, "out of order", nil},
		{"after the last IPv6 address", WriterOptions{}, []step{{"ff00::/8", 0}}, step{"ffff::/16", 1}, "overlaps", nil},
		{"IPv6 in an IPv4 database", WriterOptions{IPVersion: 4}, []step{{"10.0.0.0/8", 0}}, step{"2001:db8::/32", 1}, "IPv6 network", []step{{"11.0.0.0/8", 1}}},
		{"IPv4-compatible IPv6 in an IPv4 database", WriterOptions{IPVersion: 4}, nil, step{"::1.2.3.0/120", 1}, "IPv6 network", []step{{"1.2.3.0/24", 1}}},
		{"host bits set", WriterOptions{IPVersion: 4}, nil, step{"10.0.0.1/8", 0}, "host bits", []step{{"10.0.0.0/8", 1}}},
		{"host bits set IPv6", WriterOptions{}, nil, step{"2001:db8::1/64", 0}, "host bits", []step{{"2001:db8::/64", 1}}},
		{"inside the 6to4 alias", WriterOptions{}, []step{{"1.0.0.0/8", 0}}, step{"2002:db8::/32", 1}, "alias", []step{{"2003::/16", 1}}},
		{"the 6to4 alias itself", WriterOptions{}, nil, step{"2002::/16", 1}, "alias", []step{{"2003::/16", 1}}},
		{"inside the 6to4 alias, host route", WriterOptions{}, nil, step{"2002:102:304::1/128", 1}, "alias", []step{{"2003::/16", 1}}},
		{"unknown record id", WriterOptions{IPVersion: 4}, []step{{"10.0.0.0/8", 0}}, step{"11.0.0.0/8", -1}, "unknown record", []step{{"11.0.0.0/8", 1}}},
		{"invalid prefix", WriterOptions{IPVersion: 4}, nil, step{"", 0}, "invalid", []step{{"1.0.0.0/8", 1}}},
	}
	recs := []Value{Map{"n": Uint16(0)}, Map{"n": Uint16(1)}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "x.mmdb")
			w, err := Create(path, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			var ids []RecordID
			for _, v := range recs {
				id, err := w.Intern(v)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			insert := func(s step) error {
				var p netip.Prefix
				if s.prefix != "" {
					p = netip.MustParsePrefix(s.prefix)
				}
				id := RecordID(99)
				if s.rec >= 0 {
					id = ids[s.rec]
				}
				return w.Insert(p, id)
			}
			for _, s := range tt.before {
				if err := insert(s); err != nil {
					t.Fatalf("Insert(%s): %v", s.prefix, err)
				}
			}
			err = insert(tt.bad)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Insert(%s) = %v, want an error with %q", tt.bad.prefix, err, tt.wantErr)
			}
			for _, s := range tt.after {
				if err := insert(s); err != nil {
					t.Fatalf("Insert(%s) after the error: %v", s.prefix, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			// The database holds exactly the accepted networks.
			for _, s := range append(tt.before, tt.after...) {
				p := netip.MustParsePrefix(s.prefix)
				for _, a := range []netip.Addr{p.Addr(), rtLast(p)} {
					got := wtLookup(t, path, a.String())
					if want := rtV2Want(recs[s.rec]); !reflect.DeepEqual(rtV2Got(got), want) {
						t.Errorf("Lookup(%s) = %v, want %v", a, got, want)
					}
				}
			}
			// The rejected network did not get in, unless an accepted
			// network (or, in an IPv6 database, an alias) covers it.
			if tt.bad.prefix == "" {
				return
			}
			a := netip.MustParsePrefix(tt.bad.prefix).Masked().Addr()
			if tt.opts.IPVersion == 4 && !a.Unmap().Is4() {
				return
			}
			for _, s := range append(tt.before, tt.after...) {
				if netip.MustParsePrefix(s.prefix).Contains(a) {
					return
				}
			}
			if got := wtLookup(t, path, a.String()); got != nil && !rtInAlias(a, 6, true) {
				t.Errorf("rejected network %s is in the database: %v", tt.bad.prefix, got)
			}
		})
	}
}

func TestWriterOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opts WriterOptions
	}{
		{"IP version 5", WriterOptions{IPVersion: 5}},
		{"IP version -1", WriterOptions{IPVersion: -1}},
		{"record size 20", WriterOptions{RecordSize: 20}},
		{"record size 64", WriterOptions{RecordSize: 64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Create(filepath.Join(dir, "x.mmdb"), tt.opts)
			if err == nil {
				w.Abort()
				t.Fatal("Create succeeded")
			}
			if names := testutil.DirNames(t, dir); len(names) != 0 {
				t.Fatalf("Create left %v behind", names)
			}
		})
	}
	if _, err := Create(filepath.Join(t.TempDir(), "missing", "x.mmdb"), WriterOptions{}); err == nil {
		t.Fatal("Create in a missing directory succeeded")
	}
}

func TestWriterInternErrors(t *testing.T) {
	w, err := Create(filepath.Join(t.TempDir(), "x.mmdb"), WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, v := range []Value{nil, String("\xff"), Map{"k": nil}, Map{"\xfe": Bool(true)}} {
		if _, err := w.Intern(v); err == nil {
			t.Errorf("Intern(%#v) succeeded", v)
		}
		if err := w.InsertValue(netip.MustParsePrefix("1.0.0.0/8"), v); err == nil {
			t.Errorf("InsertValue(%#v) succeeded", v)
		}
	}
	h := func(s string) []byte { return hexBytes(t, s) }
	valid := Map{"b": Uint16(1), "a": String("x")}
	id, err := w.Intern(valid)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"canonical", h("E2 41 61 41 78 41 62 A1 01"), true},
		{"keys unsorted", h("E2 41 62 A1 01 41 61 41 78"), true},
		{"integer not in fewest bytes", h("E2 41 62 A2 00 01 41 61 41 78"), true},
		{"trailing byte", h("E2 41 61 41 78 41 62 A1 01 00"), false},
		{"truncated", h("E2 41 61 41 78 41 62 A1"), false},
		{"empty", nil, false},
		{"pointer", h("E1 41 61 20 00"), false},
		{"pointer as key", h("E1 20 00 41 78"), false},
		{"invalid UTF-8", h("41 FF"), false},
		{"map key not a string", h("E1 A1 01 41 78"), false},
		{"uint16 of 3 bytes", h("A3 01 02 03"), false},
		{"end marker", h("00 06"), false},
		{"boolean of size 2", h("02 07"), false},
	}
	for _, tt := range tests {
		got, err := w.InternBytes(tt.b)
		switch {
		case tt.ok && (err != nil || got != id):
			t.Errorf("%s: InternBytes = %d, %v; want id %d of the equal value", tt.name, got, err, id)
		case !tt.ok && err == nil:
			t.Errorf("%s: InternBytes succeeded with id %d", tt.name, got)
		}
	}
}

// wtBig returns a record larger than a 24-bit record can address past.
func wtBig() Value { return Map{"blob": Bytes(make([]byte, 1<<24+100))} }

func TestWriterRecordSizeTooSmall(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.mmdb")
	w, err := Create(path, WriterOptions{IPVersion: 4, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	// The writer fails as soon as it is sure the data outgrows 24-bit
	// records: at the first Insert here.
	err = w.InsertValue(netip.MustParsePrefix("1.0.0.0/8"), wtBig())
	if err == nil {
		err = w.InsertValue(netip.MustParsePrefix("2.0.0.0/8"), String("after"))
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	} else if cerr == nil {
		t.Fatal("Close after a failed Insert succeeded")
	}
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "24-bit records") {
		t.Fatalf("error %v, want ErrTooLarge naming the record size", err)
	}
	if names := testutil.DirNames(t, dir); len(names) != 0 {
		t.Fatalf("failed Close left %v behind", names)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a failed Close succeeded")
	}
}

// TestWriterLargeOffsets writes records past 2^24 bytes of data, so
// 28-bit records carry their top nibble, and reads them back.
func TestWriterLargeOffsets(t *testing.T) {
	for _, tt := range []struct{ force, want int }{{0, 28}} { // auto picks 28: 32-bit records would need 256 MiB
		t.Run(fmt.Sprint(tt.force), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.mmdb")
			w, err := Create(path, WriterOptions{RecordSize: tt.force})
			if err != nil {
				t.Fatal(err)
			}
			// Nine records of 1.9 MB (maxminddb-golang decodes at most 2
			// MiB a record) take the data section past 2^24 bytes.
			for i := range 9 {
				blob := make([]byte, 1900000)
				blob[0] = byte(i)
				if err := w.InsertValue(netip.PrefixFrom(netip.AddrFrom4([4]byte{1, byte(i), 0, 0}), 16), Bytes(blob)); err != nil {
					t.Fatal(err)
				}
			}
			nets := []struct {
				p string
				v Value
			}{
				{"2.0.0.0/8", Map{"name": String("Ελλάδα"), "n": Uint32(2)}},
				{"2001:db8::/32", Map{"name": String("दिल्ली"), "n": Uint32(3)}},
				{"2001:db9::/48", Slice{Int32(-5), Uint128{Hi: 9, Lo: 9}}},
			}
			for _, n := range nets {
				if err := w.InsertValue(netip.MustParsePrefix(n.p), n.v); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			file := testutil.ReadFile(t, path)
			db := mustParse(t, file)
			if db.Metadata.RecordSize != uint(tt.want) {
				t.Fatalf("record size %d, want %d", db.Metadata.RecordSize, tt.want)
			}
			queries := []netip.Addr{netip.MustParseAddr("3.0.0.0")}
			want := []int{-1}
			var pool []Value
			for i, n := range nets {
				p := netip.MustParsePrefix(n.p)
				pool = append(pool, n.v)
				queries = append(queries, p.Addr(), rtLast(p))
				want = append(want, i, i)
				if off, _, found, err := db.Lookup(p.Addr()); err != nil || !found || off < 1<<24 {
					t.Fatalf("Lookup(%s) = offset %d, %v, %v; want one past 2^24", p, off, found, err)
				}
			}
			if got := rtV2Got(wtLookup(t, path, "2.1.2.3")); !reflect.DeepEqual(got, rtV2Want(nets[0].v)) {
				t.Errorf("maxminddb-golang: 2.1.2.3 = %v", got)
			}
			rtCheckOutside(t, path, db, queries, want, pool)
		})
	}
}

func TestWriterAbortKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.mmdb")
	old := []byte("the old file")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Create(path, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.InsertValue(netip.MustParsePrefix("1.0.0.0/8"), String("new")); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("after Abort the path holds %q, %v", got, err)
	}
	if names := testutil.DirNames(t, dir); !slices.Equal(names, []string{"x.mmdb"}) {
		t.Fatalf("Abort left %v", names)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after Abort succeeded")
	}
	if err := w.InsertValue(netip.MustParsePrefix("2.0.0.0/8"), String("new")); err == nil {
		t.Fatal("Insert after Abort succeeded")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Fatalf("Close after Abort changed the path")
	}
}

func TestWriterCloseErrorKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.mmdb")
	old := []byte("the old file")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Create(path, WriterOptions{IPVersion: 4, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	err = w.InsertValue(netip.MustParsePrefix("1.0.0.0/8"), wtBig())
	if cerr := w.Close(); err == nil && cerr == nil {
		t.Fatal("Insert and Close succeeded")
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("after a failed Close the path holds %q, %v", clip(got), err)
	}
	if names := testutil.DirNames(t, dir); !slices.Equal(names, []string{"x.mmdb"}) {
		t.Fatalf("failed Close left %v", names)
	}
}

// TestWriterReplacesAtomically writes over an existing database: until
// Close the path holds the old one, a reader that opened it keeps the
// old bytes, and afterwards the path holds the new one and nothing else
// is left in the directory.
func TestWriterReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.mmdb")
	write := func(v Value, during func()) {
		w, err := Create(path, WriterOptions{IPVersion: 4})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.InsertValue(netip.MustParsePrefix("1.0.0.0/8"), v); err != nil {
			t.Fatal(err)
		}
		if during != nil {
			during()
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(String("old"), nil)
	oldBytes := testutil.ReadFile(t, path)
	held, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	write(String("new"), func() {
		if got, _ := os.ReadFile(path); !bytes.Equal(got, oldBytes) {
			t.Fatal("the path changed before Close")
		}
		if got := wtLookup(t, path, "1.2.3.4"); got != "old" {
			t.Fatalf("before Close: %v", got)
		}
	})
	if got := wtLookup(t, path, "1.2.3.4"); got != "new" {
		t.Fatalf("after Close: %v", got)
	}
	heldBytes, err := io.ReadAll(held)
	if err != nil || !bytes.Equal(heldBytes, oldBytes) {
		t.Fatalf("a reader of the old file saw it change")
	}
	if names := testutil.DirNames(t, dir); !slices.Equal(names, []string{"x.mmdb"}) {
		t.Fatalf("directory holds %v", names)
	}
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("Stat: %v %v", fi, err)
	}
}

// TestWriterAliasCases checks hand-worked lookups for inputs that put
// the IPv4 subtree and the aliases in every shape: IPv4 as one record,
// IPv6 networks covering ::/96 and the aliases, no IPv4 data at all.
func TestWriterAliasCases(t *testing.T) {
	A, B := String("A"), String("B")
	type net struct {
		p string
		v Value
	}
	type probe struct {
		addr string
		want any // "A", "B" or nil
	}
	tests := []struct {
		name    string
		opts    WriterOptions
		nets    []net
		probes  []probe
		network int // networks maxminddb-golang lists with aliased ones; -1: not checked
	}{
		{"empty IPv6", WriterOptions{}, nil, []probe{{"1.2.3.4", nil}, {"::ffff:1.2.3.4", nil}, {"2002::", nil}, {"::", nil}}, 0},
		{"empty IPv4", WriterOptions{IPVersion: 4}, nil, []probe{{"1.2.3.4", nil}, {"0.0.0.0", nil}}, 0},
		{"IPv4 everything", WriterOptions{IPVersion: 4}, []net{{"0.0.0.0/0", A}}, []probe{{"0.0.0.0", "A"}, {"255.255.255.255", "A"}}, 2},
		{"IPv4 as one record", WriterOptions{}, []net{{"0.0.0.0/0", A}}, []probe{
			{"1.2.3.4", "A"}, {"::1.2.3.4", "A"}, {"::ffff:1.2.3.4", "A"}, {"2002:102:304::", "A"},
			{"2002:ffff:ffff:ffff::", "A"}, {"::1:0:0:0", nil}, {"2001::", nil}, {"2003::", nil}, {"::fffe:ffff:ffff", nil},
		}, 3}, // ::/96 and the two aliases
		{"IPv6 everything", WriterOptions{}, []net{{"::/0", A}}, []probe{
			{"1.2.3.4", "A"}, {"::ffff:1.2.3.4", "A"}, {"2002:102:304::", "A"}, {"2001::", "A"}, {"ffff::", "A"},
		}, -1},
		{"IPv6 everything, no aliases", WriterOptions{DisableIPv4Aliases: true}, []net{{"::/0", A}}, []probe{
			{"1.2.3.4", "A"}, {"::ffff:1.2.3.4", "A"}, {"2002:102:304::", "A"}, {"ffff::", "A"},
		}, 2},
		{"IPv6 covers IPv4 and the aliases", WriterOptions{}, []net{{"::/64", A}, {"2000::/3", B}}, []probe{
			{"1.2.3.4", "A"}, {"::ffff:1.2.3.4", "A"}, {"2002:102:304::", "A"}, {"::1", "A"},
			{"2001::", "B"}, {"2003::", "B"}, {"3fff::", "B"}, {"4000::", nil}, {"::1:0:0:0:0", nil},
		}, -1},
		{"IPv4 part, IPv6 covers the 6to4 alias", WriterOptions{}, []net{{"1.0.0.0/8", A}, {"2000::/3", B}}, []probe{
			{"1.2.3.4", "A"}, {"::ffff:1.2.3.4", "A"}, {"2002:102:304::", "A"}, {"2002:202:304::", nil},
			{"2.2.3.4", nil}, {"2001::", "B"}, {"2003::", "B"},
		}, -1},
		{"no IPv4 data", WriterOptions{}, []net{{"2000::/3", B}}, []probe{
			{"1.2.3.4", nil}, {"::ffff:1.2.3.4", nil}, {"2002:102:304::", nil}, {"2001::", "B"}, {"2003::", "B"},
		}, -1},
		{"IPv4-mapped input is IPv4", WriterOptions{}, []net{{"::ffff:1.0.0.0/104", A}}, []probe{
			{"1.2.3.4", "A"}, {"::1.2.3.4", "A"}, {"::ffff:1.2.3.4", "A"}, {"2002:102:304::", "A"}, {"::ffff:2.0.0.0", nil},
		}, 3}, // 1.0.0.0/8 and its two aliased copies
		{"IPv4-mapped input, no aliases", WriterOptions{DisableIPv4Aliases: true}, []net{{"::ffff:1.0.0.0/104", A}}, []probe{
			{"1.2.3.4", "A"}, {"::1.2.3.4", "A"}, {"::ffff:1.2.3.4", nil}, {"2002:102:304::", nil},
		}, 1},
		{"merges up to ::/95", WriterOptions{}, []net{{"0.0.0.0/0", A}, {"::1:0:0/96", A}}, []probe{
			{"1.2.3.4", "A"}, {"::1:1.2.3.4", "A"}, {"::ffff:1.2.3.4", "A"}, {"::2:0:0", nil},
		}, 3}, // ::/95 and the two aliases
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.mmdb")
			w, err := Create(path, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range tt.nets {
				if err := w.InsertValue(netip.MustParsePrefix(n.p), n.v); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.probes {
				if got := wtLookup(t, path, p.addr); got != p.want {
					t.Errorf("Lookup(%s) = %v, want %v", p.addr, got, p.want)
				}
			}
			rd := testutil.OpenV2(t, path)
			n := 0
			for res := range rd.Networks(maxminddb.IncludeAliasedNetworks()) {
				if res.Err() != nil {
					t.Fatal(res.Err())
				}
				n++
			}
			if tt.network >= 0 && n != tt.network {
				t.Errorf("Networks() listed %d networks, want %d", n, tt.network)
			}
		})
	}
}

// TestWriterManyNodes writes scattered IPv6 host routes: hundreds of
// thousands of nodes, more than the Writer's window of open nodes and
// its read-back chunk, so nodes are written behind the window.
func TestWriterManyNodes(t *testing.T) {
	seed := testutil.Seed(t)
	r := rand.New(rand.NewPCG(seed, 7))
	pool := []Value{String("北京市"), String("Москва"), Map{"n": Uint32(3)}}
	var nets []rtNet
	for range 3200 {
		a := rtAddr(r, netip.MustParseAddr("::"), 0)
		nets = append(nets, rtNet{p: netip.PrefixFrom(a, 120+r.IntN(9)).Masked(), rec: r.IntN(len(pool))})
	}
	slices.SortFunc(nets, func(a, b rtNet) int { return a.p.Addr().Compare(b.p.Addr()) })
	nets = slices.CompactFunc(nets, func(a, b rtNet) bool { return a.p.Overlaps(b.p) })
	for i := range nets {
		nets[i].in = nets[i].p
	}
	path := filepath.Join(t.TempDir(), "x.mmdb")
	rtWrite(t, path, WriterOptions{DisableIPv4Aliases: true}, nets, pool)
	file := testutil.ReadFile(t, path)
	db := mustParse(t, file)
	if db.Metadata.NodeCount < 1<<18+1<<16 {
		t.Fatalf("only %d nodes", db.Metadata.NodeCount)
	}
	t.Logf("%d networks, %d nodes", len(nets), db.Metadata.NodeCount)
	o := &rtOracle{version: 6, nets: nets}
	var queries []netip.Addr
	for _, n := range nets {
		queries = append(queries, n.p.Addr(), rtLast(n.p).Next())
	}
	queries = slices.DeleteFunc(queries, func(a netip.Addr) bool { return !a.IsValid() })
	want := make([]int, len(queries))
	for i, q := range queries {
		want[i] = o.lookup(q)
	}
	rtCheckV2(t, path, o, queries, want, o.minimal(), pool)
}

// TestWriterRecordIsEarlierSubValue stores a record equal to a sub-value
// of an earlier record: the encoder writes it as a pointer into the
// earlier record, so the tree points at a pointer, which every reader
// must follow.
func TestWriterRecordIsEarlierSubValue(t *testing.T) {
	inner := Map{"names": Map{"en": String("Cairo"), "ar": String("القاهرة"), "hi": String("काहिरा")}, "id": Uint32(360630)}
	pool := []Value{Map{"city": inner, "n": Uint16(1)}, inner, inner["names"]}
	path := filepath.Join(t.TempDir(), "x.mmdb")
	nets := []rtNet{
		{p: netip.MustParsePrefix("1.0.0.0/8"), rec: 0},
		{p: netip.MustParsePrefix("2.0.0.0/8"), rec: 1},
		{p: netip.MustParsePrefix("3.0.0.0/8"), rec: 2},
	}
	for i := range nets {
		nets[i].in = nets[i].p
	}
	rtWrite(t, path, WriterOptions{IPVersion: 4}, nets, pool)
	file := testutil.ReadFile(t, path)
	db := mustParse(t, file)
	off, _, _, err := db.Lookup(netip.MustParseAddr("2.0.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	if kind, _, _, err := db.Decoder().Control(off); err != nil || kind != KindPointer {
		t.Logf("record 2 is a %v, not a pointer: the case this test is for did not arise", kind)
	}
	o := &rtOracle{version: 4, nets: nets}
	queries := []netip.Addr{netip.MustParseAddr("1.2.3.4"), netip.MustParseAddr("2.2.3.4"), netip.MustParseAddr("3.2.3.4"), netip.MustParseAddr("4.0.0.0")}
	want := []int{0, 1, 2, -1}
	rtCheckV2(t, path, o, queries, want, o.minimal(), pool)
	rtCheckOutside(t, path, db, queries, want, pool)
}

// TestWriterUseAfterClose: after a successful Close, Insert, Intern+
// Insert and Close fail without a panic, and neither they nor Abort touch
// the database.
func TestWriterUseAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.mmdb")
	w, err := Create(path, WriterOptions{IPVersion: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.InsertValue(netip.MustParsePrefix("1.0.0.0/8"), String("a")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	before := testutil.ReadFile(t, path)
	if err := w.InsertValue(netip.MustParsePrefix("2.0.0.0/8"), String("b")); err == nil {
		t.Error("InsertValue after Close succeeded")
	}
	if id, err := w.Intern(String("c")); err == nil {
		if err := w.Insert(netip.MustParsePrefix("3.0.0.0/8"), id); err == nil {
			t.Error("Insert after Close succeeded")
		}
	}
	if err := w.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	w.Abort()
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the database changed after Close: %v", err)
	}
	if got := wtLookup(t, path, "1.2.3.4"); got != "a" {
		t.Fatalf("Lookup = %v", got)
	}
}
