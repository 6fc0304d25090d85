package builder

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"strings"
)

// ParseNetwork parses the network column of a row: a CIDR (1.2.3.0/24,
// 2001:db8::/48), a single address (1.2.3.4 is 1.2.3.4/32, 2001:db8::1 is
// 2001:db8::1/128) or an inclusive range first-last (1.2.3.0-1.2.4.255),
// split into the fewest CIDRs that cover it exactly, in address order.
// Surrounding spaces are ignored.
//
// It rejects what the store cannot hold: zones, CIDRs with host bits set,
// IPv4-mapped IPv6 (::ffff:1.2.3.4; write IPv4 as IPv4) and IPv6
// networks inside ::/96, where the tree keeps IPv4.
func ParseNetwork(s string) ([]netip.Prefix, error) {
	return appendNetworks(nil, s)
}

// appendNetworks is ParseNetwork appending to dst.
func appendNetworks(dst []netip.Prefix, s string) ([]netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return dst, errors.New("empty network")
	}
	if first, last, ok := strings.Cut(s, "-"); ok {
		a, err := parseAddr(strings.TrimSpace(first))
		if err != nil {
			return dst, fmt.Errorf("range %q: first address: %w", s, err)
		}
		b, err := parseAddr(strings.TrimSpace(last))
		if err != nil {
			return dst, fmt.Errorf("range %q: last address: %w", s, err)
		}
		n := len(dst)
		dst, err = appendRange(dst, a, b)
		if err != nil {
			return dst, fmt.Errorf("range %q: %w", s, err)
		}
		for _, p := range dst[n:] {
			if err := checkStorable(p); err != nil {
				return dst[:n], fmt.Errorf("range %q: %w", s, err)
			}
		}
		return dst, nil
	}
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		p, err = netip.ParsePrefix(s)
		if err != nil {
			return dst, fmt.Errorf("bad CIDR %q: %w", s, cleanNetipErr(err))
		}
		if m := p.Masked(); m != p {
			return dst, fmt.Errorf("CIDR %s has host bits set (the network is %s)", s, m)
		}
	} else {
		a, err := parseAddr(s)
		if err != nil {
			return dst, err
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if err := checkStorable(p); err != nil {
		return dst, err
	}
	return append(dst, p), nil
}

// cleanNetipErr drops the repeated input from netip's messages.
func cleanNetipErr(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "): "); i >= 0 {
		return errors.New(msg[i+3:])
	}
	if i := strings.Index(msg, ": "); i >= 0 {
		return errors.New(msg[i+2:])
	}
	return err
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, fmt.Errorf("bad address %q: %w", s, cleanNetipErr(err))
	}
	if a.Zone() != "" {
		return a, fmt.Errorf("address %q has a zone", s)
	}
	return a, nil
}

// checkStorable rejects the IPv6 networks that collide with IPv4 in the
// tree (the store rejects them too).
func checkStorable(p netip.Prefix) error {
	a := p.Addr()
	if a.Is4() || p.Bits() < 96 {
		return nil
	}
	if a.Is4In6() {
		return fmt.Errorf("%s is IPv4-mapped IPv6; write it as IPv4 (%s)", p, netip.PrefixFrom(a.Unmap(), p.Bits()-96))
	}
	b := a.As16()
	if [12]byte(b[:12]) == ([12]byte{}) {
		return fmt.Errorf("%s lies in ::/96, where the tree keeps IPv4", p)
	}
	return nil
}

// u128 is an address as a 128-bit number (IPv4 in the low 32 bits).
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var u u128
	for i := range 8 {
		u.hi = u.hi<<8 | uint64(b[i])
		u.lo = u.lo<<8 | uint64(b[8+i])
	}
	return u
}

func fromU128(u u128, is4 bool) netip.Addr {
	if is4 {
		return netip.AddrFrom4([4]byte{byte(u.lo >> 24), byte(u.lo >> 16), byte(u.lo >> 8), byte(u.lo)})
	}
	var b [16]byte
	for i := range 8 {
		b[i] = byte(u.hi >> (56 - 8*i))
		b[8+i] = byte(u.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

func (u u128) less(v u128) bool { return u.hi < v.hi || u.hi == v.hi && u.lo < v.lo }

// trailingZeros returns the number of trailing zero bits, 128 for 0.
func (u u128) trailingZeros() int {
	if u.lo != 0 {
		return bits.TrailingZeros64(u.lo)
	}
	return 64 + bits.TrailingZeros64(u.hi)
}

// lastOf returns u + 2^k - 1: the last address of the block of 2^k
// addresses starting at u (u aligned to 2^k, no overflow).
func (u u128) lastOf(k int) u128 {
	switch {
	case k == 0:
		return u
	case k < 64:
		return u128{u.hi, u.lo | (1<<k - 1)}
	case k < 128:
		return u128{u.hi | (1<<(k-64) - 1), ^uint64(0)}
	}
	return u128{^uint64(0), ^uint64(0)}
}

// inc returns u+1 (wrapping).
func (u u128) inc() u128 {
	lo, c := bits.Add64(u.lo, 1, 0)
	return u128{u.hi + c, lo}
}

// SplitRange returns the fewest CIDRs that cover exactly the addresses
// from first to last inclusive, in address order. first and last must be
// of the same family with first <= last. It does not check that the
// networks are storable (see ParseNetwork).
func SplitRange(first, last netip.Addr) ([]netip.Prefix, error) {
	return appendRange(nil, first, last)
}

func appendRange(dst []netip.Prefix, first, last netip.Addr) ([]netip.Prefix, error) {
	if first.Is4() != last.Is4() {
		return dst, fmt.Errorf("first address %s and last address %s are of different families", first, last)
	}
	if last.Less(first) {
		return dst, fmt.Errorf("first address %s is after last address %s", first, last)
	}
	is4 := first.Is4()
	width := first.BitLen()
	lo, hi := toU128(first), toU128(last)
	for {
		// The biggest aligned block at lo that ends at or before hi.
		k := min(lo.trailingZeros(), width)
		for k > 0 && hi.less(lo.lastOf(k)) {
			k--
		}
		dst = append(dst, netip.PrefixFrom(fromU128(lo, is4), width-k))
		end := lo.lastOf(k)
		if end == hi {
			return dst, nil
		}
		lo = end.inc()
	}
}

// treeKey is a network in the store's order: its address in the IPv6
// tree's space (IPv4 a.b.c.d as ::a.b.c.d), then its prefix length there.
type treeKey struct {
	addr u128
	bits int
}

func treeKeyOf(p netip.Prefix) treeKey {
	if p.Addr().Is4() {
		return treeKey{toU128(p.Addr()), p.Bits() + 96}
	}
	return treeKey{toU128(p.Addr()), p.Bits()}
}

func (k treeKey) less(o treeKey) bool {
	return k.addr.less(o.addr) || k.addr == o.addr && k.bits < o.bits
}
