package reader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"

	"github.com/ipatlas/ipatlas/format"
	"github.com/ipatlas/ipatlas/internal/mmapfile"
)

const dataSectionSeparatorSize = 16

var metadataStartMarker = []byte("\xAB\xCD\xEFMaxMind.com")

var errInvalidIPAddress = errors.New("invalid IP address")

// errNilReader is what the methods of a nil *Reader return (a zero
// Handle, NewHandle(nil) or Swap(nil) holds one).
var errNilReader = errors.New("reader: no database (a nil *Reader)")

// Reader reads one MaxMind DB file. Create it with Open or OpenBytes. All
// methods except Close are safe for concurrent use by any number of
// goroutines; Close must not run concurrently with other calls (use Handle
// for replacing a database while lookups run).
type Reader struct {
	// Metadata is the database's metadata. Treat it as read-only.
	Metadata Metadata

	mapped  *atomic.Bool // the buffer is an mmap that Close or the cleanup unmaps
	buffer  []byte       // the whole file; nil after Close
	tree    []byte       // INVARIANT: len(tree) == nodeCount*recordSize/4
	data    []byte       // the data section
	dec     decoder
	nodeCnt uint
	recSize uint

	validRecordSize bool // recSize is 24, 28 or 32; tree walks need it

	// searchTree is the tree's rules and walker (networks, verify);
	// nil when the record size is not valid.
	searchTree *format.Tree

	ipv4Start         uint // node (or record) reached by 96 zero bits
	ipv4StartBitDepth int  // how many bits that walk took (96 in an IPv4 tree)

	// Acceleration indexes, nil when disabled, filled lazily (index.go).
	// Entry i of idx4 is the record reached from ipv4Start by the
	// idx4Bits-bit prefix i of an IPv4 address, in the low 32 bits, and
	// the number of bits walked to reach it (idx4Bits, or fewer when a
	// record ends the walk early) in the high bits. idx6 is the same for
	// the first 16 bits from the root of an IPv6 tree.
	// INVARIANT: an entry is 0 until filled, then final; entries are
	// accessed only atomically.
	idx4      []uint64
	idx4p     []uint32 // packed form of idx4: record | bits walked << 27
	idx4Bits  uint
	idx4Shift uint // 32 - idx4Bits
	idx6      []uint64
	idxMem    indexMapping // the indexes' memory when mapped outside the heap
}

// Metadata holds the metadata of a database, with the fields and tags of
// maxminddb-golang v2's Metadata; it is format.Metadata.
type Metadata = format.Metadata

type readerOptions struct {
	disableStringCache bool
	indexBits          int // -1: default
	noIndex            bool
}

// ReaderOption configures Open and OpenBytes.
type ReaderOption func(*readerOptions)

// DisableStringCache turns off the caches of decoded values keyed by data
// offset: strings, names maps (map[string]string) and where skipped
// containers end. Decoding then allocates every string it returns.
func DisableStringCache() ReaderOption {
	return func(o *readerOptions) { o.disableStringCache = true }
}

// WithoutIndex turns off the acceleration indexes: lookups walk the search
// tree one bit at a time, as maxminddb-golang does, and no index memory is
// reserved. (With the indexes, Open only reserves them; lookups fill them
// a slot at a time.)
func WithoutIndex() ReaderOption {
	return func(o *readerOptions) { o.noIndex = true }
}

// DefaultIPv4IndexBits is the width of the IPv4 acceleration index: 2^23
// entries, 32 MiB when records fit in 27 bits (any database under about
// 120 MiB), else 64 MiB.
const DefaultIPv4IndexBits = 23

// MaxIPv4IndexBits bounds IPv4IndexBits: 2^24 entries, 64 or 128 MiB.
const MaxIPv4IndexBits = 24

// IPv4IndexBits sets the width of the IPv4 acceleration index to bits (1 to
// MaxIPv4IndexBits; values outside are clamped). The index takes 4<<bits
// bytes (8<<bits when record values need more than 27 bits) and saves up
// to bits dependent memory reads per lookup. Trees with few nodes get a
// narrower index (about log2 of the node count bits).
func IPv4IndexBits(bits int) ReaderOption {
	return func(o *readerOptions) { o.indexBits = min(max(bits, 1), MaxIPv4IndexBits) }
}

