package format

import (
	"fmt"
	"math"
	"net/netip"
)

// Database is a parsed MMDB file: its metadata, search tree and data
// section, as views of the file's bytes. It is the simple, obviously
// correct reading of the format that the fast reader is tested against;
// it is safe for concurrent use.
type Database struct {
	Metadata Metadata
	// Tree is the search tree, NodeCount nodes of RecordSize bits.
	Tree []byte
	// Data is the data section; pointers and record offsets count from
	// its first byte.
	Data []byte

	ipv4Start     uint // node reached by 96 zero bits in an IPv6 tree
	ipv4StartBits int  // how many of those bits were walked
}

// Parse checks the layout of file (metadata, tree size, separator) and
// returns the database over it, without copying.
func Parse(file []byte) (*Database, error) {
	mdStart, err := FindMetadata(file)
	if err != nil {
		return nil, err
	}
	md, err := DecodeMetadata(file[mdStart:])
	if err != nil {
		return nil, err
	}
	if uint64(md.NodeCount) > math.MaxUint64/uint64(NodeBytes(md.RecordSize)) {
		return nil, dataErr("metadata", 0, "node_count %d: the search tree size overflows 64 bits", md.NodeCount)
	}
	treeSize := md.SearchTreeSize()
	dataStart := treeSize + DataSectionSeparatorSize
	dataEnd := uint64(mdStart - len(MetadataMarker))
	if dataStart > dataEnd {
		return nil, fmt.Errorf("mmdb: search tree of %d nodes (%d bytes) does not fit before the metadata at %d", md.NodeCount, treeSize, dataEnd)
	}
	for _, c := range file[treeSize:dataStart] {
		if c != 0 {
			return nil, fmt.Errorf("mmdb: data section separator at %d is not 16 zero bytes", treeSize)
		}
	}
	// Full slice expressions: a read past the tree or the data section
	// cannot see the bytes after it.
	db := &Database{Metadata: md, Tree: file[:treeSize:treeSize], Data: file[dataStart:dataEnd:dataEnd]}
	if md.IPVersion == 6 {
		node := uint(0)
		i := 0
		for ; i < 96 && node < md.NodeCount; i++ {
			node, _ = ReadNode(db.Tree, md.RecordSize, node)
		}
		db.ipv4Start, db.ipv4StartBits = node, i
	}
	return db, nil
}

// Decoder returns a decoder over the data section.
func (db *Database) Decoder() Decoder { return NewDecoder(db.Data) }

// resolve turns a record value that is not a node into a data offset.
func (db *Database) resolve(record uint) (offset uint, found bool, err error) {
	n := db.Metadata.NodeCount
	if record == n {
		return 0, false, nil
	}
	off := record - n - DataSectionSeparatorSize
	if record < n+DataSectionSeparatorSize || off >= uint(len(db.Data)) {
		return 0, false, dataErr("tree", 0, "record %d points outside the data section (%d bytes)", record, len(db.Data))
	}
	return off, true, nil
}

// Lookup walks the tree for addr and returns the data offset of its
// record, the prefix length at which the walk ended, and whether addr has
// data. An IPv4 address in an IPv6 tree is looked up at ::a.b.c.d and its
// prefix length counts from bit 96 (0 when the walk ended above it). In
// an IPv4 database an IPv4-mapped address (::ffff:a.b.c.d) is its IPv4
// address, and any other IPv6 address is not found, at length 0. In an
// IPv6 tree an IPv4-mapped address is looked up as the IPv6 address it
// is, as libmaxminddb and maxminddb-golang do: the tree decides whether
// ::ffff:0:0/96 aliases IPv4. Lookup reads at most one node per bit of
// the address (128), whatever the tree holds.
func (db *Database) Lookup(addr netip.Addr) (offset uint, prefixLen int, found bool, err error) {
	md := &db.Metadata
	if md.IPVersion == 4 {
		addr = addr.Unmap()
	}
	var key [16]byte
	node, bit, bits := uint(0), 0, 128
	switch {
	case addr.Is4() && md.IPVersion == 4:
		a4 := addr.As4()
		copy(key[:], a4[:])
		bits = 32
	case addr.Is4():
		a4 := addr.As4()
		copy(key[12:], a4[:])
		node, bit = db.ipv4Start, db.ipv4StartBits
	case md.IPVersion == 4:
		return 0, 0, false, nil
	default:
		key = addr.As16()
	}
	for ; bit < bits && node < md.NodeCount; bit++ {
		left, right := ReadNode(db.Tree, md.RecordSize, node)
		if key[bit/8]>>(7-bit%8)&1 == 0 {
			node = left
		} else {
			node = right
		}
	}
	if node < md.NodeCount {
		return 0, bit, false, dataErr("tree", 0, "walk for %s ran past the last bit at node %d", addr, node)
	}
	if addr.Is4() && md.IPVersion == 6 {
		bit = max(bit-96, 0)
	}
	off, found, err := db.resolve(node)
	return off, bit, found, err
}

// Walk calls fn for every network with data, in address order, with the
// data offset of its record. In an IPv6 tree, the subtrees that the
// IPv4 aliases (::ffff:0:0/96, 2002::/16 or any other record that points
// back at the IPv4 start node) lead to are not walked again; IPv4
// networks are given as IPv4 prefixes. Walk visits at most node_count
// nodes: a tree that needs more (a cycle, or subtrees shared by more paths
// than the tree has spare nodes) is an error, so a corrupt tree cannot
// make Walk run for ever or for a time exponential in its size. A subtree
// shared within that bound is walked once per path to it, as other
// readers do.
func (db *Database) Walk(fn func(p netip.Prefix, offset uint) error) error {
	md := &db.Metadata
	bits := 32
	if md.IPVersion == 6 {
		bits = 128
	}
	seen := uint(0)
	var path [16]byte
	var walk func(node uint, depth int) error
	walk = func(node uint, depth int) error {
		if node >= md.NodeCount {
			if node == md.NodeCount {
				return nil
			}
			off, _, err := db.resolve(node)
			if err != nil {
				return err
			}
			return fn(db.prefix(path, depth), off)
		}
		if depth >= bits {
			return dataErr("tree", node*NodeBytes(md.RecordSize), "node %d below the last bit", node)
		}
		if md.IPVersion == 6 && node == db.ipv4Start && path != [16]byte{} {
			return nil // an alias of the IPv4 subtree, which ::/96 reaches
		}
		if seen++; seen > md.NodeCount {
			return dataErr("tree", 0, "search tree reaches more nodes than its %d: a cycle or shared subtree", md.NodeCount)
		}
		left, right := ReadNode(db.Tree, md.RecordSize, node)
		if err := walk(left, depth+1); err != nil {
			return err
		}
		path[depth/8] |= 0x80 >> (depth % 8)
		err := walk(right, depth+1)
		path[depth/8] &^= 0x80 >> (depth % 8)
		return err
	}
	return walk(0, 0)
}

// prefix turns the walked bits into a prefix; IPv4 space of an IPv6 tree
// (::/96) comes back as IPv4.
func (db *Database) prefix(path [16]byte, depth int) netip.Prefix {
	if db.Metadata.IPVersion == 4 {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(path[:4])), depth)
	}
	if depth >= 96 && [12]byte(path[:12]) == [12]byte{} {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(path[12:])), depth-96)
	}
	return netip.PrefixFrom(netip.AddrFrom16(path), depth)
}
