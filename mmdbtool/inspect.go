package mmdbtool

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/reader"
)

// rawFile is a database file mapped whole, its sections located, for
// Inspect and Verify. The reader over it accepts what maxminddb-golang
// v2 accepts (more than Open does), so that inspect and verify work on
// any file the drop-in reader opens.
type rawFile struct {
	path   string
	m      mapping
	buf    []byte
	r      *reader.Reader // opened WithoutIndex over buf
	md     reader.Metadata
	tree   []byte // node_count nodes
	data   []byte // between the separator and the metadata marker
	marker int    // offset of the last metadata marker in buf
	meta   []byte // the metadata section, after the marker
}

// openRaw maps path and opens it with the drop-in reader.
func openRaw(path string) (*rawFile, error) {
	m, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	buf := m.buf
	r, err := reader.OpenBytes(buf, reader.WithoutIndex())
	if err != nil {
		_ = m.unmap()
		return nil, fmt.Errorf("%s: not a readable MaxMind DB file: %w", path, err)
	}
	f := &rawFile{path: path, m: m, buf: buf, r: r, md: r.Metadata}
	// OpenBytes has checked that the tree and the separator fit before
	// the marker.
	f.marker = bytes.LastIndex(buf, format.MetadataMarker)
	f.meta = buf[f.marker+len(format.MetadataMarker):]
	treeSize := f.md.NodeCount * (f.md.RecordSize / 4)
	f.tree = buf[:treeSize]
	f.data = buf[treeSize+format.DataSectionSeparatorSize : f.marker]
	return f, nil
}

func (f *rawFile) close() {
	_ = f.r.Close()
	_ = f.m.unmap()
}

// Stats is what Inspect finds in a file.
type Stats struct {
	// Metadata is the file's metadata as the reader decodes it.
	Metadata reader.Metadata
	// FileSize, SearchTreeSize, DataSectionSize and MetadataSize are
	// sizes in bytes; MetadataSize counts the marker.
	FileSize, SearchTreeSize, DataSectionSize, MetadataSize int
	// NodesReached is the number of distinct nodes reached from the root.
	NodesReached uint64
	// DistinctRecords is the number of distinct data offsets that
	// records point to.
	DistinctRecords uint64
	// IPv4 and IPv6 count the networks with data by prefix length. In
	// an IPv6 tree, the networks under ::/96 at least 96 bits long are
	// IPv4, counted with their IPv4 prefix length.
	IPv4, IPv6 [129]uint64
	// Aliases are the networks of an IPv6 tree whose records lead back
	// to the IPv4 subtree (::ffff:0:0/96, 2002::/16, ...), in address
	// order; their networks are not counted again.
	Aliases []netip.Prefix
	// WalkTime is how long the walk of the tree took.
	WalkTime time.Duration
}

// TreeError is a problem of a search tree found by Inspect's walk.
type TreeError struct {
	Path string
	Err  error
}

