package format

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ipatlas/ipatlas/internal/testutil"
)

// fzAnchors are the places IPv6 networks of FuzzWriterInput start from:
// the IPv4 subtree, the aliases and their edges, the ends of the space.
var fzAnchors = []netip.Addr{
	netip.MustParseAddr("::"),
	netip.MustParseAddr("::ffff:0:0"),
	netip.MustParseAddr("::fffe:ffff:ffff"),
	netip.MustParseAddr("2002::"),
	netip.MustParseAddr("2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	netip.MustParseAddr("2003::"),
	netip.MustParseAddr("2001:db8::"),
	netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
}

// fzRecords are the records FuzzWriterInput inserts.
var fzRecords = []Value{
	Map{"city": String("北京市"), "n": Uint32(1)},
	Map{"city": String("Москва"), "n": Uint32(2)},
	Slice{String("القاهرة"), Int32(-3), Float64(2.5)},
	String("🌍"),
}

// fzOp is one insertion decoded from fuzz input.
type fzOp struct {
	p   netip.Prefix
	rec int // index into fzRecords; len(fzRecords) for an id never interned
}

// fzDecode turns fuzz bytes into writer options and insertions. Byte 0
// picks the options: bit 0 IPv4 database, bit 1 no aliases, bits 2-3 the
// record size (auto, 24, 28, 32). Each operation is a header byte (bits
// 0-1 the family: IPv4, IPv6 near an anchor, IPv4-mapped; bit 2 keep host
// bits; bits 3-5 the record), a prefix length and 4 address bytes; IPv6
// adds an anchor byte whose low nibble picks the anchor and high nibble
// where in it the 4 bytes go.
func fzDecode(data []byte) (WriterOptions, []fzOp) {
	var opts WriterOptions
	if len(data) == 0 {
		return opts, nil
	}
	if data[0]&1 != 0 {
		opts.IPVersion = 4
	}
	opts.DisableIPv4Aliases = data[0]&2 != 0
	opts.RecordSize = []int{0, 24, 28, 32}[data[0]>>2&3]
	data = data[1:]
	var ops []fzOp
	for len(ops) < 64 && len(data) >= 6 {
		h, l := data[0], int(data[1])
		var a4 [4]byte
		copy(a4[:], data[2:6])
		data = data[6:]
		var addr netip.Addr
		switch h & 3 {
		case 0, 3:
			addr = netip.AddrFrom4(a4)
			l %= 33
		case 1:
			if len(data) == 0 {
				return opts, ops
			}
			sel := data[0]
			data = data[1:]
			b := fzAnchors[int(sel&15)%len(fzAnchors)].As16()
			at := int(sel>>4) % 13
			for i := range 4 {
				b[at+i] ^= a4[i]
			}
			addr = netip.AddrFrom16(b)
			l %= 129
		case 2:
			addr = netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: a4[0], 13: a4[1], 14: a4[2], 15: a4[3]})
			l = 96 + l%33
		}
		p := netip.PrefixFrom(addr, l)
		if h&4 == 0 {
			p = p.Masked()
		}
		ops = append(ops, fzOp{p: p, rec: int(h>>3&7) % (len(fzRecords) + 1)})
	}
	return opts, ops
}

// fzTree maps an accepted input network to the tree's space the way the
// Writer documents: IPv4-mapped prefixes are IPv4, IPv4 lives at ::/96
// of an IPv6 tree.
func fzTree(p netip.Prefix, version int) netip.Prefix {
	a, l := p.Addr(), p.Bits()
	if a.Is4In6() && l >= 96 {
		a, l = a.Unmap(), l-96
	}
	if version == 6 && a.Is4() {
		return netip.PrefixFrom(rtTo16(a), l+96)
	}
	return netip.PrefixFrom(a, l)
}

