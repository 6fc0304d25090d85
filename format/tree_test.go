package format

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestNodeBytes: a node is two records.
func TestNodeBytes(t *testing.T) {
	for size, want := range map[uint]uint{24: 6, 28: 7, 32: 8} {
		if got := NodeBytes(size); got != want {
			t.Errorf("NodeBytes(%d) = %d, want %d", size, got, want)
		}
	}
}

// TestNodeLayout checks ReadNode and AppendNode against node bytes worked
// out by hand from the spec's diagrams. 24 and 32 bits: the two records
// big-endian, one after the other. 28 bits: the low 24 bits of the left
// record, a middle byte whose high nibble is the left record's top four
// bits and whose low nibble is the right record's, then the low 24 bits
// of the right record.
func TestNodeLayout(t *testing.T) {
	cases := []struct {
		size        uint
		left, right uint
		node        []byte
	}{
		{24, 0, 0, b("\x00\x00\x00\x00\x00\x00")},
		{24, 0x123456, 0xabcdef, b("\x12\x34\x56\xab\xcd\xef")},
		{24, 0xffffff, 1, b("\xff\xff\xff\x00\x00\x01")},
		{28, 0xa123456, 0xb789abc, b("\x12\x34\x56\xab\x78\x9a\xbc")},
		{28, 0xfffffff, 0, b("\xff\xff\xff\xf0\x00\x00\x00")},
		{28, 0, 0xfffffff, b("\x00\x00\x00\x0f\xff\xff\xff")},
		{28, 0x1000000, 0x2000001, b("\x00\x00\x00\x12\x00\x00\x01")},
		{32, 0x01020304, 0xfffffffe, b("\x01\x02\x03\x04\xff\xff\xff\xfe")},
		{32, 0xffffffff, 0x80000000, b("\xff\xff\xff\xff\x80\x00\x00\x00")},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d/%x/%x", tc.size, tc.left, tc.right), func(t *testing.T) {
			prefix := b("\x55\x66\x77")
			got := AppendNode(bytes.Clone(prefix), tc.size, tc.left, tc.right)
			if want := append(bytes.Clone(prefix), tc.node...); !bytes.Equal(got, want) {
				t.Fatalf("AppendNode = %x, want %x", got, want)
			}
			// Read it back as node 2 of a three-node tree.
			n := NodeBytes(tc.size)
			tree := append(bytes.Repeat([]byte{0xee}, int(2*n)), tc.node...)
			l, r := ReadNode(tree, tc.size, 2)
			if l != tc.left || r != tc.right {
				t.Fatalf("ReadNode = %x, %x; want %x, %x", l, r, tc.left, tc.right)
			}
		})
	}
}

// TestNodeRoundTrip appends random records of each size and reads them
// back (seeded, so a failure replays).
func TestNodeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, size := range []uint{24, 28, 32} {
		var tree []byte
		var want [][2]uint
		for range 1000 {
			l, r := uint(rng.Uint64()&(1<<size-1)), uint(rng.Uint64()&(1<<size-1))
			tree = AppendNode(tree, size, l, r)
			want = append(want, [2]uint{l, r})
		}
		if len(tree) != len(want)*int(NodeBytes(size)) {
			t.Fatalf("%d-bit tree of %d nodes is %d bytes", size, len(want), len(tree))
		}
		for i, w := range want {
			if l, r := ReadNode(tree, size, uint(i)); l != w[0] || r != w[1] {
				t.Fatalf("%d-bit node %d: read %x, %x; wrote %x, %x", size, i, l, r, w[0], w[1])
			}
		}
	}
}

// TestNodeSizesAgree: MaxMind's test databases come in 24-, 28- and
// 32-bit versions of the same tree and data, so every node must read the
// same in all three, and re-appending the nodes must give back each
// file's tree byte for byte.
func TestNodeSizesAgree(t *testing.T) {
	for _, base := range []string{"ipv4", "ipv6", "mixed"} {
		t.Run(base, func(t *testing.T) {
			var ref [][2]uint
			for _, size := range []uint{24, 28, 32} {
				db := mustParse(t, readConformance(t, fmt.Sprintf("test-data/MaxMind-DB-test-%s-%d.mmdb", base, size)))
				if db.Metadata.RecordSize != size {
					t.Fatalf("record size %d, want %d", db.Metadata.RecordSize, size)
				}
				var nodes [][2]uint
				var tree []byte
				for n := range db.Metadata.NodeCount {
					l, r := ReadNode(db.Tree, size, n)
					nodes = append(nodes, [2]uint{l, r})
					tree = AppendNode(tree, size, l, r)
				}
				if !bytes.Equal(tree, db.Tree) {
					t.Fatalf("%d bits: the re-appended tree differs from the file's", size)
				}
				if ref == nil {
					ref = nodes
					continue
				}
				if len(nodes) != len(ref) {
					t.Fatalf("%d bits: %d nodes, 24 bits: %d", size, len(nodes), len(ref))
				}
				for i := range nodes {
					if nodes[i] != ref[i] {
						t.Fatalf("%d bits: node %d is %v, at 24 bits %v", size, i, nodes[i], ref[i])
					}
				}
			}
		})
	}
}
