package reader

import (
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"runtime"
)

type networkOptions struct {
	includeAliased bool
	includeEmpty   bool
	skipEmpty      bool
}

// NetworksOption configures Networks and NetworksWithin.
type NetworksOption func(*networkOptions)

// IncludeAliasedNetworks makes the iteration also yield the networks that
// an IPv6 tree aliases to its IPv4 subtree (::ffff:0:0/96, 2002::/16, ...),
// once per alias.
func IncludeAliasedNetworks() NetworksOption {
	return func(o *networkOptions) { o.includeAliased = true }
}

// IncludeNetworksWithoutData makes the iteration also yield networks that
// have no record; their Results are not Found.
func IncludeNetworksWithoutData() NetworksOption {
	return func(o *networkOptions) { o.includeEmpty = true }
}

// SkipEmptyValues makes the iteration skip networks whose record is an
// empty map or an empty array.
func SkipEmptyValues() NetworksOption {
	return func(o *networkOptions) { o.skipEmpty = true }
}

// Networks returns an iterator over every network of the database with
// data, in address order. In an IPv6 tree, IPv4 networks come as IPv4
// prefixes and the aliases of the IPv4 subtree are skipped unless
// IncludeAliasedNetworks is given. A corrupt tree ends the iteration with
// a Result carrying the error.
func (r *Reader) Networks(options ...NetworksOption) iter.Seq[Result] {
	if r != nil && r.Metadata.IPVersion == 6 {
		return r.NetworksWithin(netip.PrefixFrom(netip.IPv6Unspecified(), 0), options...)
	}
	return r.NetworksWithin(netip.PrefixFrom(netip.IPv4Unspecified(), 0), options...)
}

type netNode struct {
	ip      [16]byte
	bit     uint
	pointer uint
}

// NetworksWithin is Networks restricted to the networks inside prefix. If
// prefix lies inside one network of the tree, that network is yielded.
func (r *Reader) NetworksWithin(prefix netip.Prefix, options ...NetworksOption) iter.Seq[Result] {
	return func(yield func(Result) bool) {
		defer runtime.KeepAlive(r) // the tree is mapped memory; see Lookup
		if r == nil {
			yield(Result{err: errNilReader})
			return
		}
		if !prefix.IsValid() {
			yield(Result{err: errors.New("invalid prefix")})
			return
		}
		if r.buffer == nil {
			yield(Result{err: errors.New("cannot call NetworksWithin on a closed database")})
			return
		}
		if r.Metadata.IPVersion == 4 && prefix.Addr().Is6() {
			yield(Result{err: fmt.Errorf("error getting networks with '%s': you attempted to use an IPv6 network in an IPv4-only database", prefix)})
			return
		}
		if !r.validRecordSize {
			yield(Result{ip: prefix.Addr(), err: newInvalidDatabaseError("unsupported record size: %d", r.recSize)})
			return
		}
		var o networkOptions
		for i, opt := range options {
			if opt == nil {
				yield(Result{err: fmt.Errorf("reader: option %d of %d is a nil NetworksOption", i+1, len(options))})
				return
			}
			opt(&o)
		}
		ip := prefix.Addr()
		key := ip.As16()
		stop := prefix.Bits()
		if ip.Is4() {
			key = [16]byte{}
			a4 := ip.As4()
			copy(key[12:], a4[:])
			stop += 96
		}
		if stop > 128 {
			yield(Result{err: errors.New("invalid prefix: exceeds IPv6 maximum of 128 bits")})
			return
		}
		// Walk to the prefix, bit by bit (an IPv4 prefix of an IPv4 tree
		// starts at bit 96 at the root, as an IPv6 tree's starts at the
		// node ::/96 leads to).
		node, bit := uint(0), 0
		if ip.Is4() {
			node, bit = r.ipv4Start, r.ipv4StartBitDepth
		}
		for ; bit < stop && node < r.nodeCnt; bit++ {
			node = r.child(node, uint(key[bit>>3]>>(7-bit&7)&1))
		}
		// Clear the bits past the depth reached.
		start := netip.AddrFrom16(key)
		if p, err := start.Prefix(bit); err == nil {
			key = p.Addr().As16()
		}

		// A valid tree is visited once, plus once per alias of the IPv4
		// subtree; a corrupt one (cycles, shared subtrees) could take
		// exponential time, so the visits are bounded.
		budget := 64*r.nodeCnt + 1024
		stack := make([]netNode, 0, 64)
		stack = append(stack, netNode{ip: key, bit: uint(bit), pointer: node})
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for {
				if r.buffer == nil {
					// Closed by the loop's body (Close must not run
					// concurrently, but may run between two yields).
					yield(Result{ip: displayIP(n.ip), prefixLen: uint8(n.bit), err: errClosedDuringIteration})
					return
				}
				if n.pointer == r.nodeCnt {
					if o.includeEmpty {
						if !yield(Result{ip: displayIP(n.ip), offset: notFound, prefixLen: uint8(n.bit)}) {
							return
						}
					}
					break
				}
				if !o.includeAliased && r.ipv4Start != 0 && n.pointer == r.ipv4Start && !inIPv4Subtree(n.ip) {
					break
				}
				if n.pointer > r.nodeCnt {
					off, err := r.resolveDataPointer(n.pointer)
					if err == nil && o.skipEmpty {
						var empty bool
						empty, err = r.dec.isEmptyAt(off)
						if err == nil && empty {
							break
						}
					}
					if !yield(Result{reader: r, ip: displayIP(n.ip), offset: off, prefixLen: uint8(n.bit), err: err}) {
						return
					}
					break
				}
				if n.bit >= 128 {
					res := Result{ip: displayIP(n.ip), prefixLen: uint8(n.bit)}
					res.err = newInvalidDatabaseError("invalid search tree at %s", res.Prefix())
					yield(res)
					return
				}
				if budget == 0 {
					yield(Result{ip: displayIP(n.ip), prefixLen: uint8(n.bit),
						err: newInvalidDatabaseError("invalid search tree: nodes reached too many times (a cycle or shared subtree)")})
					return
				}
				budget--
				right := n.ip
				right[n.bit>>3] |= 1 << (7 - n.bit%8)
				left, rightPtr := r.child(n.pointer, 0), r.child(n.pointer, 1)
				n.bit++
				stack = append(stack, netNode{ip: right, bit: n.bit, pointer: rightPtr})
				n.pointer = left
			}
		}
	}
}

// errClosedDuringIteration ends an iteration whose Reader was closed by
// the loop's body; maxminddb-golang v2 also ends with an error there.
var errClosedDuringIteration = errors.New("reader: the database was closed during NetworksWithin")

// inIPv4Subtree reports whether ip lies in ::/96, where an IPv6 tree keeps
// the IPv4 space.
func inIPv4Subtree(ip [16]byte) bool {
	return [12]byte(ip[:12]) == [12]byte{}
}

// displayIP returns addresses of ::/96 as IPv4 addresses.
func displayIP(ip [16]byte) netip.Addr {
	if inIPv4Subtree(ip) {
		return netip.AddrFrom4([4]byte(ip[12:]))
	}
	return netip.AddrFrom16(ip)
}
