package format

import "math/bits"

// u128 is a 128-bit key in the search tree's bit order: bit 0 is the most
// significant bit of hi. IPv4 keys of an IPv4 tree sit in the top 32 bits.
type u128 struct{ hi, lo uint64 }

// bit returns bit i (0 = most significant).
func (k u128) bit(i int) uint {
	if i < 64 {
		return uint(k.hi>>(63-i)) & 1
	}
	return uint(k.lo>>(127-i)) & 1
}

// withBit returns k with bit i set.
func (k u128) withBit(i int) u128 {
	if i < 64 {
		k.hi |= 1 << (63 - i)
	} else {
		k.lo |= 1 << (127 - i)
	}
	return k
}

// hostMask returns ones in bits l..127.
func hostMask(l int) u128 {
	switch {
	case l <= 0:
		return u128{^uint64(0), ^uint64(0)}
	case l < 64:
		return u128{^uint64(0) >> l, ^uint64(0)}
	case l < 128:
		return u128{0, ^uint64(0) >> (l - 64)}
	}
	return u128{}
}

func (k u128) or(m u128) u128     { return u128{k.hi | m.hi, k.lo | m.lo} }
func (k u128) andNot(m u128) u128 { return u128{k.hi &^ m.hi, k.lo &^ m.lo} }
func (k u128) less(m u128) bool   { return k.hi < m.hi || k.hi == m.hi && k.lo < m.lo }

// inc returns k+1 and whether it overflowed.
func (k u128) inc() (u128, bool) {
	lo, c := bits.Add64(k.lo, 1, 0)
	hi, c := bits.Add64(k.hi, 0, c)
	return u128{hi, lo}, c != 0
}

// commonPrefixLen returns how many leading bits k and m share.
func (k u128) commonPrefixLen(m u128) int {
	if x := k.hi ^ m.hi; x != 0 {
		return bits.LeadingZeros64(x)
	}
	return 64 + bits.LeadingZeros64(k.lo^m.lo)
}
