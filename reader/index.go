package reader

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/ipatlas/ipatlas/internal/mmapfile"
)

// The acceleration indexes replace the first bits of a tree walk with one
// table read. Entry i holds what a bit-by-bit walk of the prefix i would
// hold after those bits: the record value reached (a node, or a record that
// ended the walk early) and how many bits the walk consumed. A lookup reads
// the entry and walks on from there, so its answer is the plain walk's,
// bit for bit (TestIndexMatchesPlainWalk and FuzzReader check this).
//
// Lazy filling: Open only reserves the tables; they are filled one slot
// at a time, on the first lookup that reads an empty entry of the slot.
// A slot is the run of entries under one prefix of slotBits bits (4,096
// slots of 2,048 entries for the default 23-bit IPv4 index; 256 slots of
// 256 entries for the IPv6 index), so a lookup pays for the part of the
// tree near the addresses it looks up, never for the whole IPv4 subtree,
// and a process that looks up one address touches one slot (8 KiB, or
// one 2 MiB huge page) of the table and about slotBits + 2^(bits-slotBits+1)
// tree nodes. Open touches the metadata and the 96 nodes down to the
// IPv4 subtree, nothing more (TestOpenTouchesNoIndex, TestOpenResidentMemory).
//
// INVARIANT: an entry is 0 (empty) or final. A filled entry is never 0: its
// record is a node or a data pointer reached after at least one bit, or,
// when no bit was walked, the IPv4 start record, which is then past the
// node count and so not 0. Entries are read with atomic loads and written
// with atomic stores, and a fill writes the values any other fill of the
// same entries writes, so goroutines may fill the same slot at once, with
// no lock, and every reader sees either 0 (and fills) or the final value.
//
// Memory: tables of 4 MiB and more are anonymous memory mapped outside
// the Go heap (where a span reused after an earlier Reader's would be
// zeroed, all of it, at Open), unmapped by Close or, for a Reader dropped
// without Close, by a cleanup once the Reader is unreachable; smaller
// ones are on the heap. IPv4: 4<<IPv4IndexBits bytes (32 MiB at the
// default 23 bits) when every record value fits in 27 bits, else 8 bytes
// per entry; IPv6:
// 2^16 entries of 8 bytes, 512 KiB, for IPv6 trees only. IndexBytes
// reports what is reserved; only the slots filled are resident. On Linux
// the IPv4 table is advised to use transparent huge pages (where THP is
// "always" or "madvise"): a random lookup reads one entry of a table
// larger than the caches, and with 2 MiB pages that read seldom misses the
// TLB as well. Filling a slot visits each tree node above the index depth
// at most once per path that reaches it, at most 2^(bits-slotBits+1)
// visits, so a corrupt tree (cycles, shared subtrees) cannot make it run
// for ever.

const ipv6IndexBits = 16

// maxSlotBits bounds the prefix bits of a slot: at most 4,096 slots.
const maxSlotBits = 12

// slotBitsFor returns the slot prefix width of an index of bits bits:
// about half of them, at most maxSlotBits, so that narrow indexes (the
// fuzzer's) still have slots of several entries.
func slotBitsFor(bits uint) uint { return min(maxSlotBits, (bits+1)/2) }

// buildIndexes reserves idx4 (when the tree has an IPv4 subtree) and idx6
// (for IPv6 trees); lookups fill them. recSize must be valid.
func (r *Reader) buildIndexes(bits4 uint) {
	// A tree of n nodes rarely goes deeper than log2(n) bits before most
	// of its paths end, so small trees get a small index.
	bits4 = min(bits4, max(8, uint(bits.Len(r.nodeCnt))+1))
	if r.ipv4Start < r.nodeCnt || (r.Metadata.IPVersion == 4 && r.nodeCnt > 0) {
		r.idx4Bits = bits4
		r.idx4Shift = 32 - bits4
		maxRecord := uint64(r.nodeCnt) + dataSectionSeparatorSize + uint64(len(r.data))
		if maxRecord <= packedRecordMask {
			b := r.indexMemory(4 << bits4)
			adviseHugePages(b)
			r.idx4p = unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), 1<<bits4)
		} else {
			b := r.indexMemory(8 << bits4)
			adviseHugePages(b)
			r.idx4 = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), 1<<bits4)
		}
	}
	if r.Metadata.IPVersion == 6 && r.nodeCnt > 0 {
		b := r.indexMemory(8 << ipv6IndexBits)
		r.idx6 = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), 1<<ipv6IndexBits)
	}
	if len(r.idxMem.maps) > 0 {
		r.idxMem.live = &atomic.Bool{}
		r.idxMem.live.Store(true)
		runtime.AddCleanup(r, indexMapping.free, r.idxMem)
	}
}

