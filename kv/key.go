package kv

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Key-space tags: the first byte of every key.
const (
	tagData    = 'd' // data rows: tagData | layer | generation | network | bits
	tagMeta    = 'm' // layer metadata: tagMeta | layer name
	tagCounter = 'n' // the single key "n": the next layer ID to hand out
)

// Sizes of the parts of a data key.
const (
	netKeyLen     = 16 + 1    // network address in tree space + prefix length
	genPrefixLen  = 1 + 4 + 4 // tagData | layer | generation
	dataKeyLen    = genPrefixLen + netKeyLen
	v4InV6Bits    = 96      // IPv4 a.b.c.d/n sits at ::a.b.c.d/(96+n)
	valueKindLen  = 1       // the kind byte in front of every data value
	kindPut       = byte(0) // value = kindPut | record bytes
	kindTombstone = byte(1) // value = kindTombstone, hides older generations' put
	kindRef       = byte(2) // value = kindRef | uvarint record number in the generation's dictionary
	dictKeyLen    = genPrefixLen + netKeyLen + 4
)

// dictMarker follows the generation prefix in the keys of its dictionary
// rows: it sorts after every network key (whose last byte, the prefix
// length, is at most 128), so the dictionary comes after the data rows.
var dictMarker = [netKeyLen]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// dictStart returns the first key of the dictionary rows of generation gen
// of layer: the end of its data rows.
func dictStart(layer, gen uint32) []byte {
	return append(appendGenPrefix(make([]byte, 0, dictKeyLen), layer, gen), dictMarker[:]...)
}

// appendDictKey appends the key of record number id in the dictionary of
// generation gen of layer.
func appendDictKey(dst []byte, layer, gen, id uint32) []byte {
	dst = append(appendGenPrefix(dst, layer, gen), dictMarker[:]...)
	return binary.BigEndian.AppendUint32(dst, id)
}

// counterKey is the key of the next-layer-ID counter.
var counterKey = []byte{tagCounter}

// metaKey returns the key of the metadata record of the layer called name.
func metaKey(name string) []byte {
	k := make([]byte, 0, 1+len(name))
	k = append(k, tagMeta)
	return append(k, name...)
}

// appendGenPrefix appends tagData | layer | gen: the common prefix of all rows
// of one generation of one layer.
func appendGenPrefix(dst []byte, layer, gen uint32) []byte {
	dst = append(dst, tagData)
	dst = binary.BigEndian.AppendUint32(dst, layer)
	return binary.BigEndian.AppendUint32(dst, gen)
}

// genBounds returns the half-open key range [lo, hi) that holds every row of
// generation gen of layer. For gen = MaxUint32 hi is the start of the next
// layer, which is the same range.
func genBounds(layer, gen uint32) (lo, hi []byte) {
	lo = appendGenPrefix(make([]byte, 0, genPrefixLen), layer, gen)
	if gen == ^uint32(0) {
		_, hi = layerBounds(layer)
		return lo, hi
	}
	hi = appendGenPrefix(make([]byte, 0, genPrefixLen), layer, gen+1)
	return lo, hi
}

// layerBounds returns the half-open key range [lo, hi) that holds every row of
// every generation of layer.
func layerBounds(layer uint32) (lo, hi []byte) {
	lo = binary.BigEndian.AppendUint32([]byte{tagData}, layer)
	if layer == ^uint32(0) {
		return lo, []byte{tagData + 1}
	}
	hi = binary.BigEndian.AppendUint32([]byte{tagData}, layer+1)
	return lo, hi
}

// checkPrefix reports whether p can be stored: valid, masked, without zone,
// and not one of the IPv6 networks that would collide with the IPv4 space of
// the tree (see invariant 2 in the package documentation).
func checkPrefix(p netip.Prefix) error {
	if !p.IsValid() {
		return fmt.Errorf("kv: invalid prefix %v", p)
	}
	a := p.Addr()
	if a.Zone() != "" {
		return fmt.Errorf("kv: prefix %v has a zone", p)
	}
	if p.Masked() != p {
		return fmt.Errorf("kv: prefix %v is not masked (want %v)", p, p.Masked())
	}
	if a.Is6() && p.Bits() >= v4InV6Bits {
		b := a.As16()
		if a.Is4In6() {
			return fmt.Errorf("kv: prefix %v is IPv4-mapped; store it as the IPv4 network %v", p, netip.PrefixFrom(a.Unmap(), p.Bits()-v4InV6Bits))
		}
		if [12]byte(b[:12]) == ([12]byte{}) {
			return fmt.Errorf("kv: IPv6 prefix %v lies in ::/96, where the tree keeps IPv4; store it as the IPv4 network %v", p, netip.PrefixFrom(netip.AddrFrom4([4]byte(b[12:])), p.Bits()-v4InV6Bits))
		}
	}
	return nil
}

// appendNetKey appends the 17-byte network part of a data key: the network
// address in the IPv6 tree's space (IPv4 a.b.c.d as ::a.b.c.d) and the prefix
// length in that space (IPv4 /n as 96+n). p must have passed checkPrefix.
func appendNetKey(dst []byte, p netip.Prefix) []byte {
	a := p.Addr()
	bits := p.Bits()
	if a.Is4() {
		var z [12]byte
		dst = append(dst, z[:]...)
		b := a.As4()
		dst = append(dst, b[:]...)
		return append(dst, byte(v4InV6Bits+bits))
	}
	b := a.As16()
	dst = append(dst, b[:]...)
	return append(dst, byte(bits))
}

// decodeNetKey is the inverse of appendNetKey. k must be netKeyLen bytes.
// It does not allocate.
func decodeNetKey(k []byte) (netip.Prefix, error) {
	if len(k) != netKeyLen {
		return netip.Prefix{}, fmt.Errorf("kv: network key has %d bytes, want %d", len(k), netKeyLen)
	}
	bits := int(k[16])
	if bits > 128 {
		return netip.Prefix{}, fmt.Errorf("kv: network key has prefix length %d > 128", bits)
	}
	if bits >= v4InV6Bits && [12]byte(k[:12]) == ([12]byte{}) {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(k[12:16])), bits-v4InV6Bits), nil
	}
	return netip.PrefixFrom(netip.AddrFrom16([16]byte(k[:16])), bits), nil
}

// parseDataKey splits a data key into layer, generation and the network
// part; a dictionary key gives its layer and generation, and no network.
func parseDataKey(k []byte) (layer, gen uint32, net []byte, err error) {
	if (len(k) != dataKeyLen && len(k) != dictKeyLen) || k[0] != tagData {
		return 0, 0, nil, fmt.Errorf("kv: malformed data key %x", k)
	}
	if len(k) == dictKeyLen {
		return binary.BigEndian.Uint32(k[1:5]), binary.BigEndian.Uint32(k[5:9]), nil, nil
	}
	return binary.BigEndian.Uint32(k[1:5]), binary.BigEndian.Uint32(k[5:9]), k[genPrefixLen:], nil
}
