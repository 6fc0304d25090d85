package format

import "encoding/binary"

// NodeBytes returns the size in bytes of one search-tree node for a
// record size of 24, 28 or 32 bits.
func NodeBytes(recordSize uint) uint { return recordSize / 4 }

// ReadNode returns the left and right records of node n. tree must hold
// at least n+1 nodes of recordSize (24, 28 or 32); callers check n against
// the node count.
func ReadNode(tree []byte, recordSize uint, n uint) (left, right uint) {
	switch recordSize {
	case 24:
		b := tree[n*6 : n*6+6]
		return uint(b[0])<<16 | uint(b[1])<<8 | uint(b[2]), uint(b[3])<<16 | uint(b[4])<<8 | uint(b[5])
	case 28:
		b := tree[n*7 : n*7+7]
		return uint(b[3]&0xF0)<<20 | uint(b[0])<<16 | uint(b[1])<<8 | uint(b[2]),
			uint(b[3]&0x0F)<<24 | uint(b[4])<<16 | uint(b[5])<<8 | uint(b[6])
	default:
		b := tree[n*8 : n*8+8]
		return uint(binary.BigEndian.Uint32(b)), uint(binary.BigEndian.Uint32(b[4:]))
	}
}

// AppendNode appends a node with the given records to tree. Each record
// must fit in recordSize bits.
func AppendNode(tree []byte, recordSize uint, left, right uint) []byte {
	switch recordSize {
	case 24:
		return append(tree, byte(left>>16), byte(left>>8), byte(left), byte(right>>16), byte(right>>8), byte(right))
	case 28:
		return append(tree, byte(left>>16), byte(left>>8), byte(left),
			byte(left>>20&0xF0|right>>24&0x0F), byte(right>>16), byte(right>>8), byte(right))
	default:
		return append(tree, byte(left>>24), byte(left>>16), byte(left>>8), byte(left),
			byte(right>>24), byte(right>>16), byte(right>>8), byte(right))
	}
}

// DataSectionSeparatorSize is the number of zero bytes between the search
// tree and the data section.
const DataSectionSeparatorSize = 16
