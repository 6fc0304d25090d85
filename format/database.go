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

	tree *Tree // the search tree's rules: IPv4 start, aliases, walks
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
	if db.tree, err = NewTree(db.Tree, md.NodeCount, md.RecordSize, md.IPVersion, uint(len(db.Data))); err != nil {
		return nil, err
	}
	return db, nil
}

// Decoder returns a decoder over the data section.
func (db *Database) Decoder() Decoder { return NewDecoder(db.Data) }

// SearchTree returns the search tree, for walks and lookups.
func (db *Database) SearchTree() *Tree { return db.tree }

// resolve turns a record value that is not a node into a data offset.
func (db *Database) resolve(record uint) (offset uint, found bool, err error) {
	if record == db.Metadata.NodeCount {
		return 0, false, nil
	}
	off, ok := db.tree.DataOffset(record)
	if !ok {
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
	t := db.tree
	var key [16]byte
	node, bit := uint(0), 0
	switch {
	case addr.Is4():
		a4 := addr.As4()
		copy(key[12:], a4[:])
		node, bit = t.IPv4Start, t.IPv4StartBits
	case md.IPVersion == 4:
		return 0, 0, false, nil
	default:
		key = addr.As16()
	}
	for ; bit < 128 && node < md.NodeCount; bit++ {
		left, right := t.Children(node)
		if key[bit/8]>>(7-bit%8)&1 == 0 {
			node = left
		} else {
			node = right
		}
	}
	if node < md.NodeCount {
		return 0, bit, false, dataErr("tree", 0, "walk for %s ran past the last bit at node %d", addr, node)
	}
	if addr.Is4() {
		bit = max(bit-96, 0)
	}
	off, found, err := db.resolve(node)
	return off, bit, found, err
}

// Walk calls fn for every network with data, in address order, with the
// data offset of its record: a walk of the search tree (Tree.Walk) that
// skips the aliases of the IPv4 subtree, IPv4 networks given as IPv4
// prefixes. A corrupt tree is a *DataError of the "tree" section; see
// Tree for the bounds that keep a walk of any tree short.
func (db *Database) Walk(fn func(p netip.Prefix, offset uint) error) error {
	for l, err := range db.tree.Walk(WalkOptions{}) {
		if err != nil {
			return treeDataError(err, db.Metadata.RecordSize)
		}
		if err := fn(l.Prefix(), l.Offset); err != nil {
			return err
		}
	}
	return nil
}

// treeDataError turns a *TreeError into a *DataError of the tree section
// at the offset of the node it names (0 for a record).
func treeDataError(err error, recordSize uint) error {
	te, ok := err.(*TreeError)
	if !ok {
		return err
	}
	off := uint(0)
	if te.Kind == TreeTooDeep {
		off = te.Record * NodeBytes(recordSize)
	}
	return &DataError{Section: "tree", Offset: off, Msg: te.Msg()}
}