// Open memory-maps the file and returns a Reader over it. Where the file
// system cannot map files, the file is read into memory instead.
//
// The file must be a regular file: a FIFO, device or directory is
// refused with an error wrapping ErrNotRegular, without blocking (the
// file is opened non-blocking and checked before anything is read).
// The mapped file must not change while the Reader is in use: see the
// package documentation ("Replacing the file") and Guard.
func Open(file string, options ...ReaderOption) (*Reader, error) {
	f, err := OpenRegular(file)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read-only file
	data, mapped, err := mmapfile.Whole(f)
	if err != nil {
		return nil, err
	}
	if !mapped {
		return OpenBytes(data, options...)
	}
	r, err := OpenBytes(data, options...)
	if err != nil {
		_ = mmapfile.Unmap(data)
		return nil, err
	}
	r.mapped.Store(true)
	runtime.AddCleanup(r, func(m mmapping) {
		if m.mapped.CompareAndSwap(true, false) {
			_ = mmapfile.Unmap(m.data)
		}
	}, mmapping{r.mapped, data})
	return r, nil
}

type mmapping struct {
	mapped *atomic.Bool
	data   []byte
}

// Close unmaps the file of a Reader made by Open. Lookups on a closed
// Reader return an error. Close must not be called while other goroutines
// use the Reader.
func (r *Reader) Close() error {
	if r == nil {
		return errNilReader
	}
	var err error
	if r.mapped.CompareAndSwap(true, false) {
		err = mmapfile.Unmap(r.buffer)
	}
	r.buffer, r.tree, r.data = nil, nil, nil
	r.dec = decoder{}
	r.searchTree = nil
	r.idx4, r.idx4p, r.idx6 = nil, nil, nil
	r.idxMem.free()
	return err
}

// OpenBytes returns a Reader over an MMDB file held in buffer, without
// copying it. The buffer must not change while the Reader is in use.
func OpenBytes(buffer []byte, options ...ReaderOption) (*Reader, error) {
	opts := readerOptions{indexBits: DefaultIPv4IndexBits}
	for i, o := range options {
		if o == nil {
			return nil, fmt.Errorf("reader: option %d of %d is a nil ReaderOption", i+1, len(options))
		}
		o(&opts)
	}
	mdStart := bytes.LastIndex(buffer, metadataStartMarker)
	if mdStart == -1 {
		return nil, newInvalidDatabaseError("error opening database: invalid MaxMind DB file")
	}
	mdStart += len(metadataStartMarker)
	r := &Reader{mapped: &atomic.Bool{}}
	md := decoder{buf: buffer[mdStart:]}
	if err := md.decodeRoot(0, &r.Metadata); err != nil {
		return nil, err
	}
	m := &r.Metadata
	if m.NodeCount > 0 && m.RecordSize/4 > 0 && m.NodeCount > ^uint(0)/(m.RecordSize/4) {
		return nil, newInvalidDatabaseError("database tree size would overflow")
	}
	treeSize := m.NodeCount * (m.RecordSize / 4)
	dataStart := treeSize + dataSectionSeparatorSize
	dataEnd := uint(mdStart - len(metadataStartMarker))
	if dataStart > dataEnd || dataStart < treeSize {
		return nil, newInvalidDatabaseError("the MaxMind DB contains invalid metadata")
	}
	r.buffer = buffer
	r.tree = buffer[:treeSize]
	r.data = buffer[dataStart:dataEnd]
	r.nodeCnt = m.NodeCount
	r.recSize = m.RecordSize
	r.validRecordSize = r.recSize == 24 || r.recSize == 28 || r.recSize == 32
	r.dec = decoder{buf: r.data}
	if !opts.disableStringCache {
		r.dec.strings = new(stringCache)
		r.dec.skips = new(skipCache)
		r.dec.maps = new(mapCache)
	}
	if err := r.setIPv4Start(); err != nil {
		return nil, err
	}
	if !opts.noIndex && r.validRecordSize {
		r.buildIndexes(uint(opts.indexBits))
	}
	return r, nil
}