// Error returns "path: problem".
func (e *TreeError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the problem.
func (e *TreeError) Unwrap() error { return e.Err }

// Inspect maps the file at path and walks its search tree once, counting
// the networks with data, the nodes and the distinct records. It reads
// any file that the drop-in reader (and maxminddb-golang v2) opens. A
// tree that the walk cannot finish (a node below the last bit, a record
// outside the data section, a cycle or a shared subtree) is a
// *TreeError; run Verify for a full check.
func Inspect(path string) (*Stats, error) {
	f, err := openRaw(path)
	if err != nil {
		return nil, err
	}
	defer f.close()
	start := time.Now()
	st, err := walkTree(f)
	if err != nil {
		return nil, &TreeError{path, err}
	}
	return &Stats{
		Metadata:        f.md,
		FileSize:        len(f.buf),
		SearchTreeSize:  len(f.tree),
		DataSectionSize: len(f.data),
		MetadataSize:    len(f.buf) - f.marker,
		NodesReached:    st.nodes,
		DistinctRecords: st.records,
		IPv4:            st.v4,
		IPv6:            st.v6,
		Aliases:         st.aliases,
		WalkTime:        time.Since(start),
	}, nil
}

// treeStats is what one walk of the search tree finds.
type treeStats struct {
	v4, v6    [129]uint64 // networks with data per prefix length
	records   uint64      // distinct data offsets that records point to
	offsets   []uint64    // bit set of those offsets
	nodes     uint64      // distinct nodes reached from the root
	visits    uint64      // node expansions (a shared subtree counts once per path)
	aliases   []netip.Prefix
	ipv4Start uint // node 96 zero bits lead to in an IPv6 tree, or node_count when none
}

// walkTree walks the search tree of f once, from the root, depth first,
// without recursion, and counts the networks that have data. In an IPv6
// tree, a record outside the path ::/96 that points at the IPv4 start node
// (the node 96 zero bits lead to) is an alias: it is recorded and not
// followed. A node below the last bit, a record pointing into the
// separator or past the data section, and more node expansions than the
// tree has nodes (a cycle, or shared subtrees) are errors: a corrupt tree
// cannot make the walk run for ever.
//
// Unlike internal/mmdbtree's walks, it needs only what the reader checks
// at open (any record size or IP version is reported, not assumed), and
// allows no node to be reached twice (mmdbtree's budget is 64 times the
// node count), which NodesReached and verify's reachability rely on.
func walkTree(f *rawFile) (*treeStats, error) {
	md := f.md
	rs := md.RecordSize
	if rs != 24 && rs != 28 && rs != 32 {
		return nil, fmt.Errorf("record_size %d: not 24, 28 or 32", rs)
	}
	nc := md.NodeCount
	if nc == 0 {
		return nil, fmt.Errorf("node_count is 0: the file has no search tree")
	}
	maxBits := 128
	if md.IPVersion == 4 {
		maxBits = 32
	}
	st := &treeStats{ipv4Start: nc}
	if md.IPVersion == 6 {
		node := uint(0)
		for i := 0; i < 96 && node < nc; i++ {
			node, _ = format.ReadNode(f.tree, rs, node)
		}
		st.ipv4Start = node
	}
	dataLen := uint(len(f.data))
	seenData := make([]uint64, dataLen/64+1)
	seenNode := make([]uint64, nc/64+1)
	type frame struct {
		node  uint
		depth int
		path  [16]byte
	}
	stack := make([]frame, 1, 130)
	for len(stack) > 0 {
		fr := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if st.visits++; st.visits > uint64(nc) {
			return nil, fmt.Errorf("search tree: more node visits than its %d nodes: a cycle or shared subtrees", nc)
		}
		if !testBit(seenNode, fr.node) {
			markBit(seenNode, fr.node)
			st.nodes++
		}
		left, right := format.ReadNode(f.tree, rs, fr.node)
		d := fr.depth + 1
		// Right first, so that the left child is expanded first: address
		// order, which lists the aliases in order.
		for bit := 1; bit >= 0; bit-- {
			rec, path := left, fr.path
			if bit == 1 {
				rec = right
				path[fr.depth/8] |= 0x80 >> (fr.depth % 8)
			}
			switch {
			case rec < nc:
				if d >= maxBits {
					return nil, fmt.Errorf("search tree: node %d at bit %d, below the last bit of a %d-bit tree", rec, d, maxBits)
				}
				if rec == st.ipv4Start && !(d == 96 && path == [16]byte{}) {
					st.aliases = append(st.aliases, treePrefix(maxBits, path, d))
					continue
				}
				stack = append(stack, frame{rec, d, path})
			case rec == nc: // no data
			default:
				if rec < nc+format.DataSectionSeparatorSize || rec-nc-format.DataSectionSeparatorSize >= dataLen {
					return nil, fmt.Errorf("search tree: record %d of node %d points outside the data section (%d bytes)", rec, fr.node, dataLen)
				}
				off := rec - nc - format.DataSectionSeparatorSize
				if !testBit(seenData, off) {
					markBit(seenData, off)
					st.records++
				}
				switch {
				case maxBits == 32:
					st.v4[d]++
				case d >= 96 && [12]byte(path[:12]) == [12]byte{}:
					st.v4[d-96]++
				default:
					st.v6[d]++
				}
			}
		}
	}
	slices.SortFunc(st.aliases, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	st.offsets = seenData
	return st, nil
}

// treePrefix is the prefix of the first depth bits of path in a tree of
// bits-bit keys: IPv6 (even inside ::ffff:0:0/96) in an IPv6 tree.
func treePrefix(bits int, path [16]byte, depth int) netip.Prefix {
	if bits == 32 {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(path[:4])), depth)
	}
	return netip.PrefixFrom(netip.AddrFrom16(path), depth)
}

func markBit(set []uint64, off uint) { set[off/64] |= 1 << (off % 64) }

func testBit(set []uint64, off uint) bool {
	return off/64 < uint(len(set)) && set[off/64]&(1<<(off%64)) != 0
}
