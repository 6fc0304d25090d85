package reader

import (
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"runtime"

	"github.com/ipatlas/ipatlas/format"
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

// NetworksWithin is Networks restricted to the networks inside prefix. If
// prefix lies inside one network of the tree, that network is yielded.
// The walk is format.Tree's: its alias rule, and its bound on node
// visits (Tolerant, as maxminddb-golang walks shared subtrees), which
// ends a walk of a corrupt tree (a cycle, a subtree shared by too many
// paths, a node below the last bit) with an error.
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
		wo := format.WalkOptions{Within: prefix, Empty: o.includeEmpty, Tolerant: true}
		if o.includeAliased {
			wo.Follow = followAll
		}
		var w format.Walker // on the stack: no allocation
		w.Reset(r.searchTree, wo)
		for {
			l, ok, err := w.Next()
			if !ok && err == nil {
				return
			}
			var res Result
			if err != nil {
				res = treeError(err)
				if !ok {
					yield(res)
					return
				}
				// A bad record: maxminddb-golang v2 yields it and goes on.
				res.reader = r
			} else {
				res = Result{ip: displayIP(l.Key), prefixLen: uint8(l.Depth), offset: notFound}
				if l.HasData {
					if o.skipEmpty {
						empty, err := r.dec.isEmptyAt(l.Offset)
						if err == nil && empty {
							continue
						}
						res.err = err
					}
					res.reader, res.offset = r, l.Offset
				}
			}
			if !yield(res) {
				return
			}
			if r.buffer == nil {
				// Closed by the loop's body (Close must not run
				// concurrently, but may run between two yields): stop
				// before the walk reads the unmapped tree.
				yield(Result{ip: res.ip, prefixLen: res.prefixLen, err: errClosedDuringIteration})
				return
			}
		}
	}
}

func followAll([16]byte, int) bool { return true }

// treeError words a walk's *format.TreeError as the reader's errors.
func treeError(err error) Result {
	te, ok := err.(*format.TreeError)
	if !ok {
		return Result{err: err}
	}
	res := Result{ip: displayIP(te.Key), prefixLen: uint8(te.Depth)}
	switch te.Kind {
	case format.TreeTooDeep:
		res.err = newInvalidDatabaseError("invalid search tree at %s", res.Prefix())
	case format.TreeBudget:
		res.err = newInvalidDatabaseError("invalid search tree: nodes reached too many times (a cycle or shared subtree)")
	default:
		res.err = errTreeCorrupt
	}
	return res
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