// setIPv4Start makes the search tree's view (format.Tree: where the IPv4
// space starts, the aliases, the walks) when the record size is valid;
// an IPv6 tree with an invalid record size is an error, an IPv4 one is
// not (its lookups are), as in maxminddb-golang.
func (r *Reader) setIPv4Start() error {
	r.ipv4StartBitDepth = 96
	if !r.validRecordSize {
		if r.Metadata.IPVersion == 6 {
			return newInvalidDatabaseError("unsupported record size: %d", r.recSize)
		}
		return nil
	}
	ipv := uint(4)
	if r.Metadata.IPVersion == 6 {
		ipv = 6
	}
	t, err := format.NewTree(r.tree, r.nodeCnt, r.recSize, ipv, uint(len(r.data)))
	if err != nil {
		return newInvalidDatabaseError("%v", err)
	}
	r.searchTree = t
	r.ipv4Start, r.ipv4StartBitDepth = t.IPv4Start, t.IPv4StartBits
	return nil
}

// child returns the left (bit 0) or right (bit 1) record of node. node must
// be below the node count.
func (r *Reader) child(node, bit uint) uint {
	t := r.tree
	switch r.recSize {
	case 24:
		o := node*6 + bit*3
		return uint(t[o])<<16 | uint(t[o+1])<<8 | uint(t[o+2])
	case 28:
		o := node*7 + bit*3
		w := uint(binary.BigEndian.Uint32(t[o : o+4]))
		if bit == 0 {
			return w>>8 | (w&0xF0)<<20
		}
		return w & 0x0FFFFFFF
	default:
		o := node*8 + bit*4
		return uint(binary.BigEndian.Uint32(t[o : o+4]))
	}
}

func (r *Reader) hasIPv4Subtree() bool {
	return r.Metadata.IPVersion == 4 || r.ipv4Start < r.nodeCnt
}

// Lookup finds the record for ip. The Result carries the data offset, the
// prefix of the network ip is in, and any error. Lookup does not allocate.
func (r *Reader) Lookup(ip netip.Addr) Result {
	if r == nil {
		return Result{ip: ip, err: errNilReader}
	}
	if r.buffer == nil {
		return Result{err: errors.New("cannot call Lookup on a closed database")}
	}
	node, prefixLen, err := r.lookupPointer(ip)
	// The tree is mapped memory that a cleanup unmaps once r is
	// unreachable: r must stay reachable until the walk is done.
	runtime.KeepAlive(r)
	if err != nil {
		return Result{ip: ip, prefixLen: uint8(prefixLen), err: err}
	}
	if node == r.nodeCnt {
		return Result{ip: ip, prefixLen: uint8(prefixLen), offset: notFound}
	}
	off, err := r.resolveDataPointer(node)
	return Result{reader: r, ip: ip, offset: off, prefixLen: uint8(prefixLen), err: err}
}

// LookupOffset returns a Result for the data at offset, as found in a
// Result's Offset, for decoding a record again without a lookup.
func (r *Reader) LookupOffset(offset uintptr) Result {
	if r == nil {
		return Result{err: errNilReader}
	}
	if r.buffer == nil {
		return Result{err: errors.New("cannot call LookupOffset on a closed database")}
	}
	return Result{reader: r, offset: uint(offset)}
}

// lookupPointer walks the tree for ip and returns the record it ends at
// (a record value: node count for no data, above for data) and the bit
// depth at which the walk ended (96 + IPv4 bits for IPv4 addresses).
func (r *Reader) lookupPointer(ip netip.Addr) (uint, int, error) {
	if !ip.IsValid() {
		return 0, 0, errInvalidIPAddress
	}
	if r.Metadata.IPVersion == 4 && ip.Is6() {
		return 0, 0, fmt.Errorf("error looking up '%s': you attempted to look up an IPv6 address in an IPv4-only database", ip.String())
	}
	if !r.validRecordSize {
		return 0, 0, newInvalidDatabaseError("unsupported record size: %d", r.recSize)
	}
	var node uint
	var bit int
	if ip.Is4() {
		node, bit = r.walk4(ip.As4())
	} else {
		node, bit = r.walk6(ip.As16())
	}
	if node > r.nodeCnt {
		return node, bit, nil
	}
	if node == r.nodeCnt {
		return node, bit, nil
	}
	return 0, bit, newInvalidDatabaseError("invalid node in search tree")
}

