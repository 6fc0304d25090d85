package reader

import (
	"errors"
	"math"
	"net/netip"
	"runtime"
)

const notFound uint = math.MaxUint

var zeroIP = netip.IPv6Unspecified()

// Result is the answer to a lookup: the data offset of the record, the
// network the address is in, and any error. It is a small value; the zero
// Result is not found and has no error.
type Result struct {
	ip        netip.Addr
	err       error
	reader    *Reader
	offset    uint
	prefixLen uint8
}

// Decode decodes the record into v, which must be a non-nil pointer. It
// does nothing when the address has no record and returns the lookup's
// error if there was one.
func (r Result) Decode(v any) error {
	if ok, err := r.decodable("Decode"); !ok {
		return err
	}
	err := r.reader.dec.decodeRoot(r.offset, v)
	runtime.KeepAlive(r.reader) // the data is mapped memory; see Lookup
	return err
}

// decodable reports whether r has a record to decode; if not, the error
// method returns: the lookup's, none for an address without a record,
// or that the database is closed.
func (r Result) decodable(method string) (bool, error) {
	if r.err != nil {
		return false, r.err
	}
	if r.offset == notFound {
		return false, nil
	}
	if r.reader == nil || r.reader.buffer == nil {
		return false, errClosedDecode(method)
	}
	return true, nil
}

// errClosedDecode is the error of Decode and DecodePath on a closed
// database, in maxminddb-golang v2's words.
func errClosedDecode(method string) error {
	return errors.New("cannot call " + method + " on a closed database")
}

// DecodePath decodes the value at path inside the record into v. A path
// element is a string (a map key) or an int (an array index; negative
// counts from the end). A path that does not exist leaves v unchanged and
// is not an error.
func (r Result) DecodePath(v any, path ...any) error {
	if ok, err := r.decodable("DecodePath"); !ok {
		return err
	}
	err := r.reader.dec.decodePath(r.offset, path, v)
	runtime.KeepAlive(r.reader)
	return err
}

// Err returns the error of the lookup, if any.
func (r Result) Err() error { return r.err }

// Found reports whether the address has a record.
func (r Result) Found() bool { return r.err == nil && r.offset != notFound }

// Offset returns the data-section offset of the record, usable as a cache
// key (records with the same offset are the same) and with LookupOffset.
// It is meaningless when Found is false.
func (r Result) Offset() uintptr { return uintptr(r.offset) }

// Prefix returns the network the address is in: the longest prefix of the
// tree that holds it. IPv4 addresses get IPv4 prefixes.
func (r Result) Prefix() netip.Prefix {
	ip := r.ip
	prefixLen := int(r.prefixLen)
	if ip.Is4() {
		var isIPv4 bool
		prefixLen, isIPv4 = r.ipv4PrefixLen(prefixLen)
		if !isIPv4 {
			return netip.PrefixFrom(zeroIP, prefixLen)
		}
	}
	p, _ := ip.Prefix(prefixLen)
	return p
}

func (r Result) ipv4PrefixLen(prefixLen int) (int, bool) {
	if r.reader != nil && r.reader.hasIPv4Subtree() {
		if prefixLen < r.reader.ipv4StartBitDepth {
			return prefixLen, false
		}
		return prefixLen - r.reader.ipv4StartBitDepth, true
	}
	if prefixLen < 96 {
		return prefixLen, false
	}
	return prefixLen - 96, true
}
