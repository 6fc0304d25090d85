package compile

import (
	"fmt"
	"net/netip"
)

// Network is one stored network as the compiler sees it: a prefix with
// the record of one layer.
type Network struct {
	// Prefix is the network; IPv4 networks are IPv4 prefixes.
	Prefix netip.Prefix
	// Priority is the layer's priority; higher wins on equal prefixes.
	Priority int32
	// Layer identifies the layer, for messages.
	Layer uint32
	// Value is the record in the MMDB data encoding, without pointers.
	Value []byte
	// Record, when not zero, names Value: networks with the same Record
	// have equal Values. Zero says nothing. (The store's Entry.Record.)
	Record uint64
}

// treePrefix is a network in the IPv6 tree's space: IPv4 a.b.c.d/n is
// ::a.b.c.d/(96+n), so address order puts IPv4 first.
type treePrefix = netip.Prefix

func toTree(p netip.Prefix) treePrefix {
	if p.Addr().Is4() {
		a4 := p.Addr().As4()
		var b [16]byte
		copy(b[12:], a4[:])
		return netip.PrefixFrom(netip.AddrFrom16(b), p.Bits()+96)
	}
	return p
}

// fromTree turns a tree prefix back into the public form: inside ::/96
// at /96 or longer it is IPv4.
func fromTree(p treePrefix) netip.Prefix {
	b := p.Addr().As16()
	if p.Bits() >= 96 && [12]byte(b[:12]) == [12]byte{} {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(b[12:])), p.Bits()-96)
	}
	return p
}

// lastAddr returns the last address of p.
func lastAddr(p treePrefix) netip.Addr {
	b := p.Addr().As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}

// Resolver turns networks in store order (address, then prefix length
// ascending; equal prefixes in the order of preference) into disjoint
// networks in address order: the most specific prefix wins, and of equal
// prefixes the first given. The parts of a network that no more specific
// one covers are emitted as the fewest CIDRs.
//
// INVARIANT: stack holds the chain of networks that contain the last
// input, outermost first; each one's cursor is the first address of it
// that is neither emitted nor covered by a network inside it.
type Resolver struct {
	emit  func(p netip.Prefix, value []byte, record uint64) error
	stack []open
	last  treePrefix
	any   bool
}

type open struct {
	p      treePrefix
	cursor netip.Addr
	done   bool // cursor ran past the end
	value  []byte
	record uint64 // see Network.Record
	buf    []byte // value's copy, kept for reuse
}

// NewResolver returns a Resolver that hands each resolved network to
// emit, in address order. emit's value is valid until it returns.
func NewResolver(emit func(p netip.Prefix, value []byte) error) *Resolver {
	return &Resolver{emit: func(p netip.Prefix, value []byte, _ uint64) error { return emit(p, value) }}
}

// Add takes the next network. Networks must come in store order; a
// repeat of the previous prefix is ignored (the first one won).
func (r *Resolver) Add(p netip.Prefix, value []byte) error {
	return r.add(p, value, 0)
}

// add is Add with the value's Network.Record, emitted with it.
func (r *Resolver) add(p netip.Prefix, value []byte, record uint64) error {
	t := toTree(p.Masked())
	if r.any {
		if t == r.last {
			return nil
		}
		if c := t.Addr().Compare(r.last.Addr()); c < 0 || c == 0 && t.Bits() < r.last.Bits() {
			return fmt.Errorf("compile: network %s comes after %s: input is not in store order", p, fromTree(r.last))
		}
	}
	r.any, r.last = true, t
	// Close the networks that end before t.
	for len(r.stack) > 0 {
		top := &r.stack[len(r.stack)-1]
		if top.p.Overlaps(t) {
			break
		}
		if err := r.pop(); err != nil {
			return err
		}
	}
	if n := len(r.stack); n > 0 {
		top := &r.stack[n-1]
		if !top.done && top.cursor.Less(t.Addr()) {
			if err := r.emitRange(top.cursor, t.Addr().Prev(), top.value, top.record); err != nil {
				return err
			}
		}
		top.cursor = lastAddr(t).Next()
		top.done = !top.cursor.IsValid()
	}
	// Reuse the slot's copy buffer: pop leaves it behind.
	n := len(r.stack)
	if n < cap(r.stack) {
		r.stack = r.stack[:n+1]
	} else {
		r.stack = append(r.stack, open{})
	}
	top := &r.stack[n]
	*top = open{p: t, cursor: t.Addr(), record: record, buf: append(top.buf[:0], value...)}
	top.value = top.buf
	return nil
}

// Flush emits what remains of the open networks; call it after the last Add.
func (r *Resolver) Flush() error {
	for len(r.stack) > 0 {
		if err := r.pop(); err != nil {
			return err
		}
	}
	return nil
}

func (r *Resolver) pop() error {
	top := r.stack[len(r.stack)-1]
	r.stack = r.stack[:len(r.stack)-1]
	if top.done || lastAddr(top.p).Less(top.cursor) {
		return nil // networks inside it covered the rest
	}
	if top.cursor == top.p.Addr() {
		return r.emit(fromTree(top.p), top.value, top.record) // nothing inside it: whole
	}
	return r.emitRange(top.cursor, lastAddr(top.p), top.value, top.record)
}

// emitRange emits the inclusive range [from, to] as the fewest CIDRs.
func (r *Resolver) emitRange(from, to netip.Addr, value []byte, record uint64) error {
	return rangeCIDRs(from, to, func(p netip.Prefix) error {
		return r.emit(fromTree(p), value, record)
	})
}