func FuzzWriterInput(f *testing.F) {
	f.Add([]byte{0, 0, 8, 1, 2, 3, 4, 8, 8, 5, 0, 0, 0})
	f.Add([]byte{1, 0, 24, 10, 0, 0, 0, 8, 24, 10, 0, 1, 0, 16, 24, 10, 0, 0, 0})
	// IPv6 networks that cover the aliases, and one inside.
	f.Add([]byte{0, 8, 8, 1, 2, 3, 4, 1, 3, 0, 0, 0, 0, 0, 9, 15, 0, 0, 0, 0, 3, 1, 0, 0xdb, 8, 0, 0x13})
	f.Add([]byte{2, 1, 1, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 9, 128, 0xff, 0xff, 0xff, 0xff, 7})
	f.Add([]byte{12, 2, 100, 1, 2, 3, 0, 6, 8, 9, 9, 9, 9, 13, 30, 1, 2, 3, 4, 0x45})
	f.Fuzz(func(t *testing.T, data []byte) {
		opts, ops := fzDecode(data)
		version := 6
		if opts.IPVersion == 4 {
			version = 4
		}
		path := filepath.Join(t.TempDir(), "f.mmdb")
		w, err := Create(path, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		ids := make([]RecordID, len(fzRecords)+1)
		for i, v := range fzRecords {
			if ids[i], err = w.Intern(v); err != nil {
				t.Fatal(err)
			}
		}
		ids[len(fzRecords)] = 1000
		var accepted []rtNet
		for _, op := range ops {
			if err := w.Insert(op.p, ids[op.rec]); err == nil {
				if op.rec == len(fzRecords) {
					t.Fatalf("Insert(%s) with an unknown id succeeded", op.p)
				}
				accepted = append(accepted, rtNet{p: fzTree(op.p, version), in: op.p, rec: op.rec})
			}
		}
		for i := 1; i < len(accepted); i++ {
			a, b := accepted[i-1].p, accepted[i].p
			if a.Overlaps(b) || rtLast(a).Compare(b.Addr()) >= 0 {
				t.Fatalf("accepted %s after %s", accepted[i].in, accepted[i-1].in)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		file := testutil.ReadFile(t, path)
		db := mustParse(t, file)
		rd := testutil.OpenV2Bytes(t, file)
		if err := rd.Verify(); err != nil {
			t.Fatalf("maxminddb-golang Verify: %v", err)
		}
		o := &rtOracle{version: version, aliases: version == 6 && !opts.DisableIPv4Aliases, nets: accepted}
		d := db.Decoder()
		for _, n := range accepted {
			for _, a := range []netip.Addr{n.in.Masked().Addr(), rtLast(n.in), n.p.Addr()} {
				want := o.lookup(a)
				off, _, found, err := db.Lookup(a)
				if err != nil {
					t.Fatalf("Lookup(%s): %v", a, err)
				}
				switch {
				case want < 0 && found:
					t.Fatalf("Lookup(%s) found a record, the oracle none", a)
				case want >= 0 && !found:
					t.Fatalf("Lookup(%s) found nothing, the oracle record %d", a, want)
				case found:
					v, _, err := d.Value(off)
					if err != nil || !Equal(v, fzRecords[want]) {
						t.Fatalf("Lookup(%s) = %v, %v; want %v", a, v, err, fzRecords[want])
					}
				}
			}
		}
		// The networks the database lists are the minimal merged set.
		var listed []rtNet
		err = db.Walk(func(p netip.Prefix, off uint) error {
			v, _, err := d.Value(off)
			if err != nil {
				return err
			}
			rec := -2
			for i, r := range fzRecords {
				if Equal(v, r) {
					rec = i
				}
			}
			listed = append(listed, rtNet{p: rtToTree(p, version), rec: rec})
			return nil
		})
		if err != nil {
			t.Fatalf("Walk: %v", err)
		}
		rtListed(t, "Walk", listed, o.minimal(), o)
	})
}

func FuzzInternBytes(f *testing.F) {
	for _, v := range append(append([]Value(nil), fzRecords...),
		Map{"b": Uint16(1), "a": Slice{Bool(true), Uint128{Hi: 1}, Float32(1), Bytes{1}, Uint64(1 << 40)}},
		Map{}, Slice{}, String(""),
	) {
		b, err := AppendValue(nil, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xE2, 0x41, 0x62, 0xA1, 0x01, 0x41, 0x61, 0x41, 0x78}) // keys unsorted
	f.Add([]byte{0xE1, 0x41, 0x61, 0x20, 0x00})                         // a pointer
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		w, err := Create(filepath.Join(dir, "f.mmdb"), WriterOptions{IPVersion: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		id, err := w.InternBytes(b)
		if err != nil {
			return
		}
		// Success: b is one pointer-free value, and the record stored is
		// that value.
		v, end, err := NewDecoder(b).Value(0)
		if err != nil || end != uint(len(b)) {
			t.Fatalf("InternBytes accepted % X, which does not decode: %v (end %d)", b, err, end)
		}
		if again, err := w.InternBytes(b); err != nil || again != id {
			t.Fatalf("InternBytes again = %d, %v; want %d", again, err, id)
		}
		if id2, err := w.Intern(v); err != nil || id2 != id {
			t.Fatalf("Intern of the decoded value = %d, %v; want %d", id2, err, id)
		}
		if err := w.Insert(netip.MustParsePrefix("1.0.0.0/8"), id); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "f.mmdb")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		file := testutil.ReadFile(t, path)
		db := mustParse(t, file)
		off, _, found, err := db.Lookup(netip.MustParseAddr("1.2.3.4"))
		if err != nil || !found {
			t.Fatalf("Lookup = %v, %v", found, err)
		}
		got, _, err := db.Decoder().Value(off)
		if err != nil || !Equal(got, v) {
			t.Fatalf("stored %v, %v; want %v", got, err, v)
		}
	})
}