// indexMapping is the anonymous memory of a Reader's indexes.
type indexMapping struct {
	live *atomic.Bool // set while maps are mapped; Close and the cleanup race to clear it
	maps [][]byte
}

// free unmaps m's memory once, whoever calls first.
func (m indexMapping) free() {
	if m.live != nil && m.live.CompareAndSwap(true, false) {
		for _, b := range m.maps {
			_ = mmapfile.Unmap(b)
		}
	}
}

// minMappedIndex is the smallest index given memory of its own: smaller
// ones (the IPv6 index, 512 KiB; narrow IPv4 indexes) come from the Go
// heap, where zeroing a reused span is cheap and a program that opens
// many small databases reuses memory instead of faulting in fresh pages
// for each (page faults cost several microseconds on a VM).
const minMappedIndex = 4 << 20

// indexMemory returns size zero bytes, 8-byte aligned, for an index:
// anonymous memory where the system maps it and the index is large,
// else from the Go heap.
func (r *Reader) indexMemory(size int) []byte {
	if size < minMappedIndex {
		w := make([]uint64, size/8)
		return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), size)
	}
	if b, err := mmapfile.MapAnon(size); err == nil {
		r.idxMem.maps = append(r.idxMem.maps, b)
		return b
	}
	w := make([]uint64, size/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), size)
}

// slotStart walks from node along the slotBits-bit prefix of slot s and
// returns where the walk stopped: the record, the bits walked and the
// prefix of that many bits.
func (r *Reader) slotStart(node, s, slotBits uint) (rec, depth, prefix uint) {
	for depth < slotBits && node < r.nodeCnt {
		node = r.child(node, s>>(slotBits-1-depth)&1)
		depth++
	}
	return node, depth, s >> (slotBits - depth)
}

// fill fills the slot of entry i of an index of bits bits, whose slots
// walk from start (the IPv4 index from the IPv4 start, the IPv6 index
// from the root); the index is idx, or packed when packed is not nil.
// The caller loads entry i again.
//
//go:noinline
func (r *Reader) fill(idx []uint64, packed []uint32, start, bits, i uint) {
	sb := slotBitsFor(bits)
	node, depth, prefix := r.slotStart(start, i>>(bits-sb), sb)
	r.fillSlot(idx, packed, node, prefix, depth, bits)
}

// Packed IPv4 index entries: the record value in the low 27 bits, the
// bits walked (at most 24) above.
const (
	packedShift      = 27
	packedRecordMask = 1<<packedShift - 1
)

// fillSlot fills the entries under the depth-bit prefix prefix, whose
// walk is at node, of idx, or of packed when packed is not nil.
func (r *Reader) fillSlot(idx []uint64, packed []uint32, node uint, prefix uint, depth, bits uint) {
	if node < r.nodeCnt && depth < bits {
		r.fillSlot(idx, packed, r.child(node, 0), prefix<<1, depth+1, bits)
		r.fillSlot(idx, packed, r.child(node, 1), prefix<<1|1, depth+1, bits)
		return
	}
	lo := prefix << (bits - depth)
	hi := (prefix + 1) << (bits - depth)
	if packed != nil {
		// A corrupt record too large for 27 bits is clamped: every
		// value past the data section gives the same error.
		e := uint32(min(node, packedRecordMask)) | uint32(depth)<<packedShift
		for i := lo; i < hi; i++ {
			atomic.StoreUint32(&packed[i], e)
		}
		return
	}
	e := uint64(uint32(node)) | uint64(depth)<<32
	for i := lo; i < hi; i++ {
		atomic.StoreUint64(&idx[i], e)
	}
}

// IndexBytes returns the memory reserved for the acceleration indexes, in
// bytes. Only the slots that lookups have filled are resident.
func (r *Reader) IndexBytes() int {
	if r == nil {
		return 0
	}
	return 8*(len(r.idx4)+len(r.idx6)) + 4*len(r.idx4p)
}