// walk4 walks the IPv4 subtree for a. Its loops are walk6's for one
// 32-bit word, written out again on purpose (the lookup hot path): one
// walk for both, by a call per word or with IPv4 keys through the
// 128-bit loop, measured no faster and possibly slower on IPv4 lookups.
func (r *Reader) walk4(a [4]byte) (uint, int) {
	node := r.ipv4Start
	nc := r.nodeCnt
	if node >= nc {
		return node, r.ipv4StartBitDepth
	}
	bits := binary.BigEndian.Uint32(a[:])
	j := uint(0)
	if idx := r.idx4p; idx != nil {
		i := uint(bits >> r.idx4Shift)
		e := atomic.LoadUint32(&idx[i])
		if e == 0 {
			r.fill(nil, idx, r.ipv4Start, r.idx4Bits, i)
			e = atomic.LoadUint32(&idx[i])
		}
		node = uint(e & packedRecordMask)
		j = uint(e >> packedShift)
		bits <<= j
	} else if idx := r.idx4; idx != nil {
		i := uint(bits >> r.idx4Shift)
		e := atomic.LoadUint64(&idx[i])
		if e == 0 {
			r.fill(idx, nil, r.ipv4Start, r.idx4Bits, i)
			e = atomic.LoadUint64(&idx[i])
		}
		node = uint(uint32(e))
		j = uint(e >> 32)
		bits <<= j
	}
	t := r.tree
	switch r.recSize {
	case 24:
		for ; j < 32 && node < nc; j++ {
			o := node*6 + uint(bits>>31)*3
			b := t[o : o+3]
			node = uint(b[0])<<16 | uint(b[1])<<8 | uint(b[2])
			bits <<= 1
		}
	case 28:
		for ; j < 32 && node < nc; j++ {
			bit := uint(bits >> 31)
			o := node*7 + bit*3
			w := uint(binary.BigEndian.Uint32(t[o : o+4]))
			left := 1 - bit
			node = (w>>(left*8))&0x00FFFFFF | (w<<(left*20))&0x0F000000
			bits <<= 1
		}
	default:
		for ; j < 32 && node < nc; j++ {
			o := node*8 + uint(bits>>31)*4
			node = uint(binary.BigEndian.Uint32(t[o : o+4]))
			bits <<= 1
		}
	}
	return node, r.ipv4StartBitDepth + int(j)
}

// walk6 walks the whole tree for a 128-bit key.
func (r *Reader) walk6(a [16]byte) (uint, int) {
	node := uint(0)
	nc := r.nodeCnt
	i := uint(0)
	if idx := r.idx6; idx != nil {
		k := uint(a[0])<<8 | uint(a[1])
		e := atomic.LoadUint64(&idx[k])
		if e == 0 {
			r.fill(idx, nil, 0, ipv6IndexBits, k)
			e = atomic.LoadUint64(&idx[k])
		}
		node = uint(uint32(e))
		i = uint(e >> 32)
	}
	t := r.tree
	for i < 128 && node < nc {
		bits := binary.BigEndian.Uint32(a[(i>>5)*4:]) << (i & 31)
		j := i & 31
		switch r.recSize {
		case 24:
			for ; j < 32 && node < nc; j++ {
				o := node*6 + uint(bits>>31)*3
				b := t[o : o+3]
				node = uint(b[0])<<16 | uint(b[1])<<8 | uint(b[2])
				bits <<= 1
			}
		case 28:
			for ; j < 32 && node < nc; j++ {
				bit := uint(bits >> 31)
				o := node*7 + bit*3
				w := uint(binary.BigEndian.Uint32(t[o : o+4]))
				left := 1 - bit
				node = (w>>(left*8))&0x00FFFFFF | (w<<(left*20))&0x0F000000
				bits <<= 1
			}
		default:
			for ; j < 32 && node < nc; j++ {
				o := node*8 + uint(bits>>31)*4
				node = uint(binary.BigEndian.Uint32(t[o : o+4]))
				bits <<= 1
			}
		}
		i = i&^31 + j
	}
	return node, int(i)
}

func (r *Reader) resolveDataPointer(pointer uint) (uint, error) {
	minPointer := r.nodeCnt + dataSectionSeparatorSize
	if pointer < minPointer {
		return 0, errTreeCorrupt
	}
	off := pointer - minPointer
	if off >= uint(len(r.data)) {
		return 0, errTreeCorrupt
	}
	return off, nil
}

var errTreeCorrupt = InvalidDatabaseError{"the MaxMind DB file's search tree is corrupt"}
