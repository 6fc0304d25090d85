package reader

import (
	"math/bits"
	"unsafe"
)

// The acceleration indexes replace the first bits of a tree walk with one
// table read. Entry i holds what a bit-by-bit walk of the prefix i would
// hold after those bits: the record value reached (a node, or a record that
// ended the walk early) and how many bits the walk consumed. A lookup reads
// the entry and walks on from there, so its answer is the plain walk's,
// bit for bit (TestIndexMatchesPlainWalk checks this on every test file).
//
// Memory: IPv4: 4<<IPv4IndexBits bytes (32 MiB at the default 23 bits)
// when every record value fits in 27 bits, else 8 bytes per entry; IPv6:
// 2^16 entries of 8 bytes, 512 KiB, for IPv6 trees only. IndexBytes
// reports the total. On Linux the IPv4 table is advised to use transparent
// huge pages (where THP is "always" or "madvise"): a random lookup reads
// one entry of a table larger than the caches, and with 2 MiB pages that
// read seldom misses the TLB as well.
// Building visits each tree node above the index depth once per path that
// reaches it, at most 2^(bits+1) visits, so a corrupt tree (cycles, shared
// subtrees) cannot make it run for ever.

const ipv6IndexBits = 16

// buildIndexes fills idx4 (when the tree has an IPv4 subtree) and idx6
// (for IPv6 trees). recSize must be valid.
func (r *Reader) buildIndexes(bits4 uint) {
	// A tree of n nodes rarely goes deeper than log2(n) bits before most
	// of its paths end, so small trees get a small index.
	bits4 = min(bits4, max(8, uint(bits.Len(r.nodeCnt))+1))
	if r.ipv4Start < r.nodeCnt || (r.Metadata.IPVersion == 4 && r.nodeCnt > 0) {
		r.idx4Bits = bits4
		maxRecord := uint64(r.nodeCnt) + dataSectionSeparatorSize + uint64(len(r.data))
		if maxRecord <= packedRecordMask {
			r.idx4p = make([]uint32, 1<<bits4)
			adviseHugePages(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(r.idx4p))), 4*len(r.idx4p)))
			r.fillPacked(r.idx4p, r.ipv4Start, 0, 0, bits4)
		} else {
			r.idx4 = make([]uint64, 1<<bits4)
			adviseHugePages(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(r.idx4))), 8*len(r.idx4)))
			r.fillIndex(r.idx4, r.ipv4Start, 0, 0, bits4)
		}
	}
	if r.Metadata.IPVersion == 6 && r.nodeCnt > 0 {
		r.idx6 = make([]uint64, 1<<ipv6IndexBits)
		r.fillIndex(r.idx6, 0, 0, 0, ipv6IndexBits)
	}
}

// fillIndex fills the entries of idx under the depth-bit prefix prefix,
// whose walk is at node.
func (r *Reader) fillIndex(idx []uint64, node uint, prefix uint, depth, bits uint) {
	if node >= r.nodeCnt || depth == bits {
		e := uint64(uint32(node)) | uint64(depth)<<32
		lo := prefix << (bits - depth)
		hi := (prefix + 1) << (bits - depth)
		for i := lo; i < hi; i++ {
			idx[i] = e
		}
		return
	}
	r.fillIndex(idx, r.child(node, 0), prefix<<1, depth+1, bits)
	r.fillIndex(idx, r.child(node, 1), prefix<<1|1, depth+1, bits)
}

// Packed IPv4 index entries: the record value in the low 27 bits, the
// bits walked (at most 24) above.
const (
	packedShift      = 27
	packedRecordMask = 1<<packedShift - 1
)

// fillPacked is fillIndex for the packed table.
func (r *Reader) fillPacked(idx []uint32, node uint, prefix uint, depth, bits uint) {
	if node >= r.nodeCnt || depth == bits {
		// A corrupt record too large for 27 bits is clamped: every
		// value past the data section gives the same error.
		e := uint32(min(node, packedRecordMask)) | uint32(depth)<<packedShift
		lo := prefix << (bits - depth)
		hi := (prefix + 1) << (bits - depth)
		for i := lo; i < hi; i++ {
			idx[i] = e
		}
		return
	}
	r.fillPacked(idx, r.child(node, 0), prefix<<1, depth+1, bits)
	r.fillPacked(idx, r.child(node, 1), prefix<<1|1, depth+1, bits)
}

// IndexBytes returns the memory the acceleration indexes take, in bytes.
func (r *Reader) IndexBytes() int {
	if r == nil {
		return 0
	}
	return 8*(len(r.idx4)+len(r.idx6)) + 4*len(r.idx4p)
}
